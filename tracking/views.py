"""The marketer's dashboard (/dashboard/) and the event timeline partial."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from core.access import MARKETERS, SALES, group_required
from core.db import reads_reports
from core.spreadsheet import csv_rows
from core.views import error_page
from quizzes.models import Attempt
from tracking import reports, rollups
from tracking.forms import ReportFilterForm
from tracking.models import ReconciliationRun
from tracking.timeline import attempt_timeline

REPORTS = {
    "funnel": lambda quiz, start, end, unit, lang: reports.funnel(quiz, start, end, unit, lang),
    "timing": lambda quiz, start, end, unit, lang: reports.timing(quiz, start, end, lang),
    "sources": lambda quiz, start, end, unit, lang: reports.sources(quiz, start, end, lang),
    "attribution": lambda quiz, start, end, unit, lang: reports.attribution(quiz, start, end, lang),
}


def _table(form: ReportFilterForm, name: str) -> list:
    start, end = form.bounds()
    data = form.cleaned_data
    return REPORTS[name](data["quiz"], start, end, data["unit"], data.get("language") or "")


@require_GET
@group_required(MARKETERS)
@reads_reports
def dashboard(request: HttpRequest) -> HttpResponse:
    form = ReportFilterForm.from_query(request.GET)
    context = {
        "form": form,
        "reconciliation": ReconciliationRun.objects.first(),
        "abandon_minutes": settings.QUIZ_ABANDON_MINUTES,
    }
    status = 200
    if form.is_valid():
        try:
            context.update({name: _table(form, name) for name in REPORTS})
        except rollups.Behind as behind:
            return _catching_up(request, behind)
        start, end = form.bounds()
        language = form.cleaned_data.get("language") or ""
        context["bot_attempts"] = reports.bot_attempts(
            form.cleaned_data["quiz"], start, end, language
        )
        past_lead = reports.past_lead(form.cleaned_data["quiz"], start, end, language)
        if past_lead is not None:
            context["past_lead"] = past_lead
            context["past_lead_tiers"] = [past_lead.total, *past_lead.by_tier]
            context["past_lead_words"] = reports.PAST_LEAD_WORDS
        context["query"] = request.GET.urlencode()
    else:
        status = 400
    template = "tracking/dashboard.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#report"
    return render(request, template, context, status=status)


def _catching_up(request: HttpRequest, behind: rollups.Behind) -> HttpResponse:
    """503 while the worker rolls up a backlog too big to add up per request."""
    response = error_page(
        request,
        f"The reports are catching up: {behind}, more than a report adds up while you wait. "
        f"The worker rolls them up (about {settings.ROLLUP_SECONDS:g} s apart, thousands a "
        "second; after an upgrade the first time takes a few minutes). Try again in a minute.",
        status=503,
    )
    response["Retry-After"] = "60"
    return response


def _funnel_header(funnel: reports.Funnel) -> list[str]:
    unit = funnel.unit
    return [
        "Step",
        f"Count — {unit}",
        "Count is",
        f"Out of — {unit}",
        "Out of is",
        "% of out of",
        f"% of {funnel.start_words}",
        f"Left here — {unit} (their last step; never completed)",
        f"Took another path — {unit} (shown it; went on without answering)",
    ]


# Every header says what a figure counts (its unit) and, for a rate, its base.
CSV_COLUMNS = {
    "funnel": (
        _funnel_header,
        lambda r: [
            r.label,
            r.count,
            r.counted,
            r.base,
            r.base_words,
            r.from_previous,
            r.from_start,
            r.left_here,
            r.other_path,
        ],
    ),
    "timing": (
        lambda _: [
            "Step",
            "Measured — attempts (whole quiz: completed; a question: shown it and answered it)",
            "Median — seconds",
            "90th percentile — seconds",
        ],
        lambda r: [r.label, r.count, r.median_s, r.p90_s],
    ),
    "sources": (
        lambda _: [
            "First-touch source",
            "First-touch medium",
            "First-touch campaign",
            "First-touch referrer",
            "Visitors (viewed the intro or started)",
            "Converted — visitors who submitted a lead",
            "% of visitors converted",
            "Submissions — leads (a visitor may submit more than once)",
            "Average score — % of the maximum, per submission",
            "Tier mix — submissions",
        ],
        lambda r: [
            r.source,
            r.medium,
            r.campaign,
            r.referrer,
            r.visitors,
            r.converted,
            r.conversion,
            r.leads,
            r.average_percent,
            "; ".join(f"{k}: {v}" for k, v in sorted(r.tiers.items())),
        ],
    ),
    "attribution": (
        lambda _: [
            "Source",
            "Leads by first touch — submissions",
            "Leads by last touch — submissions",
            "Hot leads by first touch — submissions",
            "Hot leads by last touch — submissions",
        ],
        lambda r: [
            r.source,
            r.first_touch_leads,
            r.last_touch_leads,
            r.first_touch_hot,
            r.last_touch_hot,
        ],
    ),
}


@require_GET
@group_required(MARKETERS)
@reads_reports
def report_csv(request: HttpRequest, table: str) -> HttpResponse:
    if table not in CSV_COLUMNS:
        return error_page(request, f"There is no report called “{table}”.", status=404)
    form = ReportFilterForm.from_query(request.GET)
    if not form.is_valid():
        errors = " ".join(e for errs in form.errors.values() for e in errs)
        return error_page(request, f"Fix the filters first: {errors}")
    header, cells = CSV_COLUMNS[table]
    quiz = form.cleaned_data["quiz"]
    try:
        result = _table(form, table)
    except rollups.Behind as behind:
        return _catching_up(request, behind)
    rows = (cells(row) for row in result)
    response = HttpResponse(csv_rows(header(result), rows), content_type="text/csv; charset=utf-8")
    name = f"{quiz.slug}-{table}-{form.cleaned_data['start']}-{form.cleaned_data['end']}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_GET
@group_required(MARKETERS, SALES)
def timeline(request: HttpRequest, token: str) -> HttpResponse:
    """The visitor's events for one attempt, in words: a partial other pages load by URL
    (and a page of its own for a browser without JavaScript)."""
    attempt = get_object_or_404(Attempt.objects.select_related("quiz"), token=token)
    template = "tracking/timeline.html" + ("#timeline" if request.htmx else "")
    return render(
        request, template, {"attempt": attempt, "entries": attempt_timeline(attempt=attempt)}
    )
