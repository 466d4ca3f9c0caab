"""Related cases from other systems, the installers behind them, API clients and notifications."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from billing.models import InvoiceBasis, validate_orgnr


class Installer(models.Model):
    """An electrical installer company (installatør); its users log in to see their own cases."""

    name = models.CharField(_("navn"), max_length=200)
    orgnr = models.CharField(_("organisasjonsnummer"), max_length=9, blank=True, validators=[validate_orgnr])
    email = models.EmailField(_("e-post"), blank=True)
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="installers",
                                   verbose_name=_("brukere"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("installatør")
        verbose_name_plural = _("installatører")
        constraints = [models.UniqueConstraint(fields=["orgnr"], condition=~models.Q(orgnr=""),
                                               name="installer_unique_orgnr")]

    def __str__(self):
        return self.name


class RelatedCase(models.Model):
    """A case in another system (Nettmelding, work order, product purchase order) tied to a basis."""

    class Source(models.TextChoices):
        NETTMELDING = "nettmelding", _("Nettmelding")
        WORK_ORDER = "work_order", _("Arbeidsordre")
        PRODUCT_ORDER = "product_order", _("Produktkjøpsordre")

    basis = models.ForeignKey(InvoiceBasis, on_delete=models.CASCADE, related_name="related_cases")
    source = models.CharField(_("kilde"), max_length=20, choices=Source.choices)
    external_id = models.CharField(_("ekstern ID"), max_length=100)
    title = models.CharField(_("tittel"), max_length=200, blank=True)
    installer = models.ForeignKey(Installer, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="cases", verbose_name=_("installatør"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["source", "external_id"]
        verbose_name = _("relatert sak")
        verbose_name_plural = _("relaterte saker")
        constraints = [models.UniqueConstraint(fields=["source", "external_id"], name="related_case_unique")]
        indexes = [models.Index(fields=["external_id"])]

    def __str__(self):
        return f"{self.get_source_display()} {self.external_id}"
