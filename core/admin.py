"""Admin pieces every app's admin uses: bounded inline forms, date filters that cannot crash."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.http import HttpResponseRedirect

from core.forms import DATE_RANGE_MESSAGE, MAX_DATE, MIN_DATE
from core.views import error_page


class CappedInlineMixin:
    """An inline that builds at most `max_num` forms, whatever the post claims.

    Django builds as many forms as the management form's TOTAL_FORMS says, up to
    `absolute_max` (by default max_num + 1000, and for nested inlines that is per parent
    form): a post claiming 100,000 forms held a web worker. Here the hard limit is
    `max_num` itself, and going over it is a form error with the number in it.
    Put it first in the bases; every inline sets its own `max_num`.
    """

    max_num = 20

    def get_formset(self, request, obj=None, **kwargs):
        kwargs.setdefault("absolute_max", self.max_num)
        kwargs.setdefault("validate_max", True)
        return super().get_formset(request, obj, **kwargs)


def _largest_inline(inlines) -> int:
    sizes = [
        max(getattr(inline, "max_num", None) or 0, _largest_inline(getattr(inline, "inlines", [])))
        for inline in inlines
    ]
    return max(sizes, default=0)


class BoundedFormsetsMixin:
    """A model admin that refuses, before building a single form, a post claiming more
    inline forms than any of its inlines allows.

    Even capped, rendering the page again with every form and its error takes seconds;
    a count the admin's own page can never send is answered at once with a 400.
    """

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST":
            limit = _largest_inline(self.inlines)
            for key, value in request.POST.items():
                if key.endswith("-TOTAL_FORMS") and not (
                    value.isascii() and value.isdigit() and int(value) <= limit
                ):
                    return error_page(
                        request,
                        f"That form claims {value[:12]} entries in one list; a list on this "
                        f"page holds at most {limit}. Reload the page and try again.",
                    )
        return super().changeform_view(request, object_id, form_url, extra_context)


def date_hierarchy_problem(params, field: str) -> str | None:
    """What is wrong with the date drill-down in `params` for `field`, in words (None: fine)."""
    parts = {part: params.get(f"{field}__{part}") for part in ("year", "month", "day")}
    given = {part: value for part, value in parts.items() if value is not None}
    if not given:
        return None
    if any(not (value.isascii() and value.isdigit()) for value in given.values()):
        return "That date filter is not a date: use the date links above the list."
    try:
        date = datetime.date(
            int(given.get("year", MIN_DATE.year)),
            int(given.get("month", 1)),
            int(given.get("day", 1)),
        )
    except ValueError:
        return "That date does not exist: use the date links above the list."
    if not MIN_DATE <= date <= MAX_DATE:
        return DATE_RANGE_MESSAGE
    return None


class SafeDateHierarchyMixin:
    """A model admin whose date drill-down answers a message for impossible dates.

    Django's own handling turns 9999-12-31 into an OverflowError (a 500) and `²` into
    a “Database error” page; here the list comes back without that filter, saying why.
    """

    def changelist_view(self, request, extra_context=None):
        field = getattr(self, "date_hierarchy", None)
        problem = date_hierarchy_problem(request.GET, field) if field else None
        if problem:
            self.message_user(request, problem, messages.ERROR)
            query = request.GET.copy()
            for part in ("year", "month", "day"):
                query.pop(f"{field}__{part}", None)
            return HttpResponseRedirect(f"{request.path}?{query.urlencode()}")
        return super().changelist_view(request, extra_context)
