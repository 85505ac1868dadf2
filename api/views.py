"""The REST API v1: thin views over the apps' selectors and services.

Every view names the scope each method needs (`scopes`, checked by api.authentication.
HasScope). Query parameters are normalised (core.text) and validated; a bad one is a 400
naming it.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Prefetch
from django.http import JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from api.serializers import (
    DeliveryQuerySerializer,
    DeliverySerializer,
    EventQuerySerializer,
    EventSerializer,
    LeadQuerySerializer,
    LeadSerializer,
    LeadUpdateSerializer,
    ProblemSerializer,
    QuizSerializer,
)
from automations.delivery import delivery_replay
from automations.models import Delivery
from core.forms import clean_data, parse_id
from leads.models import Lead, Note, OwnerChange, StatusChange
from leads.selectors import leads_filtered
from leads.services import lead_add_note, lead_assign, lead_set_status
from quizzes.models import Question, Quiz
from tracking.models import ConversionEvent

ERRORS = {
    400: OpenApiResponse(
        OpenApiTypes.OBJECT,
        description="Invalid request: {field: [messages]}, or {detail: message}.",
    ),
    401: OpenApiResponse(ProblemSerializer, description="No valid API key."),
    403: OpenApiResponse(ProblemSerializer, description="The key lacks the scope."),
}
WRITE_ERRORS = {
    **ERRORS,
    415: OpenApiResponse(ProblemSerializer, description="The body is not JSON."),
}
NOT_FOUND = {404: OpenApiResponse(ProblemSerializer, description="No such object.")}
ID_PARAMETER = OpenApiParameter(
    "id", OpenApiTypes.INT64, OpenApiParameter.PATH, description="The object's id."
)


def _query(request) -> dict:
    """The query string as a dict of normalised strings (the last of repeated keys)."""
    return clean_data(request.query_params).dict()


def _validated(serializer_class, request) -> dict:
    serializer = serializer_class(data=_query(request))
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


PAGE_PARAMETERS = frozenset({"cursor", "limit"})


class ApiViewSet(viewsets.GenericViewSet):
    scopes: dict[str, str] = {}
    # The list's filters (a serializer of query parameters); other actions take none.
    list_query: type[serializers.Serializer] | None = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # the key and its scope come first
        known = set()
        if self.action == "list":
            known = set(PAGE_PARAMETERS)
            if self.list_query is not None:
                known |= set(self.list_query().fields)
        unknown = sorted(set(_query(request)) - known)
        if unknown:
            allowed = ", ".join(sorted(known)) or "none"
            raise serializers.ValidationError(
                {
                    name[:100]: [f"Unknown parameter (this address takes: {allowed})."]
                    for name in unknown[:10]
                }
            )

    def get_object(self):
        # An id the database could not even compare (too long, not digits) is "no such".
        pk = parse_id(self.kwargs.get("pk"))
        if pk is None:
            raise NotFound("No such object: ids are whole numbers.")
        obj = self.get_queryset().filter(pk=pk).first()
        if obj is None:
            raise NotFound(f"No {self.queryset.model._meta.verbose_name} has the id {pk}.")
        self.check_object_permissions(self.request, obj)
        return obj


@extend_schema_view(
    list=extend_schema(summary="Quizzes", responses={200: QuizSerializer(many=True), **ERRORS}),
    retrieve=extend_schema(
        summary="A quiz",
        parameters=[ID_PARAMETER],
        responses={200: QuizSerializer, **ERRORS, **NOT_FOUND},
    ),
)
@extend_schema(tags=["quizzes"])
class QuizViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Quizzes with their questions, choices, categories and tiers (scope quizzes:read)."""

    scopes = {"GET": "quizzes:read"}
    serializer_class = QuizSerializer
    queryset = Quiz.objects.order_by("pk").prefetch_related(
        "categories",
        "tiers",
        Prefetch(
            "questions",
            Question.objects.order_by("order", "pk")
            .select_related("category")
            .prefetch_related("choices"),
        ),
    )


def _lead_queryset(leads):
    return leads.select_related("quiz", "owner").prefetch_related(
        Prefetch("status_changes", StatusChange.objects.select_related("by")),
        Prefetch(
            "owner_changes", OwnerChange.objects.select_related("by", "from_owner", "to_owner")
        ),
        Prefetch("notes", Note.objects.select_related("author")),
    )


@extend_schema_view(
    list=extend_schema(
        summary="Leads",
        description="The sales inbox's leads (no spam, no previews), every submission, "
        "with the inbox's filters; hottest first unless `sort` says otherwise.",
        parameters=[LeadQuerySerializer],
        responses={200: LeadSerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(
        summary="A lead",
        parameters=[ID_PARAMETER],
        responses={200: LeadSerializer, **ERRORS, **NOT_FOUND},
    ),
    partial_update=extend_schema(
        summary="Change a lead's status or owner, or add a note",
        description="Goes through the same services as the sales workspace: each change is "
        "in the lead's history, made 'via' this API key. Needs leads:write.",
        parameters=[ID_PARAMETER],
        request=LeadUpdateSerializer,
        responses={200: LeadSerializer, **WRITE_ERRORS, **NOT_FOUND},
    ),
)
@extend_schema(tags=["leads"])
class LeadViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, ApiViewSet
):
    """Leads with answers, scores, attribution and history (leads:read; PATCH leads:write)."""

    scopes = {"GET": "leads:read", "PATCH": "leads:write"}
    list_query = LeadQuerySerializer
    serializer_class = LeadSerializer
    queryset = Lead.objects.for_sales()
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):
        if self.action != "list":
            return _lead_queryset(Lead.objects.for_sales())
        filters = _validated(self.list_query, self.request)
        return _lead_queryset(leads_filtered(filters=filters))

    def partial_update(self, request, *args, **kwargs):
        lead = self.get_object()
        data = clean_data(request.data) if isinstance(request.data, dict) else request.data
        update = LeadUpdateSerializer(data=data)
        update.is_valid(raise_exception=True)
        changes, via = update.validated_data, request.auth.label
        with transaction.atomic():
            if "status" in changes:
                lead_set_status(lead=lead, status=changes["status"], via=via)
            if "owner" in changes:
                lead_assign(lead=lead, owner=changes["owner"], via=via)
            if changes.get("note"):
                lead_add_note(lead=lead, text=changes["note"], author=None, via=via)
        return Response(LeadSerializer(self.get_object(), context={"request": request}).data)


@extend_schema_view(
    list=extend_schema(
        summary="Conversion events",
        description="Oldest recorded first. For an incremental export, pass `since` (the "
        "time of your last export) and follow `next` to the end.",
        parameters=[EventQuerySerializer],
        responses={200: EventSerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(
        summary="An event",
        parameters=[ID_PARAMETER],
        responses={200: EventSerializer, **ERRORS, **NOT_FOUND},
    ),
)
@extend_schema(tags=["events"])
class EventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Conversion events, in the order they were recorded (scope events:read)."""

    scopes = {"GET": "events:read"}
    list_query = EventQuerySerializer
    serializer_class = EventSerializer
    queryset = ConversionEvent.objects.order_by("pk")

    def get_queryset(self):
        events = ConversionEvent.objects.order_by("pk")
        if self.action != "list":
            return events
        query = _validated(self.list_query, self.request)
        if "name" in query:
            events = events.filter(name=query["name"])
        if "quiz" in query:
            events = events.filter(quiz_id=query["quiz"])
        if "lead" in query:
            events = events.filter(lead_id=query["lead"])
        if "occurred_after" in query:
            events = events.filter(occurred_at__gte=query["occurred_after"])
        if "occurred_before" in query:
            events = events.filter(occurred_at__lt=query["occurred_before"])
        if "since" in query:
            events = events.filter(received_at__gte=query["since"])
        if not query["include_bots"]:
            events = events.filter(is_bot=False, is_preview=False)
        return events


@extend_schema_view(
    list=extend_schema(
        summary="Deliveries",
        description="What the automations sent (or will send), newest first.",
        parameters=[DeliveryQuerySerializer],
        responses={200: DeliverySerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(
        summary="A delivery",
        parameters=[ID_PARAMETER],
        responses={200: DeliverySerializer, **ERRORS, **NOT_FOUND},
    ),
    replay=extend_schema(
        summary="Send a delivery again",
        description="A dead or delivered delivery goes back to the queue (a HubSpot one "
        "keeps its ids, so it never makes a second task); one waiting or being sent is "
        "left as it is. Needs leads:write.",
        parameters=[ID_PARAMETER],
        request=None,
        responses={202: DeliverySerializer, **ERRORS, **NOT_FOUND},
    ),
)
@extend_schema(tags=["deliveries"])
class DeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """The automations' outbox (leads:read; replay leads:write)."""

    scopes = {"GET": "leads:read", "POST": "leads:write"}
    list_query = DeliveryQuerySerializer
    serializer_class = DeliverySerializer
    queryset = Delivery.objects.all()

    def get_queryset(self):
        deliveries = (
            Delivery.objects.select_related("action__rule", "event")
            .prefetch_related("log")
            .order_by("-created_at", "-pk")
        )
        if self.action != "list":
            return deliveries
        query = _validated(self.list_query, self.request)
        if "status" in query:
            deliveries = deliveries.filter(status=query["status"])
        if "lead" in query:
            deliveries = deliveries.filter(lead_id=query["lead"])
        if "rule" in query:
            deliveries = deliveries.filter(action__rule_id=query["rule"])
        return deliveries

    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        delivery = self.get_object()
        delivery_replay(delivery=delivery)
        return Response(
            DeliverySerializer(self.get_object(), context={"request": request}).data, status=202
        )


def not_found(request, path=""):
    """Any other address under /api/: JSON, like the rest of the API."""
    return JsonResponse(
        {"detail": "No such API address: see /api/docs/ for the endpoints."}, status=404
    )
