"""Domain signals of leads, sent by leads.services as their last step, inside
the service's transaction."""

from django.dispatch import Signal

# A lead was captured from a finished attempt (sent once per lead, spam included).
# Provides: lead (Lead), attempt (quizzes.Attempt), request (HttpRequest or None).
lead_captured = Signal()

# The visitor's result page was shown. Provides: lead (Lead), request (HttpRequest or None).
result_shown = Signal()
