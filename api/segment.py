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
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import authentication, negotiation, permissions, serializers
from rest_framework.views import APIView

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


# The views: DRF's only so that the OpenAPI schema (/api/docs/) lists them. DRF parses,
# authenticates, throttles and negotiates nothing here: _ingest reads the body as Segment
# sends it (gzip too), checks the write key and answers in Segment's shapes.


class WriteKey(authentication.BaseAuthentication):
    """Segment's write key, named for the schema. The key is checked by _ingest (Basic
    auth's username, else the body's writeKey), so that a body it refuses is kept under
    the key that sent it."""

    def authenticate(self, request):
        return None


class WriteKeyScheme(OpenApiAuthenticationExtension):
    target_class = WriteKey
    name = "SegmentWriteKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "basic",
            "description": "Segment's write key: an API key with the events:write scope as "
            "the Basic auth username, with an empty password (or the body's `writeKey`).",
        }


class AnyAccept(negotiation.DefaultContentNegotiation):
    """Segment's libraries send whatever Accept they like; the answer is JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class _Call(serializers.Serializer):
    messageId = serializers.CharField(
        help_text="One id per call: a call sent again with it is a duplicate, stored once."
    )
    userId = serializers.CharField(required=False, help_text="userId or anonymousId.")
    anonymousId = serializers.CharField(required=False)
    timestamp = serializers.DateTimeField(required=False)
    originalTimestamp = serializers.DateTimeField(
        required=False, help_text="With sentAt, corrects for the sender's clock."
    )
    sentAt = serializers.DateTimeField(required=False)
    context = serializers.DictField(required=False)
    writeKey = serializers.CharField(
        required=False, help_text="The write key, when not sent as Basic auth."
    )


class SegmentTrack(_Call):
    type = serializers.ChoiceField(["track"], required=False)
    event = serializers.CharField(help_text="A custom event of the tracking plan (admin).")
    properties = serializers.DictField(
        required=False, help_text="As the custom event declares them."
    )


class SegmentIdentify(_Call):
    type = serializers.ChoiceField(["identify"], required=False)
    traits = serializers.DictField(
        required=False, help_text="An `email` trait links userId and anonymousId to a lead."
    )


class SegmentPage(_Call):
    type = serializers.ChoiceField(["page", "screen"], required=False)
    name = serializers.CharField(required=False)
    category = serializers.CharField(required=False)
    properties = serializers.DictField(required=False)


class SegmentBatchCall(SegmentTrack, SegmentIdentify, SegmentPage):
    type = serializers.ChoiceField(["track", "identify", "page", "screen"])
    event = serializers.CharField(required=False, help_text="Required for track.")


class SegmentBatch(serializers.Serializer):
    batch = SegmentBatchCall(many=True, help_text="Up to 500 KB of calls in all, 32 KB each.")
    context = serializers.DictField(required=False, help_text="Applies to each call.")
    sentAt = serializers.DateTimeField(required=False)
    writeKey = serializers.CharField(required=False)


class SegmentOutcome(serializers.Serializer):
    id = serializers.CharField(allow_null=True, help_text="The call's messageId.")
    status = serializers.ChoiceField(["accepted", "duplicate", "rejected"])
    reason = serializers.CharField(required=False, help_text="Why it was rejected.")


class SegmentAnswer(serializers.Serializer):
    success = serializers.BooleanField()
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = SegmentOutcome(many=True)


class SegmentError(serializers.Serializer):
    success = serializers.BooleanField()
    code = serializers.CharField(help_text="unauthorized, invalid_json, rejected, too_large …")
    message = serializers.CharField()
    accepted = serializers.IntegerField(required=False)
    duplicates = serializers.IntegerField(required=False)
    rejected = serializers.IntegerField(required=False)
    results = SegmentOutcome(many=True, required=False)


ANSWERS = {
    200: OpenApiResponse(SegmentAnswer, "Taken: each call accepted, duplicate or rejected."),
    400: OpenApiResponse(SegmentError, "Not JSON, not a batch, or every call rejected."),
    401: OpenApiResponse(SegmentError, "No write key, or not one we know."),
    403: OpenApiResponse(SegmentError, "The key lacks the events:write scope."),
    413: OpenApiResponse(SegmentError, "The body is over 500 KB."),
    415: OpenApiResponse(SegmentError, "A Content-Encoding other than gzip."),
}


class _Ingest(APIView):
    kind: str | None = None
    authentication_classes = [WriteKey]
    permission_classes = [permissions.AllowAny]
    throttle_classes = []
    parser_classes = []
    content_negotiation_class = AnyAccept
    metadata_class = None  # OPTIONS is a 405 like any other method but POST

    def post(self, request):
        return _ingest(request._request, self.kind)

    def http_method_not_allowed(self, request, *args, **kwargs):
        return _ingest(request._request, self.kind)  # Segment's 405, in its shape


def _documented(body, summary: str):
    return extend_schema(
        tags=["segment"],
        summary=summary,
        request={"application/json": body},
        responses=ANSWERS,
    )


class Track(_Ingest):
    kind = "track"

    @_documented(SegmentTrack, "A custom event (Segment's track)")
    def post(self, request):
        return super().post(request)


class Identify(_Ingest):
    kind = "identify"

    @_documented(SegmentIdentify, "Who a visitor is (Segment's identify)")
    def post(self, request):
        return super().post(request)


class Page(_Ingest):
    kind = "page"

    @_documented(SegmentPage, "A page view (Segment's page)")
    def post(self, request):
        return super().post(request)


class Screen(_Ingest):
    kind = "screen"

    @_documented(SegmentPage, "A screen view, stored as a page (Segment's screen)")
    def post(self, request):
        return super().post(request)


class Batch(_Ingest):
    kind = None

    @_documented(SegmentBatch, "Several calls at once (Segment's batch; import is the same)")
    def post(self, request):
        return super().post(request)


app_name = "segment"
urlpatterns = [
    path("track", Track.as_view(), name="track"),
    path("identify", Identify.as_view(), name="identify"),
    path("page", Page.as_view(), name="page"),
    path("screen", Screen.as_view(), name="screen"),
    path("batch", Batch.as_view(), name="batch"),
    # Segment's historical import: a batch by another name (the same time window).
    path("import", Batch.as_view(), name="import"),
]
