"""The S3 backend of `kundefaktura.storage` (django-storages), written once.

A module of its own so that a file-system installation never imports boto3. Settings pass the options
parsed from `STORAGE_URL` (or the `AWS_*` variables); credentials come from boto3's usual chain
(`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, a profile, an instance role).
"""

from __future__ import annotations

import os

from botocore.config import Config
from botocore.exceptions import ClientError
from django.core.exceptions import ImproperlyConfigured
from storages.backends.s3 import S3Storage
from storages.utils import ReadBytesWrapper, clean_name, is_seekable

from .storage import WriteOnceMixin

# What an S3-compatible store answers when `If-None-Match: *` finds the key taken (AWS and MinIO: 412;
# AWS while another conditional write to the key is in flight: 409).
_TAKEN = {"PreconditionFailed", "ConditionalRequestConflict"}


class WriteOnceS3Storage(WriteOnceMixin, S3Storage):
    """S3 objects are created with a conditional PUT (`If-None-Match: *`): the store itself refuses to
    replace a key, so the existence check before it is a courtesy, not the guarantee. Nothing is public:
    files are read back by the app (`open`) and streamed through its permission-checked views."""

    def __init__(self, **options):
        if options.get("file_overwrite"):
            raise ImproperlyConfigured("stored files are written once: file_overwrite cannot be set")
        options["file_overwrite"] = False
        options.setdefault("default_acl", None)  # the bucket's policy (private), no per-object ACL
        options.setdefault("querystring_auth", True)  # a URL, should one be made, is signed and expires
        super().__init__(**options)
        if "client_config" not in options:
            # Path-style addressing unless told otherwise (MinIO and Ceph behind one host name), and
            # checksums only where S3 requires them, which every S3-compatible store understands.
            self.client_config = Config(
                s3={"addressing_style": self.addressing_style or "auto"},
                signature_version=self.signature_version or "s3v4",
                proxies=self.proxies,
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                # A store that does not answer fails a request (and /healthz) in seconds, not minutes.
                connect_timeout=5, read_timeout=60, retries={"mode": "standard", "max_attempts": 3},
            )

    def check_reachable(self) -> None:
        """Raise unless the bucket exists and these credentials may use it (one HEAD request)."""
        self.bucket.meta.client.head_bucket(Bucket=self.bucket_name)

    def _save(self, name, content):
        while True:
            try:
                return self._create(name, content)
            except FileExistsError:
                # Taken between get_available_name() and the PUT (another process): pick another name.
                name = self.get_available_name(name)

    def _create(self, name, content):
        cleaned = clean_name(name)
        key = self._normalize_name(cleaned)
        params = self._get_write_parameters(key, content)
        if is_seekable(content):
            content.seek(0, os.SEEK_SET)
        # A single PUT (up to 5 GB; our files are far smaller): the only upload that S3 makes conditional.
        try:
            self.bucket.meta.client.put_object(Bucket=self.bucket_name, Key=key,
                                               Body=ReadBytesWrapper(content), IfNoneMatch="*",
                                               **params)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _TAKEN:
                raise FileExistsError(key) from exc
            raise
        return cleaned
