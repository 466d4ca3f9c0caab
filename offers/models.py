"""Documents and e-mail: the outbox of e-mails and the company's own attachments (terms etc.)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class OutboundEmail(models.Model):
    """One e-mail to send: an outbox row written in the caller's transaction, delivered by a Celery task.

    `attachments` is a JSON list; each item is either a stored file
    ``{"path": "<name in the project's storage>", "filename": "vilkaar.pdf", "mimetype": "application/pdf"}``
    or a document that is rendered on demand before sending
    ``{"document": "<kind in offers.documents.DOCUMENTS>", "pk": 12}`` (its stored PDF is attached; rendered
    first if missing).
    """

    class Kind(models.TextChoices):
        OFFER = "offer", _("Tilbud")
        INVOICE = "invoice", _("Faktura")
        CREDIT_NOTE = "credit_note", _("Kreditnota")
        REMINDER = "reminder", _("Purring")
        LOGIN_LINK = "login_link", _("Innloggingslenke")
        CHANGE_NOTICE = "change_notice", _("Endringsvarsel")
        ACCEPTANCE = "acceptance", _("Akseptbekreftelse")
        RECEIPT = "receipt", _("Betalingskvittering")
        OTHER = "other", _("Annet")

    class Status(models.TextChoices):
        QUEUED = "queued", _("I kø")
        SENDING = "sending", _("Sendes")
        SENT = "sent", _("Sendt")
        FAILED = "failed", _("Feilet")

    basis = models.ForeignKey("billing.InvoiceBasis", null=True, blank=True, on_delete=models.CASCADE,
                              related_name="emails", verbose_name=_("fakturagrunnlag"))
    invoice = models.ForeignKey("billing.Invoice", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="emails", verbose_name=_("faktura"))
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices, default=Kind.OTHER)
    to = models.CharField(_("til"), max_length=254)
    subject = models.CharField(_("emne"), max_length=300)
    body_text = models.TextField(_("tekst"))
    body_html = models.TextField(_("HTML"), blank=True)
    attachments = models.JSONField(_("vedlegg"), default=list, blank=True)
    # Idempotency: e.g. "offer:12" or "invoice:7" — one e-mail per document, however often the event fires.
    dedupe_key = models.CharField(max_length=100, blank=True, default="")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED,
                              db_index=True)
    attempts = models.PositiveSmallIntegerField(_("forsøk"), default=0)
    last_error = models.TextField(_("siste feil"), blank=True)
    next_attempt_at = models.DateTimeField(_("neste forsøk"), null=True, blank=True)
    created_at = models.DateTimeField(_("opprettet"), auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(_("sendt"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
        constraints = [models.UniqueConstraint(fields=["dedupe_key"], condition=~models.Q(dedupe_key=""),
                                               name="outboundemail_unique_dedupe_key")]
        verbose_name = _("utgående e-post")
        verbose_name_plural = _("utgående e-post")

    def __str__(self):
        return f"{self.get_kind_display()} → {self.to} ({self.get_status_display()})"


class Attachment(models.Model):
    """A company document (uploaded PDF: terms, information sheets) attached to offer e-mails.

    Attached when `always` is set, when one of the basis' cost categories is in `categories`, or when the
    basis is in `bases`.
    """

    title = models.CharField(_("tittel"), max_length=200)
    file = models.FileField(_("fil"), upload_to="attachments/")
    always = models.BooleanField(_("alltid med tilbud"), default=False)
    categories = models.ManyToManyField("billing.CostCategory", blank=True, related_name="+",
                                        verbose_name=_("kostnadskategorier"))
    bases = models.ManyToManyField("billing.InvoiceBasis", blank=True, related_name="document_attachments",
                                   verbose_name=_("fakturagrunnlag"))
    active = models.BooleanField(_("aktiv"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title"]
        verbose_name = _("vedlegg")
        verbose_name_plural = _("vedlegg")

    def __str__(self):
        return self.title


class Receipt(models.Model):
    """The receipt of one answer: an offer acceptance, or a change notice accepted or declined. Written
    in the transaction of the answer (`offers/receivers.py`), rendered after commit by the document
    pipeline (`offers/documents.py`, kind "receipt") and, when the company's seal is configured, sealed
    with a PAdES signature (`offers/seal.py`). Stored once: one receipt per answer, never re-issued."""

    basis = models.ForeignKey("billing.InvoiceBasis", on_delete=models.CASCADE, related_name="receipts",
                              verbose_name=_("fakturagrunnlag"))
    acceptance = models.OneToOneField("billing.Acceptance", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="receipt")
    change_notice = models.OneToOneField("billing.ChangeNotice", null=True, blank=True,
                                         on_delete=models.PROTECT, related_name="receipt")
    # Decided when the receipt is issued (the seal was configured then) and printed on the receipt.
    sealed = models.BooleanField(_("forseglet"), default=False)
    created_at = models.DateTimeField(_("utstedt"), auto_now_add=True)
    pdf = models.FileField(upload_to="receipts/%Y/", blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["basis", "created_at", "id"]
        constraints = [models.CheckConstraint(
            condition=models.Q(acceptance__isnull=False, change_notice__isnull=True)
            | models.Q(acceptance__isnull=True, change_notice__isnull=False),
            name="receipt_one_answer")]
        verbose_name = _("kvittering")
        verbose_name_plural = _("kvitteringer")

    def __str__(self):
        return f"{_('Kvittering')} {self.pk}"

    @property
    def is_change(self) -> bool:
        return self.change_notice_id is not None
