"""Domain signals of leads, sent by leads.services as their last step, inside
the service's transaction."""

from django.dispatch import Signal

# A lead was captured from a finished attempt (sent once per lead, spam included).
# Provides: lead (Lead), attempt (quizzes.Attempt), visitor (core.visitor.Visitor or
# None: who is on the page, never the HTTP request).
lead_captured = Signal()

# A lead whose form came before the questions answered them all: the lead now has its
# score and tier (sent once per lead). Provides: lead (Lead), attempt (quizzes.Attempt),
# visitor (core.visitor.Visitor or None).
lead_scored = Signal()

# The visitor's result page was shown. Provides: lead (Lead; unsaved for an anonymous
# result, a quiz that asks for no e-mail),
# visitor (core.visitor.Visitor or None).
result_shown = Signal()
