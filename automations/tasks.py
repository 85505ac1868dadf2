import logging

from celery import shared_task

from automations.delivery import DELIVER_TASK, deliveries_sweep, delivery_run
from automations.privacy import ERASE_TASK, erasure_crm_run, erasures_sweep

log = logging.getLogger(__name__)


@shared_task(name=DELIVER_TASK, ignore_result=True, acks_late=True)
def deliver(delivery_id: int) -> str | None:
    """Idempotent: a delivery that is not due, or already taken, is left alone."""
    return delivery_run(delivery_id)


@shared_task(ignore_result=True)
def sweep_deliveries() -> int:
    # Every SWEEP_SECONDS: a line only when there was something to send (Celery's own
    # lines for this task are filtered out, see config/logging.py).
    queued = deliveries_sweep()
    if queued:
        noun = "delivery" if queued == 1 else "deliveries"
        log.info("Sweeper queued %d %s left pending.", queued, noun)
    return queued


@shared_task(name=ERASE_TASK, ignore_result=True, acks_late=True)
def erase_in_crm(erasure_id: int) -> str | None:
    """Delete an erased person's contact at HubSpot; idempotent like deliver()."""
    return erasure_crm_run(erasure_id)


@shared_task(ignore_result=True)
def sweep_erasures() -> int:
    return erasures_sweep()
