"""The scorecard the lead form promises: e-mailed to the visitor with their PDF report, through
the outbox, against a real SMTP server; the same PDF on the result page."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from automations.delivery import delivery_run
from automations.models import Delivery
from tests.visitor import HOT_RUN, answer, result_url, run, submit_lead

pytestmark = pytest.mark.django_db


def hot_lead(client, quiz, **fields):
    attempt = run(client, quiz, steps=HOT_RUN)
    assert submit_lead(client, attempt, **fields).status_code == 302
    return attempt.lead


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def parts(message):
    text = html = pdf = None
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "text/plain" and text is None:
            text = part.get_payload(decode=True).decode()
        elif kind == "text/html":
            html = part.get_payload(decode=True).decode()
        elif kind == "application/pdf":
            pdf = (part.get_filename(), part.get_payload(decode=True))
    return text, html, pdf


def test_the_visitor_receives_their_scorecard_with_the_pdf_report(
    client, scorecard, scorecard_rule, smtp
):
    lead = hot_lead(client, scorecard, email="ada@example.com")
    delivery = Delivery.objects.get(action__kind="scorecard")
    assert delivery.lead == lead

    assert delivery_run(delivery.pk) == "delivered"

    [(recipients, message)] = smtp.received
    assert recipients == ["ada@example.com"]
    assert message["Subject"] == f"Your result: 95% (Hot) on {scorecard.title}"
    assert message["Message-ID"] == f"<delivery-{delivery.uid}@127.0.0.1>"
    text, html, (filename, pdf) = parts(message)
    assert "Your score: 95% (38 of 40 points)" in text
    assert "Your tier: Hot" in text
    assert result_url(lead.attempt) in text
    assert 'role="presentation"' in html and 'name="color-scheme"' in html
    assert "Your score: 95%" in html
    assert filename == f"scorecard-{scorecard.slug}.pdf"
    words = pdf_text(pdf)
    assert "95" in words and "Hot" in words
    assert "Reach" in words and "Insight" in words  # a bar per category
    assert "More budget" in words  # the answers


def test_the_result_page_offers_the_same_pdf_to_download(client, scorecard):
    lead = hot_lead(client, scorecard)
    page = client.get(result_url(lead.attempt)).content.decode()
    link = reverse("leads:result_pdf", args=[scorecard.slug, lead.attempt.token])
    assert f'href="{link}"' in page

    response = client.get(link)

    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "private, no-store"
    words = pdf_text(response.content)
    assert "95" in words and "Hot" in words
    reader = PdfReader(io.BytesIO(response.content))
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (595, 842)  # A4 in points


def test_us_letter_paper_when_the_setting_says_so(client, scorecard, settings):
    settings.SCORECARD_PAPER = "LETTER"
    lead = hot_lead(client, scorecard)
    response = client.get(reverse("leads:result_pdf", args=[scorecard.slug, lead.attempt.token]))
    page = PdfReader(io.BytesIO(response.content)).pages[0]
    assert tuple(round(float(v)) for v in page.mediabox.upper_right) == (612, 792)


def test_an_unknown_token_gets_no_pdf(client, scorecard):
    response = client.get(reverse("leads:result_pdf", args=[scorecard.slug, "nope"]))
    assert response.status_code == 404


def test_a_long_free_text_answer_wraps_in_the_pdf_and_is_not_cut(client, scorecard):
    steps = [*HOT_RUN[:-1], ("Anything else?", (), {"text": "budget" * 160})]  # 960 characters
    attempt = run(client, scorecard, steps=steps)
    submit_lead(client, attempt)
    response = client.get(reverse("leads:result_pdf", args=[scorecard.slug, attempt.token]))
    words = pdf_text(response.content).replace("\n", "")
    assert "budget" * 160 in words


def test_a_mail_server_that_refuses_for_good_makes_the_delivery_dead_with_its_words(
    client, scorecard, scorecard_rule, smtp
):
    smtp.replies["nobody@no-such-domain.example"] = (
        "550 5.1.2 <nobody@no-such-domain.example>: Recipient address rejected: Domain not found"
    )
    hot_lead(client, scorecard, email="nobody@no-such-domain.example")
    delivery = Delivery.objects.get(action__kind="scorecard")

    assert delivery_run(delivery.pk) == "dead"

    delivery.refresh_from_db()
    assert delivery.attempts == 1
    assert "refused it for good" in delivery.last_error
    assert "550" in delivery.last_error and "Domain not found" in delivery.last_error
    assert smtp.received == []


def test_a_temporary_refusal_backs_off_and_the_retry_keeps_the_message_id(
    client, scorecard, scorecard_rule, smtp
):
    smtp.replies["ada@example.com"] = "451 4.7.1 Greylisted, please try again later"
    hot_lead(client, scorecard, email="ada@example.com")
    delivery = Delivery.objects.get(action__kind="scorecard")

    assert delivery_run(delivery.pk) == "retrying"
    delivery.refresh_from_db()
    assert "451" in delivery.last_error

    smtp.replies.clear()
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert delivery_run(delivery.pk) == "delivered"
    [(_, message)] = smtp.received
    assert message["Message-ID"] == f"<delivery-{delivery.uid}@127.0.0.1>"


def test_sales_can_resend_a_scorecard_as_a_new_message(client, scorecard, scorecard_rule, smtp):
    lead = hot_lead(client, scorecard)
    delivery = Delivery.objects.get(action__kind="scorecard")
    delivery_run(delivery.pk)
    seller = User.objects.create_user("sam", password="pw-sam-123456", is_staff=True)
    seller.groups.add(Group.objects.get(name="Sales"))
    staff = Client()
    staff.force_login(seller)

    panel = staff.get(reverse("automations:lead_deliveries", args=[lead.pk])).content.decode()
    assert "Resend the scorecard" in panel
    response = staff.post(
        reverse("automations:delivery_resend", args=[delivery.pk]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert delivery_run(delivery.pk) == "delivered"

    first, second = (message for _, message in smtp.received)
    assert first["Message-ID"] != second["Message-ID"]
    assert second["Message-ID"] == f"<delivery-{delivery.uid}-resend1@127.0.0.1>"
    assert Delivery.objects.filter(action__kind="scorecard").count() == 1


def test_a_visitor_cannot_resend(client, scorecard, scorecard_rule):
    hot_lead(client, scorecard)
    delivery = Delivery.objects.get(action__kind="scorecard")
    response = client.post(reverse("automations:delivery_resend", args=[delivery.pk]))
    assert response.status_code in (302, 403)
    delivery.refresh_from_db()
    assert delivery.status == "pending" and not delivery.remote


def test_the_quiz_chooses_sender_reply_to_and_subject(client, scorecard, scorecard_rule, smtp):
    scorecard.scorecard_from = "Acme Growth <hello@acme.example>"
    scorecard.scorecard_reply_to = "team@acme.example"
    scorecard.scorecard_subject = "{name}, you scored {percent} % on {quiz}"
    scorecard.save()
    hot_lead(client, scorecard, name="Ada")
    delivery_run(Delivery.objects.get(action__kind="scorecard").pk)
    [(_, message)] = smtp.received
    assert message["From"] == "Acme Growth <hello@acme.example>"
    assert message["Reply-To"] == "team@acme.example"
    assert message["Subject"] == f"Ada, you scored 95 % on {scorecard.title}"


def test_without_the_consent_a_quiz_asks_for_nothing_is_sent_and_sales_see_why(
    client, scorecard, scorecard_rule, smtp
):
    hot_lead(client, scorecard)
    scorecard.consent_required = True  # made stricter after this visitor's lead
    scorecard.save()
    delivery = Delivery.objects.get(action__kind="scorecard")
    assert delivery_run(delivery.pk) == "skipped"
    delivery.refresh_from_db()
    assert delivery.last_error == (
        "Not sent: the quiz asks for consent and this visitor did not give it."
    )
    assert smtp.received == []


def test_a_new_installation_sends_every_visitor_their_scorecard(django_db_setup):
    """The migration writes the rule (the suite removes it at start, see conftest)."""
    from importlib import import_module

    from django.apps import apps as django_apps

    from automations.models import Action, Rule

    migration = import_module("automations.migrations.0008_scorecard_action")
    migration.scorecard_rule_create(django_apps, None)
    rules = Rule.objects.filter(name__startswith="Scorecard to the visitor").order_by("name")
    assert [(r.trigger, r.enabled) for r in rules] == [
        ("lead_submitted", True),
        ("lead_scored", True),  # the form before the questions: the score comes at the end
    ]
    for rule in rules:
        assert not rule.quizzes.exists()
        assert list(rule.actions.values_list("kind", flat=True)) == [Action.Kind.SCORECARD]


def test_with_the_form_first_the_scorecard_goes_out_once_the_lead_is_scored(
    client, scorecard, scorecard_rule, smtp
):
    from tests.automations.factories import ActionFactory, RuleFactory
    from tests.visitor import details_url, start

    form_first = RuleFactory(name="Scorecard to the visitor (form first)", trigger="lead_scored")
    ActionFactory(rule=form_first, kind="scorecard")
    scorecard.lead_form_position = "before"
    scorecard.save()
    attempt = start(client, scorecard)
    client.post(details_url(attempt), {"email": "ada@example.com"})
    early = Delivery.objects.get(action__rule=scorecard_rule)
    assert delivery_run(early.pk) == "skipped"  # no score yet: nothing is sent
    assert smtp.received == []

    for text, labels, kwargs in HOT_RUN:
        response = answer(client, attempt, text, *labels, **kwargs)
        assert response.status_code == 302
    assert client.get(result_url(attempt)).status_code == 200  # scores the lead

    late = Delivery.objects.get(action__rule=form_first)
    assert delivery_run(late.pk) == "delivered"
    [(_, message)] = smtp.received
    assert "Your score: 95%" in parts(message)[0]


def test_emoji_in_an_answer_are_drawn_from_the_bundled_font_not_boxes(client, scorecard):
    steps = [*HOT_RUN[:-1], ("Anything else?", (), {"text": "Great quiz 👍🚀"})]
    attempt = run(client, scorecard, steps=steps)
    submit_lead(client, attempt)
    response = client.get(reverse("leads:result_pdf", args=[scorecard.slug, attempt.token]))
    reader = PdfReader(io.BytesIO(response.content))
    fonts = {
        str(font.get_object()["/BaseFont"])
        for page in reader.pages
        for font in (page["/Resources"].get("/Font") or {}).values()
    }
    assert any("Noto-Emoji" in name for name in fonts), fonts


def test_the_automations_panel_looks_again_while_a_delivery_is_on_its_way(
    client, scorecard, scorecard_rule, smtp
):
    lead = hot_lead(client, scorecard)
    seller = User.objects.create_user("sam", password="pw-sam-123456", is_staff=True)
    seller.groups.add(Group.objects.get(name="Sales"))
    staff = Client()
    staff.force_login(seller)
    url = reverse("automations:lead_deliveries", args=[lead.pk])
    pending = staff.get(url, headers={"HX-Request": "true"}).content.decode()
    assert f'hx-get="{url}" hx-trigger="load delay:2s"' in pending
    delivery_run(Delivery.objects.get(action__kind="scorecard").pk)
    done = staff.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in done and "Delivered" in done


def test_right_to_left_answers_are_drawn_with_a_font_that_has_their_letters(client, scorecard):
    # Hebrew and Arabic: the theme's fonts have neither, so the PDF's stack falls to
    # DejaVu Sans (which fontconfig brings with Pango) instead of drawing boxes.
    steps = [*HOT_RUN[:-1], ("Anything else?", (), {"text": "שלום עולם مرحبا بالعالم"})]
    attempt = run(client, scorecard, steps=steps)
    submit_lead(client, attempt)
    response = client.get(reverse("leads:result_pdf", args=[scorecard.slug, attempt.token]))
    reader = PdfReader(io.BytesIO(response.content))
    fonts = {
        str(font.get_object()["/BaseFont"])
        for page in reader.pages
        for font in (page["/Resources"].get("/Font") or {}).values()
    }
    assert any("DejaVu" in name for name in fonts), fonts
    text = "".join(page.extract_text() for page in reader.pages)
    assert "ש" in text and "م" in text  # the letters are there, not .notdef boxes
