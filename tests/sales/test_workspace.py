"""The sales workspace: the inbox, a lead's page, the pipeline, notes, export."""

import csv
import io
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.db.models import F
from django.utils import timezone

from leads.models import Lead, StatusChange
from leads.services import lead_set_status
from tests.leads.factories import LeadFactory
from tests.quizzes.factories import AttemptFactory

pytestmark = pytest.mark.django_db
INBOX = "/sales/"


@pytest.fixture
def seller(client):
    user = User.objects.create_user("sam", password="pw-sam-123456", email="sam@example.com")
    user.groups.add(Group.objects.get(name="Sales"))
    client.force_login(user)
    return user


def lead(**fields):
    return LeadFactory(**fields)


def rows(client, **query):
    page = client.get(INBOX, query).content.decode()
    return [e for e in ("ada@", "bob@", "cat@", "dan@", "spam@", "preview@") if e in page]


def test_the_inbox_shows_scored_leads_hottest_first_without_spam_or_previews(client, seller):
    lead(email="ada@example.com", score_percent=40, tier_name="Cold")
    lead(email="bob@example.com", score_percent=95, tier_name="Hot")
    lead(email="spam@example.com", score_percent=99, is_spam=True)
    lead(email="preview@example.com", score_percent=99, is_preview=True)
    page = client.get(INBOX).content.decode()
    assert page.index("bob@example.com") < page.index("ada@example.com")
    assert "spam@example.com" not in page and "preview@example.com" not in page


def test_filters_search_and_sorting_live_in_the_url(client, seller):
    quiz = AttemptFactory().quiz
    lead(
        email="ada@example.com", name="Ada", company="Analytical", score_percent=85, tier_name="Hot"
    )
    lead(email="bob@example.com", score_percent=60, tier_name="Warm", status="contacted")
    lead(
        email="cat@example.com",
        score_percent=20,
        tier_name="Cold",
        owner=seller,
        attempt=AttemptFactory(quiz=quiz),
    )
    old = lead(email="dan@example.com", score_percent=70, tier_name="Warm")
    Lead.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    assert rows(client, tier="Warm") == ["bob@", "dan@"]
    assert rows(client, q="analyt") == ["ada@"]
    assert rows(client, status="contacted") == ["bob@"]
    assert rows(client, owner="me") == ["cat@"]
    assert rows(client, owner="none", min_score=60, max_score=80) == ["bob@", "dan@"]
    assert rows(client, quiz=quiz.pk) == ["cat@"]
    start = (timezone.localdate() - timedelta(days=7)).isoformat()
    assert rows(client, start=start, sort="new") == ["ada@", "bob@", "cat@"]


def test_htmx_swaps_only_the_list_and_bad_filters_say_why(client, seller):
    lead(email="ada@example.com")
    response = client.get(INBOX, {"q": "ada"}, headers={"HX-Request": "true"})
    assert response.content.decode().lstrip().startswith('<div id="inbox">')
    bad = client.get(INBOX, {"min_score": 90, "max_score": 10})
    assert bad.status_code == 400
    assert "The lowest score must not be above the highest." in bad.content.decode()


def test_the_list_is_paginated(client, seller):
    for i in range(30):
        lead(email=f"p{i}@example.com", score_percent=i)
    first = client.get(INBOX).content.decode()
    assert "Page 1 of 2" in first and "30 people" in first
    assert "p29@example.com" in first and "p0@example.com" not in first
    assert "p0@example.com" in client.get(INBOX, {"page": 2}).content.decode()


def test_a_leads_page_shows_its_story(client, seller):
    first = lead(
        email="ada@example.com",
        name="Ada Lovelace",
        consent_given=True,
        consent_text="Email me tips.",
        consented_at=timezone.now(),
        answers=[
            {
                "question": "Q?",
                "answer": "Yes",
                "points": 5,
                "max_points": 10,
                "scored": True,
                "skipped": False,
            }
        ],
        category_scores=[{"name": "Reach", "points": 5, "max_points": 10, "percent": 50}],
        attribution={
            "first_source": "newsletter",
            "last_source": "google",
            "first_touch": {"utm_campaign": "nov"},
            "last_touch": {},
        },
    )
    later = lead(email="ada@example.com")
    page = client.get(f"/sales/leads/{later.pk}/").content.decode()
    assert f"/sales/leads/{first.pk}/" in page  # earlier submission from the same email
    page = client.get(f"/sales/leads/{first.pk}/").content.decode()
    for text in (
        "Ada Lovelace",
        "Email me tips.",
        "newsletter",
        "nov",
        "google",
        "Reach",
        "5/10 pts",
        f"/dashboard/timeline/{first.attempt.token}/",
        f"/automations/leads/{first.pk}/deliveries/",
    ):
        assert text in page
    assert client.get(f"/dashboard/timeline/{first.attempt.token}/").status_code == 200
    assert client.get(f"/automations/leads/{first.pk}/deliveries/").status_code == 200


def test_moving_a_lead_records_who_when_and_the_first_response(client, seller):
    item = lead()
    response = client.post(
        f"/sales/leads/{item.pk}/status", {"status": "contacted"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200 and 'id="pipeline"' in response.content.decode()
    client.post(f"/sales/leads/{item.pk}/status", {"status": "qualified"})
    item.refresh_from_db()
    assert item.status == "qualified"
    changes = list(StatusChange.objects.values_list("by__username", "from_status", "to_status"))
    assert changes == [("sam", "new", "contacted"), ("sam", "contacted", "qualified")]
    assert item.first_response_at == StatusChange.objects.first().at
    bad = client.post(f"/sales/leads/{item.pk}/status", {"status": "sold"})
    assert bad.status_code == 400 and "“sold” is not a status." in bad.content.decode()


def test_owner_and_notes(client, seller):
    item = lead()
    client.post(f"/sales/leads/{item.pk}/owner", {"owner": seller.pk})
    item.refresh_from_db()
    assert item.owner == seller
    outsider = User.objects.create_user("eve")
    assert client.post(f"/sales/leads/{item.pk}/owner", {"owner": outsider.pk}).status_code == 400
    client.post(f"/sales/leads/{item.pk}/notes", {"text": "Called, wants a demo"})
    assert item.notes.get().text == "Called, wants a demo"
    empty = client.post(f"/sales/leads/{item.pk}/notes", {"text": "  "})
    assert empty.status_code == 400 and item.notes.count() == 1


def test_first_response_medians_per_week_and_owner(client, seller):
    for hours in (1, 3, 8):
        item = lead(owner=seller)
        Lead.objects.filter(pk=item.pk).update(created_at=timezone.now() - timedelta(hours=hours))
        lead_set_status(lead=Lead.objects.get(pk=item.pk), status="contacted", by=seller)
    page = client.get(INBOX).content.decode()
    assert ">3 h<" in page  # the median of 1, 3 and 8 hours


def test_export_is_for_the_export_permission_only_and_escapes_formulas(client, seller):
    lead(
        email="ada@example.com", name='=HYPERLINK("http://evil")', score_percent=90, tier_name="Hot"
    )
    lead(email="bob@example.com", tier_name="Cold")
    sales = Group.objects.get(name="Sales")
    sales.permissions.remove(Permission.objects.get(codename="export_lead"))
    assert client.get("/sales/export.csv").status_code == 403
    sales.permissions.add(Permission.objects.get(codename="export_lead"))  # as migrated
    response = client.get("/sales/export.csv", {"tier": "Hot"})
    assert response.status_code == 200 and response.streaming
    data = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert data[0][:3] == ["created_at", "name", "email"]
    assert len(data) == 2 and data[1][1] == '\'=HYPERLINK("http://evil")'


class _LoadTriggers(HTMLParser):
    """Each hx-trigger="load" element with the hx-target it would inherit (or None)."""

    VOID = {"meta", "link", "input", "br", "img", "hr"}

    def __init__(self):
        super().__init__()
        self.stack, self.found = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("hx-trigger") == "load":
            inherited = next((t for _, t in reversed(self.stack) if t), None)
            self.found.append((attrs.get("id"), attrs.get("hx-target") or inherited))
        if tag not in self.VOID:
            self.stack.append((tag, attrs.get("hx-target")))

    def handle_endtag(self, tag):
        while self.stack and self.stack.pop()[0] != tag:
            pass


def test_the_lead_pages_timeline_and_automations_load_into_themselves(client, seller):
    parser = _LoadTriggers()
    parser.feed(client.get(f"/sales/leads/{lead().pk}/").content.decode())
    # No target inherited from the page: each replaces itself (htmx's default).
    assert parser.found == [("timeline", None), ("deliveries", None)]


def test_the_sales_group_may_export_by_default(client, seller):
    lead(email="ada@example.com")
    page = client.get(INBOX).content.decode()
    assert "Export CSV" in page
    assert client.get("/sales/export.csv").status_code == 200


def test_first_response_reads_in_minutes_not_microseconds(client, seller):
    item = lead()
    lead_set_status(lead=item, status="contacted", by=seller)
    Lead.objects.filter(pk=item.pk).update(
        created_at=F("first_response_at") - timedelta(minutes=5, seconds=48.697747)
    )
    page = client.get(f"/sales/leads/{item.pk}/").content.decode()
    assert "First response: 6 min by sam" in " ".join(page.split())
    assert "0:05:48" not in page


def test_a_person_who_sent_the_form_three_times_is_one_row_with_their_count(client, seller):
    for percent in (40, 90, 60):
        lead(email="ada@example.com", name=f"Ada {percent}", score_percent=percent)
    newest = Lead.objects.get(score_percent=60)
    lead(email="bob@example.com", name="Bob", score_percent=70)
    page = client.get(INBOX).content.decode()
    assert page.count("ada@example.com") == 1 and "3 submissions" in page
    assert "Ada 90" in page and "Ada 40" not in page  # the hottest submission stands for her
    assert page.index("Ada 90") < page.index("Bob")
    assert "2 people" in page and "4 submissions" in page
    newest_first = client.get(INBOX, {"sort": "new"}).content.decode()
    assert f"/sales/leads/{newest.pk}/" in newest_first and "Ada 90" not in newest_first
    # Filters choose among the person's submissions; the count is all of them.
    warm = client.get(INBOX, {"max_score": 65}).content.decode()
    assert "Ada 60" in warm and "3 submissions" in warm and "Bob" not in warm


def test_the_navigation_shows_only_the_pages_a_person_may_open(client, seller):
    page = client.get(INBOX).content.decode()
    assert "/dashboard/" not in page and "/admin/" not in page  # sam is in Sales only
    assert client.get("/dashboard/").status_code == 403
    seller.groups.add(Group.objects.get(name="Marketers"))
    seller.is_staff = True
    seller.save()
    page = client.get(INBOX).content.decode()
    assert 'href="/dashboard/"' in page and 'href="/admin/"' in page


def test_taking_a_lead_in_the_workspace_is_history_and_its_first_response(client, seller):
    item = lead()
    client.post(f"/sales/leads/{item.pk}/owner", {"owner": seller.pk})
    client.post(f"/sales/leads/{item.pk}/status", {"status": "contacted"})
    item.refresh_from_db()
    assert item.first_response_by == seller
    assert item.first_response_at == item.owner_changes.get().at  # the first move: the owner
    page = " ".join(client.get(f"/sales/leads/{item.pk}/").content.decode().split())
    assert "sam: Owner: nobody → sam" in page and "sam: New → Contacted" in page
    assert page.index("Owner: nobody → sam") < page.index("New → Contacted")
    assert re.search(r"First response: \d+ s by sam", page)  # seconds: the machine may be slow


@pytest.mark.parametrize("sort", ["hot", "new", "old", "cold"])
def test_one_row_per_person_in_every_order_even_when_submissions_tie(client, seller, sort):
    same = {"email": "ada@example.com", "score_percent": 70, "created_at": timezone.now()}
    first, second = lead(**same), lead(**same)
    lead(email="bob@example.com", score_percent=20)
    page = client.get(INBOX, {"sort": sort}).content.decode()
    assert page.count("ada@example.com") == 1 and "2 people" in page
    assert (f"/sales/leads/{first.pk}/" in page) != (f"/sales/leads/{second.pk}/" in page)


def test_without_javascript_the_fallback_links_open_whole_pages(client, seller):
    item = lead()
    for url in (
        f"/dashboard/timeline/{item.attempt.token}/",
        f"/automations/leads/{item.pk}/deliveries/",
    ):
        page = client.get(url).content.decode()
        assert "<html" in page and "quizfunnel.css" in page, url  # styled, not a raw fragment
        partial = client.get(url, headers={"HX-Request": "true"}).content.decode()
        assert "<html" not in partial and 'class="card"' in partial, url


def test_every_filter_says_any_when_it_is_not_set(client, seller):
    page = client.get(INBOX).content.decode()
    assert "Any quiz" in page and "Any status" in page and "---------" not in page
