"""Deployment checks for tracking (`manage.py check --deploy`)."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.caches, deploy=True)
def rate_limits_are_shared(app_configs, **kwargs):
    """POST /t/events limits each visitor's rate in the cache: a per-process cache
    lets each web worker grant the full rate again."""
    backend = settings.CACHES["default"]["BACKEND"]
    if backend.endswith("LocMemCache") or backend.endswith("DummyCache"):
        return [
            Warning(
                "The cache is per process, so each web worker keeps its own rate limits "
                "for POST /t/events.",
                hint="Set CACHE_URL (for example redis://host:6379/1) so that all web "
                "processes share them.",
                id="tracking.W001",
            )
        ]
    return []
