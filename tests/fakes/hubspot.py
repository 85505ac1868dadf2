"""A fake HubSpot: a real HTTP server on 127.0.0.1 that speaks the CRM v3 endpoints
Quizfunnel uses, and can be told to fail (429, 500, 400, 401), to answer slowly, or to
drip-feed its answer a byte at a time."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "pat-test-token"


class FakeHubSpot:
    def __init__(self, token: str = TOKEN):
        self.token = token
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
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
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

    def count(self, path_part: str) -> int:
        return sum(path_part in path for path, _ in self.requests)

    # Endpoints -------------------------------------------------------------------------

    def handle(self, path: str, headers, body: dict):
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
        if scripted:
            _, status, extra, delay = scripted
            time.sleep(delay)
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
        if path == "/crm/v3/objects/contacts/batch/upsert":
            results = []
            for item in body.get("inputs", []):
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
                results.append({"id": contact["id"], "new": new, "properties": contact})
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

    def _next(self) -> str:
        self._ids += 1
        return str(self._ids)
