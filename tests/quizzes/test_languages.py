"""The visitor's language: ?lang, else Accept-Language among the quiz's, else its default;
kept for the run (pages, errors, e-mail, PDF, events); numbers as the locale writes them."""

from __future__ import annotations

import io
import uuid
from email.header import decode_header, make_header

import pytest
from django.urls import reverse
from pypdf import PdfReader

from automations.delivery import delivery_run
from automations.models import Delivery
from quizzes.language import paper_for
from tests.visitor import HOT_RUN, answer, question, result_url, step_url, submit_lead
from tracking.models import ConversionEvent

pytestmark = pytest.mark.django_db

NBSP, NNBSP = "\u00a0", "\u202f"
GERMAN = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9"}


@pytest.fixture
def bilingual(scorecard):
    scorecard.languages = ["de", "fr"]
    scorecard.save(update_fields=["languages"])
    return scorecard


def start(client, quiz, query: str = "", **headers):
    response = client.post(
        reverse("quizzes:start", args=[quiz.slug]) + query,
        {"start_key": str(uuid.uuid4())},
        **headers,
    )
    assert response.status_code == 302, response.content.decode()[:500]
    token = response["Location"].split("/t/")[1].split("/")[0]
    return quiz.attempts.get(token=token)


def finish(client, attempt, **headers):
    for text, labels, kwargs in HOT_RUN:
        response = answer(client, attempt, text, *labels, **kwargs, headers=None)
        assert response.status_code == 302
    assert submit_lead(client, attempt, email="ada@example.com").status_code == 302
    attempt.refresh_from_db()
    return attempt


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_lang_de_gives_a_german_run_kept_for_every_later_step(client, bilingual):
    intro = client.get(bilingual.get_absolute_url() + "?lang=de")
    page = intro.content.decode()
    assert '<html lang="de"' in page
    assert "5 Fragen · etwa 2 Minuten" in page or "Fragen" in page
    assert "?lang=de" in page  # the start form carries the choice on
    assert intro["Content-Language"] == "de"

    # Later requests say nothing of the language (or the browser prefers English): German.
    attempt = start(client, bilingual, "?lang=de", HTTP_ACCEPT_LANGUAGE="en-US")
    assert attempt.language == "de"
    first = question(bilingual, "Do you advertise?")
    step = client.get(step_url(attempt, first), HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    assert "Frage 1 von 5" in step
    assert "Weiter</button>" in step
    assert '<html lang="de"' in step

    # An error the visitor sees, in German, on the same step.
    refused = client.post(step_url(attempt, first), {}, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 422
    assert "Bitte beantworten Sie diese Frage, um fortzufahren." in refused.content.decode()

    answer(client, attempt, "Do you advertise?", "Yes")
    second = client.get(step_url(attempt, question(bilingual, "How do you tag links?")))
    text = second.content.decode()
    assert "Frage 2 von 5" in text and "Zurück</a>" in text


def test_the_browsers_language_chooses_among_the_quizs(client, bilingual):
    intro = client.get(bilingual.get_absolute_url(), **GERMAN).content.decode()
    assert '<html lang="de"' in intro
    attempt = start(client, bilingual, **GERMAN)
    assert (attempt.language, attempt.locale) == ("de", "de-DE")
    finish(client, attempt)
    page = client.get(result_url(attempt)).content.decode()
    assert f"Ihr Ergebnis: 95{NBSP}%" in page
    assert "Nach Kategorie" in page and "Ihre Antworten" in page
    assert "Noch einmal machen" in page


def test_a_language_the_quiz_does_not_offer_falls_back_to_its_default(client, scorecard):
    # The scorecard is in English only: German asked for, English shown.
    page = client.get(scorecard.get_absolute_url() + "?lang=de", **GERMAN).content.decode()
    assert '<html lang="en"' in page
    attempt = start(client, scorecard, "?lang=de", **GERMAN)
    assert attempt.language == "en"
    step = client.get(step_url(attempt, question(scorecard, "Do you advertise?")))
    assert "Question 1 of 5" in step.content.decode()


@pytest.mark.parametrize(
    ("query", "header"),
    [
        ("?lang=xx", "xx-YY"),
        ("?lang=%00%ff", "de;q=nonsense,,;;"),
        ("?lang=" + "d" * 5000, "\udcff\x00garbage"),
        ("?lang=de-" + "x" * 100, "*"),
        ("", ",".join(["de"] * 400)),  # longer than any browser's
    ],
)
def test_garbage_in_lang_or_accept_language_falls_back_never_500(client, scorecard, query, header):
    response = client.get(scorecard.get_absolute_url() + query, HTTP_ACCEPT_LANGUAGE=header)
    assert response.status_code == 200
    assert '<html lang="en"' in response.content.decode()
    attempt = start(client, scorecard, query, HTTP_ACCEPT_LANGUAGE=header)
    assert attempt.language == "en"


def test_numbers_follow_the_locale(client, bilingual):
    english = start(client, bilingual)
    finish(client, english)
    assert "Your score: 95%" in client.get(result_url(english)).content.decode()

    french = start(client, bilingual, "?lang=fr")
    finish(client, french)
    page = client.get(result_url(french)).content.decode()
    assert f"Votre score{NBSP}: 95{NNBSP}%" in page


def test_a_german_visitor_gets_a_german_email_and_pdf(client, bilingual, scorecard_rule, smtp):
    finish(client, start(client, bilingual, **GERMAN))
    delivery = Delivery.objects.get(action__kind="scorecard")
    assert delivery_run(delivery.pk) == "delivered"

    [(recipients, message)] = smtp.received
    assert recipients == ["ada@example.com"]
    subject = str(make_header(decode_header(message["Subject"]))).strip()
    assert subject == f"Ihr Ergebnis: 95{NBSP}% (Hot) bei {bilingual.title}"
    text = html = pdf = None
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "text/plain" and text is None:
            text = part.get_payload(decode=True).decode()
        elif kind == "text/html":
            html = part.get_payload(decode=True).decode()
        elif kind == "application/pdf":
            pdf = part.get_payload(decode=True)
    assert "Guten Tag Ada," in text
    assert f"Ihr Ergebnis: 95{NBSP}% (38 von 40 Punkten)" in text
    assert "Der vollständige Bericht mit Ihren Antworten ist als PDF angehängt." in text
    assert '<html lang="de">' in html and "Ihr Ergebnis online ansehen" in html
    words = pdf_text(pdf)
    assert "IHRE PERSÖNLICHE SCORECARD" in words  # the eyebrow, upper case by CSS
    assert "Nach Kategorie" in words
    assert "Ihre Antworten" in words and "Seite 1 von" in words
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    assert tuple(round(float(v)) for v in page.mediabox.upper_right) == (595, 842)  # A4


def test_a_us_visitor_gets_letter_paper_unless_the_setting_says_a4(client, scorecard, settings):
    attempt = finish(client, start(client, scorecard, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.8"))
    assert attempt.locale == "en-US"
    pdf_url = reverse("leads:result_pdf", args=[scorecard.slug, attempt.token])
    page = PdfReader(io.BytesIO(client.get(pdf_url).content)).pages[0]
    assert tuple(round(float(v)) for v in page.mediabox.upper_right) == (612, 792)  # Letter

    settings.SCORECARD_PAPER = "A4"  # the setting overrides the region
    assert paper_for(attempt) == "A4"
    settings.SCORECARD_PAPER = "AUTO"
    attempt.locale = "de-DE"
    assert paper_for(attempt) == "A4"


def test_events_carry_the_language(client, bilingual):
    client.get(bilingual.get_absolute_url() + "?lang=de")
    attempt = finish(client, start(client, bilingual, "?lang=de"))
    client.get(result_url(attempt))
    viewed = ConversionEvent.objects.get(name="quiz_viewed", quiz=bilingual)
    assert viewed.properties["language"] == "de"
    names = set()
    for event in ConversionEvent.objects.filter(attempt=attempt):
        assert event.properties.get("language") == "de", event.name
        names.add(event.name)
    assert {"quiz_started", "question_answered", "lead_submitted", "result_viewed"} <= names


def test_error_pages_speak_the_browsers_language_and_staff_pages_stay_english(client, scorecard):
    missing = client.get("/q/no-such-quiz/", **GERMAN)
    assert missing.status_code == 404
    page = missing.content.decode()
    assert "Wir konnten diese Seite nicht finden" in page and '<html lang="de">' in page

    admin = client.get(reverse("admin:login"), **GERMAN).content.decode()
    assert "Log in" in admin and "Anmelden" not in admin
