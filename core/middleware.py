"""Refuse addresses no page can answer, before a view hands them to the database.

PostgreSQL refuses text with a NUL byte, so a NUL in a URL token (`/q/<slug>/t/<token>/`)
or in an admin list filter (`?status=%00`) would be a 500 at the first query. A
person never types one: answer 400 with a page that says so.

Visitor pages are the exception for the query string: a landing link's utm_* and click
ids are cleaned by the attribution code (a stray byte in an ad's link must not cost the
visit), and their other parameters never reach the database. So is the integrator API
(/api/): it cleans its query parameters where it validates them, and answers in JSON.
"""

from __future__ import annotations

import re

from core.views import error_page

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

# Paths whose query parameters are cleaned where they are read (tracking.attribution,
# api.views).
QUERY_CLEANED_WHERE_READ = ("/q/", "/t/", "/api/")


UNREADABLE_ADDRESS = (
    "The address contains a character that cannot be part of a link (a NUL byte). "
    "Check the link, or copy it again from where you found it."
)


def unstorable(value: str) -> bool:
    return bool(_UNSTORABLE.search(value))


class RejectUnreadableAddressMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if unstorable(request.path) or (
            not request.path.startswith(QUERY_CLEANED_WHERE_READ)
            and any(unstorable(k) or unstorable(v) for k, v in _query_items(request))
        ):
            # Answered here, DEBUG or not: nothing further down should see it.
            return error_page(request, UNREADABLE_ADDRESS)
        return self.get_response(request)


def _query_items(request):
    for key, values in request.GET.lists():
        for value in values:
            yield key, value
