"""What the ad-platform actions (meta.py, ga4.py) share: who may be reported as a
conversion, and the lead's browser ids.

A lead always reaches sales; an ad platform hears only of a real person's lead:
- previews and spam (the honeypot was filled) never match a rule at all (their
  lead_submitted is a preview's or a bot's event), so no delivery is written for them;
- a lead whose browser looked automated (`Lead.looks_automated`: a crawler or headless
  tool by its User-Agent, "failed the bot check") still gets its delivery, which ends
  *skipped* with the reason: it reached sales, but is not told to Meta or Google as a
  conversion that ads would then optimise for;
- with "only with consent" on, a lead who did not tick the quiz's consent box (or whose
  quiz has none) is skipped the same way.
A skipped delivery is written and shown, never silently dropped, so "every lead that
matched has its delivery" stays true and a marketer can see why nothing went out.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from automations.models import Delivery
from automations.senders.http import Failure


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def skip_reason(delivery: Delivery) -> str:
    """Why this lead is not reported to the ad platform, or "" to send it."""
    lead, action = delivery.lead, delivery.action
    if lead is None:
        raise Failure(
            f"{action.get_kind_display()} needs a lead: use the action on lead_submitted."
        )
    if lead.is_preview:
        return "A preview's lead: never sent to ad platforms."
    if lead.is_spam:
        return "Spam (the form's honeypot was filled): never sent to ad platforms."
    if lead.looks_automated:
        return (
            "The browser looked like a crawler or a headless tool (the bot check): the lead "
            "reached sales, but is not reported to ad platforms as a conversion."
        )
    if action.only_with_consent and not lead.consent_given:
        if not lead.quiz.consent_text:
            return (
                "The quiz has no consent box and this action sends only with consent: add a "
                "consent text to the quiz, or switch “only with consent” off."
            )
        return "The visitor did not tick the consent box (this action sends only with consent)."
    return ""


def click_time(touch: dict) -> datetime | None:
    try:
        return datetime.fromisoformat(touch.get("at") or "")
    except ValueError:
        return None


def fbc_for(lead) -> str:
    """Meta's click id, fb.1.<ms>.<fbclid>: the latest landing with an fbclid and its time.

    The subdomain index is 1 (the site's own domain), as Meta's pixel writes it.
    """
    for key in ("last_touch", "first_touch"):
        touch = (lead.attribution or {}).get(key) or {}
        fbclid, at = touch.get("fbclid"), click_time(touch)
        if fbclid and at is not None:
            return f"fb.1.{int(at.timestamp() * 1000)}.{fbclid}"
    return ""


def visitor_key(lead) -> str:
    """A stable key for the person's browser: the visitor id, else the lead."""
    return lead.attempt.visitor_id or f"lead-{lead.pk}"
