"""A quiz's brand: colours a visitor can read (WCAG AA, checked on publish), a bundled font,
a logo with its text."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from quizzes.branding import contrast
from quizzes.images import image_clean, image_store
from quizzes.models import Brand, Quiz
from quizzes.services import quiz_publish
from tests.pictures import picture_bytes, upload
from tests.visitor import result_url, run, submit_lead


@pytest.mark.parametrize(
    ("a", "b", "ratio"),
    [
        ("#000000", "#ffffff", 21.0),
        ("#ffffff", "#ffffff", 1.0),
        ("#767676", "#ffffff", 4.54),  # the lightest grey that passes AA on white
        ("#777777", "#ffffff", 4.48),
        ("#1d4ed8", "#ffffff", 6.70),
    ],
)
def test_contrast_is_wcags_ratio_of_relative_luminances(a, b, ratio):
    assert contrast(a, b) == pytest.approx(ratio, abs=0.01)
    assert contrast(b, a) == pytest.approx(ratio, abs=0.01)


@pytest.mark.django_db
def test_publishing_refuses_a_brand_whose_colours_do_not_read_and_says_which(scorecard):
    scorecard.status = Quiz.Status.DRAFT
    scorecard.brand = Brand.objects.create(
        name="Sunny", primary_colour="#f5c518", button_text_colour="#ffffff"
    )
    scorecard.save()

    problems = quiz_publish(quiz=scorecard)

    assert problems == [
        "Brand “Sunny”: Button text colour #ffffff on the primary colour #f5c518 has a contrast "
        "of 1.6:1, below the 4.5:1 that WCAG AA asks for buttons.",
        "Brand “Sunny”: Primary colour #f5c518 on the card colour #ffffff has a contrast of "
        "1.6:1, below the 4.5:1 that WCAG AA asks for links and the Back button.",
    ]
    scorecard.refresh_from_db()
    assert scorecard.status == Quiz.Status.DRAFT

    Brand.objects.filter(pk=scorecard.brand_id).update(
        primary_colour="#7a5c00", button_text_colour="#ffffff"
    )
    scorecard.refresh_from_db()
    assert quiz_publish(quiz=scorecard) == []


@pytest.mark.django_db
def test_the_visitor_pages_wear_the_brand(client, scorecard):
    logo = image_store(image_clean(upload(picture_bytes((600, 200), kind="PNG"), "l.png")))
    scorecard.brand = Brand.objects.create(
        name="Forest",
        logo=logo,
        logo_alt="Forest & Co.",
        background_colour="#0f2d1f",
        card_colour="#fbfaf5",
        text_colour="#17241c",
        primary_colour="#1f7a4d",
        font="lora",
        corners="square",
    )
    scorecard.save()

    page = client.get(scorecard.get_absolute_url()).content.decode()

    assert "--brand:#1f7a4d" in page and "--bg:#0f2d1f" in page and "--radius:0px" in page
    assert '--font:"Lora", Georgia, serif' in page or "--font:&quot;Lora&quot;" in page
    assert '<header class="brand-bar"><img' in page and 'alt="Forest &amp; Co."' in page
    for weight in (400, 700):
        font = f"fonts/lora/lora-latin-{weight}-normal.woff2"
        assert f"/static/{font}" in page
        assert finders.find(font), f"{font} is not bundled"


@pytest.mark.django_db
def test_a_quiz_without_a_brand_keeps_quizfunnels_look_and_adds_nothing(client, scorecard):
    page = client.get(scorecard.get_absolute_url()).content.decode()
    assert "<style>" not in page and "brand-bar" not in page


@pytest.mark.django_db
def test_the_brand_page_shows_each_colour_pairs_contrast(admin_client):
    brand = Brand.objects.create(name="Sunny", primary_colour="#f5c518")
    page = admin_client.get(reverse("admin:quizzes_brand_change", args=[brand.pk])).content.decode()
    assert "1.6:1 ✗ too low" in page
    assert "14.7:1 ✓" in page  # the default text colour on white
    assert 'type="color"' in page


@pytest.mark.django_db
def test_a_tier_badge_picks_the_text_colour_that_reads_on_its_colour(client, scorecard):
    scorecard.tiers.update(colour="#fde68a")  # a pale yellow: dark text reads, white does not
    attempt = run(client, scorecard)
    assert submit_lead(client, attempt).status_code == 302
    result = client.get(result_url(attempt)).content.decode()
    assert "--tier: #fde68a; --tier-ink: #111827" in result


@pytest.mark.django_db
def test_the_demo_quiz_wears_its_brand_and_a_cover_with_its_text(client):
    from quizzes.demo import demo_quiz_create

    quiz, _ = demo_quiz_create()
    page = client.get(quiz.get_absolute_url()).content.decode()
    assert "--brand:#0f766e" in page
    assert 'alt="A bar chart whose bars rise towards a dashed target line"' in page
    assert 'srcset="/media/quiz-images/' in page
