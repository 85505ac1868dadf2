"""Automation rules on conversion events, and their outbox of deliveries."""

from __future__ import annotations

import base64
import re
import secrets
import time
import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.utils import timezone

from automations.conditions import OPERATORS, event_value, holds, parse_value
from automations.crypto import EncryptedField, Unreadable
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
        return holds(event_value(event.properties, self.property), self.operator, expected)


class Action(models.Model):
    class Kind(models.TextChoices):
        HUBSPOT = "hubspot", "HubSpot: upsert contact and create a task"
        WEBHOOK = "webhook", "Webhook: POST the event and its lead"
        EMAIL = "email", "E-mail the lead's owner (or the Sales group)"
        ASSIGN = "assign", "Assign an owner (round robin among Sales)"
        SCORECARD = "scorecard", "E-mail the visitor their scorecard (PDF attached)"
        META = "meta", "Meta Conversions API: send the lead as a conversion"
        GA4 = "ga4", "Google Analytics 4: send generate_lead (Measurement Protocol)"

    # What a task subject can say about the lead.
    PLACEHOLDERS = ("name", "email", "company", "tier", "percent", "score", "quiz")
    # The fields each kind uses (admin shows only those).
    KIND_FIELDS = {
        Kind.HUBSPOT: ("task_subject", "task_due_hours", "hubspot_owner_id"),
        Kind.WEBHOOK: ("webhook_url", "webhook_secret"),
        Kind.EMAIL: (),
        Kind.ASSIGN: (),
        Kind.SCORECARD: (),
        Kind.META: (
            "meta_pixel_id",
            "meta_access_token",
            "meta_event_name",
            "meta_test_event_code",
            "phone_country",
            "only_with_consent",
        ),
        Kind.GA4: (
            "ga4_measurement_id",
            "ga4_api_secret",
            "ga4_tier_values",
            "ga4_currency",
            "ga4_validate",
            "only_with_consent",
        ),
    }
    # The fields each ad platform needs (admin says so in words when one is missing).
    KIND_REQUIRED = {
        Kind.META: {
            "meta_pixel_id": "A Meta action needs the pixel (dataset) id.",
            "meta_access_token": "A Meta action needs its Conversions API access token.",
            "meta_event_name": "A Meta action needs an event name (Lead, or a custom name).",
        },
        Kind.GA4: {
            "ga4_measurement_id": "A GA4 action needs the web stream's measurement id (G-…).",
            "ga4_api_secret": "A GA4 action needs a Measurement Protocol API secret.",
            "ga4_currency": "A GA4 action needs the currency of its values (EUR, USD, …).",
        },
    }
    # Fields whose value is a secret, stored encrypted (automations.crypto): admin shows
    # them masked; Meta's and GA4's never again in full, the webhook's on request.
    SECRET_FIELDS = ("webhook_secret", "meta_access_token", "ga4_api_secret")

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
    webhook_secret = EncryptedField(
        max_length=100,
        default=new_webhook_secret,
        help_text="Signs each request (webhook-signature): your receiver checks it with this.",
    )
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

    # The ad platforms (automations/senders/meta.py and ga4.py).
    only_with_consent = models.BooleanField(
        "only with consent",
        default=True,
        help_text="Send only leads who ticked the quiz's consent box; a lead of a quiz "
        "without a consent box is then not sent. Off: every lead is sent (your consent "
        "banner or contract covers it).",
    )
    phone_country = models.CharField(
        "country of phone numbers without +",
        max_length=2,
        blank=True,
        help_text="Two letters (GB, DE, US): phone numbers typed without a country code "
        "are read as this country's. Empty: such numbers are not sent.",
    )
    meta_pixel_id = models.CharField(
        "pixel (dataset) id",
        max_length=20,
        blank=True,
        help_text="The number shown in Meta's Events Manager, e.g. 1234567890123456.",
    )
    meta_access_token = EncryptedField(
        "access token",
        max_length=500,
        blank=True,
        help_text="Events Manager → your pixel → Settings → Conversions API → Generate "
        "access token. Stored, never shown again in full.",
    )
    meta_event_name = models.CharField(
        "event name",
        max_length=50,
        default="Lead",
        blank=True,
        help_text="Lead (Meta's standard event), another standard event such as "
        "CompleteRegistration, or a custom name. Your browser pixel must use the same name "
        "for Meta to deduplicate the pair.",
    )
    meta_test_event_code = models.CharField(
        "test event code",
        max_length=40,
        blank=True,
        help_text="From Events Manager's Test events tab (TEST12345): events show up there "
        "and nowhere else. Empty it to go live.",
    )
    ga4_measurement_id = models.CharField(
        "measurement id",
        max_length=20,
        blank=True,
        help_text="Admin → Data streams → your web stream: G-XXXXXXXXXX.",
    )
    ga4_api_secret = EncryptedField(
        "API secret",
        max_length=100,
        blank=True,
        help_text="The web stream → Measurement Protocol API secrets → Create. Stored, never "
        "shown again in full.",
    )
    ga4_tier_values = models.CharField(
        "value per tier",
        max_length=500,
        blank=True,
        help_text="The lead's value by its tier, e.g. “Hot=100, Warm=30, Cold=5”; a tier "
        "not listed is sent without a value.",
    )
    ga4_currency = models.CharField(
        "currency",
        max_length=3,
        default="EUR",
        blank=True,
        help_text="ISO 4217 code of the values: EUR, USD, GBP.",
    )
    ga4_validate = models.BooleanField(
        "check with GA4's validation server first",
        default=False,
        help_text="GA4 answers “OK” even to an event it drops. On, each event is first "
        "sent to GA4's validation server and, if it finds a problem, not sent but shown "
        "here with GA4's words (one more call per lead).",
    )

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return f"{self.rule}: {self.get_kind_display()}"

    def tier_values(self) -> dict[str, float]:
        """ga4_tier_values as {tier name, lowercased: value}; ValueError when it does not parse."""
        values = {}
        for part in filter(None, (p.strip() for p in self.ga4_tier_values.split(","))):
            name, equals, value = part.rpartition("=")
            if not equals or not name.strip():
                raise ValueError(f"“{part}” is not Tier=value")
            number = float(value.strip().replace(" ", ""))
            if not (0 <= number < 1e9):
                raise ValueError(f"“{value.strip()}” is not a value from 0 up")
            values[name.strip().lower()] = number
        return values

    def unreadable_secret(self) -> str:
        """Why this action cannot send because a secret of its kind no longer decrypts
        (FIELD_ENCRYPTION_KEY changed since it was saved), or ""."""
        for name in self.KIND_FIELDS.get(self.kind, ()):
            if isinstance(getattr(self, name), Unreadable):
                label = self._meta.get_field(name).verbose_name
                return (
                    f"The action's {label} cannot be read with this server's "
                    "FIELD_ENCRYPTION_KEY (changed since it was saved?): paste it again in "
                    "the rule's action, then Resume."
                )
        return ""

    def clean(self) -> None:
        if self.kind in self.KIND_REQUIRED:
            self._clean_ad_platform()
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

    def _clean_ad_platform(self) -> None:
        errors = {
            name: message
            for name, message in self.KIND_REQUIRED[self.kind].items()
            if not getattr(self, name).strip()
        }
        if self.phone_country and not re.fullmatch(r"[A-Za-z]{2}", self.phone_country):
            errors["phone_country"] = "Two letters, such as GB, DE or US."
        self.phone_country = self.phone_country.upper()
        if self.kind == self.Kind.META:
            self.meta_pixel_id = self.meta_pixel_id.strip()
            if self.meta_pixel_id and not re.fullmatch(r"[0-9]{8,20}", self.meta_pixel_id):
                errors["meta_pixel_id"] = (
                    f"“{self.meta_pixel_id}” is not a pixel id: it is a number of 15 or 16 "
                    "digits (Events Manager shows it under the pixel's name)."
                )
            self.meta_event_name = self.meta_event_name.strip()
            if self.meta_event_name and not re.fullmatch(
                r"[A-Za-z0-9_][A-Za-z0-9_ -]{0,49}", self.meta_event_name
            ):
                errors["meta_event_name"] = (
                    "Use letters, digits, spaces, - and _ only (at most 50), e.g. Lead."
                )
            code = self.meta_test_event_code.strip()
            if code and not re.fullmatch(r"[A-Za-z0-9]{1,40}", code):
                errors["meta_test_event_code"] = "A test event code is letters and digits."
            self.meta_test_event_code = code
            if re.search(r"\s", self.meta_access_token.strip()):
                errors["meta_access_token"] = "An access token has no spaces: paste it again."
            self.meta_access_token = self.meta_access_token.strip()
        if self.kind == self.Kind.GA4:
            self.ga4_measurement_id = self.ga4_measurement_id.strip().upper()
            if self.ga4_measurement_id and not re.fullmatch(
                r"G-[A-Z0-9]{4,16}", self.ga4_measurement_id
            ):
                errors["ga4_measurement_id"] = (
                    f"“{self.ga4_measurement_id}” is not a measurement id: it starts with G- "
                    "(UA- properties no longer collect data)."
                )
            self.ga4_currency = self.ga4_currency.strip().upper()
            if self.ga4_currency and not re.fullmatch(r"[A-Z]{3}", self.ga4_currency):
                errors["ga4_currency"] = "Three letters, such as EUR, USD or GBP."
            try:
                self.tier_values()
            except ValueError as error:
                errors["ga4_tier_values"] = f"Write it as Hot=100, Warm=30 ({error})."
            self.ga4_api_secret = self.ga4_api_secret.strip()
        if errors:
            raise ValidationError(errors)


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
        # Matched, but deliberately not sent (no consent, a lead that looked automated):
        # written all the same, with the reason, so every matched lead is accounted for.
        SKIPPED = "skipped", "Skipped (not sent, see why)"

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
