"""The on-disk broker: a worker reading the queue while the web writes to it never
reads half a message (kombu's stock transport did, and the worker stopped)."""

import multiprocessing
import threading
import time
from queue import Empty

import pytest
from django.conf import settings
from kombu import Connection

from config.celery import app
from tests.fakes.celery_worker import worker_start, worker_stop

MESSAGES = 1500
PAD = "x" * 20_000  # big enough that writing a message takes a while
TRANSPORT = "core.broker:Transport"


def _options(folder: str) -> dict:
    return {
        "data_folder_in": folder,
        "data_folder_out": folder,
        "store_processed": False,
        "control_folder": folder + "-control",
    }


def _produce(folder: str) -> None:
    with Connection(
        "filesystem://", transport=TRANSPORT, transport_options=_options(folder)
    ) as connection:
        channel = connection.channel()
        for number in range(MESSAGES):
            channel._put("celery", {"number": number, "pad": PAD})


def test_a_reader_racing_a_writer_gets_every_message_whole(tmp_path):
    folder = tmp_path / "queue"
    folder.mkdir()
    writer = multiprocessing.get_context("spawn").Process(target=_produce, args=(str(folder),))
    writer.start()
    read = []
    deadline = time.monotonic() + 120
    with Connection(
        "filesystem://", transport=TRANSPORT, transport_options=_options(str(folder))
    ) as connection:
        channel = connection.channel()
        while len(read) < MESSAGES and time.monotonic() < deadline:
            try:
                # A file read before it is whole raises a JSON error here: the test fails.
                read.append(channel._get("celery")["number"])
            except Empty:
                continue  # read again at once: the reader races the writer
    writer.join(30)
    assert writer.exitcode == 0
    assert sorted(read) == list(range(MESSAGES))


def test_the_default_broker_uses_it():
    if not settings.CELERY_BROKER_URL.startswith("filesystem://"):
        pytest.skip("a broker other than the on-disk one is configured")
    assert app.connection_for_write().transport_cls == TRANSPORT


def test_the_worker_starts_on_it_without_a_hostname_warning(tmp_path):
    # kombu's virtual transports default to "localhost": the worker and the scheduler
    # logged "No hostname was supplied. Reverting to default 'localhost'" at each start.
    worker = worker_start(
        "INFO", log=True, VAR_DIR=str(tmp_path), CELERY_BROKER_URL="filesystem://"
    )
    log = []
    stuck = threading.Timer(60, worker_stop, (worker,))  # never ready
    stuck.start()
    try:
        for line in worker.stdout:  # up to "ready.": it has connected to the broker
            log.append(line)
            if " ready." in line:
                break
    finally:
        stuck.cancel()
        worker_stop(worker)
    text = "".join(log)
    assert "Connected to core.broker:Transport" in text, text
    assert "No hostname was supplied" not in text


def test_kombus_warning_is_not_silenced_only_not_called_for(caplog, tmp_path):
    # The transport has no host to fall back to; kombu's logger still warns for one that
    # does (its stock filesystem transport), so no other warning is hidden.
    options = _options(str(tmp_path))
    Connection("filesystem://", transport=TRANSPORT, transport_options=options).info()
    assert "No hostname was supplied" not in caplog.text
    Connection("filesystem://", transport_options=options).info()
    assert "No hostname was supplied. Reverting to default 'localhost'" in caplog.text
