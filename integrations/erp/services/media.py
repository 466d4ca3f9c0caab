"""Where the ERP files (export batches, stored bank files) live: the project's storage
(`kundefaktura/storage.py`: the file system or an S3-compatible store), written once and read back by
name. A name recorded on a row is the one `stored_save` returned, which may differ from the one asked
for (a name is never reused)."""

from django.core.files import File
from django.core.files.storage import default_storage


def stored_save(name: str, content) -> str:
    """Store `content` (bytes or an open binary file) under `name` or a fresh variant; the name used."""
    if isinstance(content, bytes):
        from django.core.files.base import ContentFile

        content = ContentFile(content)
    elif not isinstance(content, File):
        content = File(content)
    return default_storage.save(name, content)


def stored_open(name: str):
    """The stored file opened for reading (binary). FileNotFoundError when it is not there."""
    if not name:
        raise FileNotFoundError("no file recorded")
    return default_storage.open(name, "rb")


def stored_read(name: str) -> bytes:
    with stored_open(name) as fh:
        return fh.read()
