"""The sales workspace (/sales/): scored leads, hottest first, and each lead's page."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Q
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.functional import cached_property
from django.views.decorators.http import require_GET, require_POST

from core.access import SALES, group_required
from core.forms import parse_id
from core.spreadsheet import csv_rows
from core.views import error_page
from leads.forms import SalesFilterForm
from leads.models import Lead
from leads.selectors import lead_history, leads_filtered
from leads.services import lead_add_note, lead_assign, lead_set_status

PAGE_SIZE = 25


def _filtered(form: SalesFilterForm, user):
    if not form.is_valid():
        return Lead.objects.none()
    return leads_filtered(filters=form.cleaned_data, user=user)


def one_row_per_person(leads):
    """The filtered leads, one per e-mail address: the first by the list's own order (the
    hottest, or the newest...): a lead no other lead of the same person comes before.

    Read in the list's order and checked against the e-mail index, so a page stops after
    its rows instead of ranking every lead first.
    """
    before, ties = Q(), Q()
    for field in leads.query.order_by:  # a total order: it ends with the primary key
        name = field.removeprefix("-")
        direction = "gt" if field.startswith("-") else "lt"
        before |= ties & Q(**{f"{name}__{direction}": OuterRef(name)})
        ties &= Q(**{name: OuterRef(name)})
    comes_first = leads.filter(before, email=OuterRef("email")).order_by()
    return leads.filter(~Exists(comes_first))


class PeoplePaginator(Paginator):
    """Counts people (distinct e-mails of the filtered leads: one row each) from the index."""

    def __init__(self, rows, per_page: int, *, leads):
        super().__init__(rows, per_page)
        self.leads = leads

    @cached_property
    def count(self) -> int:
        return self.leads.order_by().values("email").distinct().count()


def with_submission_counts(leads) -> list:
    """`leads` (a page of them) with `submissions`: how often each person sent the form."""
    leads = list(leads)
    counts = dict(
        Lead.objects.for_sales()
        .filter(email__in={lead.email for lead in leads})
        .order_by()
        .values_list("email")
        .annotate(n=Count("pk"))
    )
    for lead in leads:
        lead.submissions = counts.get(lead.email, 1)
    return leads


def _median(deltas) -> timedelta | None:
    return statistics.median(deltas) if deltas else None


def first_response_stats(leads) -> dict:
    """Median first-response time per week (last 12) and per owner."""
    since = timezone.now() - timedelta(weeks=12)
    weeks, owners = defaultdict(list), defaultdict(list)
    answered = leads.filter(first_response_at__isnull=False, created_at__gte=since)
    for lead in answered.select_related("owner"):
        delta = lead.first_response_at - lead.created_at
        year, week, _ = timezone.localtime(lead.created_at).isocalendar()
        weeks[f"{year}-W{week:02d}"].append(delta)
        owners[str(lead.owner) if lead.owner else "(nobody)"].append(delta)
    return {
        "weeks": sorted(((w, _median(d), len(d)) for w, d in weeks.items()), reverse=True),
        "owners": sorted((o, _median(d), len(d)) for o, d in owners.items()),
    }


@require_GET
@group_required(SALES)
def inbox(request: HttpRequest) -> HttpResponse:
    form = SalesFilterForm(request.GET or None)
    leads = _filtered(form if form.is_bound else SalesFilterForm({}), request.user)
    people = PeoplePaginator(one_row_per_person(leads), PAGE_SIZE, leads=leads)
    page = people.get_page(request.GET.get("page"))
    page.object_list = with_submission_counts(page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "submission_count": leads.count(),
        "can_export": request.user.has_perm("leads.export_lead"),
    }
    status = 400 if form.is_bound and not form.is_valid() else 200
    template = "sales/inbox.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#inbox"  # the list alone: the filters and statistics stay on the page
    else:
        context |= {
            "stats": first_response_stats(Lead.objects.for_sales()),
            "tiers": Lead.objects.for_sales()
            .order_by("tier_name")
            .values_list("tier_name", flat=True)
            .distinct(),
            "sales_users": _sales_users(),
        }
    return render(request, template, context, status=status)


@require_GET
@group_required(SALES)
@permission_required("leads.export_lead", raise_exception=True)
def export(request: HttpRequest) -> StreamingHttpResponse:
    form = SalesFilterForm(request.GET or {})
    if not form.is_valid():
        errors = " ".join(e for errs in form.errors.values() for e in errs)
        return error_page(request, f"Fix the filters first: {errors}")
    leads = _filtered(form, request.user)
    header = [
        "created_at",
        "name",
        "email",
        "company",
        "phone",
        "quiz",
        "score_percent",
        "tier",
        "source",
        "status",
        "owner",
        "consent",
    ]
    rows = (
        [
            lead.created_at.isoformat(),
            lead.name,
            lead.email,
            lead.company,
            lead.phone,
            lead.quiz.title,
            lead.score_percent,
            lead.tier_name,
            lead.source,
            lead.status,
            str(lead.owner or ""),
            "yes" if lead.consent_given else "no",
        ]
        for lead in leads.iterator(chunk_size=500)
    )
    response = StreamingHttpResponse(csv_rows(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="leads-{timezone.localdate()}.csv"'
    return response


def _sales_users():
    return get_user_model().objects.filter(is_active=True, groups__name=SALES).order_by("username")


def _lead_context(request, lead: Lead) -> dict:
    return {
        "lead": lead,
        "statuses": Lead.Status.choices,
        "sales_users": _sales_users(),
        "earlier": Lead.objects.for_sales()
        .filter(email=lead.email)
        .exclude(pk=lead.pk)
        .select_related("quiz"),
        "can_change": request.user.has_perm("leads.change_lead"),
        "history": lead_history(lead=lead),
    }


@require_GET
@group_required(SALES)
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_object_or_404(
        Lead.objects.for_sales().select_related("quiz", "owner", "attempt", "first_response_by"),
        pk=pk,
    )
    return render(request, "sales/lead.html", _lead_context(request, lead))


def _section(request, lead: Lead, section: str, *, error: str = "", status: int = 200):
    lead.refresh_from_db()
    context = {**_lead_context(request, lead), "error": error}
    template = "sales/lead.html"
    if request.htmx:
        template += f"#{section}"
    return render(request, template, context, status=status)


@require_POST
@group_required(SALES)
@permission_required("leads.change_lead", raise_exception=True)
def lead_status(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_object_or_404(Lead.objects.for_sales(), pk=pk)
    try:
        lead_set_status(lead=lead, status=request.POST.get("status", ""), by=request.user)
    except ValidationError as error:
        return _section(request, lead, "pipeline", error=error.messages[0], status=400)
    return _section(request, lead, "pipeline")


@require_POST
@group_required(SALES)
@permission_required("leads.change_lead", raise_exception=True)
def lead_owner(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_object_or_404(Lead.objects.for_sales(), pk=pk)
    raw = request.POST.get("owner", "")
    owner = None
    if raw:
        owner = (
            get_user_model()
            .objects.filter(pk=parse_id(raw), is_active=True, groups__name=SALES)
            .first()
        )
        if owner is None:
            return _section(
                request, lead, "pipeline", error="Choose a member of Sales.", status=400
            )
    lead_assign(lead=lead, owner=owner, by=request.user)
    return _section(request, lead, "pipeline")


@require_POST
@group_required(SALES)
@permission_required("leads.change_lead", raise_exception=True)
def lead_note(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_object_or_404(Lead.objects.for_sales(), pk=pk)
    try:
        lead_add_note(lead=lead, text=request.POST.get("text", ""), author=request.user)
    except ValidationError as error:
        return _section(request, lead, "notes", error=error.messages[0], status=400)
    return _section(request, lead, "notes")
