"""Configuration from the environment: fail loudly, and deploy-check clean."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args, **env):
    base = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "HTTPS")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_without_debug_a_missing_secret_key_is_a_clear_start_up_error():
    result = _manage("check", DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_a_malformed_boolean_is_refused():
    result = _manage("check", DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "x" * 20 + "a-long-random-production-secret-key-value",
    "ALLOWED_HOSTS": "quiz.example.com",
    "CACHE_URL": "redis://127.0.0.1:6379/1",
}


def test_the_production_settings_pass_the_deploy_check():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_deploy_check_asks_for_a_shared_cache():
    result = _manage(
        "check", "--deploy", "--fail-level", "WARNING", **{**PRODUCTION, "CACHE_URL": ""}
    )
    assert result.returncode != 0
    assert "tracking.W001" in result.stderr + result.stdout
    assert "Set CACHE_URL" in result.stderr + result.stdout


def test_a_claim_timeout_shorter_than_the_longest_delivery_is_refused():
    # Three calls of 10 s and a 5 s margin: a claim of 30 s could be taken back from a
    # worker still waiting for HubSpot.
    result = _manage("check", AUTOMATIONS_HTTP_TIMEOUT="10", AUTOMATIONS_CLAIM_TIMEOUT="30")
    assert result.returncode != 0
    assert "AUTOMATIONS_CLAIM_TIMEOUT=30 s is shorter than the longest a delivery can take" in (
        result.stderr
    )
    assert "(35 s: 3 calls of AUTOMATIONS_HTTP_TIMEOUT=10 s" in result.stderr


def test_the_longest_delivery_counts_the_calls_hubspot_makes(settings):
    from automations.senders import CALLS_PER_DELIVERY

    assert settings.AUTOMATIONS_CALLS_PER_DELIVERY == CALLS_PER_DELIVERY
