"""Automation rules on conversion events, and their outbox of deliveries."""

from __future__ import annotations

import base64
import secrets
import time
import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.utils import timezone

from automations.conditions import OPERATORS, holds, parse_value
from automations.destinations import url_refusal
from leads.models import Lead
from tracking import plan
from tracking.models import ConversionEvent


def new_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


class Rule(models.Model):
    name = models.CharField(max_length=120)
    enabled = models.BooleanField(
        default=True,
        help_text="Off, the rule still writes its deliveries, held: switching it on (or "
        "Resume) sends them.",
    )
    trigger = models.CharField(
        max_length=40,
        # In words first (the plan's description up to its first colon), the name after.
        choices=[
            (n, f"{spec.description.split(':')[0].rstrip('.')} ({n})")
            for n, spec in plan.PLAN.items()
        ],
        default="lead_submitted",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        help_text="Told by e-mail when the rule is paused (the CRM refused its credentials).",
    )
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    quizzes = models.ManyToManyField(
        "quizzes.Quiz",
        blank=True,
        related_name="automation_rules",
        help_text="Only events of these quizzes. Choose none for every quiz.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    # Which events have a rule (on, off or paused: all of them write deliveries): asked
    # on every event, so kept for a few seconds per process (a change here clears it at
    # once in this process).
    _triggers: tuple[float, frozenset[str]] | None = None
    TRIGGER_CACHE_SECONDS = 5.0

    @classmethod
    def triggers(cls) -> frozenset[str]:
        now = time.monotonic()
        if cls._triggers is None or now - cls._triggers[0] > cls.TRIGGER_CACHE_SECONDS:
            names = cls.objects.values_list("trigger", flat=True)
            cls._triggers = (now, frozenset(names))
        return cls._triggers[1]

    @classmethod
    def forget_triggers(cls) -> None:
        cls._triggers = None

    def hold_reason(self) -> str:
        """Why this rule's deliveries wait instead of going out, or ""."""
        if self.paused_at is not None:
            return f"The rule is paused: {self.paused_reason} Resume it to send."[:300]
        if not self.enabled:
            return "The rule is switched off: switch it on, or Resume it, to send."
        return ""

    def matches(self, event: ConversionEvent) -> bool:
        if event.name != self.trigger or event.is_bot or event.is_preview:
            return False
        quiz_ids = {quiz.pk for quiz in self.quizzes.all()}  # prefetched by the receiver
        if quiz_ids and event.quiz_id not in quiz_ids:
            return False
        return all(c.holds_for(event) for c in self.conditions.all())


class Condition(models.Model):
    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="conditions")
    property = models.CharField(max_length=60, help_text="A property of the trigger event.")
    operator = models.CharField(max_length=2, choices=[(o, o) for o in OPERATORS], default=">")
    value = models.CharField(
        max_length=500, help_text="For “in”, separate the values with commas (Warm, Hot)."
    )

    def __str__(self) -> str:
        return f"{self.property} {self.operator} {self.value}"

    def clean(self) -> None:
        try:
            parse_value(self.rule.trigger, self.property, self.operator, self.value)
        except ValidationError as error:
            raise ValidationError({"value": error.messages}) from None

    def holds_for(self, event: ConversionEvent) -> bool:
        expected = parse_value(self.rule.trigger, self.property, self.operator, self.value)
        return holds(event.properties.get(self.property), self.operator, expected)


class Action(models.Model):
    class Kind(models.TextChoices):
        HUBSPOT = "hubspot", "HubSpot: upsert contact and create a task"
        WEBHOOK = "webhook", "Webhook: POST the event and its lead"
        EMAIL = "email", "E-mail the lead's owner (or the Sales group)"
        ASSIGN = "assign", "Assign an owner (round robin among Sales)"

    # What a task subject can say about the lead.
    PLACEHOLDERS = ("name", "email", "company", "tier", "percent", "score", "quiz")
    # The fields each kind uses (admin shows only those).
    KIND_FIELDS = {
        Kind.HUBSPOT: ("task_subject", "task_due_hours", "hubspot_owner_id"),
        Kind.WEBHOOK: ("webhook_url", "webhook_secret"),
        Kind.EMAIL: (),
        Kind.ASSIGN: (),
    }

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="actions")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    order = models.PositiveIntegerField(
        default=0, help_text="Actions run in this order, each after the one before has finished."
    )
    webhook_url = models.URLField(
        max_length=500,
        blank=True,
        validators=[
            URLValidator(schemes=["http", "https"], message="Enter an http:// or https:// URL.")
        ],
    )
    webhook_secret = models.CharField(max_length=100, default=new_webhook_secret)
    task_subject = models.CharField(
        max_length=200,
        default="Call {name} — {tier} lead ({percent} %) from {quiz}",
        help_text="You can use "
        + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
        + ": the lead's name (or e-mail), e-mail, company, tier, score in % and in "
        "points, and the quiz's title.",
    )
    task_due_hours = models.PositiveSmallIntegerField(default=1)
    hubspot_owner_id = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return f"{self.rule}: {self.get_kind_display()}"

    def clean(self) -> None:
        if self.kind == self.Kind.WEBHOOK:
            if not self.webhook_url:
                raise ValidationError({"webhook_url": "A webhook needs its URL."})
            refusal = url_refusal(
                self.webhook_url, allow_private=settings.AUTOMATIONS_ALLOW_PRIVATE_URLS
            )
            # Another scheme is the field validator's to explain.
            if refusal and urlsplit(self.webhook_url).scheme.lower() in ("http", "https"):
                raise ValidationError({"webhook_url": refusal})
        if self.kind == self.Kind.HUBSPOT:
            try:
                self.task_subject.format(**dict.fromkeys(self.PLACEHOLDERS, ""))
            except (KeyError, IndexError, ValueError) as error:
                raise ValidationError(
                    {
                        "task_subject": f"The subject uses a placeholder there is not "
                        f"({error}); you can use "
                        + ", ".join(f"{{{p}}}" for p in self.PLACEHOLDERS)
                        + "."
                    }
                ) from None


class Delivery(models.Model):
    """Work for later: one action on one event, written in the event's transaction."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        WAITING = "waiting", "Waiting for the action before it"
        HELD = "held", "Held"
        SENDING = "sending", "Sending"
        RETRYING = "retrying", "Waiting to retry"
        DELIVERED = "delivered", "Delivered"
        DEAD = "dead", "Dead"

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    action = models.ForeignKey(Action, on_delete=models.PROTECT, related_name="deliveries")
    event = models.ForeignKey(ConversionEvent, on_delete=models.PROTECT, related_name="deliveries")
    lead = models.ForeignKey(
        Lead, on_delete=models.PROTECT, null=True, blank=True, related_name="deliveries"
    )
    after = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="successors",
        help_text="The delivery of the rule's previous action: this one waits for it to finish.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    held_reason = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Tries that reached the destination; each is in the log below."
    )
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # A new token per claim; every write after a send compares it (see fencing.py).
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    last_error = models.CharField(max_length=1000, blank=True)
    remote = models.JSONField(default=dict, blank=True, help_text="Ids the CRM gave back.")
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["action", "event"], name="one_delivery_per_action_event"
            )
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.action} #{self.pk} ({self.status})"


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="log")
    at = models.DateTimeField(default=timezone.now)
    step = models.CharField(max_length=60)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=1000, blank=True)
    request = models.TextField(blank=True, help_text="Secrets redacted.")
    response = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.step} {self.status_code or self.error}"


class Erasure(models.Model):
    """The audit of one erasure (automations.privacy), and its CRM deletion's outbox.

    Records who erased whom and when, never what: the person is a keyed hash of
    their e-mail (the same e-mail always gives the same hash with this
    SECRET_KEY, so "was this address erased?" can be answered), and the counts
    are of rows, not their content. The e-mail itself is kept in `crm_email`
    only while HubSpot has not confirmed the deletion, since that request needs it.
    """

    class Kind(models.TextChoices):
        PERSON = "person", "Person erased (every lead of the e-mail, HubSpot too)"
        LEAD = "lead", "Lead deleted in admin (that lead only)"

    class CrmStatus(models.TextChoices):
        NOT_NEEDED = "not_needed", "Not needed (HubSpot not connected)"
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        RETRYING = "retrying", "Waiting to retry"
        HELD = "held", "Held: waiting for HUBSPOT_TOKEN"
        DONE = "done", "Deleted at HubSpot"
        DEAD = "dead", "Failed"

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PERSON)
    subject = models.CharField(max_length=64, db_index=True, help_text="Keyed hash of the e-mail.")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    by_label = models.CharField(max_length=150, blank=True, help_text="Who or what asked.")
    at = models.DateTimeField(default=timezone.now)
    counts = models.JSONField(default=dict, blank=True, help_text="Rows erased, by kind.")

    crm_status = models.CharField(
        max_length=10, choices=CrmStatus.choices, default=CrmStatus.NOT_NEEDED
    )
    crm_email = models.EmailField(max_length=254, blank=True)
    crm_attempts = models.PositiveSmallIntegerField(default=0)
    crm_next_attempt_at = models.DateTimeField(default=timezone.now)
    crm_claim = models.UUIDField(null=True, blank=True, editable=False)
    crm_claimed_at = models.DateTimeField(null=True, blank=True)
    crm_last_error = models.CharField(max_length=1000, blank=True)
    crm_done_at = models.DateTimeField(null=True, blank=True)
    # Deliveries that were being sent when the person was erased: their worker may still
    # log its request and store the CRM's ids, so they are scrubbed again after this.
    in_flight_deliveries = models.JSONField(default=list, blank=True)
    scrub_again_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        permissions = [
            ("erase_person", "Can erase a person's data"),
            ("export_person", "Can export a person's data"),
        ]
        indexes = [models.Index(fields=["crm_status", "crm_next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M}"


class HubSpotConnection(models.Model):
    """The HubSpot account a marketer connected on the Connections page (one row at most).

    The private-app token is kept encrypted (automations.crypto) and never shown again:
    only its last four characters are. HUBSPOT_TOKEN, when set, overrides it.
    """

    token_encrypted = models.TextField(blank=True, editable=False)
    token_last4 = models.CharField(max_length=4, blank=True, editable=False)
    connected_at = models.DateTimeField(null=True, blank=True)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # What HubSpot's account-info said at the last test.
    portal_id = models.CharField(max_length=20, blank=True)
    account_type = models.CharField(max_length=40, blank=True)
    time_zone = models.CharField(max_length=60, blank=True)
    ui_domain = models.CharField(max_length=100, blank=True)
    tested_at = models.DateTimeField(null=True, blank=True)
    test_ok = models.BooleanField(null=True)
    test_result = models.CharField(max_length=500, blank=True)
    # Lead attribute key (automations.crm.LEAD_ATTRIBUTES) -> HubSpot contact property
    # name; None until the marketer chooses (the defaults apply).
    field_mapping = models.JSONField(null=True, blank=True, default=None)

    class Meta:
        verbose_name = "connection"
        verbose_name_plural = "connections"

    def __str__(self) -> str:
        return "HubSpot" + (f" (portal {self.portal_id})" if self.portal_id else "")
