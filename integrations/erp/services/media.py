"""Where the ERP files (export batches, stored bank files) live: under MEDIA_ROOT."""

from pathlib import Path

from django.conf import settings


def media_path(rel: str) -> Path:
    return Path(settings.MEDIA_ROOT) / rel
