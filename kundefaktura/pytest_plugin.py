"""Environment for the test suite, loaded by pytest before Django's settings.

pytest-django configures Django in its (tryfirst) `pytest_load_initial_conftests` hook, before any
conftest.py is imported, so variables the settings read must be set by a plugin that pytest loads
earlier: this module, named with `-p kundefaktura.pytest_plugin` in pyproject's addopts.

KF_TESTING lets the settings start without a SECRET_KEY and keeps cookies usable over plain http;
DJANGO_ALLOW_ASYNC_UNSAFE lets live_server tests use the ORM beside Playwright's event loop.
"""

import os

os.environ.setdefault("KF_TESTING", "1")
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
