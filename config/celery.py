"""The Celery app. Tasks live in the apps' tasks.py and are found by autodiscovery."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("quizfunnel")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _make_broker_folder(sender: Celery, **kwargs: object) -> None:
    # The on-disk broker needs its folder before the first message.
    folder = sender.conf.broker_transport_options.get("data_folder_in")
    if folder:
        os.makedirs(folder, exist_ok=True)
