"""The Celery app. Tasks live in the apps' tasks.py and are found by autodiscovery."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("quizfunnel")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _make_broker_folder(sender: Celery, **kwargs: object) -> None:
    # The on-disk broker needs its folders before the first message.
    options = sender.conf.broker_transport_options
    for key in ("data_folder_in", "control_folder"):
        if options.get(key):
            os.makedirs(options[key], exist_ok=True)
