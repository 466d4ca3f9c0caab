"""What the customer is asked to accept and the evidence of the answer: offers, acceptances and
change notices."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from billing.status import ChangeNoticeStatus

from .bases import InvoiceBasis
from .common import MONEY


class Offer(models.Model):
    """One version of the offer sent for a basis; the PDF is the evidence (offers app renders it)."""

    basis = models.ForeignKey(InvoiceBasis, on_delete=models.CASCADE, related_name="offers")
    version = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, default="offer",
                            choices=[("offer", _("Tilbud")), ("change", _("Endringsvarsel"))])
    valid_until = models.DateField()
    net = models.DecimalField(**MONEY, default=Decimal("0"))
    vat = models.DecimalField(**MONEY, default=Decimal("0"))
    gross = models.DecimalField(**MONEY, default=Decimal("0"))
    snapshot = models.JSONField(default=dict, blank=True)
    pdf = models.FileField(upload_to="offers/%Y/", blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    sent_at = models.DateTimeField(auto_now_add=True)
    # Set when the offer's content (lines, base deduction) changed while it was out: it can no longer be
    # accepted; a new version must be sent.
    outdated_at = models.DateTimeField(_("utdatert"), null=True, blank=True)

    class Meta:
        ordering = ["basis", "-version"]
        constraints = [models.UniqueConstraint(fields=["basis", "version"], name="offer_unique_version")]
        verbose_name = _("tilbud")
        verbose_name_plural = _("tilbud")

    def __str__(self):
        return f"{self.basis.number} v{self.version}"


class LoginMethod(models.TextChoices):
    """How the person who answered had logged in: the strength of the answer's evidence."""
    PASSWORD = "password", _("Passord")
    LINK = "link", _("Lenke i e-post")
    BANKID = "bankid", _("BankID")
    STAFF = "staff", _("Registrert av saksbehandler")


class Acceptance(models.Model):
    """Evidence of the customer's acceptance (or of a case worker registering one on their behalf)."""

    LoginMethod = LoginMethod

    class Channel(models.TextChoices):
        PORTAL = "portal", _("Kundeportal")
        PAPER = "paper", _("Papir")
        PHONE = "phone", _("Telefon")

    basis = models.ForeignKey(InvoiceBasis, on_delete=models.CASCADE, related_name="acceptances")
    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="acceptances")
    decision = models.CharField(max_length=10, default="accepted",
                                choices=[("accepted", _("Akseptert")), ("declined", _("Avslått"))])
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.PORTAL)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    offer_version = models.PositiveIntegerField()
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    note = models.TextField(blank=True)
    # How the answer was authenticated; for BankID the ID token's assurance level, time and subject.
    login_method = models.CharField(max_length=10, choices=LoginMethod.choices, blank=True, default="")
    auth_acr = models.CharField(max_length=200, blank=True)
    auth_time = models.DateTimeField(null=True, blank=True)
    auth_sub = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-at"]
        constraints = [models.UniqueConstraint(fields=["offer"], name="one_answer_per_offer")]
        verbose_name = _("aksept")
        verbose_name_plural = _("aksepter")


class ChangeNotice(models.Model):
    """Endringsvarsel: the notice of changed/new costs after acceptance that the customer must accept
    before the change is invoiced (kontrollforskriften § 16-3 keeps it as documentation). Each send makes
    a new version; an unanswered older version is superseded by the newer one. An unanswered notice past
    its answer deadline is marked expired by the daily job (billing/services/changes.py, change_notice_expire); its
    lines are then treated like those of a declined notice: kept, shown, never invoiced."""

    Status = ChangeNoticeStatus  # choices and transitions: billing/status.py

    basis = models.ForeignKey(InvoiceBasis, on_delete=models.CASCADE, related_name="change_notices")
    version = models.PositiveIntegerField(_("versjon"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.SENT,
                              db_index=True)
    valid_until = models.DateField(_("svarfrist"))
    snapshot = models.JSONField(default=dict, blank=True)
    net = models.DecimalField(_("endring netto"), **MONEY, default=Decimal("0"))
    vat = models.DecimalField(_("endring MVA"), **MONEY, default=Decimal("0"))
    gross = models.DecimalField(_("endring å betale"), **MONEY, default=Decimal("0"))
    new_estimate_gross = models.DecimalField(_("nytt estimat totalt"), **MONEY, default=Decimal("0"))
    pdf = models.FileField(upload_to="change_notices/%Y/", blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    sent_at = models.DateTimeField(_("sendt"), auto_now_add=True)
    # Evidence of the answer.
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    answered_at = models.DateTimeField(_("besvart"), null=True, blank=True)
    answer_channel = models.CharField(max_length=10, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    answer_pdf_sha256 = models.CharField(max_length=64, blank=True)
    answer_note = models.TextField(_("merknad"), blank=True)
    answer_login_method = models.CharField(max_length=10, choices=LoginMethod.choices, blank=True, default="")
    answer_auth_acr = models.CharField(max_length=200, blank=True)
    answer_auth_time = models.DateTimeField(null=True, blank=True)
    answer_auth_sub = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["basis", "-version"]
        constraints = [models.UniqueConstraint(fields=["basis", "version"], name="changenotice_unique_version")]
        verbose_name = _("endringsvarsel")
        verbose_name_plural = _("endringsvarsler")

    def __str__(self):
        return f"{self.basis.number} endring v{self.version}"
