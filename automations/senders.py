"""What each kind of action does. Every external call has a timeout and is logged."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import ipaddress
import json
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from automations.models import Action, AssignmentCursor, Delivery, DeliveryAttempt
from leads.services import lead_assign

REDACTED = "[redacted]"


class Failure(Exception):
    """A delivery step failed; `retry_after` is None for a failure not worth retrying."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        retryable: bool = False,
        auth: bool = False,
    ):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.retryable = retryable
        self.auth = auth


@dataclass
class Reply:
    status: int
    headers: dict
    body: str

    def json(self) -> dict:
        try:
            return json.loads(self.body or "{}")
        except ValueError:
            return {}


def _redact(headers: dict) -> dict:
    return {
        k: (REDACTED if k.lower() in ("authorization", "webhook-signature") else v)
        for k, v in headers.items()
    }


# --- HTTP: no redirects; webhooks only to public addresses, checked as they connect -------


class PrivateAddress(Exception):
    """The host resolves to an address webhooks may not reach (not an OSError: never retried)."""


def _public_ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    private = ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved
    return None if private or ip.is_multicast or ip.is_unspecified else ip


def _public_connection(address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None):
    """socket.create_connection, but the addresses it connects to are the ones it checked.

    Resolving once, checking every address and connecting to those very addresses
    leaves no window for a DNS answer that changes between the check and the
    connection (DNS rebinding).
    """
    host, port = address
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    for *_, sockaddr in infos:
        if _public_ip(sockaddr[0]) is None:
            raise PrivateAddress(
                f"{host} resolves to a private address ({sockaddr[0]}); webhooks go to the "
                "public internet unless AUTOMATIONS_ALLOW_PRIVATE_URLS is set."
            )
    error: OSError | None = None
    for family, kind, proto, _, sockaddr in infos:
        sock = socket.socket(family, kind, proto)
        try:
            if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error or OSError(f"{host} has no address")


def _public(connection_class):
    def connect(host, **kwargs):
        conn = connection_class(host, **kwargs)
        conn._create_connection = _public_connection  # http.client's hook for the socket
        return conn

    return connect


class _PublicHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_public(http.client.HTTPConnection), req)


class _PublicHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(_public(http.client.HTTPSConnection), req, context=self._context)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx is an answer, not an instruction: urllib would re-send a POST as a GET elsewhere."""

    def redirect_request(self, *args, **kwargs):
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)
_PUBLIC_OPENER = urllib.request.build_opener(_NoRedirects, _PublicHTTPHandler, _PublicHTTPSHandler)


def post_json(
    delivery: Delivery | None,
    step: str,
    url: str,
    payload: dict,
    headers: dict,
    *,
    public_only: bool = False,
) -> Reply:
    """POST JSON with a timeout; log the attempt; raise Failure by class of error.

    `public_only` refuses hosts that resolve to private, loopback or link-local
    addresses (webhooks: URLs that marketers type in). With no `delivery`, nothing
    is logged: the caller keeps its own record (a CRM deletion, whose request holds
    the very e-mail it erases).
    """
    body = json.dumps(payload, default=str).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "Quizfunnel/1", **headers}
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    opener = _PUBLIC_OPENER if public_only else _OPENER
    started = time.perf_counter()
    log = DeliveryAttempt(
        delivery=delivery,
        step=step,
        request=f"POST {url}\n{json.dumps(_redact(headers))}\n{body.decode()[:4000]}",
    )
    try:
        try:
            with opener.open(request, timeout=settings.AUTOMATIONS_HTTP_TIMEOUT) as r:
                reply = Reply(r.status, dict(r.headers), r.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as error:
            reply = Reply(error.code, dict(error.headers), error.read().decode("utf-8", "replace"))
    except PrivateAddress as error:
        log.error = str(error)
        raise Failure(log.error) from error
    except TimeoutError as error:
        log.error = f"timed out after {settings.AUTOMATIONS_HTTP_TIMEOUT} s"
        raise Failure(log.error, retryable=True) from error
    except (urllib.error.URLError, ConnectionError, OSError) as error:
        reason = getattr(error, "reason", error)
        log.error = f"could not connect: {reason}"
        raise Failure(log.error, retryable=True) from error
    finally:
        log.duration_ms = int((time.perf_counter() - started) * 1000)
        if log.error and delivery is not None:
            log.save()
    log.status_code = reply.status
    log.response = reply.body[:4000]
    if delivery is not None:
        log.save()
    if 200 <= reply.status < 300:
        return reply
    snippet = reply.body[:300]
    if reply.status == 429:
        retry_after = _retry_after(reply.headers)
        raise Failure(
            f"429 rate limited: {snippet}", status=429, retry_after=retry_after, retryable=True
        )
    if reply.status >= 500:
        raise Failure(
            f"{reply.status} server error: {snippet}", status=reply.status, retryable=True
        )
    if 300 <= reply.status < 400:
        location = next((v for k, v in reply.headers.items() if k.lower() == "location"), "?")
        raise Failure(
            f"{reply.status} redirect to {location}: redirects are not followed, "
            "so give the action the final URL",
            status=reply.status,
        )
    if reply.status in (401, 403):
        raise Failure(
            f"{reply.status} credentials refused: {snippet}", status=reply.status, auth=True
        )
    raise Failure(f"{reply.status} refused: {snippet}", status=reply.status)


def _retry_after(headers: dict) -> float:
    raw = next((v for k, v in headers.items() if k.lower() == "retry-after"), "1")
    try:
        return max(0.0, float(raw))
    except ValueError:
        return 1.0


# --- HubSpot -----------------------------------------------------------------------------


def _hubspot_headers() -> dict:
    if not settings.HUBSPOT_TOKEN:
        raise Failure("No HubSpot token: set HUBSPOT_TOKEN.", auth=True)
    return {"Authorization": f"Bearer {settings.HUBSPOT_TOKEN}"}


def _context(delivery: Delivery) -> dict:
    lead = delivery.lead
    props = delivery.event.properties
    return {
        "name": (lead.name if lead else "") or (lead.email if lead else "the visitor"),
        "email": lead.email if lead else "",
        "company": lead.company if lead else "",
        "quiz": delivery.event.quiz.title,
        "tier": props.get("tier", lead.tier_name if lead else ""),
        "percent": props.get("percent", lead.score_percent if lead else ""),
        "score": props.get("score", lead.score_points if lead else ""),
    }


def send_hubspot(delivery: Delivery) -> str:
    """Upsert the contact by email, then create one task on it.

    Resumable: the contact id and the task id are stored as soon as HubSpot
    gives them. When a task request went out and its answer never came back (a
    worker killed, a timeout, a 5xx), HubSpot may have made the task: the next
    try looks for it by the delivery's id written into its body, once HubSpot's
    search has had time to index it, and makes it only if it is not there.
    """
    lead = delivery.lead
    if lead is None:
        raise Failure("A HubSpot task needs a lead: use it on lead_submitted.")
    base = settings.HUBSPOT_BASE_URL.rstrip("/")
    headers = _hubspot_headers()
    context = _context(delivery)
    if "contact_id" not in delivery.remote:
        first, _, last = lead.name.partition(" ")
        reply = post_json(
            delivery,
            "hubspot: upsert contact",
            f"{base}/crm/v3/objects/contacts/batch/upsert",
            {
                "inputs": [
                    {
                        "idProperty": "email",
                        "id": lead.email,
                        "properties": {
                            "email": lead.email,
                            "firstname": first,
                            "lastname": last,
                            "company": lead.company,
                            "phone": lead.phone,
                            "quizfunnel_quiz": context["quiz"],
                            "quizfunnel_score": str(lead.score_percent),
                            "quizfunnel_tier": lead.tier_name,
                        },
                    }
                ]
            },
            headers,
        )
        results = reply.json().get("results") or []
        if not results or not results[0].get("id"):
            raise Failure(
                f"HubSpot's upsert answer has no contact id: {reply.body[:300]}", retryable=True
            )
        delivery.remote = {**delivery.remote, "contact_id": str(results[0]["id"])}
        delivery.save(update_fields=["remote"])

    if "task_id" not in delivery.remote:
        marker = f"quizfunnel-delivery-{delivery.uid}"
        task_id = _task_already_made(delivery, base, headers, marker)
        if task_id is None:
            task_id = _task_create(delivery, base, headers, marker, context)
        delivery.remote = {**_without(delivery.remote, "task_requested_at"), "task_id": task_id}
        delivery.save(update_fields=["remote"])
    return f"contact {delivery.remote['contact_id']}, task {delivery.remote['task_id']}"


def _without(remote: dict, key: str) -> dict:
    return {k: v for k, v in remote.items() if k != key}


def _task_already_made(delivery: Delivery, base: str, headers: dict, marker: str) -> str | None:
    """The task an earlier try may have made, or None when there is certainly none."""
    requested = delivery.remote.get("task_requested_at")
    if requested is None:
        return None  # no task request ever left: nothing to look for
    settle = settings.AUTOMATIONS_HUBSPOT_SEARCH_SETTLE
    waited = (timezone.now() - datetime.fromisoformat(requested)).total_seconds()
    if waited < settle:
        # HubSpot's search is eventually consistent: looking too early would miss
        # a task made a moment ago and lead to a second one.
        raise Failure(
            "A task request to HubSpot got no answer; waiting for HubSpot's search "
            f"to show it ({settle:.0f} s after the request) before looking for it.",
            retryable=True,
            retry_after=settle - waited,
        )
    found = (
        post_json(
            delivery,
            "hubspot: find task",
            f"{base}/crm/v3/objects/tasks/search",
            {
                "filterGroups": [
                    {
                        "filters": [
                            {
                                "propertyName": "hs_task_body",
                                "operator": "CONTAINS_TOKEN",
                                "value": marker,
                            }
                        ]
                    }
                ],
                "limit": 1,
            },
            headers,
        )
        .json()
        .get("results")
        or []
    )
    return str(found[0]["id"]) if found else None


def _task_create(delivery: Delivery, base: str, headers: dict, marker: str, context: dict) -> str:
    action = delivery.action
    hot = bool(delivery.event.properties.get("top_tier"))
    properties = {
        "hs_task_subject": action.task_subject.format(**context)[:250],
        "hs_task_body": _task_body(delivery, marker),
        "hs_timestamp": (timezone.now() + timedelta(hours=action.task_due_hours)).isoformat(
            timespec="milliseconds"
        ),
        "hs_task_status": "NOT_STARTED",
        "hs_task_priority": "HIGH" if hot else "MEDIUM",
        "hs_task_type": "CALL",
    }
    if action.hubspot_owner_id:
        properties["hubspot_owner_id"] = action.hubspot_owner_id
    # Written before the request leaves: if no answer comes back, the next try
    # knows a task may exist and looks for it first.
    delivery.remote = {**delivery.remote, "task_requested_at": timezone.now().isoformat()}
    delivery.save(update_fields=["remote"])
    try:
        reply = post_json(
            delivery,
            "hubspot: create task",
            f"{base}/crm/v3/objects/tasks",
            {
                "properties": properties,
                "associations": [
                    {
                        "to": {"id": delivery.remote["contact_id"]},
                        "types": [
                            {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}
                        ],
                    }
                ],
            },
            headers,
        )
    except Failure as failure:
        if failure.status is not None and 400 <= failure.status < 500:
            # HubSpot answered that it made nothing (429 included): no need to look.
            delivery.remote = _without(delivery.remote, "task_requested_at")
            delivery.save(update_fields=["remote"])
            raise
        if not failure.retryable:
            raise
        # No answer, or a 5xx: the task may exist. Look for it once search can show it.
        settle = settings.AUTOMATIONS_HUBSPOT_SEARCH_SETTLE
        raise Failure(
            f"{failure}; HubSpot may have made the task, so it is looked for in {settle:.0f} s",
            status=failure.status,
            retryable=True,
            retry_after=max(settle, failure.retry_after or 0.0),
        ) from failure
    task_id = str(reply.json().get("id", ""))
    if not task_id:
        raise Failure(f"HubSpot's answer has no task id: {reply.body[:300]}")
    return task_id


def _task_body(delivery: Delivery, marker: str) -> str:
    lead = delivery.lead
    lines = [
        f"{lead.name or lead.email} ({lead.email}) scored {lead.score_percent} % "
        f"({lead.score_points} of {lead.score_max} points): {lead.tier_name}.",
        "",
        "Categories: " + ", ".join(f"{c['name']} {c['percent']} %" for c in lead.category_scores),
        "",
        "Answers:",
        *(f"- {a['question']}: {a['answer'] or 'skipped'}" for a in lead.answers),
        "",
        marker,
    ]
    return "\n".join(lines)[:60000]


# --- Webhook -------------------------------------------------------------------------------


def webhook_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks: v1,<base64 HMAC-SHA256 of "id.timestamp.body">."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def webhook_payload(delivery: Delivery) -> dict:
    event, lead = delivery.event, delivery.lead
    return {
        "type": event.name,
        "timestamp": event.occurred_at.isoformat(),
        "data": {
            "event": {
                "event_id": str(event.event_id),
                "name": event.name,
                "quiz": event.quiz.slug,
                "occurred_at": event.occurred_at.isoformat(),
                "properties": event.properties,
                "first_touch": event.first_touch,
                "last_touch": event.last_touch,
            },
            "lead": None
            if lead is None
            else {
                "id": lead.pk,
                "email": lead.email,
                "name": lead.name,
                "company": lead.company,
                "phone": lead.phone,
                "score": lead.score_points,
                "max_score": lead.score_max,
                "percent": lead.score_percent,
                "tier": lead.tier_name,
                "category_scores": lead.category_scores,
                "created_at": lead.created_at.isoformat(),
            },
        },
    }


def send_webhook(delivery: Delivery) -> str:
    action = delivery.action
    if urlsplit(action.webhook_url).scheme not in ("http", "https"):
        raise Failure(f"Webhooks go to http:// or https:// URLs, not {action.webhook_url!r}.")
    payload = webhook_payload(delivery)
    body = json.dumps(payload, default=str).encode()
    message_id = f"msg_{delivery.uid.hex}"  # the same on every retry: receivers can dedupe
    timestamp = int(time.time())
    headers = {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhook_signature(action.webhook_secret, message_id, timestamp, body),
    }
    reply = post_json(
        delivery,
        "webhook",
        action.webhook_url,
        payload,
        headers,
        public_only=not settings.AUTOMATIONS_ALLOW_PRIVATE_URLS,
    )
    return f"{reply.status} from {urlsplit(action.webhook_url).hostname}"


# --- E-mail and owner --------------------------------------------------------------------


def _sales_users():
    return get_user_model().objects.filter(is_active=True, groups__name="Sales").order_by("pk")


def send_email(delivery: Delivery) -> str:
    lead = delivery.lead
    if lead is None:
        raise Failure("An e-mail to sales needs a lead: use it on lead_submitted.")
    owner = lead.owner if lead.owner and lead.owner.is_active else None
    assigning = Delivery.objects.filter(
        lead=lead,
        action__kind=Action.Kind.ASSIGN,
        status__in=[Delivery.Status.PENDING, Delivery.Status.SENDING, Delivery.Status.RETRYING],
    )
    if owner is None and assigning.exists():
        # An owner is being assigned for this lead: e-mail them, not the whole team.
        raise Failure("Waiting for the owner to be assigned.", retryable=True, retry_after=1.0)
    recipients = (
        [owner.email] if owner and owner.email else [u.email for u in _sales_users() if u.email]
    )
    if not recipients:
        raise Failure("Nobody to e-mail: the lead has no owner and Sales has no e-mail address.")
    context = _context(delivery)
    subject = (
        f"{context['tier']} lead: {context['name']} scored {context['percent']} % "
        f"on {context['quiz']}"
    )
    url = f"{settings.SITE_URL}/sales/leads/{lead.pk}/"
    body = f"{_task_body(delivery, '')}\nOpen the lead: {url}\n"
    send_mail(subject, body, None, recipients)
    DeliveryAttempt.objects.create(delivery=delivery, step="email", request=", ".join(recipients))
    return f"e-mailed {', '.join(recipients)}"


def send_assign(delivery: Delivery) -> str:
    lead = delivery.lead
    if lead is None:
        raise Failure("Assigning an owner needs a lead: use it on lead_submitted.")
    if lead.owner_id:
        return f"already owned by {lead.owner}"
    with transaction.atomic():
        cursor, _ = AssignmentCursor.objects.select_for_update().get_or_create(pk=1)
        users = list(_sales_users())
        if not users:
            raise Failure("No active user in the Sales group to assign.")
        after = [u for u in users if cursor.last_user_id is None or u.pk > cursor.last_user_id]
        owner = (after or users)[0]
        cursor.last_user_id = owner.pk
        cursor.save(update_fields=["last_user_id"])
        lead_assign(lead=lead, owner=owner)
    return f"assigned to {owner}"


SENDERS = {
    Action.Kind.HUBSPOT: send_hubspot,
    Action.Kind.WEBHOOK: send_webhook,
    Action.Kind.EMAIL: send_email,
    Action.Kind.ASSIGN: send_assign,
}
