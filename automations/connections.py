"""Connecting HubSpot from the admin: save a token (tested first), test it, disconnect,
choose the contact fields. What the Connections page does, as services."""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from automations import crm
from automations.crypto import encrypt
from automations.delivery import _release_held
from automations.models import Action, Delivery, HubSpotConnection
from automations.senders.http import Failure

TOKEN_MAX = 500

ACCOUNT_TYPES = {
    "STANDARD": "a standard HubSpot account",
    "DEVELOPER_TEST": "a developer test account",
    "SANDBOX": "a sandbox account",
    "APP_DEVELOPER": "an app developer account",
}


@dataclass
class TestResult:
    ok: bool
    words: str
    refused: bool = False  # HubSpot answered that the token is not good (401, 403)
    details: dict | None = None


def _hubspot_message(failure: Failure) -> str:
    try:
        answer = json.loads(failure.body or "{}")
    except ValueError:
        answer = {}
    message = answer.get("message") if isinstance(answer, dict) else None
    return str(message or failure)[:300]


def token_test(token: str) -> TestResult:
    """Ask HubSpot who this token belongs to; the answer in words."""
    try:
        details = crm.account_details(token)
    except Failure as failure:
        if failure.auth:
            return TestResult(
                False, f"HubSpot refused the token: {_hubspot_message(failure)}", refused=True
            )
        if failure.rate_limited:
            return TestResult(False, f"HubSpot is busy: {failure} Try again in a moment.")
        return TestResult(False, f"HubSpot could not be asked: {failure}")
    portal = details.get("portalId")
    if not portal:
        return TestResult(False, "HubSpot's answer names no account (no portalId).")
    kind = ACCOUNT_TYPES.get(str(details.get("accountType")), str(details.get("accountType")))
    words = f"Connected to HubSpot account {portal}: {kind}"
    if details.get("timeZone"):
        words += f", time zone {details['timeZone']}"
    if details.get("dataHostingLocation"):
        words += f", data hosted in {details['dataHostingLocation']}"
    return TestResult(True, words + ".", details=details)


def _store_test(connection: HubSpotConnection, result: TestResult) -> None:
    connection.tested_at = timezone.now()
    connection.test_ok = result.ok
    connection.test_result = result.words[:500]
    if result.details:
        connection.portal_id = str(result.details.get("portalId", ""))[:20]
        connection.account_type = str(result.details.get("accountType", ""))[:40]
        connection.time_zone = str(result.details.get("timeZone", ""))[:60]
        connection.ui_domain = str(result.details.get("uiDomain", ""))[:100]


def token_clean(raw: str) -> str:
    """A pasted token, trimmed; ValueError with a person's words when it cannot be one."""
    token = "".join(raw.split())  # pasted with a line break or spaces around it
    if not token:
        raise ValueError("Paste the token of your HubSpot private app.")
    if len(token) > TOKEN_MAX:
        raise ValueError(f"That is longer than a HubSpot token ({len(token)} characters).")
    if not token.isascii() or not token.isprintable():
        raise ValueError("A HubSpot token has only letters, digits and dashes.")
    return token


def connection_token_save(*, token: str, by=None) -> TestResult:
    """Test the token; keep it (encrypted) unless HubSpot refused it; release what waited.

    A token HubSpot could not be asked about (down, busy) is kept all the same, saying so:
    deliveries try it, and pause their rules if HubSpot refuses it then.
    """
    result = token_test(token)
    if result.refused:
        return result
    with transaction.atomic():
        connection = crm.connection()
        connection.token_encrypted = encrypt(token)
        connection.token_last4 = token[-4:]
        connection.connected_at = timezone.now()
        connection.connected_by = by
        connection.portal_id = connection.account_type = connection.time_zone = ""
        _store_test(connection, result)
        connection.save()
        released = _release_held(Delivery.objects.filter(action__kind=Action.Kind.HUBSPOT))
    if not result.ok:
        result.words = "Token saved, but not checked: " + result.words
    if released:
        result.words += f" {released} held deliver{'y' if released == 1 else 'ies'} going out now."
    return result


def connection_test() -> TestResult:
    """Test the token in use (the stored one, or HUBSPOT_TOKEN when it overrides it)."""
    state = crm.token_state()
    if not state.token:
        return TestResult(False, state.problem or "HubSpot is not connected: paste a token.")
    result = token_test(state.token)
    connection = crm.connection()
    if connection.pk and HubSpotConnection.objects.filter(pk=connection.pk).exists():
        _store_test(connection, result)
        connection.save()
    return result


def connection_disconnect() -> None:
    """Forget the stored token (HUBSPOT_TOKEN, if set, still connects)."""
    HubSpotConnection.objects.filter(pk=1).update(
        token_encrypted="",
        token_last4="",
        connected_at=None,
        connected_by=None,
        tested_at=None,
        test_ok=None,
        test_result="",
        portal_id="",
        account_type="",
        time_zone="",
        ui_domain="",
    )


def field_mapping_save(*, mapping: dict[str, str]) -> None:
    connection = crm.connection()
    connection.field_mapping = {k: v for k, v in mapping.items() if v}
    connection.save()
