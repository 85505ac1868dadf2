"""Partials other pages compose by URL: a lead's deliveries."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from automations.models import Delivery
from core.access import MARKETERS, SALES, group_required


@require_GET
@group_required(SALES, MARKETERS)
def lead_deliveries(request: HttpRequest, lead_id: int) -> HttpResponse:
    deliveries = Delivery.objects.filter(lead_id=lead_id).select_related(
        "action__rule", "after__action"
    )
    # A partial for the sales lead page (htmx), a page of its own without JavaScript.
    template = "automations/lead_deliveries.html" + ("#deliveries" if request.htmx else "")
    return render(request, template, {"deliveries": deliveries})
