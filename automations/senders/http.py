"""POST JSON with a deadline for the whole exchange; no redirects; public addresses only
where the URL is a marketer's (webhooks). Every call is logged on its delivery."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings

from automations.destinations import ALLOW_HINT, address_refusal
from automations.fencing import claim_log
from automations.models import Delivery, DeliveryAttempt

REDACTED = "[redacted]"
# Query parameters that carry a secret (Meta's access token, GA4's API secret): the log
# shows the URL without their values.
SECRET_PARAMS = ("access_token", "api_secret")


class Skip(Exception):
    """Deliberately not sent (no consent, a lead that looked automated): the delivery
    ends as skipped, with this reason."""


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
        rate_limited: bool = False,
        body: str = "",
        headers: dict | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.retryable = retryable
        self.auth = auth
        # Turned away for a rate limit (ours or the service's): waits, spends no attempt.
        self.rate_limited = rate_limited
        self.body = body  # the service's answer, for callers that read its details
        self.headers = headers or {}


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


def redact_url(url: str) -> str:
    """The URL with the values of SECRET_PARAMS replaced."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [
        (k, REDACTED if k in SECRET_PARAMS else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(query, safe="[]")))


class PrivateAddress(Exception):
    """The host resolves to an address webhooks may not reach (not an OSError: never retried)."""


def _public_connection(address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None):
    """socket.create_connection, but the addresses it connects to are the ones it checked.

    Resolving once, checking every address and connecting to those very addresses
    leaves no window for a DNS answer that changes between the check and the
    connection (DNS rebinding).
    """
    host, port = address
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    for *_, sockaddr in infos:
        reason = address_refusal(sockaddr[0])
        if reason:
            raise PrivateAddress(
                f"{host} resolves to a private address ({sockaddr[0]}: {reason}); {ALLOW_HINT}."
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


class Deadline:
    """The end of one exchange, connect to last byte.

    A socket timeout bounds each read, so a server that answers a byte at a time could
    stretch a call without end (and past the worker's claim). At the deadline a timer
    shuts the connection's socket down, which ends whatever read is waiting.
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expired = False
        self._connections: list[http.client.HTTPConnection] = []
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def _expire(self) -> None:
        self.expired = True
        for connection in self._connections:
            _shut(connection.sock)

    def watch(self, connection: http.client.HTTPConnection) -> None:
        self._connections.append(connection)
        connect = connection.connect

        def connect_within_deadline():
            connect()
            if self.expired:  # the timer fired before the socket existed
                _shut(connection.sock)
                raise TimeoutError

        connection.connect = connect_within_deadline

    def cancel(self) -> None:
        self._timer.cancel()


def _shut(sock) -> None:
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _connections(connection_class, deadline: Deadline, public: bool):
    def connect(host, **kwargs):
        connection = connection_class(host, **kwargs)
        if public:
            connection._create_connection = _public_connection  # http.client's socket hook
        deadline.watch(connection)
        return connection

    return connect


def _opener(deadline: Deadline, public: bool) -> urllib.request.OpenerDirector:
    class HTTPHandler(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(_connections(http.client.HTTPConnection, deadline, public), req)

    class HTTPSHandler(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(
                _connections(http.client.HTTPSConnection, deadline, public),
                req,
                context=self._context,
            )

    return urllib.request.build_opener(_NoRedirects, HTTPHandler, HTTPSHandler)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx is an answer, not an instruction: urllib would re-send a POST as a GET elsewhere."""

    def redirect_request(self, *args, **kwargs):
        return None


def post_json(
    delivery: Delivery | None,
    step: str,
    url: str,
    payload: dict | None,
    headers: dict,
    *,
    public_only: bool = False,
    method: str = "POST",
) -> Reply:
    """POST JSON within AUTOMATIONS_HTTP_TIMEOUT; log the attempt; raise Failure by class.

    `public_only` refuses hosts that resolve to addresses that are not public
    (webhooks: URLs that marketers type in). The log is written under the worker's
    claim: a worker that lost it raises LostClaim here and writes nothing. With no
    `delivery`, nothing is logged: the caller keeps its own record (a CRM deletion,
    whose request holds the very e-mail it erases).
    """
    timeout = settings.AUTOMATIONS_HTTP_TIMEOUT
    body = None if payload is None else json.dumps(payload, default=str).encode()
    headers = {"User-Agent": "Quizfunnel/1", **headers}
    if body is not None:
        headers = {"Content-Type": "application/json", **headers}
    request = urllib.request.Request(url, data=body, headers=headers, method=method)
    started = time.perf_counter()
    log = DeliveryAttempt(
        delivery=delivery,
        step=step,
        request=f"{method} {redact_url(url)}\n{json.dumps(_redact(headers))}\n"
        + (body or b"").decode()[:4000],
    )
    deadline = Deadline(timeout)
    try:
        try:
            with _opener(deadline, public_only).open(request, timeout=timeout) as r:
                reply = Reply(r.status, dict(r.headers), r.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as error:
            reply = Reply(error.code, dict(error.headers), error.read().decode("utf-8", "replace"))
        if deadline.expired:
            # A shut socket reads as the end of the headers or body: what arrived is cut short.
            raise TimeoutError
    except PrivateAddress as error:
        log.error = str(error)
        raise Failure(log.error) from error
    except (TimeoutError, urllib.error.URLError, OSError, http.client.HTTPException) as error:
        reason = getattr(error, "reason", error)
        if deadline.expired or isinstance(error, TimeoutError) or isinstance(reason, TimeoutError):
            log.error = f"timed out after {timeout} s (connect to last byte)"
        elif isinstance(reason, PrivateAddress):
            log.error = str(reason)
            raise Failure(log.error) from error
        else:
            log.error = f"could not connect: {reason!r}"
        raise Failure(log.error, retryable=True) from error
    finally:
        deadline.cancel()
        log.duration_ms = int((time.perf_counter() - started) * 1000)
        if log.error and delivery is not None:
            claim_log(delivery, log)
    log.status_code = reply.status
    log.response = reply.body[:4000]
    if delivery is not None:
        # A 429 is logged but spends no attempt: the delivery only waited its turn.
        claim_log(delivery, log, count=reply.status != 429)
    if 200 <= reply.status < 300:
        return reply
    snippet = reply.body[:300]
    if reply.status == 429:
        retry_after = _retry_after(reply.headers)
        raise Failure(
            f"429 rate limited: {snippet}",
            status=429,
            retry_after=retry_after,
            retryable=True,
            rate_limited=True,
            body=reply.body,
            headers=reply.headers,
        )
    if reply.status >= 500:
        raise Failure(
            f"{reply.status} server error: {snippet}",
            status=reply.status,
            retryable=True,
            body=reply.body,
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
            f"{reply.status} credentials refused: {snippet}",
            status=reply.status,
            auth=True,
            body=reply.body,
        )
    raise Failure(f"{reply.status} refused: {snippet}", status=reply.status, body=reply.body)


def _retry_after(headers: dict) -> float:
    raw = next((v for k, v in headers.items() if k.lower() == "retry-after"), "1")
    try:
        return max(0.0, float(raw))
    except ValueError:
        return 1.0
