"""POST /t/events: the browser's conversion events, in batches of up to 50."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    parser_classes,
    permission_classes,
    throttle_classes,
)
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle

from core.text import clean_text
from tracking.attribution import device_of, visitor_id_from_cookie
from tracking.ingest import Rejected, body_events, client_events_ingest, reason_text
from tracking.models import ConversionEvent, RejectedEvent


class VisitorRateThrottle(SimpleRateThrottle):
    """Per visitor (the signed cookie), not per IP address."""

    scope = "tracking"

    def get_cache_key(self, request, view):
        visitor_id = visitor_id_from_cookie(request._request)
        return self.cache_format % {"scope": self.scope, "ident": visitor_id or "anonymous"}


def _origin_allowed(request) -> bool:
    origin = request.headers.get("Origin") or request.headers.get("Referer")
    if not origin:
        return False
    try:
        parts = urlsplit(origin)
    except ValueError:  # "http://[": not an origin at all, so not ours
        return False
    candidate = f"{parts.scheme}://{parts.netloc}"
    own = f"{request.scheme}://{request.get_host()}"
    return candidate == own or candidate in settings.CSRF_TRUSTED_ORIGINS


def _problem(detail: str, code: int, *, keep: dict | None = None) -> Response:
    if keep is not None:
        RejectedEvent.objects.create(reason=reason_text(detail), **keep)
    return Response({"detail": detail}, status=code)


EVENT = inline_serializer(
    "ClientEvent",
    {
        "id": serializers.UUIDField(help_text="The browser's own id for this event."),
        "name": serializers.CharField(help_text="A name of the tracking plan."),
        "time": serializers.DateTimeField(help_text="When it happened, with a time zone."),
        "server_event_id": serializers.UUIDField(help_text="The server event it is about."),
        "properties": serializers.DictField(required=False),
    },
)


NO_VISITOR = "No visitor cookie: events come from a quiz page's visitor."


def page_visitor(items: list) -> str | None:
    """The one visitor whose server events a batch names (None: none, unknown, or several).
    A server event's id is rendered only into its own visitor's page."""
    ids = set()
    for item in items[: settings.TRACKING_MAX_BATCH]:
        raw = item.get("server_event_id") if isinstance(item, dict) else None
        try:
            ids.add(uuid.UUID(str(raw)))
        except ValueError:
            continue
    if not ids:
        return None
    visitors = set(
        ConversionEvent.objects.filter(event_id__in=ids)
        .exclude(visitor_id="")
        .values_list("visitor_id", flat=True)[:2]
    )
    return visitors.pop() if len(visitors) == 1 else None


@extend_schema(
    request=inline_serializer("ClientEventBatch", {"events": serializers.ListField(child=EVENT)}),
    responses={
        200: inline_serializer(
            "ClientEventResults",
            {
                "accepted": serializers.IntegerField(),
                "duplicates": serializers.IntegerField(),
                "rejected": serializers.IntegerField(),
                "results": serializers.ListField(child=serializers.DictField()),
            },
        )
    },
    examples=[
        OpenApiExample(
            "Time on a question",
            value={
                "events": [
                    {
                        "id": "0f8fad5b-d9cb-469f-a165-70867728950e",
                        "name": "question_viewed",
                        "time": "2026-11-30T12:00:00Z",
                        "server_event_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
                        "properties": {"time_visible_ms": 5300},
                    }
                ]
            },
        )
    ],
    description=(
        "Each event is answered on its own: accepted, duplicate (already stored), or rejected "
        "with the reason; a rejected event never keeps the others of its batch from being "
        "stored. The response is 400 when every event was rejected, or when the body cannot "
        "be read (with `detail`)."
    ),
)
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([VisitorRateThrottle])
@parser_classes([])
def events(request: Request) -> Response:
    raw_request = request._request
    if not _origin_allowed(raw_request):
        return _problem("Events are accepted from this site's own pages only.", 403)
    visitor_id = visitor_id_from_cookie(raw_request)
    length = raw_request.META.get("CONTENT_LENGTH") or "0"
    if not (length.isascii() and length.isdigit()):
        return _problem("The Content-Length header is not a number of bytes.", 400)
    if int(length) > settings.TRACKING_MAX_BODY:
        return _problem(f"The body is over {settings.TRACKING_MAX_BODY} bytes.", 413)
    body = raw_request.body
    if len(body) > settings.TRACKING_MAX_BODY:
        return _problem(f"The body is over {settings.TRACKING_MAX_BODY} bytes.", 413)
    raw = clean_text(body[:10000].decode("utf-8", "replace"))
    try:
        items = body_events(body)
    except Rejected as error:
        if visitor_id is None:
            return _problem(NO_VISITOR, 403)
        return _problem(str(error), 400, keep={"visitor_id": visitor_id, "raw": raw})
    if visitor_id is None:
        # In a frame with third-party cookies blocked there is no visitor cookie: the
        # events name the server events their page rendered, and those say whose they are.
        visitor_id = page_visitor(items)
        if visitor_id is None:
            return _problem(NO_VISITOR, 403)
    keep = {"visitor_id": visitor_id, "raw": raw}
    if len(items) > settings.TRACKING_MAX_BATCH:
        return _problem(
            f"Send at most {settings.TRACKING_MAX_BATCH} events at a time.", 400, keep=keep
        )
    device, is_bot = device_of(raw_request.headers.get("User-Agent", ""))
    outcomes = client_events_ingest(
        visitor_id=visitor_id, items=items, device=device, is_bot=is_bot
    )
    counts = {
        s: sum(o.status == s for o in outcomes) for s in ("accepted", "duplicate", "rejected")
    }
    code = (
        status.HTTP_400_BAD_REQUEST if counts["rejected"] == len(outcomes) else status.HTTP_200_OK
    )
    return Response(
        {
            "accepted": counts["accepted"],
            "duplicates": counts["duplicate"],
            "rejected": counts["rejected"],
            "results": [o.as_dict() for o in outcomes],
        },
        status=code,
    )
