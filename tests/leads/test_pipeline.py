"""Every status and owner change goes through the leads services, from any page:
history written, first response credited to the person who moved first."""

import pytest
from django.contrib.auth.models import Group, User

from leads.models import Lead, OwnerChange, StatusChange
from leads.services import lead_assign, lead_set_status
from tests.leads.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sam(db):
    user = User.objects.create_user("sam", password="pw-sam-123456", is_staff=True)
    user.groups.add(Group.objects.get(name="Sales"))
    return user


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("root", password="pw-root-123456"))
    return client


def test_editing_status_and_owner_in_admin_writes_history_and_first_response(admin_client, sam):
    lead = LeadFactory()
    response = admin_client.post(
        f"/admin/leads/lead/{lead.pk}/change/", {"status": "contacted", "owner": sam.pk}
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    lead.refresh_from_db()
    assert (lead.status, lead.owner) == ("contacted", sam)
    root = User.objects.get(username="root")
    assert list(StatusChange.objects.values_list("by", "from_status", "to_status")) == [
        (root.pk, "new", "contacted")
    ]
    assert list(OwnerChange.objects.values_list("by", "from_owner", "to_owner")) == [
        (root.pk, None, sam.pk)
    ]
    assert lead.first_response_by == root and lead.first_response_at is not None
    page = admin_client.get(f"/admin/leads/lead/{lead.pk}/change/").content.decode()
    assert "New → Contacted" in page and "Owner: nobody → sam" in page


def test_saving_the_admin_form_unchanged_writes_no_history(admin_client, sam):
    lead = LeadFactory(owner=sam, status="contacted")
    admin_client.post(
        f"/admin/leads/lead/{lead.pk}/change/", {"status": "contacted", "owner": sam.pk}
    )
    assert not StatusChange.objects.exists() and not OwnerChange.objects.exists()
    lead.refresh_from_db()
    assert lead.first_response_at is None


def test_admin_offers_only_members_of_sales_as_owners(admin_client, sam):
    lead = LeadFactory()
    outsider = User.objects.create_user("eve")
    response = admin_client.post(
        f"/admin/leads/lead/{lead.pk}/change/", {"status": "new", "owner": outsider.pk}
    )
    assert response.status_code == 200  # the form again, with its error
    assert Lead.objects.get(pk=lead.pk).owner is None and not OwnerChange.objects.exists()


def test_an_automations_assignment_is_history_but_not_a_first_response(sam):
    lead = LeadFactory()
    lead_assign(lead=lead, owner=sam)  # by=None: an automation
    lead.refresh_from_db()
    assert lead.owner == sam and lead.first_response_at is None
    change = OwnerChange.objects.get()
    assert (change.by, change.to_owner) == (None, sam)
    lead_set_status(lead=lead, status="contacted", by=sam)
    lead.refresh_from_db()
    assert lead.first_response_by == sam
    assert lead.first_response_at == StatusChange.objects.get().at


def test_the_first_move_keeps_the_credit(sam):
    other = User.objects.create_user("kim")
    lead = LeadFactory()
    first = lead_assign(lead=lead, owner=sam, by=other)
    lead_set_status(lead=lead, status="contacted", by=sam)
    lead.refresh_from_db()
    assert (lead.first_response_by, lead.first_response_at) == (other, first.at)
    assert lead_assign(lead=lead, owner=sam, by=sam) is None  # no change, no history
    assert OwnerChange.objects.count() == 1
