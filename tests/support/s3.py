"""A real S3 API on loopback for the tests: moto's server mode (`python -m moto.server`), not a mock object.

- `s3_server` (session): the server on a free port of 127.0.0.1. `s3_server.new_bucket()` creates an
  empty bucket; `s3_server.env(bucket)` is the environment that points a child process (manage.py,
  gunicorn, a Celery worker) at it: `STORAGE_URL` plus credentials, the same variables production uses.
- `s3_storage` (function): this test's settings store every file in a fresh bucket of that server, through
  the production backend (`kundefaktura.s3storage.WriteOnceS3Storage`); yields the bucket name.
"""

import itertools
import os
import uuid

import pytest

REGION = "eu-north-1"
# moto accepts any credentials; these never leave the machine.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "kundefaktura-test", "AWS_SECRET_ACCESS_KEY": "kundefaktura-test-secret"}


class S3Server:
    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self._n = itertools.count(1)

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])

    def new_bucket(self, prefix: str = "kf-test") -> str:
        name = f"{prefix}-{os.getpid()}-{next(self._n)}-{uuid.uuid4().hex[:6]}"
        self.client().create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        return name

    def storage_url(self, bucket: str) -> str:
        return f"s3://{bucket}?endpoint_url={self.endpoint}&region={REGION}"

    def env(self, bucket: str) -> dict:
        """Environment variables that select this bucket for a child process."""
        return {"STORAGE_URL": self.storage_url(bucket), **CREDENTIALS}

    def storage_options(self, bucket: str) -> dict:
        return {"bucket_name": bucket, "endpoint_url": self.endpoint, "region_name": REGION,
                "addressing_style": "path", "access_key": CREDENTIALS["AWS_ACCESS_KEY_ID"],
                "secret_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"]}

    def mirror(self, source: str, target: str) -> int:
        """Copy every object of `source` into `target` (what `aws s3 sync` or `mc mirror` does for a
        backup); the number of objects copied."""
        client, n = self.client(), 0
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=source):
            for obj in page.get("Contents", []):
                client.copy_object(Bucket=target, Key=obj["Key"], CopySource={"Bucket": source, "Key": obj["Key"]})
                n += 1
        return n

    def names(self, bucket: str) -> set[str]:
        """The key of every object of the bucket (a listing: no object is read)."""
        client = self.client()
        return {obj["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
                for obj in page.get("Contents", [])}

    def keys(self, bucket: str) -> dict[str, bytes]:
        """Every object of the bucket: {key: bytes}."""
        client = self.client()
        out = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                out[obj["Key"]] = client.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
        return out


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """moto's server in a process of its own (`python -m moto.server`), so the S3 traffic of the web
    processes and workers a system test starts does not compete with the test for one interpreter."""
    import socket
    import subprocess
    import sys
    import time

    from tests.conftest import free_port

    port = free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        end = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > end:
                    raise RuntimeError(f"moto's S3 server did not start on port {port}") from None
                time.sleep(0.05)
        yield S3Server(f"http://127.0.0.1:{port}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def s3_storage(s3_server, settings):
    bucket = s3_server.new_bucket()
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "kundefaktura.s3storage.WriteOnceS3Storage", "OPTIONS": s3_server.storage_options(bucket)}}
    return bucket
