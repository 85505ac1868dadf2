"""Give the lead an owner: round robin among Sales, never over a person's choice."""

from __future__ import annotations

from automations.fencing import claim_log
from automations.models import Delivery, DeliveryAttempt
from automations.senders.http import Failure
from leads.services import lead_assign_round_robin


def not_connected() -> str:
    return ""


def send(delivery: Delivery) -> str:
    lead = delivery.lead
    if lead is None:
        raise Failure("Assigning an owner needs a lead: use it on lead_submitted.")
    owner = lead_assign_round_robin(lead=lead)
    if owner is None and lead.owner_id is None:
        lead.refresh_from_db(fields=["owner"])
    if owner is None and lead.owner_id is None:
        raise Failure("No active user in the Sales group to assign.")
    summary = f"assigned to {owner}" if owner else f"already owned by {lead.owner}"
    claim_log(delivery, DeliveryAttempt(step="assign", response=summary))
    return summary
