"""Advice per category: each category's bands (checked on publish like the tiers), the
visitor's band and advice on the result, in the e-mail and the PDF, weakest first."""

from __future__ import annotations

import pytest
from django.urls import reverse

from quizzes.models import Category, CategoryBand, Quiz
from quizzes.services import quiz_problems, quiz_publish
from tests.visitor import result_url, run, submit_lead

pytestmark = pytest.mark.django_db

# HOT_RUN: Reach 20/20 = 100 %, Insight 18/20 = 90 %.
MIXED_RUN = [
    ("Do you advertise?", ("Yes",), {}),
    ("How do you tag links?", ("Never",), {}),
    ("What do you track?", ("Forms", "Leads", "Revenue"), {}),
    ("How confident are you?", (), {"rating": 9}),
    ("Anything else?", (), {"text": ""}),
]  # Reach 10/20 = 50 %, Insight 19/20 = 95 %


def bands(category: Category, *ranges):
    for name, low, high in ranges:
        CategoryBand.objects.create(
            category=category,
            name=name,
            min_percent=low,
            max_percent=high,
            headline=f"{category.name} is {name.lower()}",
            advice=f"Advice for {name.lower()} {category.name}.",
        )


WFS = [("Weak", 0, 39), ("Fair", 40, 69), ("Strong", 70, 100)]


def test_a_gap_or_overlap_in_a_categorys_bands_is_refused_on_publish_in_words(scorecard):
    scorecard.status = Quiz.Status.DRAFT
    scorecard.save()
    reach = scorecard.categories.get(name="Reach")
    bands(reach, ("Weak", 0, 39), ("Fair", 45, 69), ("Strong", 60, 100))

    assert quiz_publish(quiz=scorecard) == [
        "Category “Reach”: No band covers 40–44 % (between “Weak” and “Fair”).",
        "Category “Reach”: Bands “Fair” and “Strong” overlap: 60–69 % is in both.",
    ]
    scorecard.refresh_from_db()
    assert scorecard.status == Quiz.Status.DRAFT


def test_categories_without_bands_publish_as_before(scorecard):
    assert quiz_problems(quiz=scorecard) == []


def test_the_result_names_each_categorys_band_and_orders_the_advice_by_weakness(client, scorecard):
    for category in scorecard.categories.all():
        bands(category, *WFS)
    attempt = run(client, scorecard, steps=MIXED_RUN)
    submit_lead(client, attempt)

    page = client.get(result_url(attempt)).content.decode()

    assert 'Reach <span class="band">Fair</span>' in page
    assert 'Insight <span class="band">Strong</span>' in page
    assert "Your weakest area: <strong>Reach</strong>" in page
    assert "Your strongest: <strong>Insight</strong>" in page
    steps = page[page.index("What to do next") :]
    assert steps.index("Reach is fair") < steps.index("Insight is strong")
    assert "Advice for fair Reach." in steps


def test_a_later_edit_of_the_bands_changes_no_result_already_given(client, scorecard):
    reach = scorecard.categories.get(name="Reach")
    bands(reach, *WFS)
    attempt = run(client, scorecard, steps=MIXED_RUN)
    submit_lead(client, attempt)
    reach.bands.update(advice="Rewritten later.")

    page = client.get(result_url(attempt)).content.decode()
    assert "Advice for fair Reach." in page and "Rewritten later." not in page


def test_the_pdf_and_the_email_carry_the_advice(client, scorecard, scorecard_rule, smtp):
    from automations.delivery import delivery_run
    from automations.models import Delivery
    from tests.leads.test_scorecard import parts, pdf_text

    for category in scorecard.categories.all():
        bands(category, *WFS)
    attempt = run(client, scorecard, steps=MIXED_RUN)
    submit_lead(client, attempt)
    delivery_run(Delivery.objects.get(action__kind="scorecard").pk)

    [(_, message)] = smtp.received
    text, html, (_, pdf) = parts(message)
    assert "1. Reach: Reach is fair\r\nAdvice for fair Reach." in text
    assert text.index("Reach is fair") < text.index("Insight is strong")
    assert "What to do next" in html and "Reach · Fair" in html
    words = pdf_text(pdf)
    assert "What to do next" in words and "Advice for fair Reach." in words


def test_the_demo_quiz_gives_advice_for_each_category(client):
    from quizzes.demo import demo_quiz_create

    quiz, _ = demo_quiz_create()
    assert quiz.is_published
    assert all(c.bands.count() == 3 for c in quiz.categories.all())


def test_the_bands_page_says_whether_they_cover_0_to_100(admin_client, scorecard):
    reach = scorecard.categories.get(name="Reach")
    bands(reach, ("Weak", 0, 39), ("Strong", 70, 100))
    page = admin_client.get(reverse("admin:quizzes_category_change", args=[reach.pk]))
    assert "No band covers 40–69 %" in page.content.decode()
    quiz_page = admin_client.get(reverse("admin:quizzes_quiz_change", args=[scorecard.pk]))
    assert "2 bands: edit" in quiz_page.content.decode()
