"""A fake Google Analytics 4 Measurement Protocol: /mp/collect and /debug/mp/collect.

As GA4 does, /mp/collect answers 204 to everything and silently drops what it cannot
use (a wrong measurement id or API secret, a bad payload): `collected` holds what it
kept, `dropped` what it did not, with why. /debug/mp/collect answers 200 with
`validationMessages` (fieldPath, description, validationCode) and collects nothing.
Checked: client_id, timestamp_micros (microseconds, within the last 72 hours),
1 to 25 events with valid names, parameter names and values, and a currency with value.
"""

from __future__ import annotations

import re
import time

from tests.fakes.server import FakeServer

MEASUREMENT_ID = "G-TEST12345"
API_SECRET = "ga4-secret-abc"
EVENT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")
RESERVED_PREFIXES = ("_", "firebase_", "ga_", "google_", "gtag.")


def message(field: str, description: str, code: str = "VALUE_INVALID") -> dict:
    return {"fieldPath": field, "description": description, "validationCode": code}


class FakeGA4(FakeServer):
    def __init__(self, measurement_id: str = MEASUREMENT_ID, api_secret: str = API_SECRET):
        self.measurement_id, self.api_secret = measurement_id, api_secret
        self.collected: list[dict] = []
        self.dropped: list[tuple[dict, list[dict]]] = []
        self.validated = 0
        super().__init__()

    def handle(self, path: str, query: dict, body):
        messages = self.validate(query, body)
        if path == "/debug/mp/collect":
            self.validated += 1
            return 200, {"validationMessages": messages}
        if path == "/mp/collect":
            wrong_keys = (
                query.get("measurement_id") != self.measurement_id
                or query.get("api_secret") != self.api_secret
            )
            if messages or wrong_keys:
                self.dropped.append((body, messages or [message("", "wrong id or secret")]))
            else:
                self.collected.append(body)
            return 204, None
        return 404, {"error": "not found"}

    def validate(self, query: dict, body) -> list[dict]:
        if not query.get("measurement_id"):
            return [message("measurement_id", "measurement_id is required", "VALUE_REQUIRED")]
        if not isinstance(body, dict):
            return [message("", "The body is not a JSON object", "VALUE_INVALID")]
        problems = []
        if not isinstance(body.get("client_id"), str) or not body["client_id"]:
            problems.append(message("client_id", "client_id is required", "VALUE_REQUIRED"))
        micros = body.get("timestamp_micros")
        if micros is not None:
            now = time.time() * 1_000_000
            if not isinstance(micros, int) or len(str(micros)) < 16:
                problems.append(message("timestamp_micros", "Must be in microseconds"))
            elif micros < now - 72 * 3600 * 1_000_000:
                problems.append(
                    message(
                        "timestamp_micros",
                        "Must be within the last 72 hours",
                        "VALUE_OUT_OF_BOUNDS",
                    )
                )
            elif micros > now + 60 * 1_000_000:
                problems.append(
                    message("timestamp_micros", "Is in the future", "VALUE_OUT_OF_BOUNDS")
                )
        events = body.get("events")
        if not isinstance(events, list) or not 1 <= len(events) <= 25:
            problems.append(message("events", "1 to 25 events are required", "VALUE_REQUIRED"))
            return problems
        for i, event in enumerate(events):
            name = event.get("name") if isinstance(event, dict) else None
            if (
                not isinstance(name, str)
                or not EVENT_NAME.fullmatch(name)
                or name.startswith(RESERVED_PREFIXES)
            ):
                problems.append(
                    message(f"events[{i}].name", f"Invalid event name {name!r}", "NAME_INVALID")
                )
                continue
            params = event.get("params") or {}
            if not isinstance(params, dict) or len(params) > 25:
                problems.append(message(f"events[{i}].params", "At most 25 parameters"))
                continue
            for key, value in params.items():
                if not EVENT_NAME.fullmatch(key):
                    problems.append(
                        message(f"events[{i}].params.{key}", "Invalid name", "NAME_INVALID")
                    )
                elif isinstance(value, str) and len(value) > 100:
                    problems.append(message(f"events[{i}].params.{key}", "Over 100 characters"))
            if "value" in params:
                if not isinstance(params["value"], int | float) or isinstance(
                    params["value"], bool
                ):
                    problems.append(message(f"events[{i}].params.value", "value must be a number"))
                if not re.fullmatch(r"[A-Z]{3}", str(params.get("currency", ""))):
                    problems.append(
                        message(
                            f"events[{i}].params.currency",
                            "currency is required with value (ISO 4217)",
                            "VALUE_REQUIRED",
                        )
                    )
        return problems
