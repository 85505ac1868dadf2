"""The on-disk broker: a worker reading the queue while the web writes to it never
reads half a message (kombu's stock transport did, and the worker stopped)."""

import multiprocessing
import time
from queue import Empty

import pytest
from django.conf import settings
from kombu import Connection

from config.celery import app

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
