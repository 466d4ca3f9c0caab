"""Stored files (documents, ERP export batches, bank files, uploads): Django's storage API, written once.

`STORAGES["default"]` is one of two backends with the same rule (settings pick one; `docs/operations.md`
says how):

- `WriteOnceFileSystemStorage`: files under `MEDIA_ROOT` (one machine; `make run`);
- `kundefaktura.s3storage.WriteOnceS3Storage`: any S3-compatible object store (AWS, MinIO, Ceph) when
  `STORAGE_URL` or `AWS_STORAGE_BUCKET_NAME` is set — every web node and worker sees the same files.

The rule, in one place (`WriteOnceMixin`): a stored file's bytes are never replaced. `save()` gives a
name already taken a new one (`…_<random>.pdf`; the caller records the name it gets back), the write
itself only creates (the file system opens with O_EXCL, S3 sends `If-None-Match: *`), so two processes
racing for one name cannot replace each other's bytes either, and `open()` refuses every write mode.
Code reads files with `storage.open(name)`, never by path (`.path()` does not exist on S3).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import FileSystemStorage, default_storage


class WriteOnceError(PermissionError):
    """A stored file was about to be changed in place."""


class WriteOnceMixin:
    """Write once, read many: see the module docstring. Mixed into each backend before the backend."""

    def open(self, name, mode="rb"):
        if set(mode) & set("wax+"):
            raise WriteOnceError(f"stored files are written once through save(), never opened for writing "
                                 f"({name!r}, mode {mode!r})")
        return super().open(name, mode)


class WriteOnceFileSystemStorage(WriteOnceMixin, FileSystemStorage):
    """Files under MEDIA_ROOT; Django's own O_EXCL create, with overwriting switched off for good."""

    def __init__(self, *args, allow_overwrite=False, **kwargs):
        if allow_overwrite:
            raise ImproperlyConfigured("stored files are written once: allow_overwrite cannot be set")
        super().__init__(*args, allow_overwrite=False, **kwargs)

    def check_reachable(self) -> None:
        """Raise unless files can be stored: MEDIA_ROOT (or the folder it will be made in) is writable."""
        folder = Path(self.location)
        while not folder.exists():
            folder = folder.parent
        if not (folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)):
            raise PermissionError(f"{folder} is not a writable folder")


def stored_sha256(name: str, storage=None) -> str:
    """SHA-256 (hex) of a stored file, read in chunks. FileNotFoundError when it is not there."""
    with (storage or default_storage).open(name, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def stored_check(name: str, sha256: str, storage=None) -> str:
    """"ok", "missing" or "mismatch": does the stored file `name` still hold the bytes whose SHA-256
    was recorded when it was written?"""
    if not name:
        return "missing"
    try:
        actual = stored_sha256(name, storage)
    except FileNotFoundError:
        return "missing"
    return "ok" if actual == sha256 else "mismatch"
