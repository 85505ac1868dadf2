"""HEAD answers like GET without a body where looking changes nothing (a download manager
on the PDF, an uptime monitor on the quiz, a link preview on the share picture), and
records nothing; pages whose GET records a view or scores a lead stay GET only."""

import pytest
from django.urls import reverse

from tests.visitor import HOT_RUN, question, result_url, run, step_url, submit_lead
from tracking.models import ConversionEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(client, scorecard):
    attempt = run(client, scorecard, steps=HOT_RUN)
    submit_lead(client, attempt, email="ada@example.com")
    return attempt.lead


def test_head_on_the_scorecard_pdf_answers_like_get_without_a_body(client, scorecard, lead):
    url = reverse("leads:result_pdf", args=[scorecard.slug, lead.attempt.token])
    events = ConversionEvent.objects.count()
    response = client.head(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'inline; filename="scorecard-{scorecard.slug}.pdf"'
    assert response.content == b""
    assert ConversionEvent.objects.count() == events
    assert (
        client.head(reverse("leads:result_pdf", args=[scorecard.slug, "nope"])).status_code == 404
    )


def test_head_on_the_share_page_and_picture_and_the_quiz(client, scorecard, lead):
    share = reverse("leads:share", args=[scorecard.slug, lead.share_token])
    card = reverse("leads:share_card", args=[scorecard.slug, lead.share_token])
    assert client.head(share).status_code == 200
    picture = client.head(card)
    assert picture.status_code == 200 and picture["Content-Type"] == "image/png"
    assert client.head("/embed.js").status_code == 200
    assert client.head(reverse("quizzes:index")).status_code == 200


def test_head_on_the_intro_records_no_view(client, scorecard):
    views = ConversionEvent.objects.filter(name="quiz_viewed")
    response = client.head(scorecard.get_absolute_url())
    assert response.status_code == 200 and response.content == b""
    assert views.count() == 0
    client.get(scorecard.get_absolute_url())
    assert views.count() == 1


def test_pages_whose_get_records_a_view_refuse_head(client, scorecard, lead):
    attempt = lead.attempt
    viewed = ConversionEvent.objects.filter(name__in=["result_viewed", "question_viewed"])
    before = viewed.count()
    assert client.head(result_url(attempt)).status_code == 405
    assert client.head(step_url(attempt, question(scorecard, HOT_RUN[0][0]))).status_code == 405
    assert viewed.count() == before
