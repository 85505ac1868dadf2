"""Reconciliation reaches the CRM: events = leads = HubSpot contacts, checked against the
fake HubSpot with contacts changed and deleted behind our back, and replayed."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from automations import crm, ratelimit
from automations.delivery import delivery_run
from automations.models import Delivery
from leads.models import Lead
from tests.automations.test_hubspot_limits import hot_leads, run_all
from tests.leads.factories import LeadFactory
from tests.quizzes.factories import AttemptFactory
from tests.tracking.factories import ConversionEventFactory
from tracking.models import ReconciliationRun
from tracking.reports import funnel

pytestmark = pytest.mark.django_db
PANEL = "/automations/reconciliation/"


def reconcile(*args):
    out = StringIO()
    try:
        call_command("reconcile_events", *args, stdout=out)
        return True, out.getvalue()
    except CommandError:
        return False, out.getvalue()


@pytest.fixture
def marketer(client, db):
    user = User.objects.create_user("mia", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Marketers"))
    client.force_login(user)
    return client


def panel(client, quiz):
    return client.get(PANEL, {"quiz": quiz.pk}).content.decode()


def test_everything_delivered_reconciles_with_hubspot(scorecard, hubspot, hot_rule):
    hot_leads(scorecard, 3)
    run_all()
    ok, out = reconcile("--remote")
    assert ok, out
    assert "[ok ] every lead an enabled HubSpot rule matched has its delivery: 3 checked" in out
    assert "[ok ] every delivered HubSpot delivery holds its contact and task ids: 3 checked" in out
    assert "[ok ] HubSpot's contacts hold the lead's e-mail, score and tier (read back): 3" in out
    assert hubspot.count("contacts/batch/read") == 1


def test_a_contact_changed_and_one_deleted_behind_our_back_are_found_and_replayed(
    scorecard, hubspot, hot_rule, marketer
):
    changed, deleted, fine = hot_leads(scorecard, 3)
    run_all()
    hubspot.contacts[changed.email]["quizfunnel_tier"] = "Cold"  # edited in HubSpot
    deleted_id = hubspot.contacts.pop(deleted.email)["id"]  # deleted in HubSpot
    ok, out = reconcile("--remote")
    assert not ok
    assert f"contact {deleted_id} is gone from HubSpot" in out
    assert "quizfunnel_tier is 'Cold' in HubSpot, 'Hot' here" in out
    assert fine.email not in out

    page = panel(marketer, scorecard)
    assert f"Contact {deleted_id} was deleted in HubSpot" in page
    assert "quizfunnel_tier is “Cold”, here “Hot”" in page
    # 3 events = 3 leads, and HubSpot holds 2 of the 3 contacts.
    assert '<td class="num"><strong>3</strong></td>' in page
    assert '<strong class="error">2</strong> <span class="meta">of 3</span>' in page

    gone = Delivery.objects.get(lead=deleted)
    task_id = gone.remote["task_id"]
    response = marketer.post(PANEL + f"replay/?quiz={scorecard.pk}", {"delivery": gone.pk})
    assert response.status_code == 302
    gone.refresh_from_db()
    assert gone.status == "pending" and "contact_id" not in gone.remote
    page = panel(marketer, scorecard)
    assert "the contact is being sent to HubSpot again (the task is kept" in page
    assert "and 1 is on the way (queued or being sent)" in page
    assert delivery_run(gone.pk) == "delivered"
    gone.refresh_from_db()
    assert gone.remote["task_id"] == task_id  # no second task for sales
    assert len(hubspot.tasks) == 3 and deleted.email in hubspot.contacts

    edited = Delivery.objects.get(lead=changed)
    marketer.post(PANEL + "replay/", {"delivery": edited.pk})
    assert delivery_run(edited.pk) == "delivered"
    assert hubspot.contacts[changed.email]["quizfunnel_tier"] == "Hot"
    ok, out = reconcile("--remote")
    assert ok, out
    assert '<strong class="ok">3</strong> <span class="meta">of 3</span>' in panel(
        marketer, scorecard
    )


def test_a_lead_that_matched_but_has_no_delivery_is_found_and_sent(
    scorecard, hubspot, hot_rule, marketer
):
    attempt = AttemptFactory(quiz=scorecard)
    lead = LeadFactory(attempt=attempt, score_percent=95, tier_name="Hot")
    # Recorded without its receiver running (a bug, a restore from backup).
    event = ConversionEventFactory(
        name="lead_submitted",
        attempt=attempt,
        lead=lead,
        properties={"score": 30, "percent": 95, "tier": "Hot", "top_tier": True},
    )
    ok, out = reconcile()
    assert not ok
    assert f"lead {lead.pk} (lead_submitted {event.event_id}) matched “{hot_rule}”" in out
    page = panel(marketer, scorecard)
    assert "Matched a HubSpot rule, but no delivery was written" in page
    assert "Send to HubSpot" in page
    response = marketer.post(
        PANEL + "replay/", {"event": event.pk, "rule": hot_rule.pk}, HTTP_HX_REQUEST="true"
    )
    assert "is written and going out" in response.content.decode()
    delivery = Delivery.objects.get(event=event)
    assert delivery_run(delivery.pk) == "delivered"
    marketer.post(PANEL + "replay/", {"event": event.pk, "rule": hot_rule.pk})
    assert Delivery.objects.filter(event=event).count() == 1  # a second click writes nothing
    assert reconcile("--remote")[0]


def test_a_delivered_delivery_without_its_ids_is_a_mismatch(scorecard, hubspot, hot_rule):
    hot_leads(scorecard, 1)
    run_all()
    Delivery.objects.update(remote={"contact_id": "1001"})
    ok, out = reconcile()
    assert not ok
    assert "has no task_id" in out


def test_dead_and_held_deliveries_are_leads_not_in_the_crm(scorecard, hubspot, hot_rule, settings):
    hubspot.refuse = {"batch0@example.com"}
    hot_leads(scorecard, 1)
    run_all()
    ok, out = reconcile()
    assert not ok and "is dead: " in out


def test_contacts_are_read_back_100_a_request_within_the_rate_limit(
    scorecard, hubspot, hot_rule, settings
):
    hot_leads(scorecard, 150)
    run_all()
    settings.HUBSPOT_RATE_LIMIT_PER_10S = 2
    hubspot.forget_waits()
    ok, out = reconcile("--remote")
    assert ok, out
    # Both reads were counted in the shared window: a third call now has to wait.
    name = crm.rate_limit_name(hubspot.token)
    assert ratelimit.take(name, limit=2, window=10) > 0
    sizes = [len(b["inputs"]) for p, b in hubspot.requests if p.endswith("batch/read")]
    assert sizes == [100, 50]


def test_a_429_while_reading_back_waits_and_goes_on(scorecard, hubspot, hot_rule):
    hot_leads(scorecard, 2)
    run_all()
    hubspot.rate_limit_next("contacts/batch/read", "SECONDLY", headers={"Retry-After": "0.2"})
    ok, out = reconcile("--remote")
    assert ok, out
    assert hubspot.count("contacts/batch/read") == 2


def test_the_hourly_run_reads_hubspot_back(scorecard, hubspot, hot_rule):
    from tracking.tasks import reconcile_events

    hot_leads(scorecard, 1)
    run_all()
    hubspot.contacts.clear()
    assert reconcile_events() is False
    run = ReconciliationRun.objects.first()
    assert run.summary["remote"] is True
    (remote,) = [c for c in run.summary["checks"] if "read back" in c["name"]]
    assert remote["details"][0]["kind"] == "deleted"


def test_the_dashboard_composes_the_panel_by_url(marketer, scorecard):
    page = marketer.get("/dashboard/").content.decode()
    assert 'hx-get="/automations/reconciliation/?' in page


def test_sales_cannot_replay(client, scorecard, hubspot, hot_rule):
    hot_leads(scorecard, 1)
    user = User.objects.create_user("sam", password="pw")
    user.groups.add(Group.objects.get(name="Sales"))
    client.force_login(user)
    delivery = Delivery.objects.get()
    assert client.post(PANEL + "replay/", {"delivery": delivery.pk}).status_code == 403
    assert client.get(PANEL).status_code == 403


def test_a_replay_of_nothing_is_a_clear_400_or_404(marketer):
    assert marketer.post(PANEL + "replay/", {"delivery": "x\x00"}).status_code == 400
    assert marketer.post(PANEL + "replay/", {"delivery": "99999"}).status_code == 404


def test_spam_leads_are_left_out_of_the_panel_as_out_of_the_funnel_and_said_so(
    scorecard, hubspot, hot_rule, marketer
):
    hot_leads(scorecard, 3)
    for i in range(2):  # the honeypot was filled: a lead, flagged, its event a bot's
        attempt = AttemptFactory(quiz=scorecard)
        ConversionEventFactory(name="quiz_started", attempt=attempt)
        lead = LeadFactory(attempt=attempt, email=f"spam{i}@example.com", is_spam=True)
        ConversionEventFactory(name="lead_submitted", attempt=attempt, lead=lead, is_bot=True)
    for lead in Lead.objects.filter(is_spam=False):
        ConversionEventFactory(name="quiz_started", attempt=lead.attempt)
    run_all()

    page = panel(marketer, scorecard)
    assert '<td class="num"><strong>3</strong></td>' in page  # events
    assert '<strong class="ok">3</strong></td>' in page  # = leads
    assert '<strong class="ok">3</strong> <span class="meta">of 3</span>' in page  # = contacts
    assert "Spam: <strong>2</strong> leads submitted in the range with the honeypot" in page
    assert "counted neither here nor in the funnel's <em>Lead submitted</em>" in page
    # The dashboard's funnel says 3 too: the same rule.
    now = timezone.now()
    dashboard = funnel(scorecard, now - timedelta(days=1), now + timedelta(days=1))
    assert {s.key: s.count for s in dashboard}["lead_submitted"] == 3


def test_the_panels_own_page_has_the_staff_pages_header(scorecard, marketer):
    page = marketer.get(PANEL, {"quiz": scorecard.pk, "unit": "visitors"}).content.decode()
    assert "<h1>CRM reconciliation</h1>" in page
    nav = page.split('<nav class="staff-nav meta" aria-label="Staff pages">')[1].split("</nav>")[0]
    # Back to the dashboard on the same quiz and range; the admin (Mia is staff); no
    # "Leads": she is not in Sales, and a link that answers 403 is a dead end.
    assert f'href="/dashboard/?quiz={scorecard.pk}&amp;unit=visitors">← Dashboard</a>' in nav
    assert 'href="/admin/">Admin</a>' in nav
    assert "/sales/" not in nav
    # Inside the dashboard (htmx) the panel comes without a second header.
    part = marketer.get(PANEL, {"quiz": scorecard.pk}, headers={"HX-Request": "true"})
    assert "staff-nav" not in part.content.decode()
    assert 'id="crm-reconciliation"' in part.content.decode()
