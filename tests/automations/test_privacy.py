"""A person's data: erased everywhere (HubSpot too, through the outbox), exported whole,
and the funnels and the reconciliation stay true."""

import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, Permission, User
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.utils import timezone

from automations import crm, ratelimit
from automations.delivery import delivery_run
from automations.models import Delivery, DeliveryAttempt, Erasure
from automations.privacy import (
    erasure_crm_retry,
    erasure_crm_run,
    erasures_sweep,
    person_erase,
    person_export_json,
    subject_for,
)
from leads.models import Lead, Note
from leads.services import lead_add_note, lead_set_status
from quizzes.models import Answer
from tests.visitor import HOT_RUN, details_url, result_url, run, submit_lead
from tracking import plan, reports
from tracking.models import ConversionEvent, EventEnrichment, RejectedEvent
from tracking.reconcile import reconcile

pytestmark = pytest.mark.django_db

EMAIL = "ada@example.com"
FREE_TEXT = "Our secret launch is codenamed Nightingale"
NOTE = "Wants a demo on Tuesday, call her mobile"
# What must not survive the erasure anywhere in the database.
TRACES = [EMAIL, FREE_TEXT, NOTE, "Lovelace", "Analytical Engines", "7946 0000"]
ADA_RUN = [*HOT_RUN[:-1], ("Anything else?", (), {"text": FREE_TEXT})]
OTHER_RUN = [*HOT_RUN[:-1], ("Anything else?", (), {"text": "Grace's own words"})]


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


def post_events(client, events):
    return client.post(
        "/t/events",
        json.dumps({"events": events}),
        content_type="application/json",
        headers={"Origin": "http://testserver"},
    )


def visit(client, quiz, steps, **fields):
    """A visitor's whole run: answers, the lead form, the result page and its read depth."""
    attempt = run(client, quiz, steps=steps)
    submit_lead(client, attempt, **fields)
    client.get(result_url(attempt))
    shown = ConversionEvent.objects.get(attempt=attempt, name="result_viewed")
    client_event = {
        "id": str(uuid.uuid4()),
        "name": "result_viewed",
        "time": timezone.now().isoformat(),
        "server_event_id": str(shown.event_id),
        "properties": {"read_depth_percent": 80},
    }
    assert post_events(client, [client_event]).json()["accepted"] == 1
    attempt.refresh_from_db()
    return attempt


@pytest.fixture
def seller(db):
    user = User.objects.create_user("sam", password="pw-123456-x", is_staff=True)
    # get_or_create: a transactional test before this one flushed the migration's groups.
    user.groups.add(Group.objects.get_or_create(name="Sales")[0])
    return user


@pytest.fixture
def ada(client, scorecard, hubspot, hot_rule, seller):
    """Ada took the quiz, became a hot lead sent to HubSpot, got a note, a status and a
    refused browser event holding her e-mail; Grace took it too."""
    scorecard.ask_phone = True
    scorecard.save(update_fields=["ask_phone"])
    # She came from a newsletter whose links carry the reader's e-mail.
    client.get(f"/q/{scorecard.slug}/?utm_source=newsletter&utm_content={EMAIL}")
    attempt = visit(
        client,
        scorecard,
        ADA_RUN,
        email=EMAIL,
        name="Ada Lovelace",
        company="Analytical Engines",
        phone="+44 20 7946 0000",
    )
    refused = {"id": str(uuid.uuid4()), "name": "newsletter_signup", "properties": {"e": EMAIL}}
    assert post_events(client, [refused]).json()["rejected"] == 1
    lead = attempt.lead
    lead_add_note(lead=lead, text=NOTE, author=seller)
    lead_set_status(lead=lead, status="contacted", by=seller)
    for delivery in Delivery.objects.all():
        assert delivery_run(delivery.pk) == "delivered"
    assert EMAIL in hubspot.contacts
    return lead


@pytest.fixture
def grace(scorecard, ada):
    attempt = visit(Client(), scorecard, OTHER_RUN, email="grace@example.com", name="Grace")
    return attempt.lead


def database_dump() -> str:
    out = StringIO()
    call_command("dumpdata", stdout=out)
    return out.getvalue().lower()


def all_reports(quiz):
    now = datetime.now(UTC)
    start, end = now - timedelta(days=1), now + timedelta(days=1)
    return {
        "funnel by attempts": reports.funnel(quiz, start, end, "attempts"),
        "funnel by visitors": reports.funnel(quiz, start, end, "visitors"),
        "timing": reports.timing(quiz, start, end),
        "sources": reports.sources(quiz, start, end),
        "attribution": reports.attribution(quiz, start, end),
    }


def erase_and_send(email=EMAIL, **kwargs) -> Erasure:
    erasure = person_erase(email=email, **kwargs)
    erasure_crm_run(erasure.pk)
    erasure.refresh_from_db()
    return erasure


def in_thread(function, *args) -> threading.Thread:
    """Another worker: its own thread and database connection."""

    def work():
        try:
            function(*args)
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    return thread


def run_due(erasure):
    """What the worker does when the retry comes due (HubSpot's wait is over by then)."""
    ratelimit.reset(crm.rate_limit_name(django_settings.HUBSPOT_TOKEN))
    Erasure.objects.filter(pk=erasure.pk).update(crm_next_attempt_at=timezone.now())
    return erasure_crm_run(erasure.pk)


# --- Erase -----------------------------------------------------------------------------


def test_the_person_is_everywhere_before_the_erasure(ada):
    # The test below would prove nothing if the traces were not there to begin with.
    dump = database_dump()
    for trace in TRACES:
        assert trace.lower() in dump, trace


def test_erasure_leaves_no_trace_of_the_person_in_the_database(ada, grace):
    erasure = erase_and_send()
    dump = database_dump()
    for trace in TRACES:
        assert trace.lower() not in dump, trace
    # Only Ada went: Grace is all there.
    assert "grace@example.com" in dump and "grace's own words" in dump
    assert erasure.crm_status == Erasure.CrmStatus.DONE
    assert list(Lead.objects.values_list("email", flat=True)) == ["grace@example.com"]
    assert not Note.objects.exists()


def test_the_funnels_and_reports_are_the_same_after_the_erasure(ada, grace, scorecard):
    before = all_reports(scorecard)
    started = next(s for s in before["funnel by attempts"] if s.key == "quiz_started")
    assert started.count == 2  # both runs are in it
    events_before = ConversionEvent.objects.count()
    erase_and_send()
    assert all_reports(scorecard) == before
    assert ConversionEvent.objects.count() == events_before


def test_erased_events_keep_no_lead_and_still_fit_the_tracking_plan(ada):
    event_ids = set(
        ConversionEvent.objects.filter(attempt=ada.attempt).values_list("pk", flat=True)
    )
    erase_and_send()
    erased = ConversionEvent.objects.filter(pk__in=event_ids)
    assert erased.count() == len(event_ids)
    assert not erased.filter(erased_at=None).exists()
    assert not erased.exclude(lead=None).exists()
    answered = erased.get(name="question_answered", properties__question="Anything else?")
    assert answered.properties["answer"] == plan.REDACTED
    for event in erased:
        plan.validate(event.name, event.properties)  # raises PlanError if it does not fit
    for enrichment in EventEnrichment.objects.filter(event__in=erased).select_related("event"):
        plan.validate_enrichment(enrichment.event.name, enrichment.properties)
    # The scores stay: they are counts, and the funnel's reports read them.
    submitted = erased.get(name="lead_submitted")
    assert (submitted.properties["percent"], submitted.properties["tier"]) == (95, "Hot")


def test_the_reconciliation_counts_an_erased_lead_as_erased_not_as_a_mismatch(ada):
    assert all(check.ok for check in reconcile())
    erase_and_send()
    checks = reconcile()
    assert all(check.ok for check in checks), [(c.name, c.problems) for c in checks if not c.ok]
    out = StringIO()
    call_command("reconcile_events", stdout=out)
    assert "Events, leads and the CRM reconcile." in out.getvalue()


def test_a_lead_submitted_without_its_lead_and_not_erased_is_still_a_mismatch(ada):
    ConversionEvent.objects.filter(lead=ada).update(lead=None)
    orphan = next(c for c in reconcile() if c.name.startswith("every lead_submitted"))
    assert not orphan.ok


def test_answers_keep_their_points_and_lose_their_words(ada):
    points = sorted(Answer.objects.filter(attempt=ada.attempt).values_list("points", flat=True))
    erase_and_send()
    answers = Answer.objects.filter(attempt=ada.attempt)
    assert sorted(answers.values_list("points", flat=True)) == points
    assert set(answers.values_list("text", "display")) == {("", "")}


def test_deliveries_stay_counted_without_their_logged_requests_and_responses(ada):
    delivery = Delivery.objects.get()
    erase_and_send()
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.lead is None and delivery.remote == {}
    assert DeliveryAttempt.objects.filter(delivery=delivery).exists()
    assert set(DeliveryAttempt.objects.values_list("request", "response")) == {("", "")}


def test_a_pending_delivery_of_an_erased_person_is_never_sent(client, scorecard, hubspot, hot_rule):
    attempt = run(client, scorecard, steps=ADA_RUN)
    submit_lead(client, attempt, email=EMAIL)
    delivery = Delivery.objects.get()
    erase_and_send()
    assert delivery_run(delivery.pk) is None
    delivery.refresh_from_db()
    assert delivery.status == "dead" and "erased" in delivery.last_error
    assert hubspot.count("batch/upsert") == 0


def test_her_runs_from_the_same_browser_that_never_became_a_lead_are_hers_too(
    client, scorecard, ada, grace
):
    again = [*HOT_RUN[:-1], ("Anything else?", (), {"text": "A second thought about zebras"})]
    run(client, scorecard, steps=again)  # the same browser, no lead form this time
    [other] = json.loads(person_export_json(email=EMAIL))["other_runs_from_the_same_browser"]
    assert "A second thought about zebras" in [a["text"] for a in other["answers"]]
    assert "question_answered" in [e["name"] for e in other["events"]]
    erase_and_send()
    dump = database_dump()
    assert "zebras" not in dump
    assert "grace's own words" in dump  # another browser's run is not hers


def test_a_campaign_value_holding_her_e_mail_is_erased_and_the_counts_stay(client, scorecard):
    client.get(f"/q/{scorecard.slug}/?utm_source=mailer&utm_campaign={EMAIL}")
    attempt = run(client, scorecard, steps=ADA_RUN)
    submit_lead(client, attempt, email=EMAIL)
    before = all_reports(scorecard)
    erase_and_send()
    assert EMAIL not in database_dump()
    after = all_reports(scorecard)
    assert after["funnel by attempts"] == before["funnel by attempts"]
    assert [(r.visitors, r.leads) for r in after["sources"]] == [
        (r.visitors, r.leads) for r in before["sources"]
    ]


def test_the_old_result_link_is_gone_and_cannot_make_a_lead_again(client, ada):
    old = ada.attempt
    erase_and_send()
    assert client.get(result_url(old)).status_code == 404  # not a redirect loop to the form
    assert client.post(details_url(old), {"email": EMAIL}).status_code == 404
    assert not Lead.objects.exists()
    assert all(check.ok for check in reconcile())


def test_a_deletion_at_hubspot_waits_for_a_delivery_in_flight(ada, hubspot, settings):
    """A worker may be upserting the contact right now: deleting first would let it return."""
    Delivery.objects.update(status="sending", claimed_at=timezone.now())
    erasure = person_erase(email=EMAIL)
    wait = settings.AUTOMATIONS_CLAIM_TIMEOUT + settings.AUTOMATIONS_HTTP_TIMEOUT
    assert erasure.crm_next_attempt_at >= timezone.now() + timedelta(seconds=wait - 1)
    assert erasure_crm_run(erasure.pk) is None and erasures_sweep() == 0
    assert run_due(erasure) == "done"


@pytest.mark.django_db(transaction=True)
def test_a_delivery_in_flight_at_the_erasure_leaves_no_trace_once_its_worker_is_done(
    client, scorecard, hubspot, hot_rule
):
    attempt = run(client, scorecard, steps=ADA_RUN)
    submit_lead(client, attempt, email=EMAIL, name="Ada Lovelace")
    hubspot.slow_next("contacts/batch/upsert", 1.0)
    worker = in_thread(delivery_run, Delivery.objects.get().pk)
    while hubspot.count("batch/upsert") == 0:  # the worker's call is under way
        time.sleep(0.01)
    erasure = person_erase(email=EMAIL)
    assert erasure_crm_run(erasure.pk) is None  # the deletion waits for that worker
    worker.join()
    assert EMAIL in database_dump()  # the late worker logged its requests after the erasure
    # Once the worker's claim has surely ended (the window passed):
    Erasure.objects.update(scrub_again_at=timezone.now(), crm_next_attempt_at=timezone.now())
    assert erasures_sweep() == 1
    assert erasure_crm_run(erasure.pk) == "done"
    dump = database_dump()
    for trace in (EMAIL, FREE_TEXT, "Lovelace"):
        assert trace.lower() not in dump, trace
    assert EMAIL not in hubspot.contacts  # deleted after the late upsert, not before


def test_the_refused_browser_events_of_the_person_are_deleted(ada, grace):
    assert RejectedEvent.objects.count() == 1
    erase_and_send()
    assert not RejectedEvent.objects.exists()


def test_the_audit_row_says_who_erased_whom_and_when_but_not_what(ada, seller):
    erasure = erase_and_send(by=seller)
    assert erasure.by == seller and erasure.by_label == "sam"
    assert erasure.subject == subject_for("ADA@example.com ") and EMAIL not in erasure.subject
    assert erasure.counts["leads"] == 1 and erasure.counts["notes"] == 1
    assert erasure.crm_email == ""  # kept only until HubSpot confirmed


def test_erasing_someone_who_left_no_lead_still_deletes_them_at_hubspot(hubspot):
    erasure = erase_and_send("nobody@example.com")
    assert erasure.counts["leads"] == 0
    assert hubspot.gdpr_deleted == ["nobody@example.com"]


# --- The deletion at HubSpot -------------------------------------------------------------


def test_hubspot_receives_exactly_one_gdpr_deletion(ada, hubspot):
    erasure = person_erase(email=EMAIL)
    assert erasure.crm_status == "pending"
    assert erasure_crm_run(erasure.pk) == "done"
    assert erasure_crm_run(erasure.pk) is None  # a duplicate message does nothing
    assert erasures_sweep() == 0
    assert hubspot.count("gdpr-delete") == 1
    path, body = next(r for r in hubspot.requests if r[0].endswith("gdpr-delete"))
    assert path == "/crm/v3/objects/contacts/gdpr-delete"
    assert body == {"objectId": EMAIL, "idProperty": "email"}
    assert EMAIL not in hubspot.contacts


def test_erasing_twice_still_sends_one_deletion(ada, hubspot):
    first, second = person_erase(email=EMAIL), person_erase(email=EMAIL)
    assert (first.crm_status, second.crm_status) == ("pending", "not_needed")
    assert second.crm_email == ""
    for erasure in (first, second):
        erasure_crm_run(erasure.pk)
    assert hubspot.count("gdpr-delete") == 1


def test_a_hubspot_server_error_is_retried_until_the_contact_is_deleted(ada, hubspot):
    hubspot.answer_next("gdpr-delete", 503, times=2)
    erasure = person_erase(email=EMAIL)
    assert erasure_crm_run(erasure.pk) == "retrying"
    erasure.refresh_from_db()
    assert "503" in erasure.crm_last_error and erasure.crm_email == EMAIL
    assert run_due(erasure) == "retrying"
    assert run_due(erasure) == "done"
    assert hubspot.count("gdpr-delete") == 3 and hubspot.gdpr_deleted == [EMAIL]
    erasure.refresh_from_db()
    assert erasure.crm_attempts == 3 and erasure.crm_email == ""


def test_a_hubspot_rate_limit_waits_for_retry_after(ada, hubspot):
    hubspot.answer_next("gdpr-delete", 429, headers={"Retry-After": "30"})
    erasure = person_erase(email=EMAIL)
    assert erasure_crm_run(erasure.pk) == "retrying"
    erasure.refresh_from_db()
    assert erasure.crm_next_attempt_at >= timezone.now() + timedelta(seconds=29)
    assert erasure_crm_run(erasure.pk) is None  # not due yet


def test_a_contact_hubspot_does_not_know_counts_as_deleted(ada, hubspot):
    hubspot.answer_next("gdpr-delete", 404)
    erasure = erase_and_send()
    assert erasure.crm_status == "done" and erasure.crm_email == ""


def test_a_hubspot_refusal_is_dead_with_the_reason_and_can_be_sent_again(ada, hubspot):
    hubspot.answer_next("gdpr-delete", 400)
    erasure = erase_and_send()
    assert erasure.crm_status == "dead" and "400 refused" in erasure.crm_last_error
    assert EMAIL not in erasure.crm_last_error
    assert erasure_crm_retry(erasure=erasure)
    assert erasure_crm_run(erasure.pk) == "done"
    assert hubspot.gdpr_deleted == [EMAIL]


def test_without_a_token_the_deletion_waits_for_one_and_spends_no_attempt(ada, hubspot, settings):
    settings.HUBSPOT_TOKEN = ""
    erasure = erase_and_send()  # HubSpot had her: the deletion is needed all the same
    assert erasure.crm_status == "held" and erasure.crm_attempts == 0
    assert erasures_sweep() == 0
    settings.HUBSPOT_TOKEN = hubspot.token
    assert erasures_sweep() == 1
    assert erasure_crm_run(erasure.pk) == "done"
    assert hubspot.gdpr_deleted == [EMAIL]


def test_without_hubspot_nothing_is_kept_for_it(client, scorecard, settings):
    settings.HUBSPOT_TOKEN = ""
    attempt = run(client, scorecard, steps=ADA_RUN)
    submit_lead(client, attempt, email=EMAIL)
    erasure = person_erase(email=EMAIL)
    assert erasure.crm_status == "not_needed" and erasure.crm_email == ""
    assert EMAIL not in database_dump()


@pytest.mark.django_db(transaction=True)
def test_a_worker_that_lost_its_claim_writes_nothing(ada, hubspot, settings):
    """A call that outlives its claim: the sweeper hands the deletion to a second worker,
    which finishes it; the first worker's late answer (a 503) changes nothing."""
    settings.AUTOMATIONS_CLAIM_TIMEOUT = 0
    erasure = person_erase(email=EMAIL)
    hubspot.answer_next("gdpr-delete", 503, delay=1.0)
    first = in_thread(erasure_crm_run, erasure.pk)
    while hubspot.count("gdpr-delete") == 0:  # the first worker's call is under way
        time.sleep(0.01)
    assert erasures_sweep() == 1
    assert erasure_crm_run(erasure.pk) == "done"
    first.join()
    erasure.refresh_from_db()
    assert erasure.crm_status == "done" and erasure.crm_email == ""
    assert hubspot.gdpr_deleted == [EMAIL]


# --- Export ----------------------------------------------------------------------------


def test_the_export_holds_the_lead_answers_events_notes_and_deliveries(ada):
    data = json.loads(person_export_json(email="Ada@Example.com"))
    assert data["email"] == EMAIL
    [lead] = data["leads"]
    assert (lead["name"], lead["company"], lead["score_percent"]) == (
        "Ada Lovelace",
        "Analytical Engines",
        95,
    )
    assert [n["text"] for n in lead["notes"]] == [NOTE]
    assert [(c["from"], c["to"], c["by"]) for c in lead["status_changes"]] == [
        ("new", "contacted", "sam")
    ]
    assert FREE_TEXT in [a["text"] for a in lead["attempt"]["answers"]]
    names = [e["name"] for e in lead["events"]]
    assert {"quiz_started", "question_answered", "lead_submitted", "result_viewed"} <= set(names)
    viewed = next(e for e in lead["events"] if e["name"] == "result_viewed")
    assert viewed["added_by_the_browser"][0]["properties"] == {"read_depth_percent": 80}
    [delivery] = lead["deliveries"]
    assert delivery["kind"] == "hubspot" and delivery["status"] == "delivered"
    assert any(EMAIL in entry["request"] for entry in delivery["log"])
    [refused] = data["refused_browser_events"]
    assert EMAIL in json.dumps(refused["payload"])
    assert "pat-test-token" not in json.dumps(data)


def test_export_person_writes_one_json_file(ada, tmp_path):
    target = tmp_path / "ada.json"
    call_command("export_person", EMAIL, output=str(target), stdout=StringIO())
    assert json.loads(target.read_text())["leads"][0]["email"] == EMAIL


def test_erase_person_erases_and_says_what_it_did(ada, hubspot):
    out = StringIO()
    call_command("erase_person", EMAIL, interactive=False, stdout=out)
    assert "Erased (1 leads" in out.getvalue() and "HubSpot: Pending" in out.getvalue()
    assert not Lead.objects.filter(email=EMAIL).exists()
    assert Erasure.objects.get().by_label == "manage.py erase_person"


@pytest.mark.parametrize("command", ["erase_person", "export_person"])
def test_the_commands_refuse_what_is_not_an_e_mail(db, command):
    with pytest.raises(CommandError, match="is not an e-mail address"):
        options = {"interactive": False} if command == "erase_person" else {}
        call_command(command, "not-an-email", stdout=StringIO(), **options)
    assert not Erasure.objects.exists()


# --- Admin and the staff download ------------------------------------------------------

CHANGELIST = "/admin/leads/lead/"


@pytest.fixture
def root(client):
    user = User.objects.create_superuser("root", password="pw-root-123456")
    client.force_login(user)
    return user


def test_a_superuser_erases_a_person_from_the_leads_admin(client, ada, root, hubspot):
    chosen = {"action": "erase_people", "_selected_action": [ada.pk]}
    confirm = client.post(CHANGELIST, chosen)
    assert confirm.status_code == 200
    assert EMAIL in confirm.content.decode() and "cannot be undone" in confirm.content.decode()
    assert Lead.objects.filter(pk=ada.pk).exists()  # nothing happens before the confirmation
    done = client.post(CHANGELIST, {**chosen, "confirm": "yes"})
    assert done.status_code == 302
    assert not Lead.objects.filter(pk=ada.pk).exists()
    erasure = Erasure.objects.get()
    assert erasure.by == root and erasure.kind == "person"
    erasure_crm_run(erasure.pk)
    assert hubspot.gdpr_deleted == [EMAIL]


def test_a_superuser_can_delete_a_lead_in_admin_and_the_events_still_reconcile(client, ada, root):
    page = client.get(f"{CHANGELIST}{ada.pk}/delete/")
    assert page.status_code == 200 and "Cannot delete" not in page.content.decode()
    response = client.post(f"{CHANGELIST}{ada.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Lead.objects.filter(pk=ada.pk).exists()
    assert ConversionEvent.objects.filter(name="lead_submitted", erased_at__isnull=False).exists()
    assert all(check.ok for check in reconcile())
    assert Erasure.objects.get().kind == "lead"
    dump = database_dump()
    for trace in TRACES:  # admin's own history of the deletion included
        assert trace.lower() not in dump, trace


def test_deleting_several_leads_in_admin_erases_each(client, ada, grace, root):
    response = client.post(
        CHANGELIST,
        {"action": "delete_selected", "_selected_action": [ada.pk, grace.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not Lead.objects.exists()
    assert Erasure.objects.filter(kind="lead").count() == 2


def test_a_superuser_exports_a_person_from_the_leads_admin(client, ada, root):
    response = client.post(CHANGELIST, {"action": "export_person", "_selected_action": [ada.pk]})
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    assert json.loads(response.content)["leads"][0]["notes"][0]["text"] == NOTE


def test_staff_without_the_permission_may_neither_erase_nor_export(client, ada, seller):
    client.force_login(seller)
    actions = client.get(CHANGELIST).content.decode()
    assert "erase_people" not in actions and "export_person" not in actions
    client.post(
        CHANGELIST, {"action": "erase_people", "_selected_action": [ada.pk], "confirm": "yes"}
    )
    assert Lead.objects.filter(pk=ada.pk).exists() and not Erasure.objects.exists()
    assert client.get(f"/automations/leads/{ada.pk}/person.json").status_code == 403
    assert client.post(f"{CHANGELIST}{ada.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Lead.objects.filter(pk=ada.pk).exists()


def test_sales_staff_with_the_permission_download_the_persons_file(client, ada, seller):
    seller.user_permissions.add(Permission.objects.get(codename="export_person"))
    client.force_login(seller)
    page = client.get(f"/sales/leads/{ada.pk}/").content.decode()
    assert f"/automations/leads/{ada.pk}/person.json" in page
    response = client.get(f"/automations/leads/{ada.pk}/person.json")
    assert response.status_code == 200
    assert json.loads(response.content)["leads"][0]["email"] == EMAIL
