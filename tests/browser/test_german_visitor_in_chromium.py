"""Issue 10's promise, as a German visitor on a phone meets it: the demo quiz in German,
a German result with advice per category, a German e-mail at a real SMTP server and a
German PDF, both at the result page's link and attached to the e-mail."""

import io
import re
from email.header import decode_header, make_header

import pytest
from django.core.management import call_command
from playwright.sync_api import expect
from pypdf import PdfReader

from automations.delivery import delivery_run
from automations.models import Delivery
from leads.models import Lead
from tests.automations.factories import ActionFactory, RuleFactory
from tests.browser.conftest import _page

pytestmark = pytest.mark.browser

PROGRESS = re.compile(r"Frage (\d+) von (\d+)")
NBSP = "\u00a0"


@pytest.fixture
def german_phone(browser, server_requests):
    """A phone whose browser asks for German (Accept-Language: de-DE)."""
    yield from _page(browser, server_requests, locale="de-DE", is_mobile=True, has_touch=True)


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_a_german_visitor_on_a_phone_gets_a_german_result_email_and_pdf(
    german_phone, live_server, smtp
):
    call_command("seed_demo", "--no-admin")
    rule = RuleFactory(name="Scorecard to the visitor", trigger="lead_submitted")
    ActionFactory(rule=rule, kind="scorecard")
    page = german_phone

    page.goto(live_server.url + "/q/marketing-measurement/")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("heading", level=1)).to_have_text("Scorecard: Marketing-Messung")
    page.get_by_role("button", name="Meinen Wert ermitteln").click()

    steps = 0
    while PROGRESS.search(page.locator("#progress-label").inner_text()):
        steps += 1
        card = page.locator("#quiz-card")
        options = card.locator("label.option, label.scale-option")
        if options.count():
            options.first.click()
        else:
            card.locator("textarea").fill("Umsatz pro Kanal, verlässlich")
        label = page.locator("#progress-label").inner_text()
        page.get_by_role("button", name=re.compile("Weiter|Abschließen")).click()
        expect(page.locator("#progress-label")).not_to_have_text(label)
        assert steps < 20, "the quiz did not end"
    assert steps >= 3

    page.get_by_label("E-Mail").fill("keine-adresse")
    page.get_by_role("button", name="Mein Ergebnis ansehen").click()
    expect(page.get_by_text("Bitte geben Sie eine gültige E-Mail-Adresse ein")).to_be_visible()
    page.get_by_label("E-Mail").fill("erika@example.de")
    page.get_by_role("button", name="Mein Ergebnis ansehen").click()

    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(re.compile(rf"Ihr Ergebnis: \d+{NBSP}%"))
    lead = Lead.objects.get()
    assert lead.attempt.language == "de"
    # Advice per category, in German: each category's band and what to do next.
    expect(page.get_by_role("heading", name="Nach Kategorie")).to_be_visible()
    bands = page.locator(".categories .band")
    expect(bands.first).to_have_text(re.compile("Schwach|Mittel|Stark"))
    expect(page.get_by_text("Tracking-Grundlagen").first).to_be_visible()
    # The first answers were the strongest ones, so the result says where to go next.
    content = page.content()
    assert "Ihr schwächster Bereich" in content or "Was Sie als Nächstes tun sollten" in content
    page.screenshot(path="/tmp/german-result-phone.png", full_page=True)

    # The PDF at the result page's link, in German.
    link = page.get_by_role("link", name="Ihre Scorecard herunterladen (PDF)")
    download = page.request.get(live_server.url + link.get_attribute("href"))
    assert download.headers["content-type"] == "application/pdf"
    words = _pdf_text(download.body())
    assert "Nach Kategorie" in words and "Ihre Antworten" in words

    # The e-mail, sent through the outbox, read back at the SMTP server.
    delivery = Delivery.objects.get(action__kind="scorecard", lead=lead)
    assert delivery_run(delivery.pk) == "delivered"
    [message] = [m for rcpt, m in smtp.received if rcpt == ["erika@example.de"]]
    subject = str(make_header(decode_header(message["Subject"]))).strip()
    assert subject.startswith("Ihr Ergebnis: ") and "Marketing-Messung" in subject
    parts = {part.get_content_type(): part.get_payload(decode=True) for part in message.walk()}
    assert "Guten Tag" in parts["text/plain"].decode()
    assert '<html lang="de">' in parts["text/html"].decode()
    attached = _pdf_text(parts["application/pdf"])
    assert "Nach Kategorie" in attached
    assert re.search(rf"{lead.score_percent}\s?%", attached), attached[:300]
