from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kundefaktura.languages import staff_language_choices

from .emails import email_normalize
from .roles import CASEWORKER, CUSTOMER, INSTALLER, ROLES, user_has_role


class User(AbstractUser):
    """Everybody who logs in: case workers, customers (portal) and installers."""

    email = models.EmailField(_("e-post"), blank=True, db_index=True)
    phone = models.CharField(_("telefon"), max_length=40, blank=True)
    # The language of this user's pages when they are not a customer (a customer's is on Customer);
    # empty: follow the browser.
    language = models.CharField(_("språk"), max_length=8, blank=True, default="",
                                choices=staff_language_choices)

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        verbose_name = _("bruker")
        verbose_name_plural = _("brukere")
        permissions = [
            (f"act_as_{CASEWORKER}", "Kan arbeide som saksbehandler"),
            (f"act_as_{CUSTOMER}", "Kan bruke kundeportalen"),
            (f"act_as_{INSTALLER}", "Kan se installatørsider"),
        ]
        constraints = [models.UniqueConstraint(fields=["email"], condition=~Q(email=""),
                                               name="accounts_user_email_unique")]

    def clean(self):
        super().clean()
        self.email = email_normalize(self.email)

    def save(self, *args, **kwargs):
        self.email = email_normalize(self.email)
        super().save(*args, **kwargs)

    @property
    def role(self) -> str | None:
        for role in ROLES:
            if user_has_role(self, role):
                return role
        return None

    def __str__(self):
        return self.get_full_name() or self.username
