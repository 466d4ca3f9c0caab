#!/usr/bin/env python
import os
import sys
from pathlib import Path

# Production sets SECRET_KEY and DATABASE_URL (and DEBUG off). A checkout with none of them, and no
# .env, is a developer's machine on the embedded defaults (SQLite in var/, eager tasks): run
# management commands there in development mode instead of refusing for a missing SECRET_KEY.
# The web servers (wsgi/asgi) never do this.
DEV_MARKERS = ("DEBUG", "SECRET_KEY", "DATABASE_URL")


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kundefaktura.settings")
    if not any(os.environ.get(name) for name in DEV_MARKERS) and not (Path(__file__).parent / ".env").exists():
        os.environ["DEBUG"] = "true"
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
