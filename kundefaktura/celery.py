"""The Celery application. Tasks are thin: they take ids and call one service.

Tasks go to three queues so one kind of work never waits behind another: `render` (PDFs, slow and
CPU-bound), `email` (customer e-mails, must go out promptly) and `default` (everything else). The
router reads the queue names from the settings at publish time (`CELERY_QUEUE_NAMES`), so an operator
can prefix them (`CELERY_QUEUE_PREFIX`) to share one Redis between installations.
"""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

from . import logs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kundefaktura.settings")

app = Celery("kundefaktura")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

QUEUE_ROLES = ("default", "render", "email")

# Task name → queue role; every task not named here goes to `default`.
TASK_QUEUE_ROLES = {
    "offers.document_render": "render",
    "offers.email_prepare": "render",
    "offers.email_send": "email",
    "portal.login_link_send": "email",
}


def queue_for(task_name: str) -> str:
    """The queue (its configured name) a task called `task_name` is published to."""
    from django.conf import settings

    names = getattr(settings, "CELERY_QUEUE_NAMES", None) or {}
    role = TASK_QUEUE_ROLES.get(task_name, "default")
    return names.get(role) or settings.CELERY_TASK_DEFAULT_QUEUE


def route_task(name, args, kwargs, options, task=None, **kw):
    """Celery router (settings.CELERY_TASK_ROUTES): an explicit `queue=` given by the caller wins."""
    if options.get("queue"):
        return None
    return {"queue": queue_for(name)}


_task_log_tokens: dict = {}


@task_prerun.connect
def _bind_task_log_context(task_id=None, task=None, **kw):
    """Every line a task logs carries the task name and id (and the basis once a service binds it)."""
    _task_log_tokens[task_id] = logs.bind(task=getattr(task, "name", None), task_id=task_id)


@task_postrun.connect
def _reset_task_log_context(task_id=None, **kw):
    token = _task_log_tokens.pop(task_id, None)
    if token is not None:
        logs.reset(token)


@task_prerun.connect
@task_postrun.connect
def _database_connection_rules(task=None, **kw):
    """Around every task a worker runs: Django's rules for keeping a database connection, as around a
    web request — a connection past CONN_MAX_AGE, broken, or left inside a transaction is closed, any
    other is kept for the next task (settings.CELERY_DB_REUSE_MAX). A task run eagerly inside a request
    or a test is left alone: its connection is the caller's."""
    if getattr(getattr(task, "request", None), "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


@app.task(name="kundefaktura.ping")
def ping(value="pong"):
    """Round-trip check used by /healthz tooling and the worker test."""
    return value
