"""A fake Meta Graph API for the Conversions API: POST /vNN.N/{pixel id}/events.

It checks what Meta documents (and refuses what Meta refuses, with Meta's error shape:
HTTP 400 and error.message / type / code / fbtrace_id):
- the access token (code 190, OAuthException) and the pixel (code 100);
- each event: event_name, event_time in seconds (not older than 7 days, not in the
  future), action_source, and for "website" event_source_url and client_user_agent;
- user_data: em, ph, fn, ln and external_id hashed (64 lowercase hex: SHA-256), never in
  clear; fbc as fb.1.<ms>.<fbclid> and fbp as fb.<n>.<ms>.<random>;
and deduplicates as Meta does: a second event with the same pixel, event_name and
event_id within 48 hours is received but not counted again (`conversions`).
"""

from __future__ import annotations

import re
import secrets
import time

from tests.fakes.server import FakeServer

TOKEN = "EAAtesttoken123"
PIXEL = "1234567890123456"
HEX64 = re.compile(r"[0-9a-f]{64}")
FBC = re.compile(r"fb\.1\.[0-9]{13}\..+")
FBP = re.compile(r"fb\.[0-9]\.[0-9]{13}\.[0-9A-Za-z_-]+")
ACTION_SOURCES = {
    "email",
    "website",
    "app",
    "phone_call",
    "chat",
    "physical_store",
    "system_generated",
    "business_messaging",
    "other",
}
HASHED = ("em", "ph", "fn", "ln", "external_id", "ge", "db", "ct", "st", "zp", "country")


def meta_error(message: str, code: int, kind: str = "OAuthException", **extra) -> dict:
    return {
        "error": {
            "message": message,
            "type": kind,
            "code": code,
            "fbtrace_id": "A" + secrets.token_hex(10),
            **extra,
        }
    }


class FakeMeta(FakeServer):
    def __init__(self, token: str = TOKEN, pixel: str = PIXEL):
        self.token, self.pixel = token, pixel
        self.conversions: dict[tuple, dict] = {}  # (pixel, name, event_id) -> first event
        self.test_events: list[dict] = []
        self.received = 0
        super().__init__()

    def rate_limit_next(self, code: int = 17) -> None:
        self.answer_next(
            "/events",
            400,
            meta_error("(#17) User request limit reached", code, is_transient=True),
        )

    def handle(self, path: str, query: dict, body):
        found = re.fullmatch(r"/v[0-9]+\.[0-9]+/([^/]+)/events", path)
        if not found:
            return 400, meta_error(f"Unknown path components: {path}", 2500)
        token = query.get("access_token") or (body or {}).get("access_token")
        if token != self.token:
            return 400, meta_error("Invalid OAuth access token - Cannot parse access token", 190)
        if found.group(1) != self.pixel:
            return 400, meta_error(
                f"Unsupported post request. Object with ID '{found.group(1)}' does not "
                "exist, cannot be loaded due to missing permissions, or does not support "
                "this operation.",
                100,
                "GraphMethodException",
                error_subcode=33,
            )
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            return 400, meta_error("(#100) The parameter data is required", 100)
        data = body["data"]
        if not 1 <= len(data) <= 1000:
            return 400, meta_error("(#100) data must hold 1 to 1000 events", 100)
        for index, event in enumerate(data):
            problem = self.problem(event)
            if problem:
                return 400, meta_error(
                    "(#100) Invalid parameter",
                    100,
                    error_user_msg=f"data[{index}]: {problem}",
                    error_subcode=2804019,
                )
        for event in data:
            self.received += 1
            if body.get("test_event_code"):
                self.test_events.append(event)
                continue
            key = (found.group(1), event["event_name"], event.get("event_id"))
            self.conversions.setdefault(key, event)
        return 200, {
            "events_received": len(data),
            "messages": [],
            "fbtrace_id": "A" + secrets.token_hex(10),
        }

    def problem(self, event) -> str:
        if not isinstance(event, dict):
            return "an event is an object"
        if not isinstance(event.get("event_name"), str) or not event["event_name"]:
            return "event_name is required"
        event_time = event.get("event_time")
        if not isinstance(event_time, int):
            return "event_time must be a Unix timestamp in seconds (an integer)"
        if event_time > time.time() + 60:
            return "event_time is in the future"
        if event_time < time.time() - 7 * 86400:
            return "event_time is more than 7 days ago"
        if len(str(event_time)) != 10:
            return "event_time must be in seconds, not milliseconds"
        if event.get("action_source") not in ACTION_SOURCES:
            return "action_source is required and must be one of Meta's"
        user = event.get("user_data")
        if not isinstance(user, dict) or not user:
            return "user_data is required"
        if event["action_source"] == "website":
            if not str(event.get("event_source_url") or "").startswith(("http://", "https://")):
                return "event_source_url is required for website events"
            if not user.get("client_user_agent"):
                return "client_user_agent is required for website events"
        for key in HASHED:
            if key not in user:
                continue
            values = user[key] if isinstance(user[key], list) else [user[key]]
            for value in values:
                if not isinstance(value, str) or not HEX64.fullmatch(value):
                    return f"user_data.{key} must be hashed with SHA-256 ({value!r} is not)"
        if "fbc" in user and not FBC.fullmatch(str(user["fbc"])):
            return f"user_data.fbc is not fb.1.<creation time in ms>.<fbclid>: {user['fbc']!r}"
        if "fbp" in user and not FBP.fullmatch(str(user["fbp"])):
            return f"user_data.fbp is malformed: {user['fbp']!r}"
        if "client_ip_address" in user:
            return "client_ip_address is not expected from Quizfunnel"
        return ""
