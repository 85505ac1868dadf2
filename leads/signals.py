"""Domain signals of leads, sent by leads.services as their last step, inside
the service's transaction."""

from django.dispatch import Signal

# A lead was captured from a finished attempt (sent once per lead, spam included).
# Provides: lead (Lead), attempt (quizzes.Attempt), visitor (core.visitor.Visitor or
# None: who is on the page, never the HTTP request).
lead_captured = Signal()

# The visitor's result page was shown. Provides: lead (Lead),
# visitor (core.visitor.Visitor or None).
result_shown = Signal()
