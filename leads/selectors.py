"""Reads of leads that more than one page shows."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from django.db.models import Q

from leads.models import Lead

SORTS = {
    "hot": ("-score_percent", "-created_at", "-pk"),
    "new": ("-created_at", "-pk"),
    "old": ("created_at", "-pk"),
    "cold": ("score_percent", "-created_at", "-pk"),
}


def leads_filtered(*, filters: dict, user=None):
    """The leads sales work (no spam, no previews) that match the inbox's filters.

    `filters` is a valid SalesFilterForm's cleaned_data (the sales workspace and the API
    both validate with it); `user` is who "me" is (None: nobody, so "me" matches none).
    Ordered by `sort` (hottest first by default), ending with the primary key: a total
    order, which the API's cursor needs.
    """
    leads = Lead.objects.for_sales().select_related("quiz", "owner")
    if filters.get("q"):
        q = filters["q"]
        leads = leads.filter(Q(name__icontains=q) | Q(email__icontains=q) | Q(company__icontains=q))
    if filters.get("tier"):
        leads = leads.filter(tier_name=filters["tier"])
    if filters.get("quiz"):
        leads = leads.filter(quiz=filters["quiz"])
    if filters.get("status"):
        leads = leads.filter(status=filters["status"])
    owner = filters.get("owner")
    if owner == "none":
        leads = leads.filter(owner=None)
    elif owner == "me":
        leads = leads.filter(owner=user) if user is not None else leads.none()
    elif owner:
        leads = leads.filter(owner_id=owner)
    if filters.get("start"):
        leads = leads.filter(created_at__date__gte=filters["start"])
    if filters.get("end"):
        leads = leads.filter(created_at__date__lte=filters["end"])
    if filters.get("min_score") is not None:
        leads = leads.filter(score_percent__gte=filters["min_score"])
    if filters.get("max_score") is not None:
        leads = leads.filter(score_percent__lte=filters["max_score"])
    return leads.order_by(*SORTS[filters.get("sort") or "hot"])


class HistoryEntry(NamedTuple):
    at: datetime
    by: object  # the User, or None for an automation or an integration
    text: str
    via: str = ""  # the integration (API key) that made it


def lead_history(*, lead: Lead) -> list[HistoryEntry]:
    """Status moves and owner changes, oldest first, in one list."""
    entries = [
        HistoryEntry(
            c.at, c.by, f"{c.get_from_status_display()} → {c.get_to_status_display()}", c.via
        )
        for c in lead.status_changes.select_related("by")
    ]
    entries += [
        HistoryEntry(
            c.at, c.by, f"Owner: {c.from_owner or 'nobody'} → {c.to_owner or 'nobody'}", c.via
        )
        for c in lead.owner_changes.select_related("by", "from_owner", "to_owner")
    ]
    return sorted(entries, key=lambda e: e.at)
