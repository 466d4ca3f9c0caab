"""The Celery application. Tasks are thin: they take ids and call one service."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kundefaktura.settings")

app = Celery("kundefaktura")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="kundefaktura.ping")
def ping(value="pong"):
    """Round-trip check used by /healthz tooling and the worker test."""
    return value
