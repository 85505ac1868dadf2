"""Result blocks on the visitor's result, in the scorecard e-mail and PDF, and in the
builder's "Preview result blocks"."""

from __future__ import annotations

import io
import re
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from pypdf import PdfReader

from leads.report import scorecard_message
from quizzes.models import Attempt, BlockCondition, CategoryBand, HiddenField, ResultBlock
from tests.visitor import HOT_RUN, answer, result_url, start, submit_lead

pytestmark = pytest.mark.django_db

COLD_RUN = [
    ("Do you advertise?", ("No",), {}),  # skips to question 3
    ("What do you track?", ("Forms",), {}),
    ("How confident are you?", (), {"rating": 2}),
    ("Anything else?", (), {"text": ""}),
]  # 0 + 3 + 2 = 5 of 30: 16 %, Cold


@pytest.fixture
def blocks(scorecard):
    """Four blocks: one for everyone, one for Hot, one for a weak Insight band or a low
    rating, one for ?plan=pro."""
    insight = scorecard.categories.get(name="Insight")
    weak = CategoryBand.objects.create(category=insight, name="Weak", min_percent=0, max_percent=39)
    CategoryBand.objects.create(category=insight, name="Strong", min_percent=40, max_percent=100)
    HiddenField.objects.create(quiz=scorecard, name="plan", pattern="free|pro")
    confident = scorecard.questions.get(text="How confident are you?")

    ResultBlock.objects.create(
        quiz=scorecard, order=1, headline="Read our guide", body="First line.\n\nSecond <b>one</b>."
    )
    hot = ResultBlock.objects.create(
        quiz=scorecard,
        order=2,
        headline="Book your strategy call",
        cta_label="Book it",
        cta_url="https://example.com/call?tier={tier}&p={percent}",
    )
    BlockCondition.objects.create(block=hot, kind="tier", tier=scorecard.tiers.get(name="Hot"))
    insight_block = ResultBlock.objects.create(
        quiz=scorecard, order=3, headline="Fix your insight first", match="any"
    )
    BlockCondition.objects.create(block=insight_block, kind="band", category=insight, band=weak)
    BlockCondition.objects.create(
        block=insight_block, kind="rating", question=confident, compare="lte", number=3
    )
    pro = ResultBlock.objects.create(quiz=scorecard, order=4, headline="Welcome, Pro customer")
    BlockCondition.objects.create(block=pro, kind="hidden", field_name="plan", value="pro")
    return scorecard


def _start(client, quiz, query: str = "") -> Attempt:
    """Open the quiz link (with `query`, as a visitor's link carries it) and press Start."""
    if not query:
        return start(client, quiz)
    page = client.get(f"{quiz.get_absolute_url()}?{query}").content.decode()
    action = re.search(r'<form method="post" action="([^"]+)"', page)[1].replace("&amp;", "&")
    assert client.post(action, {"start_key": str(uuid.uuid4())}).status_code == 302
    return Attempt.objects.latest("pk")


def _finish(client, quiz, steps, query: str = ""):
    attempt = _start(client, quiz, query)
    for text, labels, kwargs in steps:
        assert answer(client, attempt, text, *labels, **kwargs).status_code == 302
    assert submit_lead(client, attempt).status_code == 302
    attempt.refresh_from_db()
    return attempt


def _headlines(html: str) -> list[str]:
    found = []
    for headline in (
        "Read our guide",
        "Book your strategy call",
        "Fix your insight first",
        "Welcome, Pro customer",
    ):
        if f">{headline}</h2>" in html:
            found.append((html.index(f">{headline}</h2>"), headline))
    return [headline for _, headline in sorted(found)]


def test_the_result_shows_the_blocks_whose_conditions_hold_for_each_run(client, blocks):
    hot = _finish(client, blocks, HOT_RUN)
    page = client.get(result_url(hot)).content.decode()
    assert _headlines(page) == ["Read our guide", "Book your strategy call"]
    # The body is plain text in paragraphs; what looks like HTML is shown, not run.
    assert "<p>First line.</p>" in page and "Second &lt;b&gt;one&lt;/b&gt;." in page
    [link] = [part for part in page.split('href="')[1:] if part.startswith("https://example.com")]
    query = parse_qs(urlsplit(link.split('"')[0].replace("&amp;", "&")).query)
    assert query["tier"] == ["Hot"] and query["p"] == ["95"]
    assert query["utm_medium"] == ["scorecard"]

    cold = _finish(client, blocks, COLD_RUN, "plan=pro")
    page = client.get(result_url(cold)).content.decode()
    assert _headlines(page) == ["Read our guide", "Fix your insight first", "Welcome, Pro customer"]


def test_the_share_page_shows_no_block(client, blocks):
    attempt = _finish(client, blocks, HOT_RUN)
    share = reverse("leads:share", args=[blocks.slug, attempt.lead.share_token])
    assert _headlines(client.get(share).content.decode()) == []


def test_the_scorecard_email_and_pdf_carry_the_blocks_shown(client, blocks):
    attempt = _finish(client, blocks, COLD_RUN, "plan=pro")
    message = scorecard_message(attempt.lead, message_id="<test@example.com>")
    html = message.alternatives[0][0]
    assert _headlines(html) == ["Read our guide", "Fix your insight first", "Welcome, Pro customer"]
    assert (
        "Fix your insight first" in message.body and "Book your strategy call" not in message.body
    )
    [(_name, pdf, _type)] = message.attachments
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Welcome, Pro customer" in text and "Fix your insight first" in text
    assert "Book your strategy call" not in text


def _preview_url(quiz) -> str:
    return reverse("admin:leads_lead_blocks_preview", args=[quiz.pk])


def test_the_builder_previews_which_blocks_a_set_of_answers_shows(admin_client, blocks):
    advertise = blocks.questions.get(text="Do you advertise?")
    track = blocks.questions.get(text="What do you track?")
    confident = blocks.questions.get(text="How confident are you?")
    picks = {
        f"q{advertise.pk}": str(advertise.choices.get(label="No").pk),
        f"q{track.pk}": [str(c.pk) for c in track.choices.all()],
        f"r{confident.pk}": "9",
        "h_plan": "pro",
    }

    page = admin_client.get(_preview_url(blocks), picks).content.decode()

    # Unanswered questions count as skipped: 0 + 10 + 9 of 30.
    assert "Score 63 %" in page and "tier <strong>Warm</strong>" in page
    assert "Insight 95 % (<strong>Strong</strong>)" in page
    assert "2 of 4 result blocks would show" in page
    assert "<strong>Read our guide</strong>" in page and "Welcome, Pro customer" in page
    assert "Fix your insight first" not in page

    # In the builder, htmx asks for the result alone.
    partial = admin_client.get(
        _preview_url(blocks),
        {**picks, f"r{confident.pk}": "1"},
        headers={"HX-Request": "true", "HX-Target": "qf-blocks-preview-result"},
    ).content.decode()
    assert "Fix your insight first" in partial and "<select" not in partial


def test_the_preview_refuses_a_rating_off_the_scale_in_words(admin_client, blocks):
    confident = blocks.questions.get(text="How confident are you?")
    response = admin_client.get(_preview_url(blocks), {f"r{confident.pk}": "11"})
    assert response.status_code == 400
    assert response.content.decode() == "Question 4: choose a rating from 0 to 10."


def test_the_preview_is_for_the_quiz_builders_only(client, blocks):
    response = client.get(_preview_url(blocks))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_builder_page_shows_the_blocks_and_their_check(admin_client, blocks):
    hot = blocks.result_blocks.get(order=2)
    BlockCondition.objects.create(block=hot, kind="tier", tier=blocks.tiers.get(name="Cold"))
    page = admin_client.get(reverse("admin:quizzes_quiz_change", args=[blocks.pk])).content
    page = page.decode()
    assert 'id="result_blocks-group"' in page
    assert "it needs the tier to be “Cold” and “Hot” at once" in page
    assert _preview_url(blocks) in page
