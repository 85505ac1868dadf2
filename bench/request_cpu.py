"""Benchmark: the web side's CPU per kind of visitor request, old code against new.

The load benchmark (bench/load.py) says how much web CPU a completed run costs; this one
says where. Each visitor request of a hot run of the demo quiz (the intro, start, a
question, an htmx answer with the next card in it, the lead form, the lead submit, the
result) goes through the WSGI application itself, as gunicorn calls it (no test client),
on PostgreSQL (a throwaway database), with DEBUG off, and the process's own CPU time
(time.process_time: Python, templates, signing; not the database server's) and its SQL
statements are counted per kind.

With --against REV (default: the commit this branch started from) the code of REV is
unpacked (git archive) into a temporary directory and served by a second process on a
throwaway database of its own; the two processes take turns, one run each, for
--rounds rounds, so the shared machine's noise falls on both. It prints, per kind, the
median CPU ms old and new, the median of the paired ratios (new / old, same round), and
the statements per request.

    .venv/bin/python bench/request_cpu.py [--rounds 40] [--against REV | --alone]
    .venv/bin/python bench/request_cpu.py --profile [--rounds 20]   # cProfile per kind
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import defaultdict
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from harness import KINDS, kind_of, quiz_run, throwaway_database

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# The commit this work started from: the default "old" side.
BASELINE_REV = "294fe61"
# The target: every kind cheaper, none dearer (a paired ratio below 1).
TARGET = "< 1 (new cheaper than old)"


# --- the serving side (one process per version of the code) ---------------------------


class WsgiVisitor:
    """One browser with htmx, calling the WSGI application directly."""

    USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"

    def __init__(self, application, counter, profiler=None) -> None:
        self.application = application
        self.counter = counter
        self.profiler = profiler
        self.cookies: dict[str, str] = {}
        self.samples: list[tuple[str, float, int]] = []

    def request(self, method: str, path: str, form: dict | None = None, *, hx: bool = True):
        while True:
            parts = urlsplit(path)
            body = urlencode(form or {}, doseq=True).encode() if method == "POST" else b""
            environ = {
                "REQUEST_METHOD": method,
                "PATH_INFO": parts.path,
                "QUERY_STRING": parts.query,
                "SERVER_NAME": "localhost",
                "SERVER_PORT": "8105",
                "SERVER_PROTOCOL": "HTTP/1.1",
                "REMOTE_ADDR": "127.0.0.1",
                "HTTP_HOST": "localhost",
                "HTTP_USER_AGENT": self.USER_AGENT,
                "HTTP_ACCEPT": "text/html",
                "wsgi.url_scheme": "http",
                "wsgi.input": io.BytesIO(body),
                "wsgi.errors": sys.stderr,
                "wsgi.version": (1, 0),
                "wsgi.multithread": False,
                "wsgi.multiprocess": True,
                "wsgi.run_once": False,
            }
            if self.cookies:
                environ["HTTP_COOKIE"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            if hx:
                environ["HTTP_HX_REQUEST"] = "true"
                environ["HTTP_HX_CURRENT_URL"] = "http://localhost" + path
            if method == "POST":
                environ["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
                environ["CONTENT_LENGTH"] = str(len(body))
                environ["HTTP_ORIGIN"] = "http://localhost"
                environ["HTTP_REFERER"] = "http://localhost" + path
            kind = kind_of(method, path)
            captured: dict = {}

            def start_response(status, headers, exc_info=None, captured=captured):
                captured["status"] = int(status.split()[0])
                captured["headers"] = headers

            statements = self.counter.count
            if self.profiler is not None:
                self.profiler[kind].enable()
            started = time.process_time()
            result = self.application(environ, start_response)
            content = b"".join(result)
            if hasattr(result, "close"):
                result.close()
            cpu = time.process_time() - started
            if self.profiler is not None:
                self.profiler[kind].disable()
            self.samples.append((kind, cpu, self.counter.count - statements))
            status, headers = captured["status"], captured["headers"]
            if self.counter.show:
                print(f"^^^ {kind} {method} {path} {status}", file=sys.stderr)
            if status not in (200, 302):
                raise SystemExit(f"{kind} {path}: HTTP {status} {content[:300]!r}")
            location = None
            for name, value in headers:
                if name.lower() == "set-cookie":
                    for key, morsel in SimpleCookie(value).items():
                        self.cookies[key] = morsel.value
                elif name.lower() == "location":
                    location = value
            if status != 302:
                return content.decode()
            method, path, form = "GET", location, None

    def run(self, slug: str, answers: dict[int, list[str]]) -> None:
        """A complete hot run as a new visitor, as bench/load.py's visitors take it."""
        self.cookies = {}
        quiz_run(self.request, slug, answers)


class StatementCounter:
    def __init__(self, show: bool = False) -> None:
        self.count = 0
        self.show = show

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        if self.show:
            print(f"    SQL {sql[:160]}", file=sys.stderr)
        return execute(sql, params, many, context)


def serve(profile: bool, show_sql: bool = False) -> None:
    """Set up the demo quiz, then take a run for each line read; answer with its samples."""
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from django.db import connection
    from load import SLUG, hot_answers

    out = sys.stdout
    sys.stdout = sys.stderr  # only the samples go to the parent
    with throwaway_database():
        os.environ.setdefault("DEMO_ADMIN_PASSWORD", "bench-request-cpu-password")
        call_command("seed_demo", verbosity=0)
        answers = hot_answers()
        application = get_wsgi_application()
        counter = StatementCounter()
        profiler = None
        if profile:
            import cProfile

            profiler = defaultdict(cProfile.Profile)
        visitor = WsgiVisitor(application, counter, profiler)
        with connection.execute_wrapper(counter):
            for _ in range(3):  # warm: templates compiled, connections open, caches filled
                visitor.run(SLUG, answers)
            visitor.samples.clear()
            if profiler is not None:
                profiler.clear()
            if show_sql:
                counter.show = True
                visitor.run(SLUG, answers)
                return
            print("ready", file=out, flush=True)
            for line in sys.stdin:
                if line.strip() != "run":
                    break
                visitor.samples.clear()
                visitor.run(SLUG, answers)
                print(json.dumps(visitor.samples), file=out, flush=True)
        if profiler is not None:
            import pstats

            for kind in KINDS:
                if kind in profiler:
                    print(f"\n===== {kind} =====", file=sys.stderr)
                    stats = pstats.Stats(profiler[kind], stream=sys.stderr)
                    stats.sort_stats("cumulative").print_stats(45)
                    stats.sort_stats("tottime").print_stats(25)


# --- the comparing side ----------------------------------------------------------------


class Server:
    def __init__(self, root: Path, database: str, profile: bool = False, log=None) -> None:
        script = root / "bench" / "request_cpu.py"
        env = {**os.environ, "BENCH_DATABASE": database, "VAR_DIR": str(root / "var")}
        env.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
        command = [sys.executable, str(script), "--serve"] + (["--profile"] if profile else [])
        self.process = subprocess.Popen(
            command,
            cwd=root,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )

    def wait_ready(self) -> None:
        line = self.process.stdout.readline()
        if line.strip() != "ready":
            raise SystemExit(f"the server did not start: {line!r}")

    def run(self) -> list:
        self.process.stdin.write("run\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit("the server stopped")
        return json.loads(line)

    def stop(self) -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            self.process.stdin.write("stop\n")
            self.process.stdin.close()
        self.process.wait(120)


def unpack(rev: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "archive", "--format=tar", rev], cwd=ROOT, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    # The old tree serves with this script (it may not have it) and the harness it walks a
    # run with (bench/harness.py: the same setup, and the run's walker the old may lack).
    shutil.copy(Path(__file__), into / "bench" / "request_cpu.py")
    shutil.copy(HERE / "harness.py", into / "bench" / "harness.py")
    return into


def per_kind(samples: list) -> dict[str, tuple[float, float]]:
    """kind -> (mean CPU seconds of its requests in this run, mean statements)."""
    cpu, statements = defaultdict(list), defaultdict(list)
    for kind, seconds, count in samples:
        cpu[kind].append(seconds)
        statements[kind].append(count)
    kinds = {k: (statistics.mean(cpu[k]), statistics.mean(statements[k])) for k in cpu}
    kinds["whole run"] = (sum(s[1] for s in samples), sum(s[2] for s in samples))
    return kinds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--against", default=BASELINE_REV, help="the old code: a git revision")
    parser.add_argument("--alone", action="store_true", help="this code only, no comparison")
    parser.add_argument("--profile", action="store_true", help="cProfile per kind (this code)")
    parser.add_argument("--sql", action="store_true", help="print one run's statements")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve or args.sql:
        serve(args.profile, args.sql)
        return
    base = os.environ.get("BENCH_DATABASE", "quizfunnel_bench")
    with tempfile.TemporaryDirectory(prefix="qf-request-cpu-") as tmp:
        log = open(Path(tmp) / "servers.log", "w")  # noqa: SIM115
        servers = {
            "new": Server(ROOT, f"{base}_new", args.profile, sys.stderr if args.profile else log)
        }
        known = subprocess.run(
            ["git", "cat-file", "-e", f"{args.against}^{{commit}}"], cwd=ROOT, capture_output=True
        )
        if not (args.alone or args.profile) and known.returncode != 0:
            print(f"{args.against} is not in this clone (shallow?): this code alone.")
            args.alone = True
        if not (args.alone or args.profile):
            old_root = unpack(args.against, Path(tmp) / "old")
            servers["old"] = Server(old_root, f"{base}_old", log=log)
        try:
            for server in servers.values():
                server.wait_ready()
        except SystemExit:
            log.flush()
            print((Path(tmp) / "servers.log").read_text()[-3000:], file=sys.stderr)
            raise
        load = os.getloadavg()
        versions = list(servers)
        print(
            f"web CPU per request (process_time), hot runs of the demo quiz through the WSGI "
            f"application on PostgreSQL, htmx; {args.rounds} rounds, "
            + ("old and new interleaved" if len(versions) == 2 else "this code only")
            + f"; load average {load[0]:.1f}"
            + (f"; old = {args.against}" if "old" in servers else "")
        )
        rounds = defaultdict(list)  # version -> per-round per_kind
        try:
            for index in range(args.rounds):
                order = versions if index % 2 == 0 else versions[::-1]
                for version in order:
                    rounds[version].append(per_kind(servers[version].run()))
        finally:
            for server in servers.values():
                server.stop()
            log.close()
        report(rounds)


def report(rounds: dict) -> None:
    both = "old" in rounds
    if both:
        print(
            f"{'request':12s} {'old ms':>8s} {'new ms':>8s} {'new/old':>8s} "
            f"{'SQL old':>8s} {'SQL new':>8s}   target"
        )
    else:
        print(f"{'request':12s} {'CPU ms':>8s} {'SQL':>6s}")
    for kind in [*KINDS, "whole run"]:
        new = [r[kind] for r in rounds["new"] if kind in r]
        if not new:
            continue
        new_ms = statistics.median(c for c, _ in new) * 1000
        new_sql = statistics.median(s for _, s in new)
        if not both:
            print(f"{kind:12s} {new_ms:8.2f} {new_sql:6.0f}")
            continue
        old = [r[kind] for r in rounds["old"] if kind in r]
        old_ms = statistics.median(c for c, _ in old) * 1000
        old_sql = statistics.median(s for _, s in old)
        ratio = statistics.median(n[0] / o[0] for n, o in zip(new, old, strict=False))
        print(
            f"{kind:12s} {old_ms:8.2f} {new_ms:8.2f} {ratio:8.2f} {old_sql:8.0f} {new_sql:8.0f}"
            f"   {TARGET}: {'met' if ratio < 1 else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
