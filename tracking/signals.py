"""Signals of the tracking app."""

from django.dispatch import Signal

# A conversion event was recorded (sent once per event, inside the transaction
# that recorded it). Provides: event (ConversionEvent).
event_recorded = Signal()

# Reconciliation is running (tracking.reconcile): apps downstream add their own checks.
# Provides: since (datetime or None), remote (bool: read back from external systems too).
# A receiver returns a list of tracking.reconcile.Check.
reconciling = Signal()

# Old events are about to be deleted for good (tracking.retention drops their month).
# Provides: events (a QuerySet of ConversionEvent), delete (bool: False only asks). A
# receiver returns a list of reasons (str) why the events cannot go yet; asked with
# delete=True, it deletes its own rows that point at them when it has none.
events_dropping = Signal()
