"""API keys: who may call the integrator API (REST v1 and the Segment-compatible ingest)."""

from __future__ import annotations

from django.db import models


class Scope(models.TextChoices):
    LEADS_READ = "leads:read", "Read leads"
    LEADS_WRITE = "leads:write", "Change leads (status, owner, notes)"
    EVENTS_READ = "events:read", "Read events"
    EVENTS_WRITE = "events:write", "Send events"
    QUIZZES_READ = "quizzes:read", "Read quizzes"


class ApiKey(models.Model):
    """A key is shown once when it is made; only its SHA-256 is kept.

    The raw key is `qf_` + `prefix` + a secret: the prefix (shown in admin and in the
    log) finds the row, the hash of the whole key proves it.
    """

    name = models.CharField(max_length=100, help_text="Who or what uses this key.")
    prefix = models.CharField(max_length=12, unique=True, editable=False)
    hashed_key = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list, help_text="What this key may do.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes
