from celery import shared_task

from quizzes.services import attempts_abandon
from tracking import partitions, retention, rollups
from tracking.reconcile import reconcile_and_record


@shared_task(ignore_result=True)
def reconcile_events() -> bool:
    """Hourly proof that events, leads and the CRM agree (HubSpot's contacts read back
    too, the recent ones); the dashboard shows the last result."""
    return reconcile_and_record(remote=True).ok


@shared_task(ignore_result=True)
def record_abandoned_runs() -> int:
    """Every minute: lead-first runs silent for QUIZ_ABANDON_MINUTES become
    `quiz_abandoned`, once each (quizzes.services.attempts_abandon)."""
    return attempts_abandon()


@shared_task(ignore_result=True)
def flush_rollups() -> int:
    """Every few seconds (ROLLUP_SECONDS): the events recorded since go into the reports'
    rollups (tracking.rollups). The reports are exact without it, only slower."""
    return rollups.flush()


@shared_task(ignore_result=True)
def event_partitions_ahead() -> list[str]:
    """Daily: the events table's monthly partitions, AHEAD_MONTHS ahead (when it is
    partitioned; tracking.partitions)."""
    return partitions.months_ahead()


@shared_task(ignore_result=True)
def drop_old_events() -> int:
    """Daily: the months older than TRACKING_EVENT_RETENTION_MONTHS leave, or the log says
    why one stays (tracking.retention); returns how many events were dropped."""
    return retention.drop_old_events().dropped_events
