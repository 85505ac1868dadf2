"""What the API returns and accepts. Read serializers describe rows as they are; write
and query serializers validate every request (errors name the field)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from automations.models import Delivery, DeliveryAttempt
from core.access import SALES
from leads.models import Lead, Note, OwnerChange, StatusChange
from quizzes.models import Category, Choice, Question, Quiz, Tier
from tracking.models import ConversionEvent

MAX_ID = 2**63 - 1
# A touch (first or last): utm_*, click ids, referrer, landing_path and when ("at").
Touch = {"type": "object", "additionalProperties": {"type": "string"}}


# --- Quizzes --------------------------------------------------------------------------


class ChoiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Choice
        fields = ["id", "label", "points", "order", "next_question"]
        extra_kwargs = {"next_question": {"help_text": "The question a branch skips to."}}


class QuestionSerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)
    choices = ChoiceSerializer(many=True, read_only=True)
    max_points = serializers.SerializerMethodField()

    class Meta:
        model = Question
        fields = [
            "id",
            "order",
            "kind",
            "text",
            "help_text",
            "required",
            "category",
            "choices",
            "rating_min",
            "rating_max",
            "rating_points_per_step",
            "max_points",
        ]

    def get_max_points(self, question: Question) -> int:
        return question.max_points()


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "order"]


class TierSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tier
        fields = ["id", "name", "min_percent", "max_percent", "colour", "headline"]


class QuizSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    categories = CategorySerializer(many=True, read_only=True)
    tiers = TierSerializer(many=True, read_only=True)
    questions = QuestionSerializer(many=True, read_only=True)

    class Meta:
        model = Quiz
        fields = [
            "id",
            "slug",
            "title",
            "description",
            "status",
            "published_at",
            "url",
            "created_at",
            "updated_at",
            "categories",
            "tiers",
            "questions",
        ]

    def get_url(self, quiz: Quiz) -> str:
        """Where visitors take the quiz."""
        return self.context["request"].build_absolute_uri(quiz.get_absolute_url())


# --- Leads ----------------------------------------------------------------------------


class UserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField(source="get_full_name")


class QuizRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Quiz
        fields = ["id", "slug", "title"]


class StatusChangeSerializer(serializers.ModelSerializer):
    by = UserSerializer(allow_null=True, read_only=True)

    class Meta:
        model = StatusChange
        fields = ["at", "from_status", "to_status", "by", "via"]


class OwnerChangeSerializer(serializers.ModelSerializer):
    by = UserSerializer(allow_null=True, read_only=True)
    from_owner = UserSerializer(allow_null=True, read_only=True)
    to_owner = UserSerializer(allow_null=True, read_only=True)

    class Meta:
        model = OwnerChange
        fields = ["at", "from_owner", "to_owner", "by", "via"]


class NoteSerializer(serializers.ModelSerializer):
    author = UserSerializer(allow_null=True, read_only=True)

    class Meta:
        model = Note
        fields = ["at", "text", "author", "via"]


class ScoreSerializer(serializers.Serializer):
    points = serializers.IntegerField(source="score_points")
    max_points = serializers.IntegerField(source="score_max")
    percent = serializers.IntegerField(source="score_percent", help_text="0–100.")


class TierRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="tier_id", allow_null=True)
    name = serializers.CharField(source="tier_name")
    colour = serializers.CharField(source="tier_colour")


class CategoryScoreSerializer(serializers.Serializer):
    name = serializers.CharField()
    points = serializers.IntegerField()
    max_points = serializers.IntegerField()
    percent = serializers.IntegerField()


class AnswerSerializer(serializers.Serializer):
    question_id = serializers.IntegerField()
    question = serializers.CharField()
    answer = serializers.CharField()
    skipped = serializers.BooleanField()
    scored = serializers.BooleanField()
    points = serializers.IntegerField()
    max_points = serializers.IntegerField()
    category = serializers.CharField()


@extend_schema_field(
    {
        "type": "object",
        "properties": {
            "first_touch": Touch,
            "last_touch": Touch,
            "first_source": {"type": "string"},
            "last_source": {"type": "string"},
        },
        "description": "Where the visitor came from: first and last touch (empty when unknown).",
    }
)
class AttributionField(serializers.JSONField):
    pass


class LeadSerializer(serializers.ModelSerializer):
    quiz = QuizRefSerializer(read_only=True)
    score = ScoreSerializer(source="*", read_only=True)
    tier = TierRefSerializer(source="*", read_only=True)
    category_scores = CategoryScoreSerializer(many=True, read_only=True)
    answers = AnswerSerializer(many=True, read_only=True)
    attribution = AttributionField(read_only=True)
    owner = UserSerializer(allow_null=True, read_only=True)
    status_history = StatusChangeSerializer(source="status_changes", many=True, read_only=True)
    owner_history = OwnerChangeSerializer(source="owner_changes", many=True, read_only=True)
    notes = NoteSerializer(many=True, read_only=True)

    class Meta:
        model = Lead
        fields = [
            "id",
            "created_at",
            "quiz",
            "email",
            "name",
            "company",
            "phone",
            "consent_given",
            "consented_at",
            "score",
            "tier",
            "category_scores",
            "answers",
            "source",
            "attribution",
            "looks_automated",
            "status",
            "owner",
            "first_response_at",
            "status_history",
            "owner_history",
            "notes",
        ]
        read_only_fields = fields


class LeadUpdateSerializer(serializers.Serializer):
    """A PATCH: any of status, owner and note; each goes through the sales services."""

    status = serializers.ChoiceField(choices=Lead.Status.choices, required=False)
    owner = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_ID,
        help_text="The id of an active member of Sales, or null for nobody.",
    )
    note = serializers.CharField(
        required=False,
        max_length=4000,
        trim_whitespace=True,
        help_text="Added to the lead's notes (notes are never changed or removed).",
    )

    def validate_owner(self, value):
        if value is None:
            return None
        owner = (
            get_user_model().objects.filter(pk=value, is_active=True, groups__name=SALES).first()
        )
        if owner is None:
            raise serializers.ValidationError("Choose an active member of Sales (their id).")
        return owner

    def validate(self, data):
        if not data:
            raise serializers.ValidationError("Send at least one of status, owner and note.")
        return data


class LeadQuerySerializer(serializers.Serializer):
    """The sales inbox's filters (leads.forms.SalesFilterForm), as query parameters."""

    q = serializers.CharField(
        required=False, max_length=100, help_text="In the name, e-mail or company."
    )
    tier = serializers.CharField(required=False, max_length=60, help_text="A tier's name.")
    quiz = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text="A quiz's id."
    )
    status = serializers.ChoiceField(choices=Lead.Status.choices, required=False)
    owner = serializers.RegexField(
        r"^(none|[1-9][0-9]{0,17})$",
        required=False,
        max_length=18,
        help_text="An owner's user id, or 'none' for leads nobody owns.",
        error_messages={"invalid": "Give an owner's user id, or 'none'."},
    )
    start = serializers.DateField(required=False, help_text="Made on or after this day.")
    end = serializers.DateField(required=False, help_text="Made on or before this day.")
    min_score = serializers.IntegerField(required=False, min_value=0, max_value=100)
    max_score = serializers.IntegerField(required=False, min_value=0, max_value=100)
    sort = serializers.ChoiceField(
        choices=["hot", "new", "old", "cold"],
        required=False,
        help_text="hot (default: highest score first), new, old or cold.",
    )

    def validate(self, data):
        low, high = data.get("min_score"), data.get("max_score")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"max_score": "Must not be below min_score."})
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise serializers.ValidationError({"end": "Must be on or after start."})
        return data


# --- Events ---------------------------------------------------------------------------


class EventSerializer(serializers.ModelSerializer):
    quiz = serializers.PrimaryKeyRelatedField(read_only=True)
    lead = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    question = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    properties = serializers.DictField(read_only=True)
    first_touch = serializers.DictField(child=serializers.CharField(), read_only=True)
    last_touch = serializers.DictField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = ConversionEvent
        fields = [
            "id",
            "event_id",
            "name",
            "occurred_at",
            "received_at",
            "source",
            "quiz",
            "lead",
            "question",
            "visitor_id",
            "properties",
            "first_touch",
            "last_touch",
            "ft_source",
            "ft_medium",
            "ft_campaign",
            "lt_source",
            "device",
            "is_bot",
            "is_preview",
            "erased_at",
        ]
        read_only_fields = fields
        extra_kwargs = {"name": {"help_text": "A name from the tracking plan."}}


class EventQuerySerializer(serializers.Serializer):
    name = serializers.CharField(required=False, max_length=40, help_text="An event name.")
    quiz = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    lead = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    occurred_after = serializers.DateTimeField(
        required=False, help_text="Events that happened at or after this time (ISO 8601)."
    )
    occurred_before = serializers.DateTimeField(
        required=False, help_text="Events that happened before this time (ISO 8601)."
    )
    since = serializers.DateTimeField(
        required=False,
        help_text="Events recorded at or after this time (ISO 8601 or a date), whenever they "
        "happened: for incremental export, pass the time of your last export.",
    )
    include_bots = serializers.BooleanField(
        required=False,
        default=True,
        help_text="false leaves out events of bots and previews (as the reports do).",
    )

    def validate(self, data):
        low, high = data.get("occurred_after"), data.get("occurred_before")
        if low and high and low >= high:
            raise serializers.ValidationError({"occurred_before": "Must be after occurred_after."})
        return data


# --- Deliveries -----------------------------------------------------------------------


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["at", "step", "status_code", "duration_ms", "error"]


class DeliverySerializer(serializers.ModelSerializer):
    rule = serializers.CharField(source="action.rule.name", read_only=True)
    action = inline_serializer(
        "DeliveryAction",
        {"id": serializers.IntegerField(), "kind": serializers.CharField()},
        read_only=True,
    )
    event = serializers.UUIDField(source="event.event_id", read_only=True)
    lead = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    remote = serializers.DictField(read_only=True, help_text="Ids the destination gave back.")
    log = DeliveryAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "status",
            "rule",
            "action",
            "event",
            "lead",
            "attempts",
            "next_attempt_at",
            "held_reason",
            "last_error",
            "remote",
            "created_at",
            "delivered_at",
            "log",
        ]
        read_only_fields = fields


class DeliveryQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Delivery.Status.choices, required=False)
    lead = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    rule = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)


class ProblemSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What was wrong, in words.")


@extend_schema_field(OpenApiTypes.OBJECT)
class FieldErrors(serializers.DictField):
    """{field: [messages]}."""
