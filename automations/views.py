"""Partials other pages compose by URL (a lead's deliveries, the dashboard's CRM
reconciliation), the replay it offers, and a person's data download."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from automations.delivery import scorecard_resend
from automations.models import Delivery, Rule
from automations.privacy import person_export_json
from automations.reconcile import crm_panel, crm_replay
from core.access import MARKETERS, SALES, group_required
from core.forms import clean_data, parse_id
from core.views import error_page
from leads.models import Lead
from tracking.forms import ReportFilterForm
from tracking.models import ConversionEvent


@require_GET
@group_required(SALES, MARKETERS)
def lead_deliveries(request: HttpRequest, lead_id: int) -> HttpResponse:
    return _deliveries(request, lead_id)


def _deliveries(request: HttpRequest, lead_id: int) -> HttpResponse:
    deliveries = Delivery.objects.filter(lead_id=lead_id).select_related(
        "action__rule", "after__action"
    )
    # A partial for the sales lead page (htmx), a page of its own without JavaScript.
    template = "automations/lead_deliveries.html" + ("#deliveries" if request.htmx else "")
    deliveries = list(deliveries)
    # A delivery on its way (a resend, a retry due now): the panel looks again shortly.
    on_its_way = any(d.status in ("pending", "sending") for d in deliveries)
    return render(
        request,
        template,
        {"deliveries": deliveries, "lead_id": lead_id, "on_its_way": on_its_way},
    )


@require_POST
@group_required(SALES, MARKETERS)
def delivery_resend(request: HttpRequest, delivery_id: int) -> HttpResponse:
    """Send a visitor's scorecard again (a new message), from the sales lead page."""
    delivery = get_object_or_404(
        Delivery.objects.filter(action__kind="scorecard", lead__isnull=False), pk=delivery_id
    )
    scorecard_resend(delivery=delivery)
    if request.htmx:
        return _deliveries(request, delivery.lead_id)
    return redirect("sales:lead", delivery.lead_id)


@require_GET
@login_required
@permission_required("automations.export_person", raise_exception=True)
def person_export(request: HttpRequest, lead_id: int) -> HttpResponse:
    """Everything stored about this lead's e-mail, as one JSON file.

    By lead id, so that the e-mail never sits in a URL (and so in access logs).
    """
    lead = get_object_or_404(Lead, pk=lead_id)
    response = HttpResponse(
        person_export_json(email=lead.email), content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="person-{lead.pk}-{timezone.localdate()}.json"'
    )
    return response


def _panel_form(query) -> ReportFilterForm:
    return ReportFilterForm.from_query(query)


@require_GET
@group_required(MARKETERS)
def crm_reconciliation(request: HttpRequest) -> HttpResponse:
    """The dashboard's CRM panel (htmx partial), a page of its own without JavaScript:
    events = leads = CRM contacts for the dashboard's quiz and range."""
    form = _panel_form(request.GET)
    context = {"form": form, "query": request.GET.urlencode()}
    status = 200
    if form.is_valid():
        start, end = form.bounds()
        context["panel"] = crm_panel(quiz_id=form.cleaned_data["quiz"].pk, start=start, end=end)
        context["can_replay"] = request.user.has_perm("automations.change_delivery")
    else:
        status = 400
    template = "automations/crm_reconciliation.html" + ("#crm" if request.htmx else "")
    return render(request, template, context, status=status)


@require_POST
@group_required(MARKETERS)
@permission_required("automations.change_delivery", raise_exception=True)
def crm_reconciliation_replay(request: HttpRequest) -> HttpResponse:
    data = clean_data(request.POST)
    delivery_id, event_id, rule_id = (
        parse_id(data.get("delivery")),
        parse_id(data.get("event")),
        parse_id(data.get("rule")),
    )
    try:
        if delivery_id is not None:
            words = crm_replay(delivery_id=delivery_id)
        elif event_id is not None and rule_id is not None:
            words = crm_replay(event_id=event_id, rule_id=rule_id)
        else:
            return error_page(request, "Say which delivery, or which event and rule, to send.")
    except (Delivery.DoesNotExist, ConversionEvent.DoesNotExist, Rule.DoesNotExist):
        return error_page(
            request, "There is no such delivery, event or rule (any more).", status=404
        )
    messages.success(request, words)
    query = clean_data(request.GET).urlencode() if request.GET else ""
    url = reverse("automations:crm_reconciliation") + (f"?{query}" if query else "")
    if request.htmx:
        # The panel again, with what was sent.
        request.method = "GET"
        return crm_reconciliation(request)
    return HttpResponseRedirect(url)
