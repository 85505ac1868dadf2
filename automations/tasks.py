from celery import shared_task

from automations.delivery import DELIVER_TASK, deliveries_sweep, delivery_run


@shared_task(name=DELIVER_TASK, ignore_result=True, acks_late=True)
def deliver(delivery_id: int) -> str | None:
    """Idempotent: a delivery that is not due, or already taken, is left alone."""
    return delivery_run(delivery_id)


@shared_task(ignore_result=True)
def sweep_deliveries() -> int:
    return deliveries_sweep()
