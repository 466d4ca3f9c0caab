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
    phone = models.CharField(_("telefon"), max_length=40, blank=True)
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


# --- API clients ----------------------------------------------------------------------------------


class ApiClient(models.Model):
    """A client system (Nettmelding, the work-order system, product orders…). Its bearer token is stored
    only as a SHA-256 hash; `create_api_client` prints the token once."""

    SCOPE_READ = "read"
    SCOPE_WRITE = "write"
    SCOPES = (SCOPE_READ, SCOPE_WRITE)

    name = models.CharField(_("navn"), max_length=100, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    token_prefix = models.CharField(_("tokenprefiks"), max_length=12, blank=True)
    scopes = models.JSONField(_("tilganger"), default=list, blank=True)
    is_active = models.BooleanField(_("aktiv"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("API-klient")
        verbose_name_plural = _("API-klienter")

    def __str__(self):
        return self.name

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])


class ClientBasisLink(models.Model):
    """Which client systems have touched a basis (created it, sent lines or related cases):
    they are the ones notified about its status."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="basis_links")
    basis = models.ForeignKey(InvoiceBasis, on_delete=models.CASCADE, related_name="client_links")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "basis"], name="client_basis_link_unique")]


class Subscription(models.Model):
    """Where a client system wants status notifications, and the secret they are signed with."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="subscriptions",
                               verbose_name=_("API-klient"))
    url = models.URLField(_("adresse"), max_length=500)
    secret = models.CharField(_("hemmelighet"), max_length=200)
    all_bases = models.BooleanField(
        _("alle grunnlag"), default=False,
        help_text=_("Varsle om alle fakturagrunnlag, ikke bare dem klienten har sendt data til."))
    is_active = models.BooleanField(_("aktiv"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["client__name", "id"]
        verbose_name = _("abonnement")
        verbose_name_plural = _("abonnementer")

    def __str__(self):
        return f"{self.client} → {self.url}"


class Notification(models.Model):
    """One outbound status notification to one subscription (the outbox row). Delivered in id order
    per (subscription, basis): a row waits until every earlier row of its queue is delivered."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Venter")
        DELIVERED = "delivered", _("Levert")

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="notifications",
                                     verbose_name=_("abonnement"))
    basis = models.ForeignKey(InvoiceBasis, on_delete=models.CASCADE, related_name="notifications",
                              verbose_name=_("fakturagrunnlag"))
    event = models.ForeignKey("billing.AuditEvent", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    event_type = models.CharField(_("hendelse"), max_length=60)
    payload = models.JSONField(default=dict)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("forsøk"), default=0)
    next_attempt_at = models.DateTimeField(_("neste forsøk"), null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(_("siste HTTP-status"), null=True, blank=True)
    last_error = models.TextField(_("siste feil"), blank=True)
    created_at = models.DateTimeField(_("opprettet"), auto_now_add=True)
    delivered_at = models.DateTimeField(_("levert"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("varsel")
        verbose_name_plural = _("varsler")
        indexes = [
            models.Index(fields=["subscription", "basis", "status", "id"]),
            models.Index(fields=["status", "next_attempt_at"]),
        ]

    def __str__(self):
        return f"{self.event_type} #{self.pk}"


class DeliveryAttempt(models.Model):
    """The delivery log: one row per HTTP attempt."""

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="delivery_attempts")
    at = models.DateTimeField(auto_now_add=True)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    ok = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("leveringsforsøk")
        verbose_name_plural = _("leveringsforsøk")
