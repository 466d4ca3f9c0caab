"""Store every user's and customer's e-mail address in its normal form (NFKC + casefold, trimmed),
before 0004 makes a user's address unique.

Accounts whose addresses have the same normal form are never merged. They are printed (and logged)
and left as they are, except that a portal account linked to a customer gives up its copy of the
address (the customer keeps it, and the login-link form finds the account through the customer).
If two accounts that are not portal accounts still hold the very same address, the migration stops
and names them: an administrator must decide which account keeps the address.
"""

import logging
import unicodedata
from collections import defaultdict

from django.db import migrations

log = logging.getLogger("kundefaktura.accounts.migrations")


def _normalize(value):  # a frozen copy of kundefaktura.accounts.emails.email_normalize
    text = unicodedata.normalize("NFKC", (value or "").strip())
    return unicodedata.normalize("NFKC", text.casefold()).strip()


def _report(message):
    print(f"\n  {message}")
    log.warning(message)


def normalize_addresses(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    Customer = apps.get_model("billing", "Customer")
    for customer in Customer.objects.exclude(email="").only("pk", "email").iterator():
        normal = _normalize(customer.email)
        if normal != customer.email:
            Customer.objects.filter(pk=customer.pk).update(email=normal)

    portal_ids = set(Customer.objects.filter(user__isnull=False).values_list("user_id", flat=True))
    groups = defaultdict(list)
    for user in User.objects.exclude(email="").only("pk", "username", "email", "is_staff", "is_superuser"):
        groups[_normalize(user.email)].append(user)
    for normal, users in groups.items():
        if len(users) == 1:
            if users[0].email != normal:
                User.objects.filter(pk=users[0].pk).update(email=normal)
            continue
        portal = [u for u in users if u.pk in portal_ids and not u.is_staff and not u.is_superuser]
        others = [u for u in users if u not in portal]
        keeper = others[0] if len(others) == 1 else (portal[0] if not others else None)
        names = ", ".join(f"#{u.pk} {u.username}" for u in users)
        for user in portal:
            if user is not keeper:
                User.objects.filter(pk=user.pk).update(email="")
        if keeper is not None:
            User.objects.filter(pk=keeper.pk).update(email=normal)
            _report(f"e-post {normal!r} hadde flere brukere ({names}); #{keeper.pk} beholder adressen, "
                    "kundeportalbrukerne finnes via kunden.")
            continue
        _report(f"e-post {normal!r} har flere brukere som ikke er kundeportalbrukere ({names}); "
                "adressene er ikke endret. En administrator må velge hvem som beholder adressen.")
        raw = [u.email for u in others]
        if len(set(raw)) != len(raw):
            raise RuntimeError(f"Brukerne {names} har samme e-postadresse {normal!r}. Gi alle unntatt én en "
                               "annen (eller tom) adresse i admin, og kjør migrate igjen.")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_role_groups"), ("billing", "0005_change_notice_expired")]

    operations = [
        migrations.RunPython(normalize_addresses, migrations.RunPython.noop),
    ]
