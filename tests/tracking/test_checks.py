"""`manage.py check --deploy` warns when rate limits would be per process."""

from django.core.checks import run_checks


def _tracking_warnings():
    messages = run_checks(include_deployment_checks=True, tags=["caches"])
    return [m.id for m in messages if m.id.startswith("tracking.")]


def test_a_per_process_cache_is_a_deploy_warning(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert _tracking_warnings() == ["tracking.W001"]


def test_a_shared_cache_passes(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/1",
        }
    }
    assert _tracking_warnings() == []
