"""Shared fixtures for the whole suite.

The environment lines at the top run before pytest-django imports the settings: KF_TESTING lets
the settings start without a SECRET_KEY and with cookies that work over plain http; the async
escape hatch lets live_server tests use the ORM next to Playwright's event loop.

Services: tests that need PostgreSQL or Redis call `require_service`; on a developer machine a
missing service skips the test, under CI=true it fails it (CI must never go green on skips).
"""

import os

os.environ.setdefault("KF_TESTING", "1")
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import re  # noqa: E402
import socket  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

import pytest  # noqa: E402

# Fixtures shared by folders that do not sit under one another (tests/support/ holds them).
pytest_plugins = [
    "tests.support.api",
    "tests.support.celery_worker",
    "tests.support.mail",
    "tests.support.s3",
    "tests.support.oidc",
    "tests.support.stripe_fake",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS_DIR = REPO_ROOT / "var" / "test-artifacts"
# whitenoise warns on every request when STATIC_ROOT is missing (collectstatic is not run in tests).
(REPO_ROOT / "var" / "staticfiles").mkdir(parents=True, exist_ok=True)
# Every fixture user gets this password; tests that log in through the form use it.
TEST_PASSWORD = "riktig-hest-batteri-42"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


# --- Services ---------------------------------------------------------------------------------


def require_service(name: str, check) -> None:
    """Skip (locally) or fail (under CI=true) the calling test unless `check()` succeeds.

    `check` returns a truthy value when the service answers; a falsy value or an exception means
    it is unreachable.
    """
    try:
        if check():
            return
        reason = f"{name} did not answer"
    except Exception as exc:  # noqa: BLE001 — any failure means "not reachable"
        reason = f"{name} is unreachable: {type(exc).__name__}: {exc}"
    if in_ci():
        pytest.fail(f"{reason} (CI=true: a missing service is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


def redis_ping(url: str, timeout: float = 2.0) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        return bool(client.ping())
    finally:
        client.close()


def postgres_ping(timeout: int = 2) -> bool:
    """The configured database answers and is PostgreSQL."""
    from django.conf import settings
    from django.db import connection

    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        raise RuntimeError(f"DATABASE_URL is not PostgreSQL ({settings.DATABASES['default']['ENGINE']})")
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)


def tcp_port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    """A TCP port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis URL tests may use (a database of its own per run: .ci/run picks it)."""
    url = os.environ.get("TEST_REDIS_URL") or os.environ.get("CELERY_BROKER_URL") or ""
    if not url:
        if in_ci():
            pytest.fail("CI=true but neither TEST_REDIS_URL nor CELERY_BROKER_URL is set", pytrace=False)
        pytest.skip("no TEST_REDIS_URL / CELERY_BROKER_URL set")
    if urlsplit(url).scheme not in ("redis", "rediss"):
        pytest.skip(f"not a Redis URL: {url}")
    return url


# --- Session checks ---------------------------------------------------------------------------


def pytest_sessionstart(session):
    """Under CI the suite must run on PostgreSQL: SQLite would hide locking and constraint bugs."""
    if not in_ci():
        return
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if not engine.endswith("postgresql"):
        pytest.exit(f"CI=true requires PostgreSQL (DATABASE_URL=postgres://...), got {engine}", returncode=3)


# --- Database: transactional tests last, migration data restored --------------------------------


def _is_transactional(item) -> bool:
    marker = item.get_closest_marker("django_db")
    if marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")):
        return True
    names = getattr(item, "fixturenames", ())
    return "transactional_db" in names or "live_server" in names


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Run transactional tests (live_server, transaction=True) after all others, as Django does; in
    each of the two groups the tests marked `long` come first, longest first.

    pytest-django sorts transactional tests last too, but pytest's own grouping by session-scoped
    parameters (Playwright's browser_name) can move them forward again; a transactional test ends with
    a flush that would leave later tests without the rows migrations create (role groups, VAT codes).
    A test that runs for minutes, started while the other xdist worker still has a queue of short
    ones, ends when that queue does; started last, it would run alone while the other worker idles.
    """
    items.sort(key=lambda item: (_is_transactional(item), -_expected_seconds(item)))


def _expected_seconds(item) -> float:
    """The duration a `long(seconds)` marker gives (roughly, alone on an idle machine); 0 for the others."""
    marker = item.get_closest_marker("long")
    return marker.args[0] if marker else 0


@pytest.fixture(autouse=True)
def django_db_serialized_rollback():
    """Every transactional test starts from the migrated data (serialized once at DB creation).

    Overrides pytest-django's fixture of this name; being requested is what turns it on.
    """


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Keep the serialized test data visible to connections made after Playwright starts.

    Django's connections live in an asgiref Local (contextvars). Playwright's sync API runs the
    test in another context once it has started, so the ORM there gets new connection objects,
    and Django only restores serialized data when the connection has `_test_serialized_contents`.
    Putting it on the backend class makes every connection of the test database see it.
    """
    from django.db import connections

    patched = []
    for conn in connections.all(initialized_only=True):
        contents = getattr(conn, "_test_serialized_contents", None)
        if contents is not None and "_test_serialized_contents" not in vars(type(conn)):
            type(conn)._test_serialized_contents = contents
            patched.append(type(conn))
    yield
    for cls in patched:
        del cls._test_serialized_contents
    # Connections opened in Playwright's context would block DROP DATABASE at teardown.
    with django_db_blocker.unblock():
        connections.close_all()


@pytest.fixture(scope="session", autouse=True)
def _flush_deletes_rows():
    """A transactional test ends with a flush; on PostgreSQL that is one TRUNCATE of every table, which
    makes new files for each table and index (about 1.5 s for this schema, almost all of it with empty
    tables). Deleting the rows leaves the same empty tables in a tenth of that. The foreign keys Django
    creates are deferred, so the order of the deletes does not matter. Only the test process's flush
    changes; with `reset_sequences` or `allow_cascade` it stays Django's TRUNCATE."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or allow_cascade or not tables:
            return truncate(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        return ["SET CONSTRAINTS ALL DEFERRED;"] + [
            f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(self.quote_name(table))};" for table in tables]

    DatabaseOperations.sql_flush = sql_flush
    yield
    DatabaseOperations.sql_flush = truncate


@pytest.fixture
def role_groups(transactional_db):
    """Transactional tests flush the tables, and with them the rows data migrations made (role groups,
    VAT codes, cost categories): make them again (request this fixture before any data fixture)."""
    import importlib

    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    from kundefaktura.accounts.roles import ROLE_GROUP_NAMES

    create_permissions(apps.get_app_config("accounts"), verbosity=0)
    for role, name in ROLE_GROUP_NAMES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(Permission.objects.get(content_type__app_label="accounts", codename=f"act_as_{role}"))
    importlib.import_module("billing.migrations.0002_seed_vat_and_categories").seed(apps, None)


@pytest.fixture(autouse=True)
def _transactional_tests_get_seeded_rows(request):
    """A transactional test after another one finds the tables flushed: give it the seeded rows too."""
    marker = request.node.get_closest_marker("django_db")
    if (marker and marker.kwargs.get("transaction")) or "transactional_db" in request.fixturenames \
            or "live_server" in request.fixturenames:
        request.getfixturevalue("role_groups")


# --- Settings every test gets -------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    """Celery in-process and loud, mail in memory, uploads in a temp dir. Axes stays on."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CELERY_TASK_EAGER_PROPAGATES = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return settings


# --- Playwright with Debian's chromium ----------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def _browser_assertion_timeout():
    """Playwright's `expect` waits 5 s by default; with two xdist workers, a live server and chromium on
    two cores a swap occasionally took longer (one ERP-search test failed that way once). 15 s: still a
    clear failure when something never appears."""
    try:
        from playwright.sync_api import expect
    except ImportError:  # pragma: no cover - playwright is a dev dependency
        return
    expect.set_options(timeout=15_000)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"],
    }


# A form error answers 422 and a refused action 409 by design (htmx swaps them in); chromium logs every
# 4xx response as a console error. Anything else a page logs as an error fails the test.
EXPECTED_CONSOLE_ERROR = re.compile(r"^Failed to load resource: the server responded with a status of (409|422) ")


def console_error_recorder(page, problems: list[str]):
    """Append every unexpected console error, script error and CSP violation of `page` to `problems`."""
    def on_console(message):
        if message.type == "error" and not EXPECTED_CONSOLE_ERROR.search(message.text):
            where = message.location
            problems.append(f"console error on {page.url}: {message.text} @{where.get('url')}:{where.get('lineNumber')}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"script error on {page.url}: {error}"))


@pytest.fixture
def page(page):
    """pytest-playwright's page, failing the test on any console error (a CSP violation is one)."""
    problems: list[str] = []
    console_error_recorder(page, problems)
    yield page
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS_DIR


# --- Users and clients --------------------------------------------------------------------------


@pytest.fixture
def password() -> str:
    return TEST_PASSWORD


@pytest.fixture
def make_user(db):
    """`make_user(role, username=..., **fields)` through the real service."""
    from kundefaktura.accounts.services import user_create

    counter = {"n": 0}

    def make(role: str, username: str | None = None, password: str = TEST_PASSWORD, **fields):
        counter["n"] += 1
        return user_create(username=username or f"{role}{counter['n']}", role=role, password=password,
                           **fields)

    return make


@pytest.fixture
def caseworker(make_user):
    from kundefaktura.accounts.roles import CASEWORKER

    return make_user(CASEWORKER, username="sara", first_name="Sara", last_name="Saksbehandler",
                     email="sara@example.com")


@pytest.fixture
def company_admin(make_user):
    """A case worker in the "Selskapsadministrator" group (may change the company's settings)."""
    from billing.access import company_admin_grant
    from kundefaktura.accounts.roles import CASEWORKER

    user = make_user(CASEWORKER, username="anne", first_name="Anne", last_name="Admin", email="anne@example.com")
    company_admin_grant(user=user)
    return user


@pytest.fixture
def company_admin_client(company_admin):
    return _logged_in_client(company_admin)


@pytest.fixture
def customer_user(make_user):
    from kundefaktura.accounts.roles import CUSTOMER

    return make_user(CUSTOMER, username="kari", first_name="Kari", last_name="Kunde",
                     email="kari@example.com")


@pytest.fixture
def installer_user(make_user):
    from kundefaktura.accounts.roles import INSTALLER

    return make_user(INSTALLER, username="ivar", first_name="Ivar", last_name="Installatør",
                     email="ivar@example.com")


def _logged_in_client(user):
    from django.test import Client

    client = Client()
    # The backend a password login records (Django's stays listed for older sessions).
    client.force_login(user, backend="kundefaktura.accounts.backends.ModelBackend")
    return client


@pytest.fixture
def caseworker_client(caseworker):
    return _logged_in_client(caseworker)


@pytest.fixture
def customer_client(customer_user):
    return _logged_in_client(customer_user)


@pytest.fixture
def installer_client(installer_user):
    return _logged_in_client(installer_user)


# --- Domain data ----------------------------------------------------------------------------------


@pytest.fixture
def company(db):
    """The grid company's profile (Fjordnett AS, VAT-registered, MOD10 KID), through its own validation."""
    from tests.support.factories import make_company

    return make_company()
