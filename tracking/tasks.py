from celery import shared_task

from tracking.reconcile import reconcile_and_record


@shared_task(ignore_result=True)
def reconcile_events() -> bool:
    """Hourly proof that events, leads and the CRM agree (HubSpot's contacts read back
    too, the recent ones); the dashboard shows the last result."""
    return reconcile_and_record(remote=True).ok
