"""The invoice basis (fakturagrunnlag) and its cost lines."""

from django.conf import settings
from django.db import models
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from billing.status import STATUS_CHOICES, ChangeNoticeStatus, Status

from .catalog import CostCategory, VatCode
from .common import MONEY, QTY, validate_metering_point
from .parties import Customer

# Where a basis came from, as the work list's source filter and the basis page name it.
SOURCE_LABELS = {"manual": _("Manuell"), "nettmelding": _("Nettmelding"), "work_order": _("Arbeidsordre"),
                 "product_order": _("Produktkjøpsordre"), "api": _("API")}


class InvoiceBasis(models.Model):
    """Fakturagrunnlag: everything one customer must pay for one piece of ordered grid work."""

    Status = Status  # choices and transitions: billing/status.py

    number = models.CharField(_("nummer"), max_length=20, unique=True)
    reference = models.CharField(_("ekstern referanse"), max_length=100, null=True, blank=True, unique=True)
    title = models.CharField(_("tittel"), max_length=200)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="bases", verbose_name=_("kunde"))
    site_street = models.CharField(_("anleggsadresse"), max_length=200, blank=True)
    site_postal_code = models.CharField(_("postnummer"), max_length=10, blank=True)
    site_city = models.CharField(_("poststed"), max_length=100, blank=True)
    metering_point_id = models.CharField(_("målepunkt-ID"), max_length=18, blank=True,
                                         validators=[validate_metering_point], db_index=True)
    order_date = models.DateField(_("bestillingsdato"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=STATUS_CHOICES, default=Status.DRAFT,
                              db_index=True)
    prepayment_required = models.BooleanField(_("forskudd påkrevd"), default=False)
    base_deduction_applied = models.BooleanField(_("bunnfradrag brukt"), default=False)
    offer_valid_until = models.DateField(_("tilbud gyldig til"), null=True, blank=True, db_index=True)
    offer_version = models.PositiveIntegerField(_("tilbudsversjon"), default=0)
    accepted_at = models.DateTimeField(_("akseptert"), null=True, blank=True)
    work_released_at = models.DateTimeField(_("arbeid frigitt"), null=True, blank=True)
    # Set by the final settlement (§ 16-11): afterwards only credit notes may be issued on the basis.
    settled_at = models.DateTimeField(_("sluttoppgjort"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("opprettet av"))
    source = models.CharField(_("opprettet via"), max_length=40, default="manual", db_index=True)
    created_at = models.DateTimeField(_("opprettet"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("endret"), auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("fakturagrunnlag")
        verbose_name_plural = _("fakturagrunnlag")
        indexes = [
            models.Index(fields=["status", "-created_at"]),
            models.Index(fields=["created_by", "-created_at"]),
            models.Index(fields=["site_street"]),
        ]

    def __str__(self):
        return f"{self.number} {self.title}"

    @property
    def status_label(self) -> str:
        return str(Status(self.status).label)

    @property
    def source_label(self) -> str:
        """"manual" → "Manuell": the label the work list's source filter shows."""
        return str(SOURCE_LABELS.get(self.source, self.source))

    @property
    def work_release(self) -> str:
        return "released" if self.work_released_at else "blocked"

    @property
    def site_lines(self) -> list[str]:
        return [x for x in (self.site_street, f"{self.site_postal_code} {self.site_city}".strip()) if x]

    @cached_property
    def change_notice_statuses(self) -> dict[int, str]:
        """{change notice id: status} of this basis, in one query — for pages that show the state of many
        change lines (CostLine.change_status). Display only: services re-read the locked rows."""
        return dict(self.change_notices.values_list("pk", "status"))


class CostLine(models.Model):
    class Source(models.TextChoices):
        MANUAL = "manual", _("Manuell")
        NETTMELDING = "nettmelding", _("Nettmelding")
        WORK_ORDER = "work_order", _("Arbeidsordre")
        PRODUCT_ORDER = "product_order", _("Produktkjøpsordre")
        SHARED_COST = "shared_cost", _("Felles anlegg")
        SYSTEM = "system", _("System")

    class Phase(models.TextChoices):
        ESTIMATE = "estimate", _("Estimat")
        ACTUAL = "actual", _("Faktisk")

    basis = models.ForeignKey(InvoiceBasis, on_delete=models.CASCADE, related_name="lines")
    source = models.CharField(_("kilde"), max_length=20, choices=Source.choices, default=Source.MANUAL)
    source_reference = models.CharField(_("kildereferanse"), max_length=100, blank=True)
    line_reference = models.CharField(_("linjereferanse"), max_length=100, blank=True)
    category = models.ForeignKey(CostCategory, on_delete=models.PROTECT, verbose_name=_("kategori"))
    description = models.CharField(_("beskrivelse"), max_length=300)
    quantity = models.DecimalField(_("antall"), **QTY)
    unit = models.CharField(_("enhet"), max_length=20, default="stk")
    unit_price = models.DecimalField(_("enhetspris"), **MONEY)
    amount = models.DecimalField(_("beløp"), **MONEY)
    vat_code = models.ForeignKey(VatCode, on_delete=models.PROTECT, verbose_name=_("MVA-kode"))
    customer_caused = models.BooleanField(_("kundeforårsaket"), default=False)
    phase = models.CharField(_("fase"), max_length=10, choices=Phase.choices, default=Phase.ESTIMATE)
    is_change = models.BooleanField(_("endring etter aksept"), default=False)
    change_notice = models.ForeignKey("ChangeNotice", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="lines", verbose_name=_("endringsvarsel"))
    shared_cost = models.ForeignKey("SharedCost", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="share_lines")
    invoice = models.ForeignKey("Invoice", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="cost_lines", verbose_name=_("fakturert på"))
    position = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("kostnadslinje")
        verbose_name_plural = _("kostnadslinjer")
        constraints = [
            models.UniqueConstraint(fields=["source", "line_reference"], condition=~models.Q(line_reference=""),
                                    name="costline_unique_source_line_reference"),
        ]
        indexes = [models.Index(fields=["basis", "phase"])]

    def __str__(self):
        return f"{self.description} {self.amount}"

    @property
    def is_locked(self) -> bool:
        """Lines on an issued invoice, and lines that come from other systems, are not edited here."""
        return self.invoice_id is not None

    @property
    def is_external(self) -> bool:
        return self.source not in (self.Source.MANUAL,)

    @property
    def change_status(self) -> str:
        """Status of the change notice that carried this change line ("" when it has none). A line read
        through `basis.lines` (the basis page) uses the basis's one-query map instead of a query per line."""
        if not self.change_notice_id:
            return ""
        if not CostLine.change_notice.is_cached(self) and CostLine.basis.is_cached(self):
            return self.basis.change_notice_statuses.get(self.change_notice_id, "")
        return self.change_notice.status

    @property
    def is_accepted_change(self) -> bool:
        """A change the customer accepted and that is not invoiced yet: its content is what the customer
        agreed to, so it is neither edited nor removed (billing/services/locking.py, lock_line, refuses; the UI offers nothing)."""
        return (self.is_change and self.invoice_id is None
                and self.change_status == ChangeNoticeStatus.ACCEPTED)
