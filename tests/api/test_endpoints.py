"""The REST API v1 as an integrator uses it: quizzes, leads, events, deliveries."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone

from automations.delivery import delivery_run
from automations.models import Delivery
from leads.models import Lead
from leads.services import lead_add_note, lead_set_status
from tests.leads.factories import LeadFactory
from tests.tracking.factories import ConversionEventFactory
from tests.visitor import HOT_RUN, run, submit_lead
from tracking.models import ConversionEvent

pytestmark = pytest.mark.django_db


def every_page(api, url, params=None):
    """All rows of a list, following `next` (and the pages' sizes)."""
    rows, sizes = [], []
    response = api.get(url, params)
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        rows += body["results"]
        sizes.append(len(body["results"]))
        if body["next"] is None:
            return rows, sizes
        response = api.get(body["next"])


@pytest.fixture
def sales_user(db):
    user = User.objects.create_user("sam", first_name="Sam", last_name="Seller")
    user.groups.add(Group.objects.get(name="Sales"))
    return user


@pytest.fixture
def hot_lead(scorecard):
    client = Client()
    attempt = run(client, scorecard, steps=HOT_RUN)
    submit_lead(client, attempt, name="Ada Lovelace")
    return Lead.objects.get(attempt=attempt)


# --- Quizzes --------------------------------------------------------------------------


def test_a_quiz_comes_with_its_questions_choices_categories_and_tiers(api, scorecard):
    body = api.get("/api/v1/quizzes/").json()
    assert body["next"] is None
    [quiz] = body["results"]
    assert quiz["slug"] == scorecard.slug
    assert quiz["url"].endswith(f"/q/{scorecard.slug}/")
    assert [c["name"] for c in quiz["categories"]] == ["Reach", "Insight"]
    assert [(t["name"], t["min_percent"], t["max_percent"]) for t in quiz["tiers"]] == [
        ("Cold", 0, 49),
        ("Warm", 50, 79),
        ("Hot", 80, 100),
    ]
    first = quiz["questions"][0]
    assert (first["text"], first["kind"], first["category"]) == (
        "Do you advertise?",
        "yes_no",
        "Reach",
    )
    assert [(c["label"], c["points"]) for c in first["choices"]] == [("Yes", 10), ("No", 0)]
    # "No" skips to "What do you track?"
    assert first["choices"][1]["next_question"] == quiz["questions"][2]["id"]
    assert sum(q["max_points"] for q in quiz["questions"]) == 40
    assert api.get(f"/api/v1/quizzes/{scorecard.pk}/").json() == quiz


@pytest.mark.parametrize("pk", ["0", "abc", "99999999999999999999999", "12"])
def test_an_unknown_id_is_a_json_404(api, scorecard, pk):
    for url in ("quizzes", "leads", "events", "deliveries"):
        response = api.get(f"/api/v1/{url}/{pk}/")
        assert response.status_code == 404, url
        assert response.json()["detail"]


# --- Leads ----------------------------------------------------------------------------


def test_a_lead_has_answers_scores_attribution_and_history(api, scorecard):
    client = Client()
    client.get(f"/q/{scorecard.slug}/?utm_source=newsletter&utm_campaign=spring")
    attempt = run(client, scorecard)
    submit_lead(client, attempt, name="Ada Lovelace")
    [lead] = api.get("/api/v1/leads/").json()["results"]
    assert lead["email"] == "ada@example.com" and lead["name"] == "Ada Lovelace"
    assert lead["score"] == {"points": 38, "max_points": 40, "percent": 95}
    assert lead["tier"]["name"] == "Hot"
    assert {c["name"]: c["percent"] for c in lead["category_scores"]} == {
        "Reach": 100,
        "Insight": 90,
    }
    assert [a["answer"] for a in lead["answers"]][:2] == ["Yes", "Always"]
    assert lead["source"] == "newsletter"
    assert lead["attribution"]["first_touch"]["utm_campaign"] == "spring"
    assert lead["quiz"] == {"id": scorecard.pk, "slug": scorecard.slug, "title": scorecard.title}
    assert lead["status"] == "new" and lead["status_history"] == [] and lead["owner"] is None


def test_the_inbox_filters_apply(api, scorecard):
    LeadFactory(email="hot@example.com", score_percent=95, tier_name="Hot", status="won")
    LeadFactory(email="warm@example.com", score_percent=60, tier_name="Warm")
    LeadFactory(email="cold@example.com", score_percent=10, tier_name="Cold", company="Acme")
    LeadFactory(email="spam@example.com", is_spam=True)

    def emails(**params):
        response = api.get("/api/v1/leads/", params)
        assert response.status_code == 200, response.content
        return [lead["email"] for lead in response.json()["results"]]

    assert emails() == ["hot@example.com", "warm@example.com", "cold@example.com"]
    assert emails(sort="cold") == ["cold@example.com", "warm@example.com", "hot@example.com"]
    assert emails(tier="Warm") == ["warm@example.com"]
    assert emails(status="won") == ["hot@example.com"]
    assert emails(q="acme") == ["cold@example.com"]
    assert emails(min_score=50, max_score=90) == ["warm@example.com"]
    assert emails(owner="none", min_score=90) == ["hot@example.com"]
    assert emails(quiz=999999) == []
    today = timezone.localdate().isoformat()
    assert len(emails(start=today, end=today)) == 3


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"min_score": "lots"}, "min_score"),
        ({"min_score": "101"}, "min_score"),
        ({"status": "asleep"}, "status"),
        ({"quiz": "abc"}, "quiz"),
        ({"start": "2026-02-30"}, "start"),
        ({"end": ""}, "end"),
        ({"start": "2026-05-01", "end": "2026-04-01"}, "end"),
        ({"min_score": "60", "max_score": "50"}, "max_score"),
        ({"owner": "me"}, "owner"),
        ({"owner": "\x00 or 1=1"}, "owner"),
        ({"sort": "random"}, "sort"),
        ({"limit": "0"}, "limit"),
        ({"limit": "9999"}, "limit"),
        ({"cursor": "made-up"}, "cursor"),
        ({"q": "x" * 500}, "q"),
    ],
)
def test_a_bad_lead_filter_is_400_naming_the_field(api, params, field):
    response = api.get("/api/v1/leads/", params)
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()


def test_hostile_bytes_in_the_query_are_a_400_or_ignored_never_a_500(api, lead):
    for query in ("q=%00", "q=%ff%fe", "name=%00&quiz=%ed%a0%80", "since=%00", "cursor=%00"):
        for url in ("/api/v1/leads/", "/api/v1/events/", "/api/v1/deliveries/"):
            response = api.get(f"{url}?{query}")
            assert response.status_code in (200, 400), (url, query, response.content)
            assert response["Content-Type"] == "application/json"


def test_a_page_of_leads_costs_the_same_queries_however_long(
    api, scorecard, django_assert_max_num_queries
):
    for i in range(30):
        lead = LeadFactory(email=f"l{i}@example.com", quiz=scorecard)
        lead_set_status(lead=lead, status="contacted")
        lead_add_note(lead=lead, text="Called.", author=None)
    with django_assert_max_num_queries(8):  # key, last use, leads, 3 histories, slack
        response = api.get("/api/v1/leads/", {"limit": 30})
    assert len(response.json()["results"]) == 30


def test_cursor_pagination_is_stable_while_leads_arrive(api, scorecard):
    now = timezone.now()
    for i in range(7):
        LeadFactory(email=f"l{i}@example.com", score_percent=50, created_at=now)  # all tie
    first = api.get("/api/v1/leads/", {"limit": 3}).json()
    seen = [lead["email"] for lead in first["results"]]
    # Leads arrive between pages: hotter ones (before the cursor), and a tie.
    LeadFactory(email="new-hot@example.com", score_percent=99)
    LeadFactory(email="new-tie@example.com", score_percent=50, created_at=now)
    response = api.get(first["next"])
    while True:
        body = response.json()
        seen += [lead["email"] for lead in body["results"]]
        if body["next"] is None:
            break
        response = api.get(body["next"])
    assert "new-hot@example.com" not in seen
    originals = [e for e in seen if e.startswith("l")]
    assert sorted(originals) == sorted(f"l{i}@example.com" for i in range(7))
    assert len(seen) == len(set(seen))  # nothing twice


def test_a_cursor_of_another_sort_is_400(api):
    for i in range(3):
        LeadFactory(email=f"l{i}@example.com")
    next_url = api.get("/api/v1/leads/", {"limit": 1, "sort": "hot"}).json()["next"]
    response = api.get(next_url.replace("sort=hot", "sort=new"))
    assert response.status_code == 400
    assert "another sort" in response.json()["cursor"][0]


def test_patch_changes_status_owner_and_notes_through_the_sales_services(api, hot_lead, sales_user):
    response = api.patch(
        f"/api/v1/leads/{hot_lead.pk}/",
        {"status": "contacted", "owner": sales_user.pk, "note": "  Called, wants a demo.  "},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "contacted"
    assert body["owner"] == {"id": sales_user.pk, "username": "sam", "name": "Sam Seller"}
    [status] = body["status_history"]
    assert (status["from_status"], status["to_status"], status["by"]) == ("new", "contacted", None)
    assert status["via"].startswith("API key Everything (qf_")
    [owner] = body["owner_history"]
    assert owner["from_owner"] is None and owner["to_owner"]["id"] == sales_user.pk
    assert owner["via"] == status["via"]
    assert [(n["text"], n["via"]) for n in body["notes"]] == [
        ("Called, wants a demo.", status["via"])
    ]
    # The sales workspace shows who made the change.
    page = Client()
    page.force_login(User.objects.create_superuser("boss"))
    assert status["via"] in page.get(f"/sales/leads/{hot_lead.pk}/").text

    # The same status again writes no second history row; null takes the owner away.
    body = api.patch(f"/api/v1/leads/{hot_lead.pk}/", {"status": "contacted", "owner": None})
    body = body.json()
    assert len(body["status_history"]) == 1
    assert body["owner"] is None and len(body["owner_history"]) == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "asleep"}, "status"),
        ({"owner": 999999}, "owner"),
        ({"owner": "sam"}, "owner"),
        ({"owner": True}, "owner"),
        ({"note": ""}, "note"),
        ({"note": "\x00\x00"}, "note"),
        ({"note": "x" * 4001}, "note"),
        ({}, "non_field_errors"),
        (["status", "won"], "non_field_errors"),
    ],
)
def test_a_bad_patch_is_400_naming_the_field_and_writes_nothing(api, hot_lead, body, field):
    response = api.patch(f"/api/v1/leads/{hot_lead.pk}/", body)
    assert response.status_code == 400
    assert field in response.json(), response.json()
    hot_lead.refresh_from_db()
    assert hot_lead.status == "new"
    assert not hot_lead.status_changes.exists() and not hot_lead.notes.exists()


def test_a_patch_with_one_bad_field_changes_none(api, hot_lead):
    response = api.patch(f"/api/v1/leads/{hot_lead.pk}/", {"status": "won", "owner": 424242})
    assert response.status_code == 400
    hot_lead.refresh_from_db()
    assert hot_lead.status == "new"


def test_a_patch_that_is_not_json_is_refused(api, hot_lead):
    response = api.client.patch(
        f"/api/v1/leads/{hot_lead.pk}/",
        "status=won",
        content_type="application/x-www-form-urlencoded",
        headers=api.headers,
    )
    assert response.status_code == 415
    response = api.client.patch(
        f"/api/v1/leads/{hot_lead.pk}/",
        b'{"status": "won\xff',
        content_type="application/json",
        headers=api.headers,
    )
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


def test_put_and_delete_are_not_allowed(api, hot_lead):
    assert (
        api.client.delete(f"/api/v1/leads/{hot_lead.pk}/", headers=api.headers).status_code == 405
    )
    assert Lead.objects.filter(pk=hot_lead.pk).exists()


# --- Events ---------------------------------------------------------------------------


def test_events_filter_by_name_quiz_lead_and_time(api, hot_lead, scorecard):
    events, _ = every_page(api, "/api/v1/events/")
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    assert len(events) == ConversionEvent.objects.count()
    [submitted] = every_page(api, "/api/v1/events/", {"name": "lead_submitted"})[0]
    assert submitted["lead"] == hot_lead.pk and submitted["quiz"] == scorecard.pk
    assert submitted["properties"]["tier"] == "Hot"
    of_lead, _ = every_page(api, "/api/v1/events/", {"lead": hot_lead.pk})
    assert {e["lead"] for e in of_lead} == {hot_lead.pk}
    other = ConversionEventFactory(occurred_at=timezone.now() - timedelta(days=3))
    assert [e["id"] for e in every_page(api, "/api/v1/events/", {"quiz": other.quiz_id})[0]] == [
        other.pk
    ]
    window = {
        "occurred_after": (timezone.now() - timedelta(days=4)).isoformat(),
        "occurred_before": (timezone.now() - timedelta(days=2)).isoformat(),
    }
    assert [e["id"] for e in every_page(api, "/api/v1/events/", window)[0]] == [other.pk]


def test_since_exports_what_was_recorded_after_the_last_export(api):
    long_ago = timezone.now() - timedelta(days=2)
    old = [ConversionEventFactory(received_at=long_ago, occurred_at=long_ago) for _ in range(3)]
    last_export = timezone.now() - timedelta(days=1)
    # Recorded today, though it happened last week (a late client or import).
    late = ConversionEventFactory(occurred_at=timezone.now() - timedelta(days=7))
    new = [ConversionEventFactory() for _ in range(4)]
    rows, sizes = every_page(api, "/api/v1/events/", {"since": last_export.isoformat(), "limit": 2})
    assert [r["id"] for r in rows] == [late.pk, *(e.pk for e in new)]
    assert sizes == [2, 2, 1]
    assert not {e.pk for e in old} & {r["id"] for r in rows}
    # A day is a time too: "since yesterday".
    yesterday = (timezone.now() - timedelta(days=1)).date().isoformat()
    assert len(every_page(api, "/api/v1/events/", {"since": yesterday})[0]) >= 5


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"since": "9999-12-31T23:59:59-23:00"}, "since"),
        ({"quiz": "-1"}, "quiz"),
        ({"lead": "1" * 40}, "lead"),
        ({"name": "n" * 41}, "name"),
        ({"occurred_after": "2026-05-02", "occurred_before": "2026-05-01"}, "occurred_before"),
        ({"include_bots": "perhaps"}, "include_bots"),
    ],
)
def test_a_bad_event_filter_is_400_naming_the_field(api, params, field):
    response = api.get("/api/v1/events/", params)
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()


# --- Deliveries -----------------------------------------------------------------------


def test_replaying_a_dead_delivery_sends_it_once_more_and_makes_no_double(
    api, client, scorecard, hubspot, hot_rule
):
    hubspot.answer_next("objects/tasks", 400)  # the task is refused: the delivery dies
    attempt = run(client, scorecard, steps=HOT_RUN)
    submit_lead(client, attempt)
    delivery = Delivery.objects.get()
    assert delivery_run(delivery.pk) == "dead"
    [listed] = api.get("/api/v1/deliveries/", {"status": "dead"}).json()["results"]
    assert listed["id"] == delivery.pk and listed["rule"] == "Hot leads to HubSpot"
    assert listed["last_error"] and listed["log"]

    response = api.post(f"/api/v1/deliveries/{delivery.pk}/replay/")
    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    assert api.post(f"/api/v1/deliveries/{delivery.pk}/replay/").status_code == 202  # twice
    assert Delivery.objects.count() == 1
    assert delivery_run(delivery.pk) == "delivered"
    delivery_run(delivery.pk)  # the second replay's queued task finds nothing to do
    assert len(hubspot.tasks) == 1
    assert hubspot.count("contacts/batch/upsert") == 1  # resumed from the stored contact
    assert api.get(f"/api/v1/deliveries/{delivery.pk}/").json()["status"] == "delivered"


def test_replay_needs_leads_write(api_as, client, scorecard, hubspot, hot_rule):
    attempt = run(client, scorecard, steps=HOT_RUN)
    submit_lead(client, attempt)
    delivery = Delivery.objects.get()
    response = api_as("leads:read").post(f"/api/v1/deliveries/{delivery.pk}/replay/")
    assert response.status_code == 403
    assert "leads:write" in response.json()["detail"]


def test_an_unknown_query_parameter_is_400_naming_it(api, lead):
    response = api.get("/api/v1/leads/", {"stauts": "won"})
    assert response.status_code == 400
    assert "status" in response.json()["stauts"][0]
    response = api.get(f"/api/v1/leads/{lead.pk}/", {"limit": "5"})
    assert response.status_code == 400
    assert "limit" in response.json()
