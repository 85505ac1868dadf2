"""E-mail the lead's owner, or the Sales group when the lead has none.

SMTP cannot promise exactly once: if the worker dies after the server accepted the
message and before the fenced write records it, the next try sends it again. Each
delivery's messages carry the same Message-ID, so mail clients can show one.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage

from automations.fencing import claim_log, claim_update
from automations.models import Delivery, DeliveryAttempt
from automations.senders.context import message_context, task_body
from automations.senders.http import Failure
from core.access import SALES


def not_connected() -> str:
    return ""


def message_id(delivery: Delivery) -> str:
    """The same on every try of one delivery."""
    domain = urlsplit(settings.SITE_URL).hostname or "quizfunnel.invalid"
    return f"<delivery-{delivery.uid}@{domain}>"


def send(delivery: Delivery) -> str:
    lead = delivery.lead
    if lead is None:
        raise Failure("An e-mail to sales needs a lead: use it on lead_submitted.")
    owner = lead.owner if lead.owner and lead.owner.is_active else None
    if owner and owner.email:
        recipients = [owner.email]
    else:
        team = get_user_model().objects.filter(is_active=True, groups__name=SALES)
        recipients = [u.email for u in team.order_by("pk") if u.email]
    if not recipients:
        raise Failure("Nobody to e-mail: the lead has no owner and Sales has no e-mail address.")
    context = message_context(delivery)
    subject = (
        f"{context['tier']} lead: {context['name']} scored {context['percent']} % "
        f"on {context['quiz']}"
    )
    url = f"{settings.SITE_URL}/sales/leads/{lead.pk}/"
    body = f"{task_body(delivery, '')}\nOpen the lead: {url}\n"
    message = EmailMessage(
        subject, body, None, recipients, headers={"Message-ID": message_id(delivery)}
    )
    # A worker that lost its claim sends nothing.
    claim_update(delivery, claimed_at=delivery.claimed_at)
    log = DeliveryAttempt(step="email", request=", ".join(recipients))
    started = time.perf_counter()
    try:
        message.send()
    except OSError as error:  # smtplib's errors are OSErrors; so are refused connections
        log.error = f"SMTP: {error!r}"[:1000]
        raise Failure(log.error, retryable=True) from error
    finally:
        log.duration_ms = int((time.perf_counter() - started) * 1000)
        claim_log(delivery, log)
    return f"e-mailed {', '.join(recipients)}"
