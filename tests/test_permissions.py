"""Who may open what: every staff URL for anonymous, Sales, Marketers and a superuser."""

import pytest
from django.contrib.auth.models import Group, User

from tests.leads.factories import LeadFactory

pytestmark = pytest.mark.django_db

ANON, SALES, MARKETERS, ADMIN = "anonymous", "sales", "marketers", "superuser"
LOGIN = "login"


@pytest.fixture
def world(db):
    lead = LeadFactory()
    return {"lead": lead, "token": lead.attempt.token, "quiz": lead.quiz}


def _client_for(client, who):
    if who == ANON:
        return client
    if who == ADMIN:
        user = User.objects.create_superuser("root", password="pw-root-123456")
    else:
        user = User.objects.create_user(who, password="pw-123456-x", is_staff=True)
        user.groups.add(Group.objects.get(name="Sales" if who == SALES else "Marketers"))
    client.force_login(user)
    return client


# (method, url, expected for anonymous, Sales, Marketers, superuser)
MATRIX = [
    ("get", "/sales/", LOGIN, 200, 403, 200),
    ("get", "/sales/leads/{lead}/", LOGIN, 200, 403, 200),
    ("post", "/sales/leads/{lead}/status", LOGIN, 200, 403, 200),
    ("post", "/sales/leads/{lead}/owner", LOGIN, 200, 403, 200),
    ("post", "/sales/leads/{lead}/notes", LOGIN, 200, 403, 200),
    ("get", "/sales/export.csv", LOGIN, 200, 403, 200),  # Sales export by default
    ("get", "/dashboard/", LOGIN, 403, 200, 200),
    ("get", "/dashboard/report/funnel.csv", LOGIN, 403, 200, 200),
    ("get", "/dashboard/timeline/{token}/", LOGIN, 200, 200, 200),
    ("get", "/automations/leads/{lead}/deliveries/", LOGIN, 200, 200, 200),
    # A person's whole file: only with "Can export a person's data" (no group has it by default).
    ("get", "/automations/leads/{lead}/person.json", LOGIN, 403, 403, 200),
    ("get", "/admin/automations/erasure/", LOGIN, 403, 403, 200),
    ("get", "/admin/quizzes/quiz/", LOGIN, 403, 200, 200),
    ("get", "/admin/leads/lead/", LOGIN, 200, 200, 200),
    ("get", "/admin/automations/rule/", LOGIN, 403, 200, 200),
    ("get", "/admin/automations/delivery/", LOGIN, 200, 200, 200),
    ("get", "/admin/tracking/conversionevent/", LOGIN, 403, 200, 200),
    ("get", "/admin/tracking/customevent/add/", LOGIN, 403, 200, 200),
    ("get", "/admin/tracking/externalevent/", LOGIN, 403, 200, 200),
    ("post", "/t/events", 403, 403, 403, 403),  # no visitor cookie: events come from visitors
]


@pytest.mark.parametrize("who", [ANON, SALES, MARKETERS, ADMIN])
@pytest.mark.parametrize(("method", "url", *[ANON, SALES, MARKETERS, ADMIN]), MATRIX)
def test_permission_matrix(client, world, who, method, url, anonymous, sales, marketers, superuser):
    expected = {ANON: anonymous, SALES: sales, MARKETERS: marketers, ADMIN: superuser}[who]
    client = _client_for(client, who)
    target = url.format(lead=world["lead"].pk, token=world["token"])
    data = {"status": "contacted", "owner": "", "text": "a note"}
    if "funnel.csv" in target:
        target += f"?quiz={world['quiz'].pk}"
    if method == "post":
        response = client.post(target, data, headers={"Origin": "http://testserver"})
    else:
        response = client.get(target)
    if expected == LOGIN:
        assert response.status_code == 302 and "login" in response["Location"], response.status_code
    else:
        assert response.status_code == expected
