"""Configuration from the environment: fail loudly, and deploy-check clean."""

import os
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args, **env):
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SECRET_KEY", "DEBUG", "HTTPS", "HOST", "PORT", "SITE_URL")
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _setting(name: str, **env) -> str:
    result = _manage(
        "shell", "-v", "0", "-c", f"from django.conf import settings; print(settings.{name})", **env
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_without_a_secret_key_one_is_generated_once_into_var_and_kept(tmp_path):
    first = _setting("SECRET_KEY", VAR_DIR=str(tmp_path))
    key_file = tmp_path / "secret-key"
    assert len(first) >= 50 and key_file.read_text().strip() == first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # A second start (the worker, the next `make run`) uses the same key.
    assert _setting("SECRET_KEY", VAR_DIR=str(tmp_path)) == first


def test_by_default_debug_is_off_and_plain_http_on_the_laptop_works(tmp_path):
    # `make run` on a laptop: production behaviour, but no redirect to HTTPS nor
    # Secure-only cookies that http://127.0.0.1 would never send back.
    assert _setting("DEBUG", VAR_DIR=str(tmp_path)) == "False"
    assert _setting("SECURE_SSL_REDIRECT", VAR_DIR=str(tmp_path)) == "False"
    assert _setting("SESSION_COOKIE_SECURE", VAR_DIR=str(tmp_path)) == "False"
    assert _setting("SECURE_SSL_REDIRECT", VAR_DIR=str(tmp_path), HTTPS="true") == "True"


def test_site_url_follows_the_port_make_run_listens_on(tmp_path):
    assert _setting("SITE_URL", VAR_DIR=str(tmp_path), PORT="8101") == "http://127.0.0.1:8101"
    assert (
        _setting("SITE_URL", VAR_DIR=str(tmp_path), HOST="quiz.lan", PORT="80")
        == "http://quiz.lan:80"
    )
    assert (
        _setting("SITE_URL", VAR_DIR=str(tmp_path), SITE_URL="https://quiz.example.com/")
        == "https://quiz.example.com"
    )


def test_a_malformed_boolean_is_refused():
    result = _manage("check", DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


PRODUCTION = {
    "DEBUG": "false",
    "HTTPS": "true",
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
    # Three calls of 10 s, each after up to 2 s for the rate limit, and a 5 s margin: a
    # claim of 30 s could be taken back from a worker still waiting for HubSpot.
    result = _manage("check", AUTOMATIONS_HTTP_TIMEOUT="10", AUTOMATIONS_CLAIM_TIMEOUT="30")
    assert result.returncode != 0
    assert "AUTOMATIONS_CLAIM_TIMEOUT=30 s is shorter than the longest a delivery can take" in (
        result.stderr
    )
    assert "(41 s: 3 calls of AUTOMATIONS_HTTP_TIMEOUT=10 s" in result.stderr


def test_the_longest_delivery_counts_the_calls_hubspot_makes(settings):
    from automations.senders import CALLS_PER_DELIVERY

    assert settings.AUTOMATIONS_CALLS_PER_DELIVERY == CALLS_PER_DELIVERY


def test_the_deploy_check_asks_for_https_in_production():
    result = _manage(
        "check", "--deploy", "--fail-level", "WARNING", **{**PRODUCTION, "HTTPS": "false"}
    )
    assert result.returncode != 0
    assert "security.W008" in result.stderr + result.stdout  # no redirect to HTTPS
