"""Deliveries against a fake HubSpot over real HTTP: exactly once, retried by class of error."""

import base64
import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, User
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from automations import crm, ratelimit
from automations.delivery import (
    deliveries_sweep,
    delivery_replay,
    delivery_run,
    rule_dry_run,
    rule_resume,
)
from automations.models import Delivery, Rule
from automations.senders import webhook_signature
from leads.models import Lead
from quizzes.models import Question
from tests.automations.factories import ActionFactory, ConditionFactory, RuleFactory
from tests.visitor import HOT_RUN, run, submit_lead

pytestmark = pytest.mark.django_db

COLD_RUN = [
    ("Do you advertise?", ("No",), {}),
    ("What do you track?", ("Forms",), {}),
    ("How confident are you?", (), {"rating": 1}),
    ("Anything else?", (), {"text": ""}),
]  # 4 of 30 points: 13 %, Cold


def hot_lead(client, quiz):
    attempt = run(client, quiz, steps=HOT_RUN)
    submit_lead(client, attempt)
    return attempt.lead


def run_due(delivery):
    """What the worker does when the retry comes due (HubSpot's wait is over by then)."""
    ratelimit.reset(crm.rate_limit_name(django_settings.HUBSPOT_TOKEN))
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    return delivery_run(delivery.pk)


def test_a_hot_lead_gives_one_contact_upsert_and_one_task(client, scorecard, hubspot, hot_rule):
    lead = hot_lead(client, scorecard)
    delivery = Delivery.objects.get()
    assert delivery.lead == lead and delivery.status == "pending"
    assert delivery_run(delivery.pk) == "delivered"

    assert hubspot.count("contacts/batch/upsert") == 1
    assert hubspot.contacts["ada@example.com"]["quizfunnel_tier"] == "Hot"
    [task] = hubspot.tasks.values()
    props = task["properties"]
    assert props["hs_task_priority"] == "HIGH"
    assert props["hubspot_owner_id"] == "77"
    assert "95 %" in props["hs_task_subject"] and "Reach 100 %" in props["hs_task_body"]
    assert "How do you tag links?: Always" in props["hs_task_body"]
    assert task["associations"][0]["to"]["id"] == hubspot.contacts["ada@example.com"]["id"]
    assert task["associations"][0]["types"][0]["associationTypeId"] == 204
    delivery.refresh_from_db()
    assert set(delivery.remote) == {"contact_id", "task_id"}
    # Running it again (a duplicate message) does nothing.
    assert delivery_run(delivery.pk) is None
    assert len(hubspot.tasks) == 1


def test_a_double_submit_still_makes_one_task(client, scorecard, hubspot, hot_rule):
    attempt = run(client, scorecard)
    submit_lead(client, attempt)
    submit_lead(client, attempt)
    for delivery in Delivery.objects.all():
        delivery_run(delivery.pk)
    assert Delivery.objects.count() == 1
    assert len(hubspot.tasks) == 1


def test_the_secret_token_is_never_logged(client, scorecard, hubspot, hot_rule):
    hot_lead(client, scorecard)
    delivery_run(Delivery.objects.get().pk)
    log = " ".join(a.request for a in Delivery.objects.get().log.all())
    assert hubspot.token not in log and "[redacted]" in log


def test_a_cold_lead_and_exactly_80_do_not_fire_and_81_does(client, scorecard, hubspot, hot_rule):
    attempt = run(client, scorecard, steps=COLD_RUN)
    submit_lead(client, attempt)
    assert not Delivery.objects.exists()
    # A confidence scale of 0-70 puts the quiz out of 100 points: a score is its percent.
    Question.objects.filter(quiz=scorecard, text="How confident are you?").update(rating_max=70)
    for rating, fires in ((50, False), (51, True)):
        steps = [*HOT_RUN[:3], ("How confident are you?", (), {"rating": rating}), HOT_RUN[4]]
        visitor = Client()
        attempt = run(visitor, scorecard, steps=steps)
        submit_lead(visitor, attempt, email=f"rated-{rating}@example.com")
        lead = Lead.objects.get(attempt=attempt)
        assert lead.score_percent == 30 + rating  # 80, then 81
        assert Delivery.objects.filter(lead=lead).exists() is fires, lead.score_percent


def test_429_waits_for_retry_after_then_delivers(client, scorecard, hubspot, hot_rule):
    hubspot.answer_next("contacts/batch/upsert", 429, headers={"Retry-After": "30"})
    hot_lead(client, scorecard)
    delivery = Delivery.objects.get()
    before = timezone.now()
    assert delivery_run(delivery.pk) == "retrying"
    delivery.refresh_from_db()
    assert delivery.next_attempt_at >= before + timedelta(seconds=30)
    assert delivery_run(delivery.pk) is None  # not due yet: left alone
    assert run_due(delivery) == "delivered"
    assert len(hubspot.tasks) == 1


def test_500_three_times_then_200_delivers_on_the_fourth_attempt(
    client, scorecard, hubspot, hot_rule
):
    hubspot.answer_next("contacts/batch/upsert", 500, times=3)
    hot_lead(client, scorecard)
    delivery = Delivery.objects.get()
    statuses = [delivery_run(delivery.pk)] + [run_due(delivery) for _ in range(3)]
    assert statuses == ["retrying", "retrying", "retrying", "delivered"]
    delivery.refresh_from_db()
    assert delivery.attempts == 4
    assert [a.status_code for a in delivery.log.all()][:4] == [500, 500, 500, 200]
    assert len(hubspot.tasks) == 1


def test_400_is_dead_at_once_with_the_reason_visible(
    client, scorecard, hubspot, hot_rule, admin_client
):
    hubspot.answer_next("contacts/batch/upsert", 400)
    hot_lead(client, scorecard)
    delivery = Delivery.objects.get()
    assert delivery_run(delivery.pk) == "dead"
    delivery.refresh_from_db()
    assert delivery.last_error.startswith("400 refused:") and "scripted 400" in delivery.last_error
    page = admin_client.get(f"/admin/automations/delivery/{delivery.pk}/change/").content.decode()
    assert "scripted 400" in page
    assert not hubspot.tasks


def test_a_server_that_stays_down_makes_the_delivery_dead_after_the_limit(
    client, scorecard, hubspot, hot_rule, settings
):
    settings.AUTOMATIONS_MAX_ATTEMPTS = 3
    hubspot.answer_next("contacts/batch/upsert", 503, times=5)
    hot_lead(client, scorecard)
    delivery = Delivery.objects.get()
    assert [delivery_run(delivery.pk), run_due(delivery), run_due(delivery)] == [
        "retrying",
        "retrying",
        "dead",
    ]


def test_refused_credentials_pause_the_rule_and_tell_its_owner(
    client, scorecard, hubspot, hot_rule, settings
):
    hot_rule.owner = User.objects.create_user("mia", email="mia@example.com")
    hot_rule.save()
    hubspot.token = "rotated"  # our token is no longer valid
    hot_lead(client, scorecard)
    delivery = Delivery.objects.get()
    assert delivery_run(delivery.pk) == "held"  # held for the fixed token, not dead
    hot_rule.refresh_from_db()
    assert hot_rule.paused_at is not None and "401" in hot_rule.paused_reason
    assert mail.outbox[0].to == ["mia@example.com"]
    assert "paused" in mail.outbox[0].subject

    hubspot.token = settings.HUBSPOT_TOKEN  # the token is fixed
    assert rule_resume(rule=hot_rule) == 1
    assert delivery_run(delivery.pk) == "delivered"
    assert len(hubspot.tasks) == 1


def test_a_hubspot_delivery_resumes_from_its_contact_and_never_makes_a_second_task(
    client, scorecard, hubspot, hot_rule
):
    hubspot.answer_next("objects/tasks", 500)  # the contact is made, the task search fails
    hot_lead(client, scorecard)
    delivery = Delivery.objects.get()
    assert delivery_run(delivery.pk) == "retrying"
    assert run_due(delivery) == "delivered"
    assert hubspot.count("contacts/batch/upsert") == 1  # resumed from the stored contact id
    delivery_replay(delivery=delivery)  # a marketer presses "replay"
    assert run_due(delivery) == "delivered"
    assert len(hubspot.tasks) == 1


def test_a_task_made_before_a_crash_is_found_not_made_again(client, scorecard, hubspot, hot_rule):
    hot_lead(client, scorecard)
    delivery = Delivery.objects.get()
    assert delivery_run(delivery.pk) == "delivered"
    delivery.refresh_from_db()
    assert hubspot.count("tasks/search") == 0  # the usual path never searches
    # As if the worker died after HubSpot made the task but before we stored its id:
    # what it had stored is the contact and when the task request left.
    requested = (timezone.now() - timedelta(minutes=2)).isoformat()
    remote = {"contact_id": delivery.remote["contact_id"], "task_requested_at": requested}
    Delivery.objects.filter(pk=delivery.pk).update(remote=remote, status="retrying")
    assert run_due(delivery) == "delivered"
    assert len(hubspot.tasks) == 1
    assert hubspot.count("tasks/search") == 1
    delivery.refresh_from_db()
    assert delivery.remote["task_id"] == next(iter(hubspot.tasks))


def test_an_unanswered_task_request_waits_for_hubspot_search_before_looking(
    client, scorecard, hubspot, hot_rule, settings
):
    settings.AUTOMATIONS_HUBSPOT_SEARCH_SETTLE = 60
    hubspot.answer_next("/crm/v3/objects/tasks", 502)  # HubSpot made it? Nobody knows.
    hot_lead(client, scorecard)
    delivery = Delivery.objects.get()
    assert delivery_run(delivery.pk) == "retrying"
    delivery.refresh_from_db()
    # The next try is not before HubSpot's search can show a task made a moment ago.
    wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
    assert 50 < wait < 70
    assert run_due(delivery) == "retrying"  # too early: still waiting, nothing searched
    assert "waiting for HubSpot's search" in Delivery.objects.get().last_error
    assert hubspot.count("tasks/search") == 0

    settings.AUTOMATIONS_HUBSPOT_SEARCH_SETTLE = 0  # the minute has passed
    assert run_due(delivery) == "delivered"
    assert hubspot.count("tasks/search") == 1
    assert len(hubspot.tasks) == 1


def test_a_task_request_hubspot_refused_is_made_again_without_a_search(
    client, scorecard, hubspot, hot_rule, settings
):
    settings.AUTOMATIONS_HUBSPOT_SEARCH_SETTLE = 60
    hubspot.answer_next("/crm/v3/objects/tasks", 429, headers={"Retry-After": "0"})
    hot_lead(client, scorecard)
    delivery = Delivery.objects.get()
    assert delivery_run(delivery.pk) == "retrying"
    assert run_due(delivery) == "delivered"  # a 429 made nothing: no wait, no search
    assert hubspot.count("tasks/search") == 0
    assert len(hubspot.tasks) == 1


def test_the_sweeper_resumes_a_delivery_whose_worker_died(
    client, scorecard, hubspot, hot_rule, settings
):
    hot_lead(client, scorecard)
    delivery = Delivery.objects.get()
    Delivery.objects.filter(pk=delivery.pk).update(
        status="sending", claimed_at=timezone.now() - timedelta(minutes=10)
    )
    settings.AUTOMATIONS_QUEUE = False
    deliveries_sweep()
    delivery.refresh_from_db()
    assert delivery.status == "retrying" and "worker stopped" in delivery.last_error
    assert delivery_run(delivery.pk) == "delivered"


def test_the_dry_run_counts_matching_events(client, scorecard, hot_rule):
    hot_lead(client, scorecard)
    attempt = run(client, scorecard, steps=COLD_RUN)
    submit_lead(client, attempt)
    assert rule_dry_run(rule=hot_rule, days=7) == (1, 2)


class _Receiver(BaseHTTPRequestHandler):
    received: list = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path.startswith("/moved"):
            # A redirect to the internal metadata service is the classic SSRF.
            self.send_response(int(self.path.rsplit("/", 1)[1]))
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()
            return
        _Receiver.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def do_GET(self):
        _Receiver.received.append((dict(self.headers), b"GET " + self.path.encode()))
        self.send_response(200)
        self.end_headers()


@pytest.fixture
def receiver():
    _Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", _Receiver.received
    server.shutdown()


def verify(secret, headers, body):
    """A receiver's check, written from the Standard Webhooks spec, not from our code."""
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(sig == f"v1,{expected}" for sig in headers["webhook-signature"].split())


def test_the_webhook_is_signed_and_fails_verification_when_tampered(client, scorecard, receiver):
    url, received = receiver
    rule = RuleFactory(name="Every lead to our CRM")
    action = ActionFactory(rule=rule, kind="webhook", webhook_url=url)
    lead = hot_lead(client, scorecard)
    assert delivery_run(Delivery.objects.get().pk) == "delivered"
    [(headers, body)] = received
    headers = {k.lower(): v for k, v in headers.items()}
    assert verify(action.webhook_secret, headers, body)
    payload = json.loads(body)
    assert payload["type"] == "lead_submitted"
    assert payload["data"]["lead"]["email"] == lead.email == "ada@example.com"
    assert payload["data"]["lead"]["tier"] == "Hot"
    assert not verify(action.webhook_secret, headers, body.replace(b"Hot", b"Top"))
    assert not verify(action.webhook_secret, {**headers, "webhook-timestamp": "1"}, body)
    assert not verify("whsec_" + base64.b64encode(b"x" * 24).decode(), headers, body)
    assert (
        webhook_signature(
            action.webhook_secret, headers["webhook-id"], int(headers["webhook-timestamp"]), body
        )
        == headers["webhook-signature"]
    )


def test_a_webhook_to_a_private_address_is_refused_unless_allowed(
    client, scorecard, settings, receiver
):
    settings.AUTOMATIONS_ALLOW_PRIVATE_URLS = False
    url, received = receiver
    ActionFactory(rule=RuleFactory(), kind="webhook", webhook_url=url)
    hot_lead(client, scorecard)
    assert delivery_run(Delivery.objects.get().pk) == "dead"
    assert "private address" in Delivery.objects.get().last_error
    assert not received


@pytest.mark.parametrize("host", ["localhost", "[::ffff:127.0.0.1]"])
def test_a_webhook_host_that_resolves_to_a_private_address_is_refused(
    client, scorecard, settings, receiver, host
):
    settings.AUTOMATIONS_ALLOW_PRIVATE_URLS = False
    url, received = receiver
    ActionFactory(rule=RuleFactory(), kind="webhook", webhook_url=url.replace("127.0.0.1", host))
    hot_lead(client, scorecard)
    delivery = Delivery.objects.get()
    assert delivery_run(delivery.pk) == "dead"
    assert not received
    # The marketer sees why, on the delivery and in its attempt log.
    [attempt] = delivery.log.all()
    assert "resolves to a private address" in attempt.error
    assert "AUTOMATIONS_ALLOW_PRIVATE_URLS" in Delivery.objects.get().last_error


@pytest.mark.parametrize("status", [302, 307])
def test_a_webhook_redirect_is_not_followed(client, scorecard, receiver, status):
    url, received = receiver
    ActionFactory(
        rule=RuleFactory(), kind="webhook", webhook_url=url.replace("/hook", f"/moved/{status}")
    )
    hot_lead(client, scorecard)
    assert delivery_run(Delivery.objects.get().pk) == "dead"
    error = Delivery.objects.get().last_error
    assert f"{status} redirect to http://169.254.169.254/" in error
    assert "not followed" in error
    assert not received


def test_a_webhook_url_must_be_http_or_https():
    action = ActionFactory.build(
        rule=RuleFactory(), kind="webhook", webhook_url="ftp://files.example.com/drop"
    )
    with pytest.raises(ValidationError) as error:
        action.full_clean()
    assert error.value.message_dict["webhook_url"] == ["Enter an http:// or https:// URL."]


def test_email_goes_to_the_owner_or_else_the_sales_group(client, scorecard):
    sales = Group.objects.get(name="Sales")
    for name in ("sam", "sue"):
        User.objects.create_user(name, email=f"{name}@example.com").groups.add(sales)
    rule = RuleFactory(name="Hot leads to sales")
    ConditionFactory(rule=rule, property="tier", operator="=", value="Hot")
    ActionFactory(rule=rule, kind="email")
    lead = hot_lead(client, scorecard)
    assert delivery_run(Delivery.objects.get().pk) == "delivered"
    assert sorted(mail.outbox[0].to) == ["sam@example.com", "sue@example.com"]
    assert f"/sales/leads/{lead.pk}/" in mail.outbox[0].body


def test_owners_are_assigned_round_robin_among_active_sales(client, scorecard):
    sales = Group.objects.get(name="Sales")
    users = [User.objects.create_user(n) for n in ("ann", "bob", "cid")]
    for user in users:
        user.groups.add(sales)
    users[1].is_active = False
    users[1].save()
    ActionFactory(rule=RuleFactory(name="Assign"), kind="assign")
    owners = []
    for _ in range(3):
        lead = hot_lead(type(client)(), scorecard)  # a new visitor each time
        delivery_run(Delivery.objects.get(lead=lead).pk)
        lead.refresh_from_db()
        owners.append(lead.owner.username)
    assert owners == ["ann", "cid", "ann"]


@pytest.mark.parametrize("how", ["paused", "switched off"])
def test_a_paused_or_switched_off_rule_holds_its_leads_and_resume_sends_each_once(
    client, scorecard, hubspot, hot_rule, admin_client, how, settings
):
    if how == "paused":
        Rule.objects.filter(pk=hot_rule.pk).update(
            paused_at=timezone.now(), paused_reason="401 credentials refused."
        )
    else:
        Rule.objects.filter(pk=hot_rule.pk).update(enabled=False)
    Rule.forget_triggers()
    hot_lead(client, scorecard)
    hot_lead(type(client)(), scorecard)
    held = list(Delivery.objects.all())
    assert [d.status for d in held] == ["held", "held"]
    assert delivery_run(held[0].pk) is None and deliveries_sweep() == 0  # nothing goes out
    assert not hubspot.tasks
    listing = admin_client.get("/admin/automations/delivery/").content.decode()
    assert ("paused: 401 credentials refused" if how == "paused" else "switched off") in listing

    response = admin_client.post(
        "/admin/automations/rule/",
        {"action": "resume", "_selected_action": [hot_rule.pk]},
        follow=True,
    )
    assert "2 held deliver(ies) going out now" in response.content.decode()
    for delivery in held:
        assert delivery_run(delivery.pk) == "delivered"
        assert delivery_run(delivery.pk) is None
    settings.AUTOMATIONS_QUEUE = False
    deliveries_sweep()
    assert len(hubspot.tasks) == 2
    assert hubspot.count("objects/tasks") == 2


def test_without_a_hubspot_token_deliveries_are_held_and_go_out_once_it_is_set(
    client, scorecard, hubspot, hot_rule, settings, admin_client
):
    settings.HUBSPOT_TOKEN = ""
    hot_lead(client, scorecard)
    delivery = Delivery.objects.get()
    assert delivery.status == "held" and "set HUBSPOT_TOKEN" in delivery.held_reason
    deliveries_sweep()
    assert Delivery.objects.get().status == "held"  # still no token: still held, not dead
    page = admin_client.get(f"/admin/automations/delivery/{delivery.pk}/change/").content.decode()
    assert "HubSpot is not connected: connect it on the Connections page" in page

    settings.HUBSPOT_TOKEN = hubspot.token  # the worker restarts with the token
    deliveries_sweep()  # the sweeper sees HubSpot configured
    assert Delivery.objects.get().status == "pending"
    assert delivery_run(delivery.pk) == "delivered"
    deliveries_sweep()
    assert delivery_run(delivery.pk) is None
    assert len(hubspot.tasks) == 1
    hot_rule.refresh_from_db()
    assert hot_rule.paused_at is None  # a missing token is not refused credentials


def test_the_email_waits_for_the_owner_being_assigned_then_goes_to_them(client, scorecard):
    sales = Group.objects.get(name="Sales")
    ann = User.objects.create_user("ann", email="ann@example.com")
    ann.groups.add(sales)
    rule = RuleFactory(name="Hot tier → e-mail sales")
    ActionFactory(rule=rule, kind="assign", order=0)
    ActionFactory(rule=rule, kind="email", order=1)
    hot_lead(client, scorecard)
    email = Delivery.objects.get(action__kind="email")
    assert email.status == "waiting"
    assert delivery_run(email.pk) is None  # not due before the owner is assigned
    assign = Delivery.objects.get(action__kind="assign")
    assert email.after == assign
    assert delivery_run(assign.pk) == "delivered"  # which lets the e-mail go
    assert delivery_run(email.pk) == "delivered"
    assert mail.outbox[0].to == ["ann@example.com"]
    email.refresh_from_db()
    assert email.attempts == 1 == email.log.count()  # waiting spent no attempt


def test_a_paused_rule_page_has_a_resume_button_that_sends_what_it_held(
    client, scorecard, hubspot, hot_rule, admin_client
):
    Rule.objects.filter(pk=hot_rule.pk).update(
        paused_at=timezone.now(), paused_reason="401 credentials refused."
    )
    Rule.forget_triggers()
    hot_lead(client, scorecard)
    url = f"/admin/automations/rule/{hot_rule.pk}/change/"
    page = admin_client.get(url).content.decode()
    assert 'name="_resume" value="Resume and send 1 held deliver(ies)"' in page
    assert "The rule is paused: 401 credentials refused." in page

    [condition] = hot_rule.conditions.all()
    [action] = hot_rule.actions.all()
    response = admin_client.post(
        url,
        {
            "name": hot_rule.name,
            "enabled": "on",
            "trigger": hot_rule.trigger,
            "conditions-TOTAL_FORMS": "1",
            "conditions-INITIAL_FORMS": "1",
            "conditions-0-id": condition.pk,
            "conditions-0-rule": hot_rule.pk,
            "conditions-0-property": condition.property,
            "conditions-0-operator": condition.operator,
            "conditions-0-value": condition.value,
            "actions-TOTAL_FORMS": "1",
            "actions-INITIAL_FORMS": "1",
            "actions-0-id": action.pk,
            "actions-0-rule": hot_rule.pk,
            "actions-0-kind": action.kind,
            "actions-0-order": "0",
            "actions-0-webhook_secret": action.webhook_secret,
            "actions-0-task_subject": action.task_subject,
            "actions-0-task_due_hours": "1",
            "actions-0-hubspot_owner_id": "77",
            "_resume": "Resume",
        },
        follow=True,
    )
    assert "1 held deliver(ies) going out now" in response.content.decode()
    assert delivery_run(Delivery.objects.get().pk) == "delivered"
    assert len(hubspot.tasks) == 1
    assert 'name="_resume"' not in admin_client.get(url).content.decode()
