"""`make run` prints e-mail in the terminal: headers and the text as they read, the HTML
part and the PDF as one line each, never pages of base64."""

import io
import re

import pytest
from django.core.mail import get_connection

from leads.report import scorecard_message
from tests.leads.test_scorecard import hot_lead

pytestmark = pytest.mark.django_db


def test_the_scorecard_prints_readably_with_the_pdf_summarised(client, scorecard):
    lead = hot_lead(client, scorecard, email="ada@example.com")
    message = scorecard_message(lead, message_id="<delivery-1@quizfunnel>")
    pdf = message.attachments[0][1]
    out = io.StringIO()

    sent = get_connection("core.mail.ConsoleEmailBackend", stream=out).send_messages([message])

    text = out.getvalue()
    assert sent == 1
    assert "To: ada@example.com" in text
    assert f"Subject: {message.subject}" in text  # decoded, not =?utf-8?…
    assert "Message-ID: <delivery-1@quizfunnel>" in text
    assert "Your score: 95%" in text  # the plain-text part, as it reads (CLDR: no space in English)
    assert re.search(r"^\[text/html part, \d+ KB\]$", text, re.M)
    kb = round(len(pdf) / 1024)
    assert f"[attachment scorecard-{scorecard.slug}.pdf, application/pdf, {kb} KB]" in text
    assert "JVBERi" not in text  # "%PDF" in base64: the attachment is not printed
    assert len(text) < 4000


def test_a_german_subject_and_a_bcc_are_shown_as_written():
    from django.core.mail import EmailMessage

    message = EmailMessage(
        "Ihr Ergebnis: 87 % – Größe", "Hallo", "q@example.com", ["a@example.com"], bcc=["b@x.org"]
    )
    out = io.StringIO()
    get_connection("core.mail.ConsoleEmailBackend", stream=out).send_messages([message])
    assert "Subject: Ihr Ergebnis: 87 % – Größe" in out.getvalue()
    assert "Bcc: b@x.org" in out.getvalue()
    assert "\nHallo\n" in out.getvalue()
