"""Share and retake: a public summary with Open Graph tags and a preview picture; the call
to action carries the tier and score; "Take it again" starts a new attempt."""

from __future__ import annotations

import io
import re

import pytest
from django.urls import reverse
from PIL import Image

from quizzes.models import Quiz
from tests.visitor import HOT_RUN, result_url, run, start, submit_lead

pytestmark = pytest.mark.django_db


def hot_lead(client, quiz):
    attempt = run(client, quiz, steps=HOT_RUN)
    submit_lead(client, attempt, name="Ada Lovelace", email="ada@example.com")
    return attempt.lead


def share_path(lead):
    return reverse("leads:share", args=[lead.quiz.slug, lead.share_token])


def test_the_share_page_shows_the_score_and_nothing_personal(client, scorecard):
    lead = hot_lead(client, scorecard)
    result = client.get(result_url(lead.attempt)).content.decode()
    assert share_path(lead) in result

    page = client.get(share_path(lead)).content.decode()

    assert "A score of 95%" in page and "Hot" in page
    assert "Reach" in page and "Insight" in page
    for private in ("Ada", "ada@example.com", "More budget", lead.attempt.token):
        assert private not in page
    card = (
        f"http://testserver{reverse('leads:share_card', args=[scorecard.slug, lead.share_token])}"
    )
    assert f'<meta property="og:image" content="{card}">' in page
    assert '<meta name="twitter:card" content="summary_large_image">' in page
    assert re.search(r'<meta name="description" content="A score of 95% \(Hot\)', page)
    assert f'href="{scorecard.get_absolute_url()}"' in page  # take it yourself


def test_the_preview_picture_is_a_1200_by_630_png(client, scorecard):
    lead = hot_lead(client, scorecard)
    response = client.get(reverse("leads:share_card", args=[scorecard.slug, lead.share_token]))
    assert response["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.size == (1200, 630)
    # The score's bar is drawn in the quiz's primary colour.
    assert (29, 78, 216) in {c for _, c in image.getcolors(1_000_000)}


def test_unknown_previews_and_unpublished_quizzes_share_nothing(client, scorecard):
    lead = hot_lead(client, scorecard)
    assert client.get(reverse("leads:share", args=[scorecard.slug, "nope"])).status_code == 404
    assert client.get(reverse("leads:share", args=["other", lead.share_token])).status_code == 404
    Quiz.objects.filter(pk=scorecard.pk).update(status=Quiz.Status.DRAFT)
    assert client.get(share_path(lead)).status_code == 404


def test_the_call_to_action_carries_tier_score_and_utm(client, scorecard):
    scorecard.tiers.filter(name="Hot").update(
        cta_url="https://example.com/book?segment={tier}&score={percent}", cta_label="Book"
    )
    lead = hot_lead(client, scorecard)
    page = client.get(result_url(lead.attempt)).content.decode()
    href = re.search(r'<a class="button primary cta" href="([^"]+)"', page)[1]
    assert href == (
        "https://example.com/book?segment=Hot&amp;score=95&amp;utm_source=quizfunnel"
        f"&amp;utm_medium=scorecard&amp;utm_campaign={scorecard.slug}&amp;utm_content=Hot"
    )


def test_a_call_to_action_with_its_own_utm_keeps_them(client, scorecard):
    scorecard.tiers.filter(name="Hot").update(cta_url="https://example.com/?utm_source=partner")
    lead = hot_lead(client, scorecard)
    assert lead.cta_href == "https://example.com/?utm_source=partner"


def test_take_it_again_starts_a_new_attempt(client, scorecard):
    lead = hot_lead(client, scorecard)
    page = client.get(result_url(lead.attempt)).content.decode()
    assert f'href="{scorecard.get_absolute_url()}">Take it again</a>' in page
    again = start(client, scorecard)
    assert again.pk != lead.attempt.pk
