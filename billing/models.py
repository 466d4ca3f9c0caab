"""The money core's tables. Rules about one row live here; workflows live in billing/services/."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from kundefaktura.accounts.emails import email_normalize

from . import norwegian
from .status import STATUS_CHOICES, Status

MONEY = {"max_digits": 14, "decimal_places": 2}
QTY = {"max_digits": 14, "decimal_places": 3}
# The language a customer's documents are written in (the snapshot keeps it). Separate from
# settings.LANGUAGES, which lists only the languages the UI is complete in.
DOCUMENT_LANGUAGES = [("nb", "Norsk bokmål"), ("en", "English")]


def validate_orgnr(value):
    if value and not norwegian.orgnr_valid(value):
        raise ValidationError(_("Ugyldig organisasjonsnummer: %(v)s"), params={"v": value}, code="orgnr")


def validate_kontonr(value):
    if value and not norwegian.kontonr_valid(value):
        raise ValidationError(_("Ugyldig kontonummer: %(v)s"), params={"v": value}, code="kontonr")


def validate_metering_point(value):
    if value and not norwegian.metering_point_valid(value):
        raise ValidationError(_("Målepunkt-ID må være 18 siffer med riktig kontrollsiffer (GS1)."), code="metering_point")


class AllocationMethod(models.TextChoices):
    COMPONENT_CAPACITY = "component_capacity", _("Andel av komponentens kapasitet")
    ORDERED_CAPACITY = "ordered_capacity", _("Andel av bestilt kapasitet")
    EQUAL_PER_EXPECTED = "equal_per_expected", _("Likt per forventet tilknytning")


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


# The words a person reads for a VAT code (pages, select lists); EHF keeps the bare code.
VAT_LABELS = {
    "O": _("Utenfor mva – anleggsbidrag"),
    "S": _("25 % mva"),
    "E": _("Fritatt for mva"),
    "Z": _("Nullsats (0 % mva)"),
}


def vat_label(code, rate=None) -> str:
    """"O" → "Utenfor mva – anleggsbidrag"; an unknown code → "X (12,5 %)"."""
    code = getattr(code, "code", code) or ""
    if code in VAT_LABELS:
        return str(VAT_LABELS[code])
    if rate is None or rate == "":
        return code
    from decimal import Decimal

    return f"{code} ({format(Decimal(str(rate)).normalize(), 'f').replace('.', ',')} %)"


class VatCode(models.Model):
    code = models.CharField(_("kode"), max_length=2, unique=True)
    name = models.CharField(_("navn"), max_length=100)
    rate = models.DecimalField(_("sats (%)"), max_digits=5, decimal_places=2)
    exemption_reason = models.CharField(_("fritaksgrunn"), max_length=200, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("MVA-kode")
        verbose_name_plural = _("MVA-koder")

    def __str__(self):
        # In words ("25 % mva"); a code without a label reads "X (12,5 %)", never "X (12.50 %)".
        return vat_label(self.code, self.rate)

    @property
    def label(self) -> str:
        return vat_label(self.code, self.rate)


class CostCategory(models.Model):
    code = models.SlugField(_("kode"), max_length=40, unique=True)
    label = models.CharField(_("navn"), max_length=100)
    default_vat = models.ForeignKey(VatCode, on_delete=models.PROTECT, verbose_name=_("standard MVA"))
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "code"]
        verbose_name = _("kostnadskategori")
        verbose_name_plural = _("kostnadskategorier")

    def __str__(self):
        return self.label


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
    language = models.CharField(_("språk"), max_length=5, choices=DOCUMENT_LANGUAGES, default="nb")
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


class InvoiceBasis(models.Model):
    """Fakturagrunnlag: everything one customer must pay for one piece of ordered grid work."""

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
        from .forms import SOURCE_LABELS

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
                and self.change_status == ChangeNotice.Status.ACCEPTED)


class SharedCost(models.Model):
    """A main component (hovedkomponent) shared by several connections (§ 16-9)."""

    class CapacityUnit(models.TextChoices):
        KVA = "kVA", "kVA"
        KW = "kW", "kW"
        A = "A", "A"

    reference = models.CharField(_("ekstern referanse"), max_length=100, null=True, blank=True, unique=True)
    description = models.CharField(_("beskrivelse"), max_length=200)
    capacity = models.DecimalField(_("kapasitet"), max_digits=12, decimal_places=3,
                                   validators=[MinValueValidator(Decimal("0.001"))])
    capacity_unit = models.CharField(_("enhet"), max_length=3, choices=CapacityUnit.choices,
                                     default=CapacityUnit.KVA)
    allocation = models.CharField(_("fordelingsnøkkel"), max_length=30, choices=AllocationMethod.choices,
                                  default=AllocationMethod.COMPONENT_CAPACITY)
    expected_count = models.PositiveIntegerField(_("forventet antall tilknytninger"), null=True, blank=True)
    energised_on = models.DateField(_("spenningssatt"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("felles anlegg")
        verbose_name_plural = _("felles anlegg")

    def __str__(self):
        return self.description


class SharedCostLine(models.Model):
    shared_cost = models.ForeignKey(SharedCost, on_delete=models.CASCADE, related_name="lines")
    category = models.ForeignKey(CostCategory, on_delete=models.PROTECT)
    description = models.CharField(_("beskrivelse"), max_length=300)
    quantity = models.DecimalField(_("antall"), **QTY)
    unit = models.CharField(_("enhet"), max_length=20, default="stk")
    unit_price = models.DecimalField(_("enhetspris"), **MONEY)
    amount = models.DecimalField(_("beløp"), **MONEY)
    vat_code = models.ForeignKey(VatCode, on_delete=models.PROTECT)
    line_reference = models.CharField(_("linjereferanse"), max_length=100, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("kostnadslinje (felles anlegg)")
        verbose_name_plural = _("kostnadslinjer (felles anlegg)")


class SharedCostParticipant(models.Model):
    shared_cost = models.ForeignKey(SharedCost, on_delete=models.CASCADE, related_name="participants")
    basis = models.ForeignKey(InvoiceBasis, on_delete=models.PROTECT, related_name="shared_participations")
    capacity = models.DecimalField(_("kapasitet"), max_digits=12, decimal_places=3,
                                   validators=[MinValueValidator(Decimal("0"))])
    connected_on = models.DateField(_("tilknyttet"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["shared_cost", "basis"], name="participant_unique_basis")]
        verbose_name = _("deltaker")
        verbose_name_plural = _("deltakere")


class TenYearRefund(models.Model):
    """A refund proposed to an earlier payer when a later customer joins (tiårsregelen)."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Foreslått")
        CREDITED = "credited", _("Kreditert")
        REJECTED = "rejected", _("Avvist")

    shared_cost = models.ForeignKey(SharedCost, on_delete=models.CASCADE, related_name="refunds")
    participant = models.ForeignKey(SharedCostParticipant, on_delete=models.CASCADE, related_name="refunds")
    triggered_by = models.ForeignKey(SharedCostParticipant, on_delete=models.CASCADE, related_name="+")
    paid = models.DecimalField(_("betalt"), **MONEY)
    new_share = models.DecimalField(_("ny andel"), **MONEY)
    amount = models.DecimalField(_("tilbakebetaling"), **MONEY)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED)
    credit_note = models.ForeignKey("Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["participant", "triggered_by"], name="refund_once")]
        verbose_name = _("tilbakebetaling (tiårsregelen)")
        verbose_name_plural = _("tilbakebetalinger (tiårsregelen)")


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


class Acceptance(models.Model):
    """Evidence of the customer's acceptance (or of a case worker registering one on their behalf)."""

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

    class Meta:
        ordering = ["-at"]
        constraints = [models.UniqueConstraint(fields=["offer"], name="one_answer_per_offer")]
        verbose_name = _("aksept")
        verbose_name_plural = _("aksepter")


class NumberSeries(models.Model):
    """A gapless counter, locked in the issuing transaction."""

    name = models.CharField(max_length=20, primary_key=True)
    next_value = models.PositiveBigIntegerField(default=1)

    class Meta:
        verbose_name = _("nummerserie")
        verbose_name_plural = _("nummerserier")

    def __str__(self):
        return f"{self.name}: {self.next_value}"


class ImmutableError(Exception):
    """An issued document was about to change."""


class Invoice(models.Model):
    class Kind(models.TextChoices):
        PREPAYMENT = "prepayment", _("Forskuddsfaktura")
        ORDINARY = "ordinary", _("Faktura")
        CHANGE = "change", _("Endringsfaktura")
        FINAL = "final", _("Sluttfaktura")
        CREDIT_NOTE = "credit_note", _("Kreditnota")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Utkast")
        ISSUED = "issued", _("Utstedt")
        SENT = "sent", _("Sendt")
        PAID = "paid", _("Betalt")
        CREDITED = "credited", _("Kreditert")
        VOID = "void", _("Annullert")

    # Fields that never change once the document is issued.
    FROZEN_FIELDS = ("basis_id", "kind", "series", "number", "issue_date", "due_date", "delivery_date", "kid",
                     "vat_regime", "currency", "seller", "buyer", "net_total", "vat_total", "gross_total",
                     "vat_breakdown", "credited_invoice_id", "note")

    basis = models.ForeignKey(InvoiceBasis, on_delete=models.PROTECT, related_name="invoices")
    kind = models.CharField(_("type"), max_length=12, choices=Kind.choices)
    series = models.CharField(_("serie"), max_length=20)
    number = models.PositiveBigIntegerField(_("fakturanummer"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT,
                              db_index=True)
    issue_date = models.DateField(_("fakturadato"), null=True, blank=True)
    due_date = models.DateField(_("forfallsdato"), null=True, blank=True, db_index=True)
    delivery_date = models.DateField(_("leveringsdato"), null=True, blank=True)
    kid = models.CharField(_("KID"), max_length=25, blank=True, db_index=True)
    vat_regime = models.CharField(_("MVA-regime"), max_length=8, choices=[("O", _("Utenfor MVA")),
                                                                            ("taxable", _("MVA-pliktig"))])
    currency = models.CharField(max_length=3, default="NOK")
    seller = models.JSONField(_("selger"), default=dict)
    buyer = models.JSONField(_("kjøper"), default=dict)
    net_total = models.DecimalField(_("netto"), **MONEY, default=Decimal("0"))
    vat_total = models.DecimalField(_("MVA"), **MONEY, default=Decimal("0"))
    gross_total = models.DecimalField(_("å betale"), **MONEY, default=Decimal("0"))
    vat_breakdown = models.JSONField(_("MVA per kategori"), default=list)
    credited_invoice = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                         related_name="credit_notes", verbose_name=_("krediterer"))
    note = models.TextField(_("merknad"), blank=True)
    pdf = models.FileField(upload_to="invoices/%Y/", blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["series", "number"], name="invoice_unique_number")]
        verbose_name = _("faktura")
        verbose_name_plural = _("fakturaer")
        indexes = [models.Index(fields=["basis", "kind"])]

    def __str__(self):
        return f"{self.get_kind_display()} {self.display_number}"

    @property
    def display_number(self) -> str:
        return str(self.number) if self.number else "(utkast)"

    @property
    def is_issued(self) -> bool:
        return self.number is not None

    @property
    def is_credit_note(self) -> bool:
        return self.kind == self.Kind.CREDIT_NOTE

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._frozen = {f: getattr(instance, f) for f in cls.FROZEN_FIELDS if f in instance.__dict__}
        instance._was_issued = instance.number is not None
        return instance

    def save(self, *args, **kwargs):
        if getattr(self, "_was_issued", False):
            changed = [f for f, v in self._frozen.items() if getattr(self, f) != v]
            if changed:
                raise ImmutableError(f"invoice {self.number} is issued; cannot change {', '.join(changed)}")
        super().save(*args, **kwargs)
        if self.number is not None:
            self._frozen = {f: getattr(self, f) for f in self.FROZEN_FIELDS}
            self._was_issued = True

    def delete(self, *args, **kwargs):
        if self.number is not None:
            raise ImmutableError(f"invoice {self.number} is issued and cannot be deleted")
        return super().delete(*args, **kwargs)


class InvoiceLine(models.Model):
    """A snapshot line of an invoice: copied, never read live again."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveIntegerField()
    cost_line = models.ForeignKey(CostLine, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    category_code = models.CharField(max_length=40)
    category_label = models.CharField(max_length=100)
    description = models.CharField(max_length=300)
    quantity = models.DecimalField(**QTY)
    unit = models.CharField(max_length=20)
    unit_price = models.DecimalField(**MONEY)
    amount = models.DecimalField(**MONEY)
    vat_code = models.CharField(max_length=2)
    vat_rate = models.DecimalField(max_digits=5, decimal_places=2)
    customer_caused = models.BooleanField(default=False)

    class Meta:
        ordering = ["position"]
        verbose_name = _("fakturalinje")
        verbose_name_plural = _("fakturalinjer")

    def save(self, *args, **kwargs):
        if self.pk and Invoice.objects.filter(pk=self.invoice_id, number__isnull=False).exists():
            raise ImmutableError("lines of an issued invoice cannot change")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if Invoice.objects.filter(pk=self.invoice_id, number__isnull=False).exists():
            raise ImmutableError("lines of an issued invoice cannot be deleted")
        return super().delete(*args, **kwargs)


class Payment(models.Model):
    """One row per payment attempt and per refund. Paid = confirmed payments − confirmed refunds."""

    class Method(models.TextChoices):
        CARD = "card", _("Kort")
        BANK_TRANSFER = "bank_transfer", _("Bankoverføring")
        MANUAL = "manual", _("Manuell registrering")

    class Status(models.TextChoices):
        PENDING = "pending", _("Venter")
        CONFIRMED = "confirmed", _("Bekreftet")
        FAILED = "failed", _("Feilet")
        REFUNDED = "refunded", _("Tilbakebetalt")

    class Direction(models.TextChoices):
        PAYMENT = "payment", _("Innbetaling")
        REFUND = "refund", _("Tilbakebetaling")

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    direction = models.CharField(max_length=8, choices=Direction.choices, default=Direction.PAYMENT)
    method = models.CharField(_("metode"), max_length=14, choices=Method.choices)
    amount = models.DecimalField(_("beløp"), **MONEY, validators=[MinValueValidator(Decimal("0.01"))])
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING,
                              db_index=True)
    provider = models.CharField(_("tilbyder"), max_length=20, blank=True)
    provider_reference = models.CharField(_("referanse"), max_length=200, blank=True)
    refund_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="refunds")
    payout_account = models.CharField(_("utbetalingskonto"), max_length=11, blank=True)
    note = models.CharField(_("merknad"), max_length=300, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "provider_reference", "direction"],
                                    condition=~models.Q(provider_reference=""), name="payment_unique_reference"),
        ]
        verbose_name = _("betaling")
        verbose_name_plural = _("betalinger")


class AuditEvent(models.Model):
    """Who did what, when, from which status to which — the timeline."""

    basis = models.ForeignKey(InvoiceBasis, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="events")
    shared_cost = models.ForeignKey(SharedCost, null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="events")
    action = models.CharField(max_length=80, db_index=True)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    actor_label = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["basis", "-at"])]
        verbose_name = _("hendelse")
        verbose_name_plural = _("hendelser")

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"


class BulkJob(models.Model):
    """A batch of the same action over several bases (e.g. send offers), run as one Celery task per basis."""

    class Kind(models.TextChoices):
        SEND_OFFER = "send_offer", _("Send tilbud")

    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices, default=Kind.SEND_OFFER)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("opprettet av"))
    created_at = models.DateTimeField(_("opprettet"), auto_now_add=True)
    total = models.PositiveIntegerField(_("antall"), default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("massehandling")
        verbose_name_plural = _("massehandlinger")

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk}"


class BulkJobItem(models.Model):
    """One basis in a bulk job and how it went."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Venter")
        RUNNING = "running", _("Pågår")
        DONE = "done", _("Fullført")
        FAILED = "failed", _("Feilet")

    job = models.ForeignKey(BulkJob, on_delete=models.CASCADE, related_name="items")
    basis = models.ForeignKey(InvoiceBasis, on_delete=models.CASCADE, related_name="+",
                              verbose_name=_("fakturagrunnlag"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    message = models.TextField(_("melding"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["job", "basis"], name="bulkjobitem_unique_basis")]
        verbose_name = _("massehandling (grunnlag)")
        verbose_name_plural = _("massehandling (grunnlag)")


# --- changes after acceptance, reminders (billing/services/changes.py, reminders.py) ----------------


class ChangeNotice(models.Model):
    """Endringsvarsel: the notice of changed/new costs after acceptance that the customer must accept
    before the change is invoiced (kontrollforskriften § 16-3 keeps it as documentation). Each send makes
    a new version; an unanswered older version is superseded by the newer one. An unanswered notice past
    its answer deadline is marked expired by the daily job (billing/services/changes.py, change_notice_expire); its
    lines are then treated like those of a declined notice: kept, shown, never invoiced."""

    class Status(models.TextChoices):
        SENT = "sent", _("Sendt, venter på svar")
        ACCEPTED = "accepted", _("Akseptert")
        DECLINED = "declined", _("Avslått")
        SUPERSEDED = "superseded", _("Erstattet av nyere versjon")
        EXPIRED = "expired", _("Utløpt")

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

    class Meta:
        ordering = ["basis", "-version"]
        constraints = [models.UniqueConstraint(fields=["basis", "version"], name="changenotice_unique_version")]
        verbose_name = _("endringsvarsel")
        verbose_name_plural = _("endringsvarsler")

    def __str__(self):
        return f"{self.basis.number} endring v{self.version}"


class Reminder(models.Model):
    """Purring: at most two per invoice (step 1 and 2), each with the company's reminder fee.

    The fee is a claim on the reminder (outside the VAT scope, not a sale), payable with the invoice's KID;
    payments beyond the invoice's balance settle unpaid reminder fees before anything counts as overpaid."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="reminders")
    step = models.PositiveSmallIntegerField(_("purring nr."))
    fee = models.DecimalField(_("purregebyr"), **MONEY, default=Decimal("0"))
    outstanding = models.DecimalField(_("utestående"), **MONEY, default=Decimal("0"))
    due_date = models.DateField(_("ny betalingsfrist"))
    pdf = models.FileField(upload_to="reminders/%Y/", blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    sent_at = models.DateTimeField(_("sendt"), auto_now_add=True)

    class Meta:
        ordering = ["invoice", "step"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "step"], name="reminder_once_per_step"),
            models.CheckConstraint(condition=models.Q(step__in=[1, 2]), name="reminder_step_1_or_2"),
        ]
        verbose_name = _("purring")
        verbose_name_plural = _("purringer")

    def __str__(self):
        return f"{self.invoice} purring {self.step}"
