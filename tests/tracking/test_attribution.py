"""The visitor cookie and first/last-touch attribution, kept from landing to lead."""

import pytest
from django.test import Client

from leads.models import Lead
from tests.visitor import HOT_RUN, answer, result_url, start, submit_lead
from tracking.attribution import FIRST_TOUCH_COOKIE, VISITOR_COOKIE, device_of, touch_from
from tracking.models import ConversionEvent

pytestmark = pytest.mark.django_db


def test_a_new_visitor_gets_a_signed_first_party_cookie_once(client, scorecard):
    first = client.get(scorecard.get_absolute_url())
    cookie = first.cookies[VISITOR_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) == 365 * 24 * 3600
    second = client.get(scorecard.get_absolute_url())
    assert VISITOR_COOKIE not in second.cookies  # set only when new
    tampered = Client()
    tampered.cookies[VISITOR_COOKIE] = "0" * 32
    assert VISITOR_COOKIE in tampered.get(scorecard.get_absolute_url()).cookies


def test_attribution_from_the_landing_reaches_the_lead_through_every_step(client, scorecard):
    landing = (
        scorecard.get_absolute_url()
        + "?utm_source=Newsletter&utm_medium=email&utm_campaign=nov&gclid=abc"
    )
    client.get(landing, headers={"Referer": "https://www.mail.example.com/inbox?id=1"})
    attempt = start(client, scorecard)
    for text, labels, kwargs in HOT_RUN:
        answer(client, attempt, text, *labels, headers={"HX-Request": "true"}, **kwargs)
    submit_lead(client, attempt)
    client.get(result_url(attempt))
    lead_event = ConversionEvent.objects.get(name="lead_submitted")
    assert (lead_event.ft_source, lead_event.ft_medium, lead_event.ft_campaign) == (
        "newsletter",
        "email",
        "nov",
    )
    assert lead_event.ft_referrer == "mail.example.com"
    assert lead_event.first_touch["gclid"] == "abc"
    assert lead_event.first_touch["landing_path"] == scorecard.get_absolute_url()
    assert set(ConversionEvent.objects.values_list("ft_source", flat=True)) == {"newsletter"}


def test_a_later_campaign_visit_is_the_last_touch(client, scorecard):
    client.get(scorecard.get_absolute_url() + "?utm_source=google&utm_medium=cpc")
    client.get(scorecard.get_absolute_url() + "?fbclid=xyz")
    event = ConversionEvent.objects.order_by("id").last()
    assert event.ft_source == "google"
    assert event.lt_source == "facebook"
    assert event.last_touch["fbclid"] == "xyz"


def test_no_raw_ip_address_is_stored(client, scorecard):
    client.get(scorecard.get_absolute_url(), REMOTE_ADDR="203.0.113.9")
    event = ConversionEvent.objects.get()
    stored = str(event.first_touch) + str(event.last_touch) + str(event.properties)
    assert "203.0.113.9" not in stored
    assert FIRST_TOUCH_COOKIE in client.cookies


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148", ("mobile", False)),
        ("Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X)", ("tablet", False)),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0", ("desktop", False)),
        ("Mozilla/5.0 (compatible; bingbot/2.0)", ("bot", True)),
        ("curl/8.0", ("bot", True)),
        ("", ("unknown", False)),
    ],
)
def test_device_class_and_bot_flag(agent, expected):
    assert device_of(agent) == expected


def test_an_internal_htmx_step_is_not_a_new_touch(rf):
    request = rf.get("/q/x/t/abc/q/2/", headers={"Referer": "http://testserver/q/x/"})
    assert touch_from(request) is None


def test_a_run_finished_on_another_device_is_credited_to_where_it_started(client, scorecard):
    client.get(scorecard.get_absolute_url() + "?utm_source=newsletter&utm_medium=email")
    attempt = start(client, scorecard)
    (text, labels, kwargs), *rest = HOT_RUN
    answer(client, attempt, text, *labels, **kwargs)
    started = ConversionEvent.objects.count()

    # The step link, copied to a phone: no cookies, and a campaign of its own.
    phone = Client(headers={"User-Agent": "Mozilla/5.0 (iPhone) Mobile/15E148"})
    phone.get(scorecard.get_absolute_url() + "?utm_source=facebook")
    for text, labels, kwargs in rest:
        answer(phone, attempt, text, *labels, **kwargs)
    submit_lead(phone, attempt)
    phone.get(result_url(attempt))

    later = ConversionEvent.objects.filter(attempt=attempt).order_by("id")[started:]
    assert {e.name for e in later} >= {"question_answered", "quiz_completed", "lead_submitted"}
    assert {(e.ft_source, e.ft_medium, e.lt_source) for e in later} == {
        ("newsletter", "email", "newsletter")
    }
    assert {e.visitor_id for e in later} == {attempt.visitor_id}
    lead = Lead.objects.get()
    assert lead.source == "newsletter"
    assert lead.attribution["first_touch"]["utm_source"] == "newsletter"
    assert lead.attribution["last_source"] == "newsletter"
    # The phone's own visit is still the phone's: its intro view is credited to facebook.
    assert ConversionEvent.objects.get(name="quiz_viewed", ft_source="facebook").device == "mobile"


def test_an_attempt_keeps_the_touches_it_started_with(client, scorecard):
    client.get(scorecard.get_absolute_url() + "?utm_source=google&gclid=abc")
    attempt = start(client, scorecard)
    client.get(scorecard.get_absolute_url() + "?utm_source=bing")  # a later campaign visit
    attempt.refresh_from_db()
    assert attempt.first_touch["utm_source"] == "google"
    assert attempt.last_touch["gclid"] == "abc"
