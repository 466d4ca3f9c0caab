"""docker-compose.yml validates with Compose itself, and has the production shape docs/operations.md
describes: the object store with its bucket made at start, stateless app containers that keep their
files there, one Celery worker per queue and exactly one beat."""

import shutil
import subprocess

import yaml
from django.conf import settings

from tests.conftest import REPO_ROOT, require_service

COMPOSE = REPO_ROOT / "docker-compose.yml"
QUEUES = {"render", "email", "default"}


def _compose_cli() -> list[str] | None:
    """`docker compose` (v2 plugin) when it is there, else Debian's `docker-compose` (v1); neither needs
    a running Docker engine to validate a file."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return ["docker-compose"] if shutil.which("docker-compose") else None


def test_compose_accepts_the_file():
    cli = _compose_cli()
    require_service("docker compose / docker-compose (make test installs docker-compose)", lambda: cli)
    result = subprocess.run([*cli, "-f", str(COMPOSE), "config", "-q"], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def _celery(service: dict, what: str) -> bool:
    return (service.get("command") or [])[:4] == ["celery", "-A", "kundefaktura", what]


def test_object_store_one_worker_per_queue_and_one_beat():
    services = yaml.safe_load(COMPOSE.read_text())["services"]

    workers = {}
    for name, service in services.items():
        if _celery(service, "worker"):
            command = service["command"]
            workers.setdefault(command[command.index("-Q") + 1], []).append(name)
    assert workers == {"render": ["worker-render"], "email": ["worker-email"], "default": ["worker-default"]}
    routed = {route["queue"] for route in (getattr(settings, "CELERY_TASK_ROUTES", None) or {}).values()
              if isinstance(route, dict) and "queue" in route}
    routed.add(getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "default"))
    assert routed <= set(workers), f"a queue the settings route to has no worker: {routed - set(workers)}"
    assert [name for name, service in services.items() if _celery(service, "beat")] == ["beat"]

    # MinIO, and a one-shot container that makes the (private) bucket before any app container starts.
    assert services["minio"]["image"].startswith("minio/minio")
    assert "healthcheck" in services["minio"]
    bucket_job = services["minio-bucket"]
    bucket = bucket_job["environment"]["BUCKET"]
    script = " ".join(bucket_job["command"])
    assert 'mc mb --ignore-existing "kf/$$BUCKET"' in script and 'mc anonymous set none "kf/$$BUCKET"' in script
    assert bucket_job["depends_on"]["minio"]["condition"] == "service_healthy"

    app = {name: s for name, s in services.items() if s.get("image") == "kundefaktura:latest"}
    assert {"web", "beat", "migrate", "worker-render", "worker-email", "worker-default"} <= set(app)
    for name, service in app.items():
        url = service["environment"]["STORAGE_URL"]
        assert url.startswith("${STORAGE_URL:-") and url.endswith("}"), name
        assert url[len("${STORAGE_URL:-"):-1].startswith(f"s3://{bucket}?endpoint_url=http://minio:9000"), name
        assert service["environment"]["AWS_ACCESS_KEY_ID"] and service["environment"]["AWS_SECRET_ACCESS_KEY"]
        assert service["depends_on"]["minio-bucket"]["condition"] == "service_completed_successfully", name
        assert not any("/app/var/media" in str(v) for v in service.get("volumes", [])), f"{name} keeps files on disk"
