from celery import shared_task

from tracking.reconcile import reconcile_and_record


@shared_task(ignore_result=True)
def reconcile_events() -> bool:
    """Hourly proof that events and leads agree; the dashboard shows the last result."""
    return reconcile_and_record().ok
