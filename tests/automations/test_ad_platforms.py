"""Conversions sent server-side to Meta's Conversions API and GA4's Measurement Protocol,
against fake Meta and GA4 servers on 127.0.0.1 that check what the platforms document."""

import hashlib
import re
from datetime import datetime, timedelta

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from automations.delivery import delivery_replay, delivery_run
from automations.models import Delivery
from automations.senders.meta import email_normalised, name_normalised, phone_normalised
from leads.models import Lead
from quizzes.models import Quiz
from tests.fakes.meta import meta_error
from tests.visitor import HOT_RUN, result_url, run, start, submit_lead
from tracking.attribution import fbp_from_cookie, ga_client_id_from_cookie
from tracking.models import ConversionEvent

pytestmark = pytest.mark.django_db

PHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
FBCLID = "IwAR2F4-dbP0l7Mn1IawQQGCINEz7PYXQvwjNwB_qa2ofrHyiLjcbCRxTDMgk"
FBP = "fb.1.1596403881668.1116446470"
GA = "GA1.1.1234567890.1700000000"
# SHA-256 of Meta's normalised values, computed apart from the code under test
# (printf '%s' ada@example.com | sha256sum).
SHA_EMAIL = "b5fc85e55755f9e0d030a10ab4429b6b2944855f9a0d60077fe832becbc41d72"
SHA_PHONE = "35e206e5dec4c89b9e8b71b8c32724a5bb518483ac5a20c6617d738375b3b823"  # 442079460958
SHA_ADA = "fdee430d40bd57deeac186cd9790033d0f06f909a8806e7ce6e717ab7c7d5029"
SHA_LOVELACE = "fb1e7ec987523d2cb9e022cec1d6ae7c99dc46edfae4fe51254025fe4bea571f"


def browser(*, fbp: str | None = FBP, ga: str | None = GA, user_agent: str = PHONE_UA) -> Client:
    client = Client(HTTP_USER_AGENT=user_agent)
    if fbp is not None:
        client.cookies["_fbp"] = fbp
    if ga is not None:
        client.cookies["_ga"] = ga
    return client


def hot_lead(client, quiz, *, fbclid: str | None = FBCLID, steps=HOT_RUN, **fields) -> Lead:
    Quiz.objects.filter(pk=quiz.pk).update(ask_phone=Quiz.FieldMode.OPTIONAL)
    if fbclid:
        assert client.get(f"/q/{quiz.slug}/?fbclid={fbclid}").status_code == 200
    attempt = run(client, quiz, steps=steps)
    fields = {"name": "Ada Lovelace", "phone": "+44 20 7946 0958", "consent": "on", **fields}
    response = submit_lead(client, attempt, **fields)
    assert response.status_code == 302, response.content.decode()[:500]
    return Lead.objects.get(attempt=attempt)


def the_delivery(kind: str) -> Delivery:
    return Delivery.objects.get(action__kind=kind)


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# --- Meta ---------------------------------------------------------------------------------


def test_a_hot_leads_conversion_reaches_meta_once_with_hashed_user_data(scorecard, meta, meta_rule):
    client = browser()
    lead = hot_lead(client, scorecard)
    event = ConversionEvent.objects.get(name="lead_submitted", lead=lead)

    assert delivery_run(the_delivery("meta").pk) == "delivered"
    [((pixel, name, event_id), sent)] = meta.conversions.items()
    assert (pixel, name, event_id) == ("1234567890123456", "Lead", str(event.event_id))
    assert sent["action_source"] == "website"
    assert sent["event_time"] == int(lead.created_at.timestamp())
    assert sent["event_source_url"] == f"{django_settings.SITE_URL}/q/{scorecard.slug}/"
    user = sent["user_data"]
    assert user["em"] == [SHA_EMAIL]
    assert user["ph"] == [SHA_PHONE]
    assert user["fn"] == [SHA_ADA] and user["ln"] == [SHA_LOVELACE]
    assert user["external_id"] == [sha(lead.attempt.visitor_id)]
    assert user["client_user_agent"] == PHONE_UA
    assert user["fbp"] == FBP
    clicked = datetime.fromisoformat(lead.attribution["last_touch"]["at"])
    assert user["fbc"] == f"fb.1.{int(clicked.timestamp() * 1000)}.{FBCLID}"
    assert "client_ip_address" not in user  # never read, never sent
    assert sent["custom_data"]["lead_tier"] == "Hot"

    # The result page gives a browser pixel the same id, for Meta to keep one of the pair.
    page = client.get(result_url(lead.attempt)).content.decode()
    assert f'data-lead-event-id="{event.event_id}"' in page


def test_the_access_token_is_not_in_the_delivery_log(scorecard, meta, meta_rule):
    hot_lead(browser(), scorecard)
    delivery = the_delivery("meta")
    delivery_run(delivery.pk)
    [attempt] = delivery.log.all()
    assert "access_token=[redacted]" in attempt.request
    assert meta_rule.actions.get().meta_access_token not in attempt.request


def test_without_an_fbclid_or_an_fbp_cookie_meta_gets_neither(scorecard, meta, meta_rule):
    hot_lead(browser(fbp=None), scorecard, fbclid=None)
    assert delivery_run(the_delivery("meta").pk) == "delivered"
    [sent] = meta.conversions.values()
    assert "fbc" not in sent["user_data"] and "fbp" not in sent["user_data"]


def test_a_test_event_code_sends_to_meta_test_events_only(scorecard, meta, meta_rule):
    meta_rule.actions.update(meta_test_event_code="TEST12345")
    hot_lead(browser(), scorecard)
    assert delivery_run(the_delivery("meta").pk) == "delivered"
    assert len(meta.test_events) == 1 and not meta.conversions


def test_a_custom_event_name_is_sent_as_chosen(scorecard, meta, meta_rule):
    meta_rule.actions.update(meta_event_name="QuizLead")
    hot_lead(browser(), scorecard)
    delivery_run(the_delivery("meta").pk)
    [(_, name, _)] = meta.conversions
    assert name == "QuizLead"


def test_metas_refusal_is_dead_with_metas_words_and_trace_id(scorecard, meta, meta_rule):
    meta.answer_next(
        "/events",
        400,
        meta_error(
            "(#100) Invalid parameter",
            100,
            error_user_msg="The event's custom_data is invalid",
            error_subcode=2804019,
        ),
    )
    hot_lead(browser(), scorecard)
    delivery = the_delivery("meta")
    assert delivery_run(delivery.pk) == "dead"
    delivery.refresh_from_db()
    assert delivery.last_error.startswith(
        "Meta refused the event: The event's custom_data is invalid (code 100, subcode 2804019"
    )
    assert "fbtrace_id A" in delivery.last_error
    assert not meta.conversions


def test_an_invalid_token_pauses_the_rule_and_holds_the_delivery(scorecard, meta, meta_rule):
    meta_rule.actions.update(meta_access_token="EAAwrong")
    hot_lead(browser(), scorecard)
    delivery = the_delivery("meta")
    assert delivery_run(delivery.pk) == "held"
    delivery.refresh_from_db()
    meta_rule.refresh_from_db()
    assert (
        "Invalid OAuth access token" in delivery.held_reason and "code 190" in delivery.held_reason
    )
    assert meta_rule.paused_at is not None


@pytest.mark.parametrize("code", [4, 17, 613])
def test_a_meta_rate_limit_backs_off_then_delivers_once(scorecard, meta, meta_rule, code):
    meta.rate_limit_next(code)
    hot_lead(browser(), scorecard)
    delivery = the_delivery("meta")
    assert delivery_run(delivery.pk) == "retrying"
    delivery.refresh_from_db()
    assert f"code {code}" in delivery.last_error and "backing off" in delivery.last_error
    assert delivery.next_attempt_at > timezone.now() - timedelta(seconds=1)
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert delivery_run(delivery.pk) == "delivered"
    assert len(meta.conversions) == 1


def test_a_meta_500_is_retried_and_counted_once(scorecard, meta, meta_rule):
    meta.answer_next("/events", 500, {"error": {"message": "Service temporarily unavailable"}})
    hot_lead(browser(), scorecard)
    delivery = the_delivery("meta")
    assert delivery_run(delivery.pk) == "retrying"
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert delivery_run(delivery.pk) == "delivered"
    assert meta.received == 1 and len(meta.conversions) == 1


def test_a_timed_out_meta_call_is_sent_again_and_meta_keeps_one(
    scorecard, meta, meta_rule, settings
):
    settings.AUTOMATIONS_HTTP_TIMEOUT = 0.5
    meta.drip_next("/events", seconds=3.0)  # Meta takes the event; its answer never arrives
    hot_lead(browser(), scorecard)
    delivery = the_delivery("meta")
    assert delivery_run(delivery.pk) == "retrying"
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert delivery_run(delivery.pk) == "delivered"
    # Both calls arrived with the same event_id: Meta deduplicates, one conversion.
    assert meta.received == 2 and len(meta.conversions) == 1


def test_a_lead_older_than_seven_days_is_not_sent_to_meta(scorecard, meta, meta_rule):
    lead = hot_lead(browser(), scorecard)
    Lead.objects.filter(pk=lead.pk).update(created_at=timezone.now() - timedelta(days=8))
    delivery = the_delivery("meta")
    assert delivery_run(delivery.pk) == "dead"
    delivery.refresh_from_db()
    assert "Meta takes events up to 7 days old" in delivery.last_error
    assert not meta.requests


# --- GA4 ----------------------------------------------------------------------------------


def test_a_hot_leads_generate_lead_reaches_ga4_once_with_its_tier_value(scorecard, ga4, ga4_rule):
    lead = hot_lead(browser(), scorecard)
    assert delivery_run(the_delivery("ga4").pk) == "delivered"
    [sent] = ga4.collected
    assert not ga4.dropped
    assert sent["client_id"] == "1234567890.1700000000"  # from _ga GA1.1.X.Y
    assert sent["timestamp_micros"] == int(lead.created_at.timestamp() * 1_000_000)
    [event] = sent["events"]
    assert event["name"] == "generate_lead"
    assert event["params"]["value"] == 100 and event["params"]["currency"] == "EUR"
    assert event["params"]["tier"] == "Hot"
    assert sent["consent"] == {"ad_user_data": "GRANTED", "ad_personalization": "GRANTED"}
    [attempt] = the_delivery("ga4").log.all()
    assert "api_secret=[redacted]" in attempt.request and "ga4-secret" not in attempt.request


def test_without_a_ga_cookie_the_client_id_is_derived_from_the_visitor_and_stable(
    scorecard, ga4, ga4_rule
):
    client = browser(ga=None)
    hot_lead(client, scorecard)
    hot_lead(client, scorecard)  # the same browser again
    hot_lead(browser(ga=None), scorecard)  # someone else
    for delivery in Delivery.objects.order_by("pk"):
        assert delivery_run(delivery.pk) == "delivered"
    ids = [body["client_id"] for body in ga4.collected]
    assert all(re.fullmatch(r"[0-9]+\.[0-9]{10}", i) for i in ids)
    assert ids[0] == ids[1] != ids[2]


def test_a_tier_without_a_value_is_sent_without_one(scorecard, ga4, ga4_rule):
    ga4_rule.actions.update(ga4_tier_values="Warm=30")
    hot_lead(browser(), scorecard)
    delivery_run(the_delivery("ga4").pk)
    [sent] = ga4.collected
    assert "value" not in sent["events"][0]["params"]


def test_a_lead_older_than_72_hours_is_dead_and_not_sent_to_ga4(scorecard, ga4, ga4_rule):
    lead = hot_lead(browser(), scorecard)
    Lead.objects.filter(pk=lead.pk).update(created_at=timezone.now() - timedelta(hours=73))
    delivery = the_delivery("ga4")
    assert delivery_run(delivery.pk) == "dead"
    delivery.refresh_from_db()
    assert "GA4 takes events up to 72 hours old" in delivery.last_error
    assert "73 hours ago" in delivery.last_error
    assert not ga4.requests


def test_a_lead_just_inside_72_hours_is_sent(scorecard, ga4, ga4_rule):
    lead = hot_lead(browser(), scorecard)
    Lead.objects.filter(pk=lead.pk).update(created_at=timezone.now() - timedelta(hours=71))
    assert delivery_run(the_delivery("ga4").pk) == "delivered"
    assert len(ga4.collected) == 1


def test_the_validate_switch_asks_ga4s_validation_server_first(scorecard, ga4, ga4_rule):
    ga4_rule.actions.update(ga4_validate=True)
    hot_lead(browser(), scorecard)
    assert delivery_run(the_delivery("ga4").pk) == "delivered"
    assert ga4.validated == 1 and len(ga4.collected) == 1


def test_what_ga4s_validation_server_objects_to_is_shown_and_not_sent(scorecard, ga4, ga4_rule):
    ga4_rule.actions.update(ga4_validate=True)
    ga4.answer_next(
        "/debug/mp/collect",
        200,
        {
            "validationMessages": [
                {
                    "fieldPath": "events[0].params.currency",
                    "description": "Currency must be a valid ISO 4217 code",
                    "validationCode": "VALUE_INVALID",
                }
            ]
        },
    )
    hot_lead(browser(), scorecard)
    delivery = the_delivery("ga4")
    assert delivery_run(delivery.pk) == "dead"
    delivery.refresh_from_db()
    assert (
        "events[0].params.currency: Currency must be a valid ISO 4217 code (VALUE_INVALID)"
        in delivery.last_error
    )
    assert not ga4.collected and not ga4.dropped


def test_a_ga4_429_waits_and_a_500_backs_off_then_one_event_is_collected(scorecard, ga4, ga4_rule):
    ga4.answer_next("/mp/collect", 429)
    ga4.answer_next("/mp/collect", 500)
    hot_lead(browser(), scorecard)
    delivery = the_delivery("ga4")
    for expected in ("retrying", "retrying", "delivered"):
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        assert delivery_run(delivery.pk) == expected
    assert len(ga4.collected) == 1


def test_a_timed_out_ga4_call_is_not_sent_twice_on_its_own_and_replay_sends_it(
    scorecard, ga4, ga4_rule, settings
):
    settings.AUTOMATIONS_HTTP_TIMEOUT = 0.5
    ga4.drip_next("/mp/collect", seconds=3.0)  # GA4 collects it; the answer never arrives
    hot_lead(browser(), scorecard)
    delivery = the_delivery("ga4")
    assert delivery_run(delivery.pk) == "dead"
    delivery.refresh_from_db()
    assert "GA4 may have counted the lead" in delivery.last_error
    assert len(ga4.collected) == 1  # exactly once

    delivery_replay(delivery=delivery)  # a person who checked GA4's Realtime report
    assert delivery_run(delivery.pk) == "delivered"
    assert len(ga4.collected) == 2


# --- Who is sent --------------------------------------------------------------------------


def test_a_lead_without_consent_is_skipped_with_the_reason(
    scorecard, meta, ga4, meta_rule, ga4_rule
):
    hot_lead(browser(), scorecard, consent="")
    for kind in ("meta", "ga4"):
        delivery = the_delivery(kind)
        assert delivery_run(delivery.pk) == "skipped"
        delivery.refresh_from_db()
        assert "did not tick the consent box" in delivery.last_error
    assert not meta.requests and not ga4.requests


def test_with_only_with_consent_off_a_lead_without_consent_is_sent(
    scorecard, meta, ga4, meta_rule, ga4_rule
):
    for rule in (meta_rule, ga4_rule):
        rule.actions.update(only_with_consent=False)
    hot_lead(browser(), scorecard, consent="")
    assert delivery_run(the_delivery("meta").pk) == "delivered"
    assert delivery_run(the_delivery("ga4").pk) == "delivered"
    assert len(meta.conversions) == 1
    [sent] = ga4.collected
    assert "consent" not in sent  # GA4 is not told it was granted


def test_a_quiz_without_a_consent_box_is_skipped_when_consent_is_required(
    scorecard, meta, meta_rule
):
    scorecard.consent_text = ""
    scorecard.save()
    hot_lead(browser(), scorecard, consent="")
    delivery = the_delivery("meta")
    assert delivery_run(delivery.pk) == "skipped"
    delivery.refresh_from_db()
    assert "The quiz has no consent box" in delivery.last_error


def test_a_lead_from_a_headless_browser_reaches_sales_but_not_the_ad_platforms(
    scorecard, meta, meta_rule
):
    lead = hot_lead(browser(user_agent="Mozilla/5.0 HeadlessChrome/120.0"), scorecard)
    assert lead.looks_automated and Lead.objects.for_sales().filter(pk=lead.pk).exists()
    delivery = the_delivery("meta")
    assert delivery_run(delivery.pk) == "skipped"
    delivery.refresh_from_db()
    assert "crawler or a headless tool" in delivery.last_error
    assert not meta.requests


def test_spam_and_previews_have_no_ad_platform_delivery(
    scorecard, meta, ga4, meta_rule, ga4_rule, admin_client
):
    hot_lead(browser(), scorecard, website="https://spam.example")  # the honeypot
    attempt = start(admin_client, scorecard, preview="1")
    assert attempt.is_preview
    for prompt, labels, kwargs in HOT_RUN:
        from tests.visitor import answer

        answer(admin_client, attempt, prompt, *labels, **kwargs)
    submit_lead(admin_client, attempt, consent="on")
    assert Lead.objects.filter(is_spam=True).count() == 1
    assert Lead.objects.filter(is_preview=True).count() == 1
    assert not Delivery.objects.exists()
    page = admin_client.get(result_url(attempt)).content.decode()
    assert "data-lead-event-id" not in page  # nothing for a pixel to report


def test_a_skipped_delivery_lets_the_rules_next_action_go(scorecard, meta, meta_rule, hubspot):
    from tests.automations.factories import ActionFactory

    ActionFactory(rule=meta_rule, kind="webhook", order=1, webhook_url=f"{hubspot.url}/hook")
    hot_lead(browser(), scorecard, consent="")
    assert delivery_run(the_delivery("meta").pk) == "skipped"
    assert the_delivery("webhook").status == "pending"


# --- Normalisation, cookies ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "country", "digits"),
    [
        ("+44 20 7946 0958", "", "442079460958"),
        ("0044 20 7946 0958", "", "442079460958"),
        ("(020) 7946-0958", "GB", "442079460958"),
        ("+44 (0)20 7946 0958", "", "442079460958"),
        ("0151 12345678", "DE", "4915112345678"),
        ("020 7946 0958", "", ""),  # no country code and no country: not sent
        ("call me", "GB", ""),
        ("+1 2", "", ""),
    ],
)
def test_phone_numbers_are_digits_with_their_country_code(raw, country, digits):
    assert phone_normalised(raw, country) == digits


def test_e_mails_and_names_are_normalised_as_meta_documents():
    assert sha(email_normalised("  Ada@Example.COM ")) == SHA_EMAIL
    assert name_normalised("  José ") == "josé"
    assert sha(name_normalised("José")) == (
        "d994e1d001886fe5b45b1267bd1fa2b752ac50742579bd3dad7b2a2aa0ed6866"
    )
    assert name_normalised("O'Brien-Smith") == "obriensmith"
    assert sha(name_normalised("ADA.")) == SHA_ADA


@pytest.mark.parametrize(
    ("cookie", "fbp"),
    [
        (FBP, FBP),
        ("fb.2.1596403881668.1116446470", "fb.2.1596403881668.1116446470"),
        ("fb.1.abc.1116446470", ""),
        ("fb.1.1596403881668.1116446470<script>", ""),
        ("\x00fb.1.1596403881668.1", "fb.1.1596403881668.1"),  # NUL stripped, then checked
        ("x" * 5000, ""),
        ("", ""),
    ],
)
def test_the_fbp_cookie_is_kept_only_when_it_is_metas(cookie, fbp):
    assert fbp_from_cookie(cookie) == fbp


@pytest.mark.parametrize(
    ("cookie", "client_id"),
    [
        (GA, "1234567890.1700000000"),
        ("GA1.2.987654321.1699999999", "987654321.1699999999"),
        ("GA1.1.123", ""),
        ("GS1.1.1700000000.1.0.1700000000.0.0.0", ""),
        ("GA1.1.12\ud800.34", "12.34"),  # an unpaired surrogate is stripped, then checked
        ("", ""),
    ],
)
def test_the_ga_cookie_gives_its_client_id(cookie, client_id):
    assert ga_client_id_from_cookie(cookie) == client_id


def test_a_bad_fbp_or_ga_cookie_is_ignored_and_the_lead_still_arrives(scorecard):
    client = browser(fbp="fb.1.nonsense", ga="GA1.1.%%%")
    lead = hot_lead(client, scorecard)
    assert lead.fbp == "" and lead.ga_client_id == ""
    assert lead.user_agent == PHONE_UA


def test_a_long_fbclid_is_kept_whole_for_fbc(scorecard, meta, meta_rule):
    # Meta's newer click ids run past 100 characters; a click id cut short is a wrong one.
    fbclid = "IwZXh0bgNhZW0CMTAAAR" + "a1B2c3D4e5" * 20 + "_aem_Xy9"
    hot_lead(browser(), scorecard, fbclid=fbclid)
    assert delivery_run(the_delivery("meta").pk) == "delivered"
    [sent] = meta.conversions.values()
    assert sent["user_data"]["fbc"].endswith("." + fbclid)
