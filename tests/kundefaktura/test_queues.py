"""Celery routes rendering and e-mail to queues of their own, so a slow render never delays an e-mail."""

from kundefaktura import celery_app
from kundefaktura.celery import TASK_QUEUE_ROLES, queue_for
from kundefaktura.queue import task_by_name


def _routed(name: str) -> str:
    return celery_app.amqp.router.route({}, name)["queue"].name


def test_each_task_goes_to_its_queue(settings):
    task_by_name("kundefaktura.ping")  # every app's tasks are registered
    tasks = sorted(n for n in celery_app.tasks if not n.startswith("celery."))
    expected = {n: "default" for n in tasks}
    expected |= {"offers.document_render": "render", "offers.email_prepare": "render", "offers.email_send": "email", "portal.login_link_send": "email"}
    assert set(TASK_QUEUE_ROLES) <= set(tasks), "a route names a task that does not exist"
    assert {n: _routed(n) for n in tasks} == expected
    assert {"billing.bulk_send_offer_item", "integrations.erp_export", "kundefaktura.outbox_sweep"} <= set(tasks)


def test_queue_names_follow_the_prefix_and_an_explicit_queue_wins(settings):
    settings.CELERY_QUEUE_NAMES = {r: f"kf-prod-{r}" for r in ("default", "render", "email")}
    assert queue_for("offers.email_send") == "kf-prod-email"
    assert _routed("offers.document_render") == "kf-prod-render"
    assert _routed("billing.reminders_send") == "kf-prod-default"
    assert celery_app.amqp.router.route({"queue": "elsewhere"}, "offers.email_send")["queue"].name == "elsewhere"


def test_a_killed_workers_task_comes_back(settings):
    # acks_late + reject on worker lost: a task is acknowledged only when it has finished, and Redis gives
    # an unacknowledged one to another worker after the visibility timeout (the topology test kills one).
    conf = celery_app.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost and conf.worker_prefetch_multiplier == 1
    assert conf.broker_transport_options["visibility_timeout"] == 3600
