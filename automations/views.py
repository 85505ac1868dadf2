"""Partials other pages compose by URL (a lead's deliveries), and a person's data download."""

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from automations.delivery import scorecard_resend
from automations.models import Delivery
from automations.privacy import person_export_json
from core.access import MARKETERS, SALES, group_required
from leads.models import Lead


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
    return render(request, template, {"deliveries": deliveries, "lead_id": lead_id})


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
