"""A fake HubSpot: a real HTTP server on 127.0.0.1 that speaks the endpoints Quizfunnel
uses (account-info, contact properties, contacts batch upsert and batch read, tasks,
GDPR delete), keeps HubSpot's own limit per rolling 10 seconds when told one (429 with
`policyName`), and can be told to fail (429, 500, 400, 401), to answer slowly, or to
drip-feed its answer a byte at a time."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "pat-test-token"

# What GET /crm/v3/properties/contacts lists: a few of HubSpot's own, and the custom ones
# Quizfunnel fills by default. A property not in this list is refused, as HubSpot does.
PROPERTIES = [
    ("email", "Email", "string", False),
    ("firstname", "First Name", "string", False),
    ("lastname", "Last Name", "string", False),
    ("company", "Company Name", "string", False),
    ("phone", "Phone Number", "string", False),
    ("jobtitle", "Job Title", "string", False),
    ("hs_analytics_source", "Original Source", "enumeration", True),
    ("quizfunnel_quiz", "Quizfunnel quiz", "string", False),
    ("quizfunnel_score", "Quizfunnel score (%)", "number", False),
    ("quizfunnel_tier", "Quizfunnel tier", "string", False),
    ("quizfunnel_points", "Quizfunnel points", "number", False),
    ("utm_source_first", "First source (UTM)", "string", False),
]
ACCOUNT = {
    "portalId": 4242,
    "accountType": "STANDARD",
    "timeZone": "Europe/Berlin",
    "companyCurrency": "EUR",
    "additionalCurrencies": [],
    "utcOffset": "+01:00",
    "utcOffsetMilliseconds": 3600000,
    "uiDomain": "app-eu1.hubspot.com",
    "dataHostingLocation": "eu1",
}


class FakeHubSpot:
    def __init__(self, token: str = TOKEN, *, limit_per_10s: int | None = None):
        self.token = token
        self.limit_per_10s = limit_per_10s  # None: no limit kept
        self.arrivals: list[float] = []  # when each authorised request arrived
        self.rate_limited = 0  # 429s answered for the limit
        self.properties = [
            {
                "name": n,
                "label": label,
                "type": t,
                "fieldType": "text",
                "groupName": "contactinformation",
                "calculated": False,
                "modificationMetadata": {"readOnlyValue": ro, "archivable": True},
            }
            for n, label, t, ro in PROPERTIES
        ]
        self.refuse: set[str] = set()  # e-mails whose contact HubSpot refuses (400)
        self.partial = False  # refusals answered 207 (results and errors) instead of 400
        self.contacts: dict[str, dict] = {}  # email -> contact
        self.tasks: dict[str, dict] = {}
        self.gdpr_deleted: list[str] = []  # e-mails (or ids) deleted for good
        self.blocklist: set[str] = set()  # e-mails HubSpot refuses from now on
        self.requests: list[tuple[str, dict]] = []
        self.task_arrived_at: list[float] = []
        self._script: deque = deque()
        self._drips: deque = deque()
        self.drip_started = threading.Event()
        self.drips: list[dict] = []  # per drip-fed answer: bytes sent of how many, finished
        self._lock = threading.Lock()
        self._ids = 1000
        self.latency = 0.0  # seconds each request takes (HubSpot's own time, for benchmarks)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self.do_POST(body={})

            def do_POST(self, body=None):
                if body is None:
                    length = int(self.headers.get("Content-Length") or 0)
                    body = json.loads(self.rfile.read(length) or b"{}")
                status, payload, headers = fake.handle(self.path, self.headers, body)
                data = b"" if payload is None else json.dumps(payload).encode()
                drip = fake._take(fake._drips, self.path)
                if drip is not None:
                    fake._drip(self, status, headers, data, seconds=drip)
                    return
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    if data:
                        self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a killed worker): the work is done all the same

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def forget_waits(self) -> None:
        """Clear Quizfunnel's shared rate limit for this token: as if HubSpot's wait is over."""
        from automations import crm, ratelimit

        ratelimit.reset(crm.rate_limit_name(self.token))

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # Scripting -------------------------------------------------------------------------

    def answer_next(
        self, path_part: str, status: int, *, times: int = 1, headers=None, delay: float = 0.0
    ) -> None:
        """The next `times` requests whose path ends with `path_part` get `status`."""
        for _ in range(times):
            self._script.append((path_part, status, headers or {}, delay))

    def slow_next(self, path_part: str, seconds: float) -> None:
        """The next such request is handled (and its work done) only after `seconds`."""
        self._script.append((path_part, None, {}, seconds))

    def drip_next(self, path_part: str, seconds: float) -> None:
        """The next such request is done at once, but its answer (status line, headers and
        body) is written a byte at a time over `seconds`."""
        self._drips.append((path_part, seconds))

    def _take(self, queue: deque, path: str):
        with self._lock:
            found = next((item for item in queue if path.endswith(item[0])), None)
            if found is not None:
                queue.remove(found)
        return None if found is None else found[1]

    def _drip(self, handler, status: int, headers: dict, data: bytes, *, seconds: float) -> None:
        head = [f"HTTP/1.1 {status} Drip\r\n", "Content-Type: application/json\r\n"]
        head += [f"{k}: {v}\r\n" for k, v in headers.items()]
        head += [f"Content-Length: {len(data)}\r\n", "Connection: close\r\n", "\r\n"]
        raw = "".join(head).encode() + data
        record = {"sent": 0, "total": len(raw), "finished": False}
        self.drips.append(record)
        self.drip_started.set()
        pause = seconds / len(raw)
        try:
            for i in range(len(raw)):
                time.sleep(pause)
                record["sent"] += 1
                handler.wfile.write(raw[i : i + 1])
                handler.wfile.flush()
            record["finished"] = True
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client hung up before the last byte
        handler.close_connection = True

    def rate_limit_next(self, path_part: str, policy: str, *, times: int = 1, headers=None):
        """The next `times` such requests get HubSpot's 429 naming `policy`."""
        for _ in range(times):
            self._script.append((path_part, ("429", policy), headers or {}, 0.0))

    def count(self, path_part: str) -> int:
        return sum(path_part in path for path, _ in self.requests)

    # Endpoints -------------------------------------------------------------------------

    def handle(self, path: str, headers, body: dict):
        if self.latency:
            time.sleep(self.latency)
        with self._lock:
            self.requests.append((path, body))
            scripted = next((s for s in self._script if path.endswith(s[0])), None)
            if scripted:
                self._script.remove(scripted)
        if headers.get("Authorization") != f"Bearer {self.token}":
            return (
                401,
                {
                    "status": "error",
                    "category": "INVALID_AUTHENTICATION",
                    "message": "Authentication credentials not found.",
                },
                {},
            )
        if self.limit_per_10s is not None:
            with self._lock:
                now = time.monotonic()
                self.arrivals = [t for t in self.arrivals if t > now - 10]
                over = len(self.arrivals) >= self.limit_per_10s
                self.arrivals.append(now)
                if over:
                    self.rate_limited += 1
            if over:
                return 429, _limit_body("TEN_SECONDLY_ROLLING"), {}
        if scripted:
            _, status, extra, delay = scripted
            time.sleep(delay)
            if isinstance(status, tuple):
                return 429, _limit_body(status[1]), extra
            if status is not None:
                return (
                    status,
                    {
                        "status": "error",
                        "message": f"scripted {status}",
                        "category": "VALIDATION_ERROR" if status == 400 else "ERROR",
                    },
                    extra,
                )
        if path == "/crm/v3/objects/contacts/gdpr-delete":
            # HubSpot: the contact and its associations go for good; an unknown e-mail
            # is blocklisted all the same. 204, no body.
            object_id = body.get("objectId")
            if not object_id:
                return 400, {"message": "objectId is required", "category": "VALIDATION_ERROR"}, {}
            with self._lock:
                if body.get("idProperty") == "email":
                    self.contacts.pop(object_id, None)
                    self.blocklist.add(object_id)
                else:
                    found = [e for e, c in self.contacts.items() if c["id"] == object_id]
                    if not found:
                        return (
                            404,
                            {"message": "resource not found", "category": "OBJECT_NOT_FOUND"},
                            {},
                        )
                    self.contacts.pop(found[0])
                self.gdpr_deleted.append(object_id)
            return 204, None, {}
        if path == "/account-info/v3/details":
            return 200, {**ACCOUNT}, {}
        if path == "/crm/v3/properties/contacts":
            return 200, {"results": self.properties}, {}
        if path == "/crm/v3/objects/contacts/batch/read":
            return self._batch_read(body)
        if path == "/crm/v3/objects/contacts/batch/upsert":
            inputs = body.get("inputs", [])
            if len(inputs) > 100:
                return 400, {"message": "at most 100 inputs", "category": "VALIDATION_ERROR"}, {}
            emails = [str(i.get("id", "")).lower() for i in inputs]
            if len(set(emails)) != len(emails):
                return (
                    400,
                    {
                        "message": "Duplicate IDs found in batch input",
                        "category": "VALIDATION_ERROR",
                    },
                    {},
                )
            known = {p["name"] for p in self.properties}
            errors = []
            for item in inputs:
                unknown = sorted(set(item.get("properties", {})) - known)
                if unknown:
                    return (
                        400,
                        {
                            "status": "error",
                            "message": f"Property values were not valid: {unknown[0]}",
                            "category": "VALIDATION_ERROR",
                            "errors": [
                                {
                                    "message": f'Property "{unknown[0]}" does not exist',
                                    "code": "PROPERTY_DOESNT_EXIST",
                                    "context": {"propertyName": [unknown[0]]},
                                }
                            ],
                        },
                        {},
                    )
                if item["id"].lower() in self.refuse:
                    errors.append(
                        {
                            "status": "error",
                            "category": "VALIDATION_ERROR",
                            "message": f"Email address {item['id']} is invalid",
                            "context": {"ids": [item["id"]]},
                        }
                    )
            if errors and not self.partial:
                return (
                    400,
                    {
                        "status": "error",
                        "message": "Invalid input",
                        "category": "VALIDATION_ERROR",
                        "errors": errors,
                    },
                    {},
                )
            results = []
            for item in inputs:
                if item["id"].lower() in self.refuse:
                    continue
                if item.get("idProperty") != "email":
                    return 400, {"message": "idProperty must be email here"}, {}
                if item["id"] in self.blocklist:
                    return (
                        400,
                        {
                            "message": f"{item['id']} was GDPR-deleted",
                            "category": "VALIDATION_ERROR",
                        },
                        {},
                    )
                with self._lock:
                    new = item["id"] not in self.contacts
                    contact = self.contacts.setdefault(item["id"], {"id": self._next()})
                    contact.update(item.get("properties", {}))
                results.append({"id": contact["id"], "new": new, "properties": dict(contact)})
            if errors:
                return (
                    207,
                    {
                        "status": "COMPLETE",
                        "results": results,
                        "errors": errors,
                        "numErrors": len(errors),
                    },
                    {},
                )
            return 200, {"status": "COMPLETE", "results": results}, {}
        if path == "/crm/v3/objects/tasks/search":
            token = body["filterGroups"][0]["filters"][0]["value"]
            found = [
                {"id": tid, "properties": t["properties"]}
                for tid, t in self.tasks.items()
                if token in t["properties"].get("hs_task_body", "")
            ]
            return 200, {"total": len(found), "results": found[:1]}, {}
        if path == "/crm/v3/objects/tasks":
            with self._lock:
                task_id = self._next()
                self.tasks[task_id] = body
                self.task_arrived_at.append(time.time())
            return 201, {"id": task_id, "properties": body.get("properties", {})}, {}
        return 404, {"message": f"no route {path}"}, {}

    def _batch_read(self, body: dict):
        wanted = body.get("properties") or []
        by_id = {c["id"]: c for c in self.contacts.values()}
        results, missing = [], []
        for item in body.get("inputs", []):
            contact = by_id.get(str(item.get("id")))
            if contact is None:
                missing.append(str(item.get("id")))
                continue
            props = {k: contact.get(k) for k in ["email", *wanted]}
            results.append({"id": contact["id"], "properties": props, "archived": False})
        if missing:
            return (
                207,
                {
                    "status": "COMPLETE",
                    "results": results,
                    "numErrors": 1,
                    "errors": [
                        {
                            "status": "error",
                            "category": "OBJECT_NOT_FOUND",
                            "message": "Could not get some CONTACT objects, they may be deleted or "
                            "not exist. Check that ids are valid.",
                            "context": {"ids": missing},
                        }
                    ],
                },
                {},
            )
        return 200, {"status": "COMPLETE", "results": results}, {}

    def _next(self) -> str:
        self._ids += 1
        return str(self._ids)


def _limit_body(policy: str) -> dict:
    return {
        "status": "error",
        "message": f"You have reached your {policy.lower()} limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": "c0ffee00-0000-4000-8000-000000000000",
        "policyName": policy,
        "groupName": "api-calls-quizfunnel",
    }
