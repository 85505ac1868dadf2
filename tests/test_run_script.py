"""`bin/run` (what `make run` ends in): SIGTERM stops web, worker and beat, as Ctrl-C does."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="process groups as on Linux")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def static_root(tmp_path_factory):
    """The production static files, collected once for both cases (it takes ~40 s: every
    file compressed twice)."""
    folder = tmp_path_factory.mktemp("static")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))},
        "VAR_DIR": str(folder),
        "STATIC_ROOT": str(folder / "staticfiles"),
        "DEBUG": "false",
    }
    subprocess.run(
        [_python(), "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )
    return folder / "staticfiles"


def _python() -> str:
    venv = ROOT / ".venv/bin/python"
    return str(venv) if venv.exists() else sys.executable


@pytest.mark.parametrize("to", ["bin/run", "the whole process group"])
def test_sigterm_stops_every_process_within_ten_seconds(tmp_path, to, static_root):
    env = {
        "STATIC_ROOT": str(static_root),
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))},
        "VAR_DIR": str(tmp_path),
        "PORT": str(_free_port()),
        "DEBUG": "false",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CELERY_BROKER_URL": "filesystem://",
        "WEB_CONCURRENCY": "1",
        "WORKER_CONCURRENCY": "2",
    }
    subprocess.run(
        [_python(), "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120
    )
    log = tmp_path / "run.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            ["bin/run"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        # Running: the banner is out and the worker said it is ready.
        deadline = time.monotonic() + 90
        while not ("Quizfunnel is running" in log.read_text() and " ready." in log.read_text()):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        children = subprocess.run(
            ["ps", "-o", "pid=", "-g", str(process.pid)], capture_output=True, text=True
        ).stdout.split()
        assert len(children) >= 4  # bin/run, web, worker, beat (and their own children)

        if to == "bin/run":
            process.send_signal(signal.SIGTERM)  # as a process manager does
        else:
            # As `kill -TERM -PGID` or a terminal's hang-up: every process gets it at once,
            # and bin/run must outlive the repeated signal to finish stopping the others.
            os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            process.poll()
            if not _group_alive(process.pid):
                break
            time.sleep(0.1)
        assert not _group_alive(process.pid), subprocess.run(
            ["ps", "-o", "pid,cmd", "-g", str(process.pid)], capture_output=True, text=True
        ).stdout
        assert process.returncode == 0
    finally:
        if _group_alive(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
