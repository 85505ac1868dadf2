"""A worker's claim on a delivery, and the writes it fences.

Claiming writes a new token on the row. Every write a worker makes after a send compares
that token in its UPDATE, so a worker whose claim was taken back (its call outlived the
claim and the sweeper handed the delivery to another worker) matches no row: it writes
nothing and goes no further.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F

from automations.models import Delivery, DeliveryAttempt


class LostClaim(Exception):
    """This worker no longer holds the delivery; another one has it, or it is finished."""


def claim_update(delivery: Delivery, **fields) -> None:
    """UPDATE the delivery WHERE claim_token = this worker's; LostClaim if it matched nothing."""
    token = delivery.claim_token
    if token is None or not Delivery.objects.filter(pk=delivery.pk, claim_token=token).update(
        **fields
    ):
        raise LostClaim(f"delivery {delivery.pk}: claim {token} was taken back")
    for name, value in fields.items():
        if not hasattr(value, "resolve_expression"):
            setattr(delivery, name, value)


def claim_log(delivery: Delivery, attempt: DeliveryAttempt, *, count: bool = True) -> None:
    """Log one call, if this worker still holds the claim.

    The first call logged under a claim counts as one attempt, so the attempts shown
    are the tries that reached somewhere (a try that only waited spends none, nor does
    one the service turned away for its rate limit: `count=False`).
    """
    first = count and not getattr(delivery, "_attempt_counted", False)
    with transaction.atomic():
        # The fenced UPDATE locks the row until the log row is in: a sweeper cannot take
        # the claim back between the check and the insert.
        claim_update(delivery, attempts=F("attempts") + (1 if first else 0))
        attempt.delivery = delivery
        attempt.save()
    if first:
        delivery.attempts += 1
        delivery._attempt_counted = True
