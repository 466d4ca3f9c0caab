"""The grid company itself and its customers."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from billing import norwegian
from kundefaktura.accounts.emails import email_normalize
from kundefaktura.languages import language_choices

from .common import MONEY, AllocationMethod, validate_kontonr, validate_orgnr


class CompanyProfile(models.Model):
    """The grid company itself: one row (pk=1)."""

    class KidScheme(models.TextChoices):
        MOD10 = "MOD10", "MOD10 (Luhn)"
        MOD11 = "MOD11", "MOD11"

    name = models.CharField(_("navn"), max_length=200)
    orgnr = models.CharField(_("organisasjonsnummer"), max_length=9, validators=[validate_orgnr])
    vat_registered = models.BooleanField(_("MVA-registrert"), default=True)
    foretaksregisteret = models.BooleanField(_("registrert i Foretaksregisteret"), default=True)
    street = models.CharField(_("adresse"), max_length=200, blank=True)
    postal_code = models.CharField(_("postnummer"), max_length=10, blank=True)
    city = models.CharField(_("poststed"), max_length=100, blank=True)
    email = models.EmailField(_("e-post"), blank=True)
    phone = models.CharField(_("telefon"), max_length=40, blank=True)
    website = models.CharField(_("nettsted"), max_length=200, blank=True)
    bank_account = models.CharField(_("kontonummer"), max_length=11, validators=[validate_kontonr])
    kid_scheme = models.CharField(_("KID-metode"), max_length=5, choices=KidScheme.choices, default=KidScheme.MOD10)
    kid_length = models.PositiveSmallIntegerField(_("KID-lengde"), default=10,
                                                  validators=[MinValueValidator(2)])
    due_days = models.PositiveSmallIntegerField(_("betalingsfrist (dager)"), default=14)
    offer_validity_days = models.PositiveSmallIntegerField(_("tilbudets gyldighet (dager)"), default=30)
    prepayment_required_default = models.BooleanField(_("forskudd påkrevd som standard"), default=False)
    base_deduction_enabled = models.BooleanField(
        _("bunnfradrag (eldre ordning) aktivert"), default=False,
        help_text=_("Kun for bestillinger før 1.1.2019. Forbudt for nyere bestillinger."))
    base_deduction_amount = models.DecimalField(_("bunnfradrag"), default=Decimal("0.00"), **MONEY,
                                                validators=[MinValueValidator(Decimal("0"))])
    default_allocation = models.CharField(_("standard fordelingsnøkkel"), max_length=30,
                                          choices=AllocationMethod.choices,
                                          default=AllocationMethod.COMPONENT_CAPACITY)
    reminder_fee = models.DecimalField(_("purregebyr"), default=Decimal("35.00"), **MONEY)
    reminder_days_after_due = models.PositiveSmallIntegerField(_("purring etter forfall (dager)"), default=14,
                                                               validators=[MinValueValidator(14)])
    refund_indexing = models.BooleanField(_("indeksregulering av tilbakebetaling (tiårsregelen)"), default=False)
    refund_index_annual_percent = models.DecimalField(_("årlig indeks (%)"), max_digits=5, decimal_places=2,
                                                      default=Decimal("0.00"))
    installer_sees_amounts = models.BooleanField(_("installatør ser beløp"), default=False)
    letterhead_note = models.CharField(_("tekst i brevhode"), max_length=200, blank=True)
    logo = models.ImageField(_("logo"), upload_to="company/", blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("selskapsprofil")
        verbose_name_plural = _("selskapsprofil")

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> "CompanyProfile":
        obj = cls.objects.filter(pk=1).first()
        if obj is None:
            raise CompanyProfile.DoesNotExist("The company profile is not set up (run seed_demo or the admin).")
        return obj

    @property
    def vat_id(self) -> str:
        """The seller's VAT identifier as printed/sent: NO + orgnr + MVA (NO-R-001)."""
        return f"NO{self.orgnr}MVA" if self.vat_registered else ""

    @property
    def legal_line(self) -> str:
        """'Org.nr. 914 588 200 MVA Foretaksregisteret' as bokføringsforskriften wants it."""
        parts = [f"Org.nr. {norwegian.format_orgnr(self.orgnr)}"]
        if self.vat_registered:
            parts.append("MVA")
        if self.foretaksregisteret:
            parts.append("Foretaksregisteret")
        return " ".join(parts)


class Customer(models.Model):
    class Kind(models.TextChoices):
        PERSON = "person", _("Privatperson")
        ORGANISATION = "organisation", _("Virksomhet")

    kind = models.CharField(_("type"), max_length=12, choices=Kind.choices, default=Kind.PERSON)
    name = models.CharField(_("navn"), max_length=200)
    orgnr = models.CharField(_("organisasjonsnummer"), max_length=9, blank=True, validators=[validate_orgnr])
    email = models.EmailField(_("e-post"), blank=True)
    phone = models.CharField(_("telefon"), max_length=40, blank=True)
    street = models.CharField(_("adresse"), max_length=200, blank=True)
    postal_code = models.CharField(_("postnummer"), max_length=10, blank=True)
    city = models.CharField(_("poststed"), max_length=100, blank=True)
    country = models.CharField(_("land"), max_length=2, default="NO")
    erp_customer_number = models.CharField(_("kundenummer i ERP"), max_length=40, blank=True, db_index=True)
    bank_account = models.CharField(_("kontonummer for tilbakebetaling"), max_length=11, blank=True,
                                    validators=[validate_kontonr])
    # The language of everything the customer reads: portal, documents, e-mails (an invoice's snapshot
    # keeps the language it was issued in). Any complete language (settings.LANGUAGES).
    language = models.CharField(_("språk"), max_length=8, choices=language_choices, default="nb")
    user = models.OneToOneField(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="customer", verbose_name=_("portalbruker"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("kunde")
        verbose_name_plural = _("kunder")
        indexes = [models.Index(fields=["name"])]

    def __str__(self):
        return self.name

    def clean(self):
        self.email = email_normalize(self.email)
        if self.kind == self.Kind.ORGANISATION and not self.orgnr:
            raise ValidationError({"orgnr": _("En virksomhet må ha organisasjonsnummer.")})

    def save(self, *args, **kwargs):
        # The address also finds the customer's portal account: stored in its one normal form.
        self.email = email_normalize(self.email)
        super().save(*args, **kwargs)

    @property
    def address_lines(self) -> list[str]:
        return [x for x in (self.street, f"{self.postal_code} {self.city}".strip()) if x]
