"""Reads of leads that more than one page shows."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from leads.models import Lead


class HistoryEntry(NamedTuple):
    at: datetime
    by: object  # the User, or None for an automation
    text: str


def lead_history(*, lead: Lead) -> list[HistoryEntry]:
    """Status moves and owner changes, oldest first, in one list."""
    entries = [
        HistoryEntry(c.at, c.by, f"{c.get_from_status_display()} → {c.get_to_status_display()}")
        for c in lead.status_changes.select_related("by")
    ]
    entries += [
        HistoryEntry(c.at, c.by, f"Owner: {c.from_owner or 'nobody'} → {c.to_owner or 'nobody'}")
        for c in lead.owner_changes.select_related("by", "from_owner", "to_owner")
    ]
    return sorted(entries, key=lambda e: e.at)
