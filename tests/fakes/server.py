"""A real HTTP server on 127.0.0.1 that a fake service subclasses: it parses the JSON
body and query, lets a test script the next answers (a status with a body, a delay,
an answer drip-fed a byte at a time), and records every request."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class FakeServer:
    def __init__(self):
        self.requests: list[dict] = []  # {"path", "query", "body"}
        self._script: deque = deque()
        self._lock = threading.Lock()
        self.drip_started = threading.Event()
        self.drips: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = None
                request = {"path": parts.path, "query": query, "body": body}
                with fake._lock:
                    fake.requests.append(request)
                    scripted = next((s for s in fake._script if s[0] in parts.path), None)
                    if scripted:
                        fake._script.remove(scripted)
                drip = None
                if scripted:
                    _, status, payload, delay, drip = scripted
                    time.sleep(delay)
                    if status is None:
                        status, payload = fake.handle(parts.path, query, body)
                else:
                    status, payload = fake.handle(parts.path, query, body)
                data = b"" if payload is None else json.dumps(payload).encode()
                if drip:
                    fake._drip(self, status, data, drip)
                    return
                try:
                    self.send_response(status)
                    if data:
                        self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up: the work is done all the same

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer_next(self, path_part: str, status: int, payload=None, *, times: int = 1) -> None:
        """The next `times` requests whose path holds `path_part` get this answer (and
        are not processed)."""
        for _ in range(times):
            self._script.append((path_part, status, payload, 0.0, None))

    def slow_next(self, path_part: str, seconds: float) -> None:
        """The next such request is processed, and answered, only after `seconds`."""
        self._script.append((path_part, None, None, seconds, None))

    def drip_next(self, path_part: str, seconds: float) -> None:
        """The next such request is processed at once, but its answer is written a byte
        at a time over `seconds`."""
        self._script.append((path_part, None, None, 0.0, seconds))

    def _drip(self, handler, status: int, data: bytes, seconds: float) -> None:
        head = f"HTTP/1.1 {status} Drip\r\nContent-Type: application/json\r\n"
        head += f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
        raw = head.encode() + data
        record = {"sent": 0, "total": len(raw), "finished": False}
        self.drips.append(record)
        self.drip_started.set()
        try:
            for i in range(len(raw)):
                time.sleep(seconds / len(raw))
                handler.wfile.write(raw[i : i + 1])
                handler.wfile.flush()
                record["sent"] += 1
            record["finished"] = True
        except (BrokenPipeError, ConnectionResetError):
            pass
        handler.close_connection = True

    def handle(self, path: str, query: dict, body) -> tuple[int, dict | None]:
        raise NotImplementedError
