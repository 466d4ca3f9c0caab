"""`manage.py seed_demo`: idempotent demo data for `make run`.

Creates one user per role plus a superuser, all with the same printed demo password, then hands
over to each app's `demo.seed(stdout)` (billing/demo.py, integrations/demo.py).
Running it twice is the same as running it once. It refuses to run with DEBUG off unless asked to
(`--force`): known passwords do not belong in production.
"""

import importlib

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.module_loading import module_has_submodule

from kundefaktura.accounts.roles import CASEWORKER, CUSTOMER, INSTALLER
from kundefaktura.accounts.services import user_assign_role, user_create

DEMO_PASSWORD = "demo-passord-2026"  # printed demo password, DEBUG only  # nosec B105

DEMO_USERS = [
    # username, role, fields
    ("saksbehandler", CASEWORKER,
     {"first_name": "Sara", "last_name": "Saksbehandler", "email": "saksbehandler@example.com"}),
    ("kunde", CUSTOMER,
     {"first_name": "Kari", "last_name": "Kunde", "email": "kunde@example.com", "phone": "+47 400 00 000"}),
    ("installator", INSTALLER,
     {"first_name": "Ivar", "last_name": "Installatør", "email": "installator@example.com"}),
]
ADMIN_USERNAME = "admin"


def _ensure_password(user, password) -> bool:
    if user.has_usable_password() and user.check_password(password):
        return False
    user.set_password(password)
    user.save(update_fields=["password"])
    return True


@transaction.atomic
def seed_users(stdout=None, password: str = DEMO_PASSWORD) -> dict:
    """Create or repair the demo users; return them by username."""
    User = get_user_model()
    users = {}
    for username, role, fields in DEMO_USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = user_create(username=username, role=role, password=password, **fields)
            action = "opprettet"
        else:
            user_assign_role(user=user, role=role)
            changed = []
            for name, value in {**fields, "is_active": True}.items():
                if getattr(user, name) != value:
                    setattr(user, name, value)
                    changed.append(name)
            if changed:
                user.save(update_fields=changed)
            action = "oppdatert" if _ensure_password(user, password) or changed else "uendret"
        users[username] = user
        if stdout:
            stdout.write(f"  {username:<14} {role:<11} {action}")

    admin = User.objects.filter(username=ADMIN_USERNAME).first()
    if admin is None:
        admin = User.objects.create_superuser(ADMIN_USERNAME, "admin@example.com", password)
        action = "opprettet"
    else:
        changed = []
        for name in ("is_staff", "is_superuser", "is_active"):
            if not getattr(admin, name):
                setattr(admin, name, True)
                changed.append(name)
        if changed:
            admin.save(update_fields=changed)
        action = "oppdatert" if _ensure_password(admin, password) or changed else "uendret"
    users[ADMIN_USERNAME] = admin
    if stdout:
        stdout.write(f"  {ADMIN_USERNAME:<14} {'superuser':<11} {action}")
    return users


def seed_app_data(stdout) -> list[str]:
    """Call `<app>.demo.seed(stdout)` for every installed app that ships a `demo` module, in
    INSTALLED_APPS order (billing first: the others hang their demo rows on its bases). Apps are found
    the way Django's admin finds `admin` modules, so this base module imports no app above it."""
    seeded = []
    for config in apps.get_app_configs():
        if module_has_submodule(config.module, "demo"):
            name = f"{config.name}.demo"
            importlib.import_module(name).seed(stdout)
            seeded.append(name)
    return seeded


class Command(BaseCommand):
    help = "Create the demo users (and demo billing data when available). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true",
                            help="Run even with DEBUG off (never on a production database).")

    def handle(self, *args, force=False, **options):
        if not (settings.DEBUG or settings.TESTING or force):
            raise CommandError("seed_demo creates users with a known password; it runs only with "
                               "DEBUG=true (or --force).")
        self.stdout.write("Demodata:")
        seed_users(self.stdout)
        seed_app_data(self.stdout)
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(
            f"Demo-brukere: saksbehandler, kunde, installator (og admin) — passord: {DEMO_PASSWORD}"))
        site = settings.SITE_URL
        self.stdout.write(f"Logg inn på {site}/login/")
