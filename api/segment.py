"""Segment's HTTP Tracking API: /v1/track, /v1/identify, /v1/page, /v1/screen, /v1/batch
and /v1/import, so Segment's and RudderStack's libraries send here by changing their host.

Thin: the write key (an API key with events:write, as Basic auth's username, or the
body's writeKey) is checked here; reading, checking and storing the calls is
tracking.segment's. Answers as Segment's libraries expect: 200 with `success: true`
(and each call's outcome) when anything was taken; 4xx with `code` and `message`,
which analytics-python logs and does not retry, when nothing was.
"""

from __future__ import annotations

import base64
import binascii

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from api.keys import KeyRejected, key_authenticate
from api.models import Scope
from tracking import segment

NO_KEY = (
    "No write key: send an API key with the events:write scope as the Basic auth "
    "username (Segment's write key), with an empty password."
)


def _error(status: int, code: str, message: str, **extra) -> JsonResponse:
    return JsonResponse(
        {"success": False, "code": code, "message": message, **extra}, status=status
    )


def _basic_key(header: str) -> str | None:
    """The write key in an Authorization header, None when there is no header."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        raise segment.BodyError(401, "unauthorized", NO_KEY)
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise segment.BodyError(
            401, "unauthorized", "The Authorization header is not valid Basic auth."
        ) from None
    return decoded.partition(":")[0]


def _ingest(request: HttpRequest, kind: str | None) -> JsonResponse:
    if request.method != "POST":
        response = _error(405, "method_not_allowed", "Send the calls with POST.")
        response["Allow"] = "POST"
        return response
    key = None
    try:
        raw_key = _basic_key(request.headers.get("Authorization", ""))
        if raw_key is not None:
            key = key_authenticate(raw_key, scope=Scope.EVENTS_WRITE)
        length = request.META.get("CONTENT_LENGTH") or "0"
        if not (length.isascii() and length.isdigit()):
            raise segment.BodyError(
                400, "bad_length", "The Content-Length header is not a number of bytes."
            )
        if int(length) > segment.MAX_BODY_BYTES:
            raise segment.BodyError(
                413, "too_large", f"The body is over {segment.MAX_BODY_BYTES // 1024} KB."
            )
        body = request.body
        data = segment.body_decode(body, encoding=request.headers.get("Content-Encoding", ""))
        try:
            payload = segment.body_parse(data)
        except segment.BodyError as error:
            if key is not None:
                segment.body_reject(
                    key_id=key.pk, message=error.message, data=data, write_keys=[raw_key]
                )
            raise
        written = payload.pop("writeKey", None)  # never stored, not even with a rejection
        if key is None:
            if not isinstance(written, str) or not written:
                raise segment.BodyError(401, "unauthorized", NO_KEY)
            raw_key = written
            key = key_authenticate(written, scope=Scope.EVENTS_WRITE)
        if kind is None:
            try:
                items = segment.batch_items(payload)
            except segment.BodyError as error:
                segment.body_reject(
                    key_id=key.pk,
                    message=error.message,
                    data=data,
                    write_keys=[raw_key, written],
                )
                raise
            shared = payload.get("context")
            if isinstance(shared, dict):  # a batch's context applies to each of its calls
                items = [
                    {**i, "context": {**shared, **i.get("context", {})}}
                    if isinstance(i, dict) and isinstance(i.get("context", {}), dict)
                    else i
                    for i in items
                ]
            sent_at = payload.get("sentAt")
        else:
            items, sent_at = [payload], None
    except KeyRejected as error:
        return _error(
            error.status, "unauthorized" if error.status == 401 else "forbidden", error.reason
        )
    except segment.BodyError as error:
        return _error(error.status, error.code, error.message)
    outcomes = segment.calls_ingest(key_id=key.pk, items=items, expected=kind, sent_at=sent_at)
    counts = {
        s: sum(o.status == s for o in outcomes) for s in ("accepted", "duplicate", "rejected")
    }
    body = {
        "accepted": counts["accepted"],
        "duplicates": counts["duplicate"],
        "rejected": counts["rejected"],
        "results": [o.as_dict() for o in outcomes],
    }
    if counts["rejected"] == len(outcomes):
        first = outcomes[0].reason
        message = (
            first
            if len(outcomes) == 1
            else f"All {len(outcomes)} calls were rejected; the first: {first}"
        )
        return _error(400, "rejected", message, **body)
    return JsonResponse({"success": True, **body})


@csrf_exempt
def track(request: HttpRequest) -> JsonResponse:
    return _ingest(request, "track")


@csrf_exempt
def identify(request: HttpRequest) -> JsonResponse:
    return _ingest(request, "identify")


@csrf_exempt
def page(request: HttpRequest) -> JsonResponse:
    return _ingest(request, "page")


@csrf_exempt
def screen(request: HttpRequest) -> JsonResponse:
    return _ingest(request, "screen")


@csrf_exempt
def batch(request: HttpRequest) -> JsonResponse:
    return _ingest(request, None)


app_name = "segment"
urlpatterns = [
    path("track", track, name="track"),
    path("identify", identify, name="identify"),
    path("page", page, name="page"),
    path("screen", screen, name="screen"),
    path("batch", batch, name="batch"),
    # Segment's historical import: a batch by another name (the same time window).
    path("import", batch, name="import"),
]
