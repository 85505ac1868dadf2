"""The result names the weakest area the intro promised; the admin shows a lead readably."""

import pytest
from django.urls import reverse

from tests.leads.factories import LeadFactory
from tests.visitor import result_url, run, submit_lead

pytestmark = pytest.mark.django_db


def test_the_result_names_the_weakest_category(client, scorecard):
    # HOT_RUN: Reach 20 of 20 (100 %), Insight 18 of 20 (90 %).
    attempt = run(client, scorecard)
    submit_lead(client, attempt)
    page = client.get(result_url(attempt)).content.decode()
    assert "Your weakest area: <strong>Insight</strong> (90%)" in page


def test_no_weakest_area_when_every_category_is_full_marks():
    lead = LeadFactory.build(
        category_scores=[
            {"name": "Reach", "points": 20, "max_points": 20, "percent": 100},
            {"name": "Insight", "points": 20, "max_points": 20, "percent": 100},
        ]
    )
    assert lead.weakest_category is None


def test_the_first_of_equally_weak_categories_is_named():
    lead = LeadFactory.build(
        category_scores=[
            {"name": "Reach", "points": 5, "max_points": 10, "percent": 50},
            {"name": "Insight", "points": 10, "max_points": 20, "percent": 50},
            {"name": "Action", "points": 9, "max_points": 10, "percent": 90},
        ]
    )
    assert lead.weakest_category["name"] == "Reach"


def test_the_admin_lead_page_shows_answers_and_scores_as_tables(admin_client):
    lead = LeadFactory(
        category_scores=[{"name": "Reach", "points": 15, "max_points": 20, "percent": 75}],
        answers=[
            {
                "question": "Do you advertise?",
                "answer": "Yes <b>really</b>",
                "skipped": False,
                "scored": True,
                "points": 10,
                "max_points": 10,
            },
            {
                "question": "How do you tag links?",
                "answer": "",
                "skipped": True,
                "scored": True,
                "points": 0,
                "max_points": 0,
            },
        ],
    )
    page = admin_client.get(reverse("admin:leads_lead_change", args=[lead.pk])).content.decode()
    assert "<th>Category</th>" in page and "<td>Reach</td>" in page
    assert "15 of 20" in page and "75 %" in page
    assert "<td>Do you advertise?</td>" in page and "10 of 10" in page
    assert "Yes &lt;b&gt;really&lt;/b&gt;" in page  # the visitor's words, escaped
    assert "<td>Skipped</td>" in page
    assert '"question":' not in page and "&quot;question&quot;" not in page  # no raw JSON
