"""E-mail the visitor their scorecard, with the PDF report attached.

SMTP answers in classes: a 4xx reply is temporary (greylisting, a full mailbox, a busy
server), so the delivery backs off and tries again; a 5xx reply is permanent (no such
mailbox, no such domain, refused), so the delivery is dead with the server's words. A
connection that fails or times out is temporary.

As for e-mail to sales, SMTP cannot promise exactly once; each delivery's message keeps
one Message-ID through its retries, so a mail client shows a duplicate as one. "Resend"
on the sales lead page is a new message on purpose, with a new Message-ID.
"""

from __future__ import annotations

import smtplib
import time

from automations.fencing import claim_log, claim_update
from automations.models import Delivery, DeliveryAttempt
from automations.senders.email import message_id as delivery_message_id
from automations.senders.http import Failure, Skip
from leads.report import scorecard_message


def not_connected() -> str:
    return ""


def message_id(delivery: Delivery) -> str:
    resends = int((delivery.remote or {}).get("resends", 0) or 0)
    base = delivery_message_id(delivery)
    return base if not resends else base.replace("@", f"-resend{resends}@", 1)


def _smtp_failure(error: Exception) -> Failure:
    """A Failure of the right class for what the SMTP server said."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        replies = list(error.recipients.values())
        code, text = replies[0] if replies else (0, b"")
    elif isinstance(error, smtplib.SMTPResponseException):
        code, text = error.smtp_code, error.smtp_error
    else:
        return Failure(f"SMTP: {error!r}"[:1000], retryable=True)
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    message = f"SMTP {code}: {words}"[:1000]
    if 500 <= code < 600:
        return Failure(f"The mail server refused it for good ({message}).", status=code)
    return Failure(message, status=code, retryable=True)


def send(delivery: Delivery) -> str:
    lead = delivery.lead
    if lead is None:
        raise Failure("A scorecard needs a lead: use it on lead_submitted.")
    quiz = lead.quiz
    if not lead.tier_name:
        # The form came before the questions: lead_scored sends it once there is a score.
        raise Skip("Not sent yet: the form came first; the scorecard goes out when it is scored.")
    if quiz.consent_required and not lead.consent_given:
        raise Skip("Not sent: the quiz asks for consent and this visitor did not give it.")
    if lead.is_spam:
        raise Skip("Not sent: the form's hidden honeypot field was filled (spam).")
    message = scorecard_message(lead, message_id=message_id(delivery))
    # A worker that lost its claim sends nothing.
    claim_update(delivery, claimed_at=delivery.claimed_at)
    log = DeliveryAttempt(step="scorecard", request=f"to {lead.email}, {message.subject}")
    started = time.perf_counter()
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as error:
        failure = _smtp_failure(error)
        log.error, log.status_code = str(failure), failure.status
        raise failure from error
    finally:
        log.duration_ms = int((time.perf_counter() - started) * 1000)
        claim_log(delivery, log)
    return f"scorecard e-mailed to {lead.email}"
