"""The tab icon on every page: /favicon.ico at the root (what browsers ask for when a page
names none), and both icons named on the admin's, sales' and visitors' pages."""

import re

import pytest
from django.contrib.auth.models import Group, User
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


def icons(html: str) -> list[str]:
    return re.findall(r'<link rel="icon" href="/static/([^"]+)"', html)


def test_favicon_ico_is_served_at_the_root(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO


@pytest.mark.parametrize("who, page", [("admin", "/admin/"), ("sales", "/sales/")])
def test_staff_pages_name_the_icon(client, who, page):
    user = User.objects.create_user(who, password="pw", is_staff=True, is_superuser=who == "admin")
    if who == "sales":
        user.groups.add(Group.objects.get(name="Sales"))
    client.force_login(user)
    found = icons(client.get(page).content.decode())
    assert found == ["root/favicon.ico", "favicon.svg"]
    assert all(finders.find(path) for path in found)


def test_the_admin_login_and_a_quiz_page_name_it_too(client, scorecard):
    assert icons(client.get("/admin/login/").content.decode()) == [
        "root/favicon.ico",
        "favicon.svg",
    ]
    assert "favicon.svg" in icons(client.get(scorecard.get_absolute_url()).content.decode())
