"""Signals of the tracking app."""

from django.dispatch import Signal

# A conversion event was recorded (sent once per event, inside the transaction
# that recorded it). Provides: event (ConversionEvent).
event_recorded = Signal()
