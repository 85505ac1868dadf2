"""Visitors see friendly error pages; for an htmx request only a card, never a whole page."""

import pytest

pytestmark = pytest.mark.django_db


def test_a_missing_page_is_the_friendly_404(client):
    response = client.get("/q/no-such-quiz/")
    assert response.status_code == 404
    page = response.content.decode()
    assert page.startswith("<!doctype html>") and "We could not find that page" in page


def test_a_missing_page_asked_by_htmx_is_a_card_for_the_quiz_cards_place(client):
    response = client.get("/q/no-such-quiz/", headers={"HX-Request": "true"})
    assert response.status_code == 404
    page = response.content.decode()
    assert page.startswith('<section class="card" id="quiz-card" role="alert">')
    assert "<html" not in page and "We could not find that page" in page
