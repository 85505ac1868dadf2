"""Benchmark: the real stack under load, as visitors meet it.

Starts what `make run` starts, production-like: gunicorn (4 sync workers) serving the
app, a Celery worker and Celery beat, on PostgreSQL (a throwaway database,
BENCH_DATABASE) and Redis (CELERY_BROKER_URL, else redis://127.0.0.1:6379/0; the cache
too). Then N concurrent visitors (threads, each a new visitor with a cookie jar of its
own per run) take complete hot runs of the demo quiz over loopback for a fixed time:
the intro, start, every question shown and answered with the answers that score
highest, the lead form, the result. With --htmx (the default) each request carries
`HX-Request` as htmx sends it, so an answer is one round trip; --no-htmx is the
browser without JavaScript (post/redirect/get).

It prints completed runs per second, latency per kind of request at the client
(p50/p95/p99) beside the server's own time for it (gunicorn's access log, %(M)s),
errors, and CPU seconds per completed run for web (gunicorn and its workers), worker
(Celery worker and beat) and database (the PostgreSQL backends connected to the
benchmark's database; shared server processes such as the WAL writer are not
counted), read from /proc/<pid>/stat (utime + stime) at the start and end of the
measured window. The load generator's own CPU is printed too: it runs on the same
cores.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/load.py
    .venv/bin/python bench/load.py --visitors 20 --seconds 30 [--no-htmx] [--smoke]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from harness import KINDS, ROOT, RunFailed, kind_of, quiz_run, throwaway_database

BIN = Path(sys.executable).parent
SLUG = "marketing-measurement"
# The measurement before this work (20 visitors, 4 web workers, 2 cores).
BASELINE = {"runs_per_s": 2.2, "p50_ms": 348, "p99_ms": 1100}
# CPU seconds per completed run measured before the visitor path was made cheaper
# (bench/request_cpu.py): the figures this run's are read against.
CPU_BEFORE = {"web": 0.317, "worker": 0.036, "database": 0.059}
TICK = os.sysconf("SC_CLK_TCK")


# --- the stack ---------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379), timeout=1):
            return True
    except OSError:
        return False


@dataclass
class Stack:
    port: int
    web: subprocess.Popen
    worker: subprocess.Popen
    beat: subprocess.Popen
    access_log: Path
    broker: str

    def stop(self) -> None:
        for process in (self.web, self.worker, self.beat):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in (self.web, self.worker, self.beat):
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _port_in(spec: str) -> int:
    """A free port: `spec` is one ("8150") or a range ("8150-8159"); "" any free one."""
    if not spec:
        return _free_port()
    low, _, high = spec.partition("-")
    for port in range(int(low), int(high or low) + 1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit(f"no free port in {spec}")


def start_stack(database_url: str, workdir: Path, web_workers: int, ports: str = "") -> Stack:
    from django.conf import settings

    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis"):
        broker = "redis://127.0.0.1:6379/0"
    if not _reachable(broker):
        print(f"Redis at {broker} does not answer: the on-disk broker stands in for it.")
        broker = "filesystem://"
    port = _port_in(ports)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker,
        "CACHE_URL": broker if broker.startswith("redis") else "",
        "AUTOMATIONS_QUEUE": "true",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "VAR_DIR": str(workdir),
        "STATIC_ROOT": str(settings.STATIC_ROOT),
        "SITE_URL": f"http://127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
    }
    access_log = workdir / "access.log"
    common = {"cwd": ROOT, "env": env, "start_new_session": True}
    web = subprocess.Popen(
        [
            BIN / "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(web_workers),
            "--graceful-timeout",
            "5",
            "--access-logfile",
            str(access_log),
            "--access-logformat",
            "%(m)s %(U)s %(s)s %(M)s",
        ],
        stdout=open(workdir / "web.log", "w"),  # noqa: SIM115 (closed with the process)
        stderr=subprocess.STDOUT,
        **common,
    )
    worker = subprocess.Popen(
        [BIN / "celery", "-A", "config", "worker", "--concurrency", "2", "--loglevel", "WARNING"],
        stdout=open(workdir / "worker.log", "w"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
        **common,
    )
    beat = subprocess.Popen(
        [BIN / "celery", "-A", "config", "beat", "--loglevel", "WARNING"],
        stdout=open(workdir / "beat.log", "w"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
        **common,
    )
    stack = Stack(port, web, worker, beat, access_log, broker)
    deadline = time.monotonic() + 90
    while True:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", f"/q/{SLUG}/")
            if connection.getresponse().status == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline or web.poll() is not None:
            stack.stop()
            raise SystemExit(f"gunicorn did not start; see {workdir / 'web.log'}")
        time.sleep(0.3)
    return stack


# --- CPU from /proc ------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, int, int] | None:
    """(ppid, utime + stime in ticks, start time in ticks since boot)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[19])


def _tree(root: int) -> set[int]:
    children = defaultdict(list)
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))):
            children[stat[0]].append(int(entry))
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo.extend(children[pid])
    return found


class CpuMeter:
    """Samples the CPU ticks of each group's processes; a process seen first during the
    window counts from zero if it started in it, else from its first sample."""

    def __init__(self, groups) -> None:
        self.groups = groups  # name -> callable returning pids
        self.base: dict[int, int] = {}
        self.last: dict[int, int] = {}
        self.owner: dict[int, str] = {}
        self.window_start_ticks = 0
        self.running = False
        self.lock = threading.Lock()

    def _uptime_ticks(self) -> int:
        return int(float(Path("/proc/uptime").read_text().split()[0]) * TICK)

    def sample(self) -> None:
        with self.lock:
            for name, pids in self.groups.items():
                for pid in pids():
                    stat = _stat(pid)
                    if stat is None:
                        continue
                    if pid not in self.base:
                        born_inside = stat[2] >= self.window_start_ticks
                        self.base[pid] = 0 if born_inside else stat[1]
                        self.owner[pid] = name
                    self.last[pid] = stat[1]

    def start(self) -> None:
        self.window_start_ticks = self._uptime_ticks()
        self.sample()
        self.running = True
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        while self.running:
            time.sleep(0.5)
            if self.running:
                self.sample()

    def stop(self) -> dict[str, float]:
        self.sample()
        self.running = False
        seconds: dict[str, float] = defaultdict(float)
        for pid, ticks in self.last.items():
            seconds[self.owner[pid]] += (ticks - self.base[pid]) / TICK
        return seconds


def _database_backends(database: str):
    """Pids of the PostgreSQL backends connected to `database` (not this process's)."""
    import psycopg
    from django.db import connection

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    params["dbname"] = "postgres"
    monitor = psycopg.connect(**params, autocommit=True)
    lock = threading.Lock()

    def pids() -> list[int]:
        with lock:
            rows = monitor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", [database]
            ).fetchall()
        return [row[0] for row in rows]

    return pids, monitor


# --- the visitors --------------------------------------------------------------------


@dataclass
class Sample:
    kind: str
    ended: float
    seconds: float
    ok: bool


@dataclass
class Results:
    samples: list[Sample] = field(default_factory=list)
    runs: list[float] = field(default_factory=list)  # when each run completed
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Visitor:
    """One browser: a keep-alive connection, a cookie jar, htmx's headers or none."""

    def __init__(self, port: int, htmx: bool, results: Results) -> None:
        self.origin = f"http://127.0.0.1:{port}"
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.htmx = htmx
        self.results = results
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None, *, hx: bool = True):
        """One request, then each redirect as its own request; the last response."""
        while True:
            headers = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36"}
            if self.cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            if self.htmx and hx:
                headers["HX-Request"] = "true"
                headers["HX-Current-URL"] = self.origin + path
            body = None
            if method == "POST":
                headers["Content-Type"] = "application/x-www-form-urlencoded"
                headers["Origin"] = self.origin
                headers["Referer"] = self.origin + path
                body = urlencode(form or {}, doseq=True)
            kind = kind_of(method, path)
            started = time.perf_counter()
            try:
                self.connection.request(method, path, body, headers)
                response = self.connection.getresponse()
                content = response.read().decode()
            except (OSError, http.client.HTTPException) as error:
                self.connection.close()
                self._note(kind, started, False)
                raise RunFailed(f"{kind}: {error!r}") from None
            ok = response.status in (200, 302)
            self._note(kind, started, ok)
            if not ok:
                raise RunFailed(f"{kind}: HTTP {response.status} {content[:200]!r}")
            for header in response.msg.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            if response.status != 302:
                return content
            method, path, form = "GET", response.getheader("Location"), None

    def _note(self, kind: str, started: float, ok: bool) -> None:
        now = time.perf_counter()
        with self.results.lock:
            self.results.samples.append(Sample(kind, now, now - started, ok))

    def run(self, answers: dict[int, list[str]]) -> None:
        """A complete hot run, intro to result, as a new visitor."""
        self.cookies = {}
        quiz_run(self.request, SLUG, answers)


def hot_answers() -> dict[int, list[str]]:
    """The answer to each demo question that scores most: the run ends in the top tier."""
    from quizzes.models import Question

    answers = {}
    for question in Question.objects.filter(quiz__slug=SLUG).prefetch_related("choices"):
        choices = sorted(question.choices.all(), key=lambda c: c.points, reverse=True)
        if question.kind == Question.Kind.MULTIPLE:
            answers[question.pk] = [str(c.pk) for c in choices if c.points > 0]
        elif question.kind in Question.CHOICE_KINDS:
            answers[question.pk] = [str(choices[0].pk)]
        elif question.kind == Question.Kind.RATING:
            answers[question.pk] = [str(question.rating_max)]
        else:
            answers[question.pk] = ["We would like to measure everything."]
    return answers


def visit(
    port: int, htmx: bool, answers, results: Results, stop: threading.Event, delay: float
) -> None:
    visitor = Visitor(port, htmx, results)
    time.sleep(delay)  # staggered: visitors arrive one after another, not in step
    while not stop.is_set():
        try:
            visitor.run(answers)
        except RunFailed as error:
            with results.lock:
                results.failures.append(str(error))
            time.sleep(0.2)
            continue
        with results.lock:
            results.runs.append(time.perf_counter())


# --- figures -------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def server_times(log: Path, start: int, end: int) -> dict[str, list[float]]:
    times = defaultdict(list)
    with log.open("rb") as handle:
        handle.seek(start)
        for line in handle.read(end - start).decode(errors="replace").splitlines():
            parts = line.split()
            if len(parts) == 4 and parts[3].isdigit():
                times[kind_of(parts[0], parts[1])].append(int(parts[3]) / 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visitors", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30, help="the measured window")
    parser.add_argument("--warmup", type=float, default=10)
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--htmx", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--smoke", action="store_true", help="a few seconds: it still runs")
    parser.add_argument(
        "--port", default="", help="gunicorn's port, or a range to take a free one from"
    )
    args = parser.parse_args()
    if args.smoke:
        args.visitors, args.seconds, args.warmup = min(args.visitors, 3), 3, 1

    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count

    from automations.models import Delivery
    from leads.models import Lead

    with throwaway_database(), tempfile.TemporaryDirectory(prefix="qf-load-") as tmp:
        # With its users: the demo's e-mail rule assigns each hot lead to Sales and
        # e-mails its owner.
        os.environ.setdefault("DEMO_ADMIN_PASSWORD", f"bench-{uuid.uuid4()}")
        call_command("seed_demo", verbosity=0)
        answers = hot_answers()
        name = connection.settings_dict["NAME"]
        database_url = urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{name}").geturl()
        connection.close()  # the stack's connections are the ones measured
        stack = start_stack(database_url, Path(tmp), args.web_workers, args.port)
        backends, monitor = _database_backends(name)
        try:
            mode = "htmx (one round trip per answer)" if args.htmx else "no JavaScript (PRG)"
            print(
                f"stack: gunicorn {args.web_workers} workers, Celery worker (2) and beat, "
                f"PostgreSQL, broker {stack.broker.split('://')[0]}; "
                f"{os.cpu_count()} CPUs (shared with whatever else runs)"
            )
            print(
                f"load: {args.visitors} visitors, hot runs of the demo quiz, {mode}, "
                f"{args.seconds:g} s measured after {args.warmup:g} s warm-up"
            )
            results, stop = Results(), threading.Event()
            spread = args.warmup / 2 / args.visitors
            threads = [
                threading.Thread(
                    target=visit,
                    args=(stack.port, args.htmx, answers, results, stop, i * spread),
                    daemon=True,
                )
                for i in range(args.visitors)
            ]
            for thread in threads:
                thread.start()
            time.sleep(args.warmup)
            meter = CpuMeter(
                {
                    "web": lambda: _tree(stack.web.pid),
                    "worker": lambda: _tree(stack.worker.pid) | _tree(stack.beat.pid),
                    "database": backends,
                    "client": lambda: [os.getpid()],
                }
            )
            log_start = stack.access_log.stat().st_size
            window_start = time.perf_counter()
            meter.start()
            time.sleep(args.seconds)
            cpu = meter.stop()
            window_end = time.perf_counter()
            log_end = stack.access_log.stat().st_size
            stop.set()
            for thread in threads:
                thread.join(60)
            report(
                results,
                window_start,
                window_end,
                cpu,
                server_times(stack.access_log, log_start, log_end),
            )
            # Nothing lost: every run that finished left its lead; the worker drains the
            # outbox (the e-mail rule's assignment and e-mail for each hot lead).
            connection.connect()
            leads = Lead.objects.count()
            deadline = time.monotonic() + (5 if args.smoke else 30)
            while (
                time.monotonic() < deadline
                and Delivery.objects.filter(
                    status__in=[Delivery.Status.PENDING, Delivery.Status.WAITING]
                ).exists()
            ):
                time.sleep(0.5)
            statuses = dict(
                Delivery.objects.values_list("status").annotate(n=Count("pk")).order_by()
            )
            print(
                f"leads written: {leads} (runs completed: {len(results.runs)}, "
                "warm-up and unfinished runs included in leads)"
            )
            print(f"deliveries after draining: {statuses}")
            dead = Delivery.objects.filter(status=Delivery.Status.DEAD).first()
            if dead is not None:
                print(f"a dead delivery: {dead.action.kind}: {dead.last_error}")
        finally:
            monitor.close()
            stack.stop()
            connection.close()


def report(results: Results, start: float, end: float, cpu: dict, server: dict) -> None:
    seconds = end - start
    inside = [s for s in results.samples if start <= s.ended <= end]
    runs = sum(start <= t <= end for t in results.runs)
    rate = runs / seconds
    print(
        f"completed runs: {runs} in {seconds:.1f} s = {rate:.2f} runs/s "
        f"(issue's baseline {BASELINE['runs_per_s']} runs/s: "
        f"{'better' if rate > BASELINE['runs_per_s'] else 'NOT better'})"
    )
    print(
        f"{'request':12s} {'count':>6s} {'p50 ms':>8s} {'p95 ms':>8s} {'p99 ms':>8s} "
        f"{'server p50':>10s} {'server p95':>10s} {'errors':>6s}"
    )
    rows = [(kind, [s for s in inside if s.kind == kind]) for kind in KINDS]
    rows.append(("all", inside))
    for kind, samples in rows:
        if not samples:
            continue
        times = [s.seconds for s in samples]
        errors = sum(not s.ok for s in samples)
        on_server = server.get(kind) if kind != "all" else [t for v in server.values() for t in v]
        server_cells = (
            f"{percentile(on_server, 50) * 1000:10.1f} {percentile(on_server, 95) * 1000:10.1f}"
            if on_server
            else f"{'–':>10s} {'–':>10s}"
        )
        print(
            f"{kind:12s} {len(samples):6d} {percentile(times, 50) * 1000:8.1f} "
            f"{percentile(times, 95) * 1000:8.1f} {percentile(times, 99) * 1000:8.1f} "
            f"{server_cells} {errors:6d}"
        )
    every = [s.seconds for s in inside] or [0.0]
    p50, p99 = percentile(every, 50) * 1000, percentile(every, 99) * 1000
    print(
        f"all requests at the client: p50 {p50:.0f} ms, p99 {p99:.0f} ms "
        f"(issue's baseline p50 {BASELINE['p50_ms']} ms, p99 {BASELINE['p99_ms']} ms)"
    )
    failures = results.failures
    print(f"errors: {len(failures)} failed runs" + (f"; first: {failures[0]}" if failures else ""))
    if runs:
        # No figure for a group none of whose processes could be read (a database server
        # on another machine): n/a, not zero.
        parts = ", ".join(
            f"{name} {cpu[name] / runs:.3f}" if name in cpu else f"{name} n/a"
            for name in ("web", "worker", "database")
        )
        print(
            f"CPU seconds per completed run: {parts} "
            f"(load generator {cpu.get('client', 0.0) / runs:.3f}, same machine)"
        )
        before = ", ".join(f"{name} {seconds:.3f}" for name, seconds in CPU_BEFORE.items())
        web = cpu.get("web", 0.0) / runs
        print(
            f"  against before (target: less web CPU per run): {before}; web now "
            f"{web / CPU_BEFORE['web']:.2f} of before: "
            f"{'met' if web < CPU_BEFORE['web'] else 'NOT met'}"
        )
        used = sum(cpu.get(name, 0.0) for name in ("web", "worker", "database", "client"))
        cores = os.cpu_count() or 1
        print(
            f"CPU per run, all four together: {used / runs:.3f} s: on {cores} cores of its own "
            f"this stack could complete at most {cores * runs / used:.1f} runs/s (the ceiling a "
            "shared machine's runs/s is measured against)"
        )
    if inside:
        per_request = ", ".join(
            f"{name} {cpu.get(name, 0.0) / len(inside) * 1000:.1f}"
            for name in ("web", "worker", "database")
        )
        print(f"CPU ms per request served in the window: {per_request}")


if __name__ == "__main__":
    main()
