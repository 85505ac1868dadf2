"""Benchmark: idle connections against gunicorn's workers, sync workers against the
threaded ones `make run` uses (config/gunicorn.py).

For each, gunicorn starts with 2 workers on a free port (production settings, DEBUG
off) and a normal request (GET /favicon.ico, through a worker, no database) is timed:

1. with nothing else open;
2. with one raw socket per worker connected and idle, nothing sent (a browser's
   preconnect, or a slow client);
3. with one socket per worker that sent a full keep-alive request, read its answer and
   stays open.

A sync worker blocks reading the idle socket until gunicorn's timeout (30 s) kills it;
a gthread worker keeps idle sockets in its poller and answers at once.

    .venv/bin/python bench/idle_connections.py
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 2
MODES = {
    # threads 1 too: gunicorn turns sync workers with threads into gthread ones.
    "sync workers (make run before)": ["--worker-class", "sync", "--threads", "1"],
    "gthread workers (make run now)": [],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed_get(port: int) -> float:
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=90)
    conn.request("GET", "/favicon.ico")
    response = conn.getresponse()
    response.read()
    conn.close()
    assert response.status == 200, response.status
    return time.perf_counter() - start


def idle_sockets(port: int, *, after_request: bool) -> list[socket.socket]:
    sockets = []
    for _ in range(WORKERS):
        s = socket.create_connection(("127.0.0.1", port))
        if after_request:
            s.sendall(
                b"GET /favicon.ico HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n"
            )
            s.settimeout(90)
            s.recv(65536)  # the answer (or its start); the socket then stays open
        sockets.append(s)
    time.sleep(0.5)  # let the workers accept them
    return sockets


def run(name: str, extra: list[str], workdir: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DEBUG": "false",
        "VAR_DIR": str(workdir),
        "HTTPS": "false",
        "WEB_CONCURRENCY": str(WORKERS),
    }
    command = [ROOT / ".venv/bin/gunicorn", "config.wsgi", "--config", "config/gunicorn.py"]
    command += ["--bind", f"127.0.0.1:{port}", "--access-logfile", "/dev/null", *extra]
    with open(workdir / f"web-{port}.log", "w") as log:
        web = subprocess.Popen(command, cwd=ROOT, env=env, stderr=log)
    try:
        for _ in range(300):
            try:
                timed_get(port)
                break
            except OSError:
                time.sleep(0.2)
        print(f"{name}:")
        print(f"  nothing idle:                         {timed_get(port) * 1000:8.0f} ms")
        for label, after in (
            ("connected, nothing sent", False),
            ("after a keep-alive request", True),
        ):
            sockets = idle_sockets(port, after_request=after)
            seconds = timed_get(port)
            print(f"  {WORKERS} idle sockets, {label + ':':29} {seconds * 1000:8.0f} ms")
            for s in sockets:
                s.close()
            time.sleep(1)
            timed_get(port)  # the workers are back (a killed one restarted)
    finally:
        web.terminate()
        web.wait(timeout=20)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name, extra in MODES.items():
            run(name, extra, Path(tmp))


if __name__ == "__main__":
    sys.exit(main())
