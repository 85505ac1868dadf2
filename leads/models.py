"""A Lead: one per finished attempt, with the score and tier as they were given."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.db import models
from django.utils import timezone

from quizzes.models import Attempt, Quiz, Tier


def new_share_token() -> str:
    return secrets.token_urlsafe(12)


class LeadQuerySet(models.QuerySet):
    def for_sales(self) -> LeadQuerySet:
        """What sales work: no spam, no previews."""
        return self.filter(is_spam=False, is_preview=False)


class Lead(models.Model):
    class Status(models.TextChoices):
        NEW = "new", "New"
        CONTACTED = "contacted", "Contacted"
        QUALIFIED = "qualified", "Qualified"
        WON = "won", "Won"
        LOST = "lost", "Lost"
        DISQUALIFIED = "disqualified", "Disqualified"

    attempt = models.OneToOneField(Attempt, on_delete=models.PROTECT, related_name="lead")
    quiz = models.ForeignKey(Quiz, on_delete=models.PROTECT, related_name="leads")

    email = models.EmailField(max_length=254)
    name = models.CharField(max_length=120, blank=True)
    company = models.CharField(max_length=120, blank=True)
    phone = models.CharField(max_length=40, blank=True)

    consent_given = models.BooleanField(default=False)
    consent_text = models.TextField(
        max_length=2000, blank=True, help_text="The text agreed to, exactly as it was shown."
    )
    consent_language = models.CharField(
        max_length=8, blank=True, help_text="The language the consent text was shown in."
    )
    consented_at = models.DateTimeField(null=True, blank=True)

    # The score as given: later edits of the quiz do not change it.
    score_points = models.IntegerField()
    score_max = models.IntegerField()
    score_percent = models.PositiveSmallIntegerField()
    tier = models.ForeignKey(Tier, on_delete=models.SET_NULL, null=True, blank=True)
    tier_name = models.CharField(max_length=60)
    tier_colour = models.CharField(max_length=7)
    category_scores = models.JSONField(default=list, blank=True)
    source = models.CharField(
        "first-touch source", max_length=100, blank=True, help_text="Where the visitor came from."
    )
    attribution = models.JSONField(
        default=dict, blank=True, help_text="First and last touch when the lead was sent."
    )
    answers = models.JSONField(default=list, blank=True, help_text="The answers as given.")
    hidden_fields = models.JSONField(
        default=dict, blank=True, help_text="The quiz's hidden fields the run came with."
    )

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="leads",
    )
    first_response_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When a person first moved the lead: out of “new”, or to an owner.",
    )
    first_response_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who made that first move.",
    )
    is_spam = models.BooleanField(default=False, help_text="The form's honeypot was filled.")
    # A guess from the User-Agent: it marks the lead for sales, it never holds it back
    # (a person typed this e-mail and left the honeypot empty).
    looks_automated = models.BooleanField(
        default=False,
        help_text="The browser that sent the form looked like a crawler or a headless tool.",
    )
    is_preview = models.BooleanField(default=False)
    # The browser the form was sent from, as the ad platforms know it (automations'
    # Meta and GA4 actions send these): its User-Agent, Meta's `_fbp` cookie and Google
    # Analytics' client id (from `_ga`). Validated when read; "" when absent.
    user_agent = models.CharField(max_length=1000, blank=True)
    fbp = models.CharField("Meta browser id (_fbp)", max_length=255, blank=True)
    ga_client_id = models.CharField("GA client id (_ga)", max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # The address of the public summary the visitor may share (score, tier, categories; no
    # name, e-mail or answers): another secret than the attempt's token, which opens it all.
    share_token = models.CharField(
        max_length=24, unique=True, default=new_share_token, editable=False
    )

    objects = LeadQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        permissions = [("export_lead", "Can export leads as CSV")]
        indexes = [
            models.Index(fields=["quiz", "-created_at"]),
            models.Index(fields=["email"]),
            models.Index(fields=["-score_percent", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.tier_name}, {self.score_percent} %)"

    @property
    def weakest_category(self) -> dict | None:
        """The category with the lowest percent (the first of equals), named on the result.

        None with fewer than two categories, or when every one is at 100 %.
        """
        if len(self.category_scores) < 2:
            return None
        weakest = min(self.category_scores, key=lambda category: category["percent"])
        return weakest if weakest["percent"] < 100 else None

    @property
    def cta_href(self) -> str:
        """The tier's call to action, made personal (personal_link)."""
        tier = self.tier
        return self.personal_link(tier.cta_url if tier is not None else "")

    def personal_link(self, url: str) -> str:
        """A call to action's link (a tier's or its translation, a result block's) with its
        {tier} and {percent} filled in (URL-encoded) and, unless the link has its own, UTM
        parameters saying it came from this scorecard."""
        if not url:
            return ""
        url = url.replace("{tier}", quote(self.tier_name, safe="")).replace(
            "{percent}", str(self.score_percent)
        )
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        if not any(key.startswith("utm_") for key, _ in query):
            query += [
                ("utm_source", "quizfunnel"),
                ("utm_medium", "scorecard"),
                ("utm_campaign", self.quiz.slug),
                ("utm_content", self.tier_name),
            ]
        return urlunsplit(parts._replace(query=urlencode(query)))

    @property
    def next_steps(self) -> list[dict]:
        """The categories that carry advice, weakest first: what to do next, in order."""
        with_advice = [c for c in self.category_scores if c.get("advice") or c.get("headline")]
        return sorted(with_advice, key=lambda category: category["percent"])

    @property
    def strongest_category(self) -> dict | None:
        """The category with the highest percent (the first of equals), when it stands out
        from the weakest; None with fewer than two categories or all of them equal."""
        if len(self.category_scores) < 2:
            return None
        strongest = max(self.category_scores, key=lambda category: category["percent"])
        lowest = min(category["percent"] for category in self.category_scores)
        return strongest if strongest["percent"] > lowest else None

    @property
    def first_response_time(self):
        return None if self.first_response_at is None else self.first_response_at - self.created_at


class StatusChange(models.Model):
    """Every move of a lead through the pipeline: who, when, from, to."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="status_changes")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    from_status = models.CharField(max_length=20, choices=Lead.Status.choices)
    to_status = models.CharField(max_length=20, choices=Lead.Status.choices)
    at = models.DateTimeField(default=timezone.now)
    via = models.CharField(
        max_length=120, blank=True, help_text="The integration that made it (an API key)."
    )

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.from_status} → {self.to_status}"


class OwnerChange(models.Model):
    """Every change of a lead's owner: who made it (None: an automation), when, from, to."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="owner_changes")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    from_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    to_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    via = models.CharField(
        max_length=120, blank=True, help_text="The integration that made it (an API key)."
    )

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.from_owner or 'nobody'} → {self.to_owner or 'nobody'}"


class Note(models.Model):
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    text = models.TextField(max_length=4000)
    at = models.DateTimeField(default=timezone.now)
    via = models.CharField(
        max_length=120, blank=True, help_text="The integration that wrote it (an API key)."
    )

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return self.text[:60]


class AssignmentCursor(models.Model):
    """Where the round robin among Sales stopped (one row)."""

    last_user_id = models.IntegerField(null=True)

    def __str__(self) -> str:
        return f"round robin after user {self.last_user_id}"
