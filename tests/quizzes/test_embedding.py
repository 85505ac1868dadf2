"""Embedding a quiz on another site: who may frame it, the run's CSRF without cookies,
cookies a frame can keep, the embedding page's touch, events to the parent page."""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import urlencode

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from core.csrf import RUN_TOKEN_FIELD, run_token
from leads.models import Lead
from quizzes.embedding import frame_ancestors, origin_allowed, parse_site, site_problems
from quizzes.models import Attempt, Quiz
from tests.visitor import HOT_RUN, answer_data, details_url, question, result_url, step_url
from tracking.models import ConversionEvent

PARENT = "http://localhost:8001"


def embed_query(page=f"{PARENT}/pricing?utm_source=newsletter&plan=pro", **extra) -> dict:
    return {
        "qf_embed": "inline",
        "qf_origin": PARENT,
        "qf_page": page,
        "qf_ref": "https://www.google.com/",
        **extra,
    }


@pytest.fixture
def embeddable(scorecard):
    scorecard.embed_origins = "http://localhost:*\nhttps://*.example.com"
    scorecard.save()
    return scorecard


# --- Allowed sites ------------------------------------------------------------------


def test_allowed_sites_match_scheme_host_and_port_like_the_browser():
    sites = "http://localhost:*\nhttps://*.example.com\nhttps://shop.test:8443"
    assert origin_allowed("http://localhost:8001", sites)
    assert origin_allowed("https://www.example.com", sites)
    assert not origin_allowed("https://example.com", sites)  # *. means subdomains, as in CSP
    assert not origin_allowed("http://www.example.com", sites)  # another scheme
    assert origin_allowed("https://shop.test:8443", sites)
    assert not origin_allowed("https://shop.test", sites)
    assert not origin_allowed("https://evil.test", sites)
    assert not origin_allowed("null", sites)
    assert frame_ancestors(sites) == (
        "frame-ancestors 'self' http://localhost:* https://*.example.com https://shop.test:8443"
    )


def test_a_line_that_is_not_a_site_is_refused_in_plain_words(scorecard):
    assert parse_site("https://example.com/path") is None
    assert parse_site("javascript:alert(1)") is None
    assert site_problems("https://ok.example\n'unsafe-inline' *") != []
    scorecard.embed_origins = "https://ok.example\nexample.com; script-src *"
    with pytest.raises(ValidationError, match="is not a site"):
        scorecard.full_clean()


def test_visitor_pages_may_be_framed_by_the_quiz_sites_and_every_other_page_by_none(
    client, embeddable
):
    page = client.get(embeddable.get_absolute_url())
    assert page["Content-Security-Policy"] == (
        "frame-ancestors 'self' http://localhost:* https://*.example.com"
    )
    assert "X-Frame-Options" not in page
    admin = client.get(reverse("admin:login"))
    assert admin["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" not in admin


def test_a_quiz_without_allowed_sites_can_be_framed_only_by_itself(client, scorecard):
    page = client.get(scorecard.get_absolute_url())
    assert page["Content-Security-Policy"] == "frame-ancestors 'self'"


def test_an_unlisted_site_gets_a_message_in_the_frame_and_no_quiz(client, embeddable):
    response = client.get(embeddable.get_absolute_url(), embed_query(qf_origin="https://evil.test"))
    assert response.status_code == 403
    text = response.content.decode()
    assert "https://evil.test is not one of the sites allowed" in text
    assert "Get my score" not in text and 'name="start_key"' not in text
    assert response["Content-Security-Policy"] == "frame-ancestors *"  # only a message


@pytest.mark.parametrize("slug", ["no-such-quiz", "draft"])
def test_embedding_an_unknown_or_unpublished_quiz_says_so_in_the_frame(client, draft_quiz, slug):
    slug = draft_quiz.slug if slug == "draft" else slug
    response = client.get(f"/q/{slug}/", embed_query())
    assert response.status_code == 404
    assert "There is no published quiz" in response.content.decode()
    assert response["Content-Security-Policy"] == "frame-ancestors *"
    assert client.get(f"/q/{slug}/").status_code == 404  # outside a frame, the usual 404


def test_embed_js_is_served_at_the_root_as_the_snippet_says(client):
    response = client.get("/embed.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert b"Quizfunnel.open" in response.content or b"api.open" in response.content


def test_the_quiz_page_in_admin_shows_the_snippet_to_copy(admin_client, embeddable):
    page = admin_client.get(reverse("admin:quizzes_quiz_change", args=[embeddable.pk]))
    text = page.content.decode()
    assert f"/embed.js&quot; data-quiz=&quot;{embeddable.slug}&quot; async&gt;" in text
    assert "data-mode=&quot;popup&quot;" in text and "data-mode=&quot;slider&quot;" in text
    assert "data-copy-from" in text


# --- The embedded run -----------------------------------------------------------------


def _start_action(client: Client, quiz: Quiz, query: dict) -> tuple[str, str]:
    """The intro's start form address and its run token, as the frame renders them."""
    page = client.get(quiz.get_absolute_url(), query).content.decode()
    action = re.search(r'<form method="post" action="([^"]+)"', page)[1].replace("&amp;", "&")
    token = re.search(rf'name="{RUN_TOKEN_FIELD}" value="([^"]+)"', page)[1]
    return action, token


def test_an_embedded_run_keeps_the_page_its_touch_and_its_parent_origin(client, embeddable):
    action, _ = _start_action(client, embeddable, embed_query())
    response = client.post(action, {"start_key": str(uuid.uuid4())})
    assert response.status_code == 302
    attempt = Attempt.objects.get()
    assert attempt.embedded_on == f"{PARENT}/pricing?utm_source=newsletter&plan=pro"
    assert attempt.embed_origin == PARENT
    # The embedding page's campaign and referrer, not the frame's address.
    assert attempt.first_touch["utm_source"] == "newsletter"
    assert attempt.first_touch["referrer"] == "google.com"
    assert attempt.first_touch["landing_path"] == "/pricing"
    started = ConversionEvent.objects.get(name="quiz_started")
    assert started.ft_source == "newsletter"
    assert started.properties["embedded_on"] == attempt.embedded_on


def test_a_run_outside_a_frame_is_not_embedded(client, embeddable):
    action, _ = _start_action(client, embeddable, {"utm_source": "ads"})
    client.post(action, {"start_key": str(uuid.uuid4())})
    attempt = Attempt.objects.get()
    assert attempt.embedded_on == "" and attempt.embed_origin == ""
    assert attempt.first_touch["utm_source"] == "ads"


def test_the_parent_page_is_told_the_lead_with_the_server_event_id(client, embeddable):
    embeddable.tiers.update(cta_url="https://example.com/book", cta_label="Book a call")
    action, _ = _start_action(client, embeddable, embed_query())
    client.post(action, {"start_key": str(uuid.uuid4())})
    attempt = Attempt.objects.get()
    for text, labels, kwargs in HOT_RUN:
        q = question(embeddable, text)
        client.post(step_url(attempt, q), answer_data(q, *labels, **kwargs))
    client.post(details_url(attempt), {"email": "ada@example.com"})
    page = client.get(result_url(attempt)).content.decode()
    assert '<meta name="quizfunnel-parent" content="http://localhost:8001">' in page
    events = json.loads(
        re.search(r"<script type=\"application/json\" data-quizfunnel-events>(.*?)</script>", page)[
            1
        ]
    )
    lead_event = ConversionEvent.objects.get(name="lead_submitted")
    told = {e["type"]: e for e in events}
    assert told["quizfunnel:lead"]["event_id"] == str(lead_event.event_id)
    assert told["quizfunnel:lead"]["tier"] == "Hot"
    assert told["quizfunnel:started"]["event_id"] == str(
        ConversionEvent.objects.get(name="quiz_started").event_id
    )
    # The call to action leaves the frame for the top window.
    assert re.search(r'class="button primary cta"[^>]*target="_top"', page)


def test_a_page_outside_a_frame_tells_no_parent(client, scorecard):
    page = client.get(scorecard.get_absolute_url()).content.decode()
    assert "quizfunnel-parent" not in page and "frame.js" not in page


# --- CSRF inside a cross-site frame without cookies ------------------------------------


@pytest.fixture
def cookieless():
    """A browser in a third-party frame: no cookie ever comes back; CSRF is checked."""
    return Client(enforce_csrf_checks=True)


def _post_without_cookies(client: Client, url: str, data: dict, **headers):
    client.cookies.clear()
    return client.post(url, data, headers=headers)


def test_the_run_posts_without_cookies_from_our_own_origin(cookieless, embeddable):
    origin = "http://testserver"
    action, token = _start_action(cookieless, embeddable, embed_query())
    response = _post_without_cookies(
        cookieless,
        action,
        {"start_key": str(uuid.uuid4()), RUN_TOKEN_FIELD: token},
        Origin=origin,
        **{"Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 302, response.content[:500]
    attempt = Attempt.objects.get()
    q = question(embeddable, "Do you advertise?")
    page = cookieless.get(step_url(attempt, q)).content.decode()
    step_token = re.search(rf'name="{RUN_TOKEN_FIELD}" value="([^"]+)"', page)[1]
    response = _post_without_cookies(
        cookieless,
        step_url(attempt, q),
        {**answer_data(q, "Yes"), RUN_TOKEN_FIELD: step_token},
        Origin=origin,
    )
    assert response.status_code == 302
    assert attempt.answers.count() == 1


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"Origin": "https://evil.test"}, "Origin checking failed"),
        ({}, "no Origin header"),
        ({"Origin": "null"}, "no Origin header"),
        ({"Origin": "http://testserver", "Sec-Fetch-Site": "cross-site"}, "Sec-Fetch-Site"),
    ],
)
def test_a_cross_site_post_without_cookies_is_refused(cookieless, embeddable, headers, why):
    action, token = _start_action(cookieless, embeddable, embed_query())
    response = _post_without_cookies(
        cookieless, action, {"start_key": str(uuid.uuid4()), RUN_TOKEN_FIELD: token}, **headers
    )
    assert response.status_code == 403
    assert not Attempt.objects.exists()


def test_a_run_token_made_for_another_run_is_refused(cookieless, embeddable):
    other = Attempt.objects.create(quiz=embeddable)
    mine = Attempt.objects.create(quiz=embeddable)
    q = question(embeddable, "Do you advertise?")
    for token in (run_token(f"run:{other.token}"), "forged", ""):
        response = _post_without_cookies(
            cookieless,
            step_url(mine, q),
            {**answer_data(q, "Yes"), RUN_TOKEN_FIELD: token},
            Origin="http://testserver",
        )
        assert response.status_code == 403
    assert not mine.answers.exists()


def test_staff_pages_keep_the_cookie_check(cookieless, admin_user):
    response = _post_without_cookies(
        cookieless,
        reverse("admin:login"),
        {"username": admin_user.username, "password": "password"},
        Origin="http://testserver",
    )
    assert response.status_code == 403


# --- Cookies a frame can keep ------------------------------------------------------------


def test_the_visitor_cookie_in_a_frame_over_https_is_partitioned(embeddable, settings):
    client = Client()
    response = client.get(
        embeddable.get_absolute_url(),
        embed_query(),
        secure=True,
        headers={"Sec-Fetch-Dest": "iframe"},
    )
    header = response.cookies["qf_vid"].output()
    assert "SameSite=None" in header and "Secure" in header and header.endswith("; Partitioned")
    # A top-level visit keeps its first-party, Lax cookie.
    top = Client().get(embeddable.get_absolute_url(), secure=True)
    assert "SameSite=Lax" in top.cookies["qf_vid"].output()
    assert "Partitioned" not in top.cookies["qf_vid"].output()


def test_over_plain_http_a_frame_gets_no_secure_cookie(embeddable):
    response = Client().get(embeddable.get_absolute_url(), embed_query())
    header = response.cookies["qf_vid"].output()
    assert "Partitioned" not in header and "Secure" not in header


def test_the_lead_of_an_embedded_run_is_credited_to_the_embedding_page(client, embeddable):
    action, _ = _start_action(client, embeddable, embed_query())
    client.post(action, {"start_key": str(uuid.uuid4())})
    attempt = Attempt.objects.get()
    for text, labels, kwargs in HOT_RUN:
        q = question(embeddable, text)
        client.post(step_url(attempt, q), answer_data(q, *labels, **kwargs))
    client.post(details_url(attempt), {"email": "ada@example.com"})
    lead = Lead.objects.get()
    assert lead.source == "newsletter"


def test_the_embed_parameters_never_reach_the_frame_unchecked(client, embeddable):
    hostile = {
        "qf_embed": "inline",
        "qf_origin": "http://localhost:8001",
        "qf_page": "javascript:alert(1)",
        "qf_ref": "\x00" * 10,
    }
    response = client.get(embeddable.get_absolute_url() + "?" + urlencode(hostile))
    assert response.status_code == 200
    action = re.search(r'action="([^"]+)"', response.content.decode())[1].replace("&amp;", "&")
    client.post(action, {"start_key": str(uuid.uuid4())})
    attempt = Attempt.objects.get()
    assert attempt.embedded_on == ""  # not an http(s) page
    assert attempt.embed_origin == "http://localhost:8001"


def test_take_it_again_inside_the_frame_stays_embedded():
    from types import SimpleNamespace

    from quizzes.embedding import again_url

    quiz = SimpleNamespace(get_absolute_url=lambda: "/q/demo/")
    framed = SimpleNamespace(
        quiz=quiz,
        embed_origin="https://blog.example",
        embedded_on="https://blog.example/p?utm_source=x",
    )
    assert again_url(framed) == (
        "/q/demo/?qf_embed=inline&qf_origin=https%3A%2F%2Fblog.example"
        "&qf_page=https%3A%2F%2Fblog.example%2Fp%3Futm_source%3Dx"
    )
    assert again_url(SimpleNamespace(quiz=quiz, embed_origin="", embedded_on="")) == "/q/demo/"
