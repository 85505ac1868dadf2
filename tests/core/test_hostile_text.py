"""Hostile text over every public endpoint: a normal page or a 4xx that says why, never a
5xx, and nothing written on a 4xx.

Values go over the wire as a browser would send them: UTF-8 (lone surrogates encoded as
they are, so Django sees the bytes a crafted request carries), percent-encoded. NUL bytes
only fail on PostgreSQL: run this file with DATABASE_URL too.
"""

import re
from urllib.parse import quote

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leads.models import Lead
from quizzes.models import Answer
from tests.leads.factories import LeadFactory
from tests.visitor import question, run, start, step_url
from tracking.models import ConversionEvent

pytestmark = pytest.mark.django_db

SAMPLES = [
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "İ" * 60,
    "²",
    "١٢",
    "2026-02-30",
    "9999-12-31",
    "0001-01-01",
    "1e400",
    "-1",
    "0",
    "99999999999999999999",
    "\u202egnp.exe",
    "مرحبا بالعالم",
    "👩‍👩‍👧‍👦" * 40,
    "x" * 5000,
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%00",
    " ",
    "",
    "NaN",
    "[" * 3000,
    "me",
    "none",
]
# Any code point, surrogates included (hypothesis leaves them out by default).
ANY_CHAR = st.characters(codec=None, categories=None, exclude_categories=())
hostile = st.one_of(
    st.sampled_from(SAMPLES),
    st.text(ANY_CHAR, max_size=80),
    st.lists(st.sampled_from(SAMPLES) | st.text(ANY_CHAR, max_size=5), max_size=4).map("".join),
)
EXAMPLES = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

SALES_PARAMS = ["q", "tier", "quiz", "status", "owner", "start", "end"]
SALES_PARAMS += ["min_score", "max_score", "sort", "page"]
DASHBOARD_PARAMS = ["quiz", "start", "end", "unit"]


def wire(value: str) -> str:
    """Percent-encoded UTF-8, surrogates and all (what a hand-made request can carry)."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def query(params: dict) -> str:
    return "&".join(f"{wire(k)}={wire(v)}" for k, v in params.items())


def counts():
    return (Answer.objects.count(), Lead.objects.count(), ConversionEvent.objects.count())


def message_of(page: str) -> str:
    """The words a person is shown about what went wrong."""
    alert = re.search(r'role="alert"[^>]*>(.*?)</(p|section)>', page, re.S)
    if alert:
        return re.sub(r"<[^>]+>", " ", alert.group(1)).strip()
    body = re.search(r"<main>\s*<h1[^>]*>.*?</h1>\s*<p>(.*?)</p>", page, re.S)
    return body.group(1).strip() if body else ""


def check(client: Client, method: str, url: str, body: str | None = None):
    before = counts()
    if method == "get":
        response = client.get(url)
    else:
        response = client.post(url, body or "", content_type="application/x-www-form-urlencoded")
    assert response.status_code < 500, (url, body)
    if 400 <= response.status_code < 500:
        page = response.content.decode()
        assert len(message_of(page)) > 10, (response.status_code, url, page[:3000])
        assert "Traceback" not in page
        assert counts() == before, (url, body)
    return response


@pytest.fixture
def visitor(scorecard):
    client = Client()
    attempt = start(client, scorecard)
    client.post(step_url(attempt, question(scorecard, "Do you advertise?")), {"answer": ""})
    return client, attempt


@EXAMPLES
@given(params=st.dictionaries(st.sampled_from(["preview", "page", "x"]) | hostile, hostile))
def test_the_intro_page(scorecard, params):
    check(Client(), "get", f"/q/{scorecard.slug}/?{query(params)}")


@EXAMPLES
@given(token=hostile, page=st.sampled_from(["t/{}/q/1/", "t/{}/details/", "r/{}/"]))
def test_links_with_a_hostile_token(scorecard, token, page):
    check(Client(), "get", f"/q/{scorecard.slug}/" + page.format(wire(token) or "x"))


@EXAMPLES
@given(key=hostile)
def test_the_start_form(scorecard, key):
    check(Client(), "post", f"/q/{scorecard.slug}/start/", query({"start_key": key}))


@EXAMPLES
@given(
    prompt=st.sampled_from(
        [
            "Do you advertise?",
            "How do you tag links?",
            "What do you track?",
            "How confident are you?",
            "Anything else?",
        ]
    ),
    answers=st.lists(hostile, max_size=3),
)
def test_every_kind_of_question(visitor, scorecard, prompt, answers):
    client, attempt = visitor
    url = step_url(attempt, question(scorecard, prompt))
    client.get(url)  # the question was shown, as to a visitor
    check(client, "post", url, "&".join(f"answer={wire(a)}" for a in answers))


@settings(EXAMPLES, max_examples=20)  # each example runs a whole quiz first
@given(
    fields=st.fixed_dictionaries(
        {},
        optional={
            "email": hostile | st.just("ada@example.com"),
            "name": hostile,
            "company": hostile,
            "phone": hostile | st.just("+44 20 7946 0000"),
            "consent": hostile,
            "website": hostile,
        },
    )
)
def test_the_lead_form(client, scorecard, fields):
    attempt = run(client, scorecard)
    url = f"/q/{scorecard.slug}/t/{attempt.token}/details/"
    check(client, "post", url, query(fields))
    check(client, "get", f"/q/{scorecard.slug}/r/{attempt.token}/")


@pytest.fixture
def staff(db):
    user = User.objects.create_user("staff", password="pw-staff-123456")
    user.groups.add(*Group.objects.filter(name__in=["Sales", "Marketers"]))
    client = Client()
    client.force_login(user)
    LeadFactory()
    return client


@EXAMPLES
@given(params=st.dictionaries(st.sampled_from(SALES_PARAMS), hostile, max_size=4))
def test_the_sales_inbox(staff, params):
    check(staff, "get", f"/sales/?{query(params)}")
    check(staff, "get", f"/sales/?{query(params)}", None)


@EXAMPLES
@given(params=st.dictionaries(st.sampled_from(DASHBOARD_PARAMS), hostile, max_size=3))
def test_the_dashboard(staff, scorecard, params):
    check(staff, "get", f"/dashboard/?{query(params)}")
    check(staff, "get", f"/dashboard/report/funnel.csv?{query(params)}")


@EXAMPLES
@given(token=hostile, note=hostile, owner=hostile)
def test_a_leads_page(staff, token, note, owner):
    lead = Lead.objects.get()
    check(staff, "get", f"/dashboard/timeline/{wire(token) or 'x'}/")
    check(staff, "post", f"/sales/leads/{lead.pk}/notes", query({"text": note}))
    check(staff, "post", f"/sales/leads/{lead.pk}/owner", query({"owner": owner}))
    check(staff, "post", f"/sales/leads/{lead.pk}/status", query({"status": note}))
