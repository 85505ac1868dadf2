"""The HubSpot account: its token, every call to it (under the shared rate limit), the
contact fields a lead fills.

The token is the one a marketer saved on the Connections page, unless HUBSPOT_TOKEN is
set (operators), which overrides it. Every call to HubSpot goes through `call()`: it
waits for a place under HUBSPOT_RATE_LIMIT_PER_10S (shared by all workers, see
automations.ratelimit) and, when HubSpot answers 429, reads its `policyName` and makes
every worker wait: the rolling ten seconds, the next second, or the next midnight in the
account's time zone for the daily limit.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings

from automations import ratelimit
from automations.crypto import InvalidToken, decrypt
from automations.models import Delivery, HubSpotConnection
from automations.senders.http import Failure, Reply, post_json
from core.visitor import medium_of
from leads.models import Lead

WINDOW = 10.0  # HubSpot counts its burst limit over a rolling ten seconds


# The token ---------------------------------------------------------------------------


def connection() -> HubSpotConnection:
    """The stored connection, or an unsaved empty one."""
    return HubSpotConnection.objects.filter(pk=1).first() or HubSpotConnection(pk=1)


@dataclass
class TokenState:
    token: str
    source: str  # "setting" (HUBSPOT_TOKEN), "connections" (stored), "" (none)
    problem: str = ""  # why a stored token cannot be used


def token_state(stored: HubSpotConnection | None = None) -> TokenState:
    if settings.HUBSPOT_TOKEN:
        return TokenState(settings.HUBSPOT_TOKEN, "setting")
    stored = stored or connection()
    if not stored.token_encrypted:
        return TokenState("", "")
    try:
        return TokenState(decrypt(stored.token_encrypted), "connections")
    except InvalidToken:
        return TokenState(
            "",
            "",
            "The stored HubSpot token cannot be read with this server's encryption key "
            "(FIELD_ENCRYPTION_KEY or SECRET_KEY changed): paste the token again.",
        )


def hubspot_token() -> str:
    return token_state().token


def not_connected_reason() -> str:
    """Why HubSpot deliveries are held, or "" when a token is there."""
    state = token_state()
    if state.token:
        return ""
    return state.problem or (
        "HubSpot is not connected: connect it on the Connections page (admin) or set "
        "HUBSPOT_TOKEN. Held deliveries are sent once it is connected."
    )


# Calls -------------------------------------------------------------------------------


def rate_limit_name(token: str) -> str:
    """The rate limit's name: one per token (HubSpot counts per account and app)."""
    return "hubspot-" + hashlib.sha256(token.encode()).hexdigest()[:16]


def _wait_for_place(account: str) -> None:
    """Sleep for a place under the limit if it comes soon; else the caller waits queued."""
    deadline = time.monotonic() + settings.HUBSPOT_RATE_LIMIT_MAX_WAIT
    while True:
        wait = ratelimit.take(account, limit=settings.HUBSPOT_RATE_LIMIT_PER_10S, window=WINDOW)
        if wait <= 0:
            return
        if time.monotonic() + wait > deadline:
            raise Failure(
                f"Waiting {wait:.1f} s for HubSpot's rate limit "
                f"({settings.HUBSPOT_RATE_LIMIT_PER_10S} requests per 10 s, shared by every "
                "worker); no attempt spent.",
                retryable=True,
                retry_after=wait,
                rate_limited=True,
            )
        time.sleep(wait)


def _seconds_to_midnight(time_zone: str) -> float:
    try:
        zone = ZoneInfo(time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    now = datetime.now(zone)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), zone)
    return max((midnight - now).total_seconds(), 1.0)


def _rate_limited(failure: Failure, account: str) -> Failure:
    """HubSpot's 429, read: how long everyone waits, and why, in words."""
    try:
        policy = str(json.loads(failure.body or "{}").get("policyName") or "")
    except (ValueError, AttributeError):
        policy = ""
    header = next((v for k, v in failure.headers.items() if k.lower() == "retry-after"), None)
    try:
        given = float(header) if header is not None else None
    except ValueError:
        given = None
    if policy == "DAILY":
        wait = _seconds_to_midnight(connection().time_zone)
        words = "its daily limit: sending resumes after midnight in the account's time zone"
    elif policy == "SECONDLY":
        wait = given or 1.0
        words = "its per-second limit"
    else:  # TEN_SECONDLY_ROLLING, or a 429 that names no policy
        wait = given or WINDOW
        words = "its limit per 10 seconds"
    ratelimit.block(account, wait)
    return Failure(
        f"HubSpot answered 429 ({policy or 'no policyName'}): {words}; every worker waits "
        f"{wait:.0f} s, no attempt spent.",
        status=429,
        retryable=True,
        retry_after=wait,
        rate_limited=True,
        body=failure.body,
    )


def call(
    delivery: Delivery | None,
    step: str,
    path: str,
    payload: dict | None = None,
    *,
    method: str = "POST",
    token: str | None = None,
) -> Reply:
    """One request to HubSpot, within the shared rate limit; Failure by class."""
    token = token if token is not None else hubspot_token()
    account = rate_limit_name(token)
    _wait_for_place(account)
    try:
        return post_json(
            delivery,
            step,
            settings.HUBSPOT_BASE_URL.rstrip("/") + path,
            payload,
            {"Authorization": f"Bearer {token}"},
            method=method,
        )
    except Failure as failure:
        if failure.status == 429:
            raise _rate_limited(failure, account) from failure
        raise


# What a lead fills in HubSpot ---------------------------------------------------------


@dataclass(frozen=True)
class LeadAttribute:
    key: str
    label: str
    value: Callable[[Lead], object]
    default_property: str = ""


def _first_touch(lead: Lead) -> dict:
    return (lead.attribution or {}).get("first_touch") or {}


def _category(name: str) -> Callable[[Lead], object]:
    def value(lead: Lead):
        for category in lead.category_scores or []:
            if category.get("name") == name:
                return category.get("percent")
        return None

    return value


def _hidden(name: str) -> Callable[[Lead], object]:
    def value(lead: Lead):
        fields = getattr(lead, "hidden_fields", None) or {}
        return fields.get(name) if isinstance(fields, dict) else None

    return value


# The lead's facts a marketer can send to HubSpot. To send another one, add a line.
LEAD_ATTRIBUTES: list[LeadAttribute] = [
    LeadAttribute(
        "first_name", "First name", lambda lead: lead.name.partition(" ")[0], "firstname"
    ),
    LeadAttribute("last_name", "Last name", lambda lead: lead.name.partition(" ")[2], "lastname"),
    LeadAttribute("company", "Company", lambda lead: lead.company, "company"),
    LeadAttribute("phone", "Phone", lambda lead: lead.phone, "phone"),
    LeadAttribute("quiz", "Quiz (its title)", lambda lead: lead.quiz.title, "quizfunnel_quiz"),
    LeadAttribute("score", "Score (points)", lambda lead: lead.score_points),
    LeadAttribute(
        "percent", "Score (% of the maximum)", lambda lead: lead.score_percent, "quizfunnel_score"
    ),
    LeadAttribute("tier", "Tier", lambda lead: lead.tier_name, "quizfunnel_tier"),
    LeadAttribute("source", "First-touch source", lambda lead: lead.source),
    LeadAttribute(
        "medium",
        "First-touch medium",
        lambda lead: medium_of(_first_touch(lead)) if _first_touch(lead) else "",
    ),
    LeadAttribute(
        "campaign", "First-touch campaign", lambda lead: _first_touch(lead).get("utm_campaign", "")
    ),
]


def _hidden_field_names() -> list[str]:
    """Hidden fields quizzes declare, where quizzes have them (the embed helper's)."""
    from quizzes.models import Quiz

    if not any(f.name == "hidden_fields" for f in Quiz._meta.get_fields()):
        return []
    names: set[str] = set()
    for declared in Quiz.objects.values_list("hidden_fields", flat=True):
        if isinstance(declared, list | tuple):
            names.update(str(n) for n in declared if n)
        elif isinstance(declared, str):
            names.update(n.strip() for n in declared.split(",") if n.strip())
    return sorted(names)


def lead_attributes() -> list[LeadAttribute]:
    """The fixed facts, then each category's score (% ) by name, then hidden fields."""
    from quizzes.models import Category

    categories = sorted(set(Category.objects.values_list("name", flat=True)))
    return [
        *LEAD_ATTRIBUTES,
        *(
            LeadAttribute(f"category:{n}", f"Category score: {n} (%)", _category(n))
            for n in categories
        ),
        *(
            LeadAttribute(f"hidden:{n}", f"Hidden field: {n}", _hidden(n))
            for n in _hidden_field_names()
        ),
    ]


DEFAULT_MAPPING = {a.key: a.default_property for a in LEAD_ATTRIBUTES if a.default_property}


def field_mapping(stored: HubSpotConnection | None = None) -> dict[str, str]:
    """Lead attribute key -> HubSpot property: the marketer's choice, else the defaults."""
    stored = stored or connection()
    return dict(DEFAULT_MAPPING) if stored.field_mapping is None else dict(stored.field_mapping)


def contact_properties(lead: Lead, mapping: dict[str, str]) -> dict[str, str]:
    """The contact's properties for HubSpot (values as text; "" clears a field)."""
    by_key = {a.key: a for a in LEAD_ATTRIBUTES}
    properties = {"email": lead.email}
    for key, prop in mapping.items():
        if not prop or prop == "email":
            continue
        attribute = by_key.get(key)
        if attribute is None and key.startswith("category:"):
            attribute = LeadAttribute(key, key, _category(key.split(":", 1)[1]))
        elif attribute is None and key.startswith("hidden:"):
            attribute = LeadAttribute(key, key, _hidden(key.split(":", 1)[1]))
        if attribute is None:
            continue  # an attribute this version no longer knows
        value = attribute.value(lead)
        properties[prop] = "" if value is None else str(value)
    return properties


# Reading the account -------------------------------------------------------------------


def account_details(token: str) -> dict:
    """HubSpot's account-info (portal id, account type, time zone); Failure if refused."""
    return call(
        None, "hubspot: account info", "/account-info/v3/details", method="GET", token=token
    ).json()


@dataclass(frozen=True)
class ContactProperty:
    name: str
    label: str
    type: str
    writable: bool


def contact_property_list(token: str) -> list[ContactProperty]:
    """HubSpot's own list of contact properties, by label."""
    results = (
        call(None, "hubspot: properties", "/crm/v3/properties/contacts", method="GET", token=token)
        .json()
        .get("results")
        or []
    )
    found = []
    for item in results:
        if not isinstance(item, dict) or not item.get("name"):
            continue
        read_only = bool((item.get("modificationMetadata") or {}).get("readOnlyValue"))
        found.append(
            ContactProperty(
                name=str(item["name"]),
                label=str(item.get("label") or item["name"]),
                type=str(item.get("type") or ""),
                writable=not read_only and not item.get("calculated", False),
            )
        )
    return sorted(found, key=lambda p: p.label.lower())
