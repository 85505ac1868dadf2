"""`manage.py check --deploy` warns when rate limits would be per process; retention too
short for the dashboard is an error."""

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


def _messages(check_id):
    return [m for m in run_checks() if m.id == check_id]


def test_retention_shorter_than_13_months_is_an_error_that_says_why(settings):
    settings.TRACKING_EVENT_PARTITIONS = True
    settings.TRACKING_EVENT_RETENTION_MONTHS = 12
    [error] = _messages("tracking.E001")
    assert "TRACKING_EVENT_RETENTION_MONTHS=12" in error.msg and "at least 13 months" in error.msg
    assert "366 days back" in error.hint


def test_retention_of_13_months_or_for_ever_passes(settings):
    settings.TRACKING_EVENT_PARTITIONS = True
    for months in (0, 13, 24):
        settings.TRACKING_EVENT_RETENTION_MONTHS = months
        assert _messages("tracking.E001") == []


def test_retention_without_partitions_warns_that_it_drops_nothing(settings):
    settings.TRACKING_EVENT_PARTITIONS = False
    settings.TRACKING_EVENT_RETENTION_MONTHS = 13
    [warning] = _messages("tracking.W002")
    assert "drops nothing" in warning.msg
