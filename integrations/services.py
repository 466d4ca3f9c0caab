"""Integration workflows: API clients and their tokens, invoice bases and related cases from other
systems, installer links, and outbound status notifications (outbox → signed HTTP POST, in order).

Money and status rules stay in billing.services; this module only adapts other systems to them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import time

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from billing import norwegian
from billing import services as billing
from billing.errors import ConflictError, InvalidInput
from billing.models import AuditEvent, Customer, InvoiceBasis
from kundefaktura.queue import enqueue, enqueue_on_commit

from .models import (
    ApiClient,
    ClientBasisLink,
    DeliveryAttempt,
    Installer,
    Notification,
    RelatedCase,
    Subscription,
)

log = logging.getLogger(__name__)

DELIVER_TASK = "integrations.deliver_notifications"

SIGNATURE_HEADER = "X-Kundefaktura-Signature"
INSTALLER_LINK_SALT = "integrations.installer-case"


# --- API clients ------------------------------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def api_client_create(*, name: str, scopes: list[str] | None = None) -> tuple[ApiClient, str]:
    """Create a client system; returns it and its token (shown once, stored only hashed)."""
    scopes = list(scopes) if scopes else list(ApiClient.SCOPES)
    unknown = set(scopes) - set(ApiClient.SCOPES)
    if unknown:
        raise InvalidInput(_("Ukjente tilganger: %s") % ", ".join(sorted(unknown)), fields={"scopes": ["unknown"]})
    if not (name or "").strip():
        raise InvalidInput(_("Klienten må ha et navn."), fields={"name": ["required"]})
    token = "kf_" + secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            client = ApiClient.objects.create(name=name.strip(), token_hash=hash_token(token),
                                              token_prefix=token[:10], scopes=scopes)
    except IntegrityError:
        raise ConflictError(_("Det finnes allerede en API-klient med navnet %s.") % name) from None
    return client, token


def api_client_authenticate(token: str) -> ApiClient | None:
    if not token:
        return None
    client = ApiClient.objects.filter(token_hash=hash_token(token), is_active=True).first()
    if client is not None:
        now = timezone.now()
        if client.last_used_at is None or now - client.last_used_at > dt.timedelta(minutes=5):
            ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
    return client


def subscription_create(*, client: ApiClient, url: str, secret: str | None = None,
                        all_bases: bool = False) -> Subscription:
    sub = Subscription(client=client, url=url, secret=secret or secrets.token_urlsafe(32), all_bases=all_bases)
    try:
        sub.full_clean()
    except ValidationError as exc:
        raise InvalidInput(str(exc), fields={k: [str(m) for m in v] for k, v in exc.message_dict.items()}) from None
    sub.save()
    return sub


def link_client(client, basis) -> None:
    """Remember that this client system works on this basis (it gets its notifications)."""
    if isinstance(client, ApiClient):
        ClientBasisLink.objects.get_or_create(client=client, basis_id=basis.pk)


# --- invoice bases from other systems -----------------------------------------------------------------


def _customer_for(data: dict, by) -> Customer:
    """Reuse the customer with the same ERP number (or orgnr), else create one."""
    erp = (data.get("erp_customer_number") or "").strip()
    orgnr = "".join(ch for ch in (data.get("orgnr") or "") if ch.isdigit())
    existing = None
    if erp:
        existing = Customer.objects.filter(erp_customer_number=erp).order_by("id").first()
    if existing is None and orgnr:
        existing = Customer.objects.filter(orgnr=orgnr).order_by("id").first()
    if existing is not None:
        if data.get("language"):
            existing = billing.customer_language_set(customer=existing, language=data["language"], by=by)
        return existing
    address = data.get("address") or {}
    try:
        return billing.customer_create(
            by=by, name=data["name"], email=data.get("email") or "", phone=data.get("phone") or "",
            orgnr=orgnr, erp_customer_number=erp, street=address.get("street") or "",
            postal_code=address.get("postal_code") or "", city=address.get("city") or "",
            language=data.get("language") or settings.LANGUAGE_CODE)
    except InvalidInput as exc:
        exc.fields = {f"customer.{k}": v for k, v in exc.fields.items()}
        raise


@transaction.atomic
def api_basis_create(*, by, reference: str, title: str, customer: dict, site: dict | None = None,
                     metering_point_id: str | None = None, order_date: dt.date | None = None,
                     prepayment_required: bool | None = None) -> tuple[InvoiceBasis, bool]:
    """Create a basis for another system; the same `reference` again returns the first one."""
    existing = InvoiceBasis.objects.filter(reference=reference).first()
    if existing is not None:
        link_client(by, existing)
        return existing, False
    cust = _customer_for(customer, by)
    site = site or {}
    basis, created = billing.basis_create(
        by=by, title=title, customer=cust, reference=reference, source=getattr(by, "name", "api")[:40],
        site_street=site.get("street") or "", site_postal_code=site.get("postal_code") or "",
        site_city=site.get("city") or "", metering_point_id=metering_point_id or "", order_date=order_date,
        prepayment_required=prepayment_required)
    link_client(by, basis)
    return basis, created


def _installer_for(data: dict | None) -> tuple[Installer | None, bool]:
    """The installer these details name: the one with the same org.nr. (or, without one, the same name and
    e-mail), else a new one. Returns it and whether it was created."""
    if not data:
        return None, False
    orgnr = "".join(ch for ch in (data.get("orgnr") or "") if ch.isdigit())
    name, email = (data.get("name") or "").strip(), (data.get("email") or "").strip()
    phone = (data.get("phone") or "").strip()
    installer = None
    if orgnr:
        installer = Installer.objects.filter(orgnr=orgnr).first()
    if installer is None and not orgnr:
        installer = Installer.objects.filter(orgnr="", name=name, email=email).first()
    if installer is not None:
        return installer, False
    installer = Installer(name=name, orgnr=orgnr, email=email, phone=phone)
    try:
        # Not the unique org.nr.: checked here it would refuse the installer another request created a moment
        # ago; the save below meets that case and takes the other's.
        installer.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise InvalidInput(next(iter(exc.messages), _("Ugyldig installatør.")),
                           fields={f"installer.{k}": [str(m) for m in v] for k, v in exc.message_dict.items()}
                           ) from None
    if phone and not norwegian.phone_valid(phone):
        raise InvalidInput(_("Ugyldig telefonnummer for installatøren."), fields={"installer.phone": ["invalid"]})
    try:
        with transaction.atomic():  # a savepoint: another request may have created it a moment ago
            installer.save()
    except IntegrityError:
        existing = Installer.objects.filter(orgnr=orgnr).first() if orgnr else None
        if existing is None:
            raise
        return existing, False
    return installer, True


def _installer_label(installer: Installer | None) -> str:
    if installer is None:
        return ""
    return f"{installer.name} ({installer.orgnr})" if installer.orgnr else installer.name


@transaction.atomic
def related_case_link(*, basis, by, source: str, external_id: str, title: str = "",
                      installer: dict | Installer | None = None) -> tuple[RelatedCase, bool]:
    """Tie a case in another system to a basis, with the installer doing the work: an `Installer`, or
    details to find or create one by (a dict with name, orgnr, email, phone); None keeps the case's
    installer. The same (source, external_id) again on the same basis updates title/installer; on another
    basis it is a conflict. Every change is an audit event on the basis."""
    basis = InvoiceBasis.objects.select_for_update().get(pk=basis.pk)
    if source not in RelatedCase.Source.values:
        raise InvalidInput(_("Ukjent kilde: %s") % source, fields={"source": ["invalid"]})
    external_id = (external_id or "").strip()
    if not external_id:
        raise InvalidInput(_("Saken må ha et saksnummer."), fields={"external_id": ["required"]})
    title = (title or "").strip()
    inst_created = False
    if isinstance(installer, Installer):
        inst = Installer.objects.filter(pk=installer.pk).first()
        if inst is None:
            raise InvalidInput(_("Installatøren finnes ikke lenger."), fields={"installer": ["gone"]})
    else:
        inst, inst_created = _installer_for(installer)
    case = RelatedCase.objects.select_for_update().filter(source=source, external_id=external_id).first()
    link_client(by, basis)
    label = f"{RelatedCase.Source(source).label} {external_id}"
    if case is not None:
        if case.basis_id != basis.pk:
            raise ConflictError(_("Saken %(s)s %(e)s er allerede knyttet til et annet fakturagrunnlag.")
                                % {"s": source, "e": external_id}, fields={"external_id": ["conflict"]})
        changed = {}
        if title and case.title != title:
            changed["title"] = title
            case.title = title
        if inst is not None and case.installer_id != inst.pk:
            changed["installer"] = _installer_label(inst)
            case.installer = inst
        if changed:
            case.save(update_fields=[*(k for k in ("title", "installer") if k in changed), "updated_at"])
            billing.audit(action="integrations.related_case.updated", by=by, basis=basis,
                          note=" · ".join(filter(None, [label, _installer_label(case.installer)])),
                          data={"source": source, "external_id": external_id, "changed": changed,
                                "installer_created": inst_created})
        return case, False
    try:
        with transaction.atomic():  # a savepoint: the same case may be linked to another basis this moment
            case = RelatedCase.objects.create(basis=basis, source=source, external_id=external_id, title=title,
                                              installer=inst)
    except IntegrityError:
        other = RelatedCase.objects.filter(source=source, external_id=external_id).first()
        if other is None or other.basis_id == basis.pk:
            raise
        raise ConflictError(_("Saken %(s)s %(e)s er allerede knyttet til et annet fakturagrunnlag.")
                            % {"s": source, "e": external_id}, fields={"external_id": ["conflict"]}) from None
    data = {"source": source, "external_id": external_id, "title": title}
    if inst is not None:
        data.update(installer=_installer_label(inst), installer_created=inst_created)
    billing.audit(action="integrations.related_case.linked", by=by, basis=basis, data=data,
                  note=" · ".join(filter(None, [label, _installer_label(inst)])))
    return case, True


@transaction.atomic
def related_case_unlink(*, basis, by, case_id: int) -> bool:
    """Remove a related case from a basis (its installer no longer sees the basis). A case that is already
    gone, or belongs to another basis, is left alone: returns False."""
    basis = InvoiceBasis.objects.select_for_update().get(pk=basis.pk)
    case = (RelatedCase.objects.select_for_update(of=("self",)).select_related("installer")
            .filter(pk=case_id, basis_id=basis.pk).first())
    if case is None:
        return False
    label = f"{case.get_source_display()} {case.external_id}"
    data = {"source": case.source, "external_id": case.external_id, "title": case.title,
            "installer": _installer_label(case.installer)}
    case.delete()
    billing.audit(action="integrations.related_case.unlinked", by=by, basis=basis, data=data,
                  note=" · ".join(filter(None, [label, data["installer"]])))
    return True


# --- installer links ---------------------------------------------------------------------------------


def installer_link_token(case: RelatedCase) -> str:
    return signing.dumps({"rc": case.pk}, salt=INSTALLER_LINK_SALT, compress=True)


def installer_link_url(case: RelatedCase) -> str:
    return settings.SITE_URL + reverse("integrations:installer_link", args=[installer_link_token(case)])


def installer_link_case(token: str) -> RelatedCase | None:
    """The case a signed link shows, or None when the link is forged or has expired."""
    try:
        data = signing.loads(token, salt=INSTALLER_LINK_SALT,
                             max_age=settings.INSTALLER_LINK_MAX_AGE)
    except signing.BadSignature:  # SignatureExpired is a BadSignature
        return None
    if not isinstance(data, dict) or not isinstance(data.get("rc"), int):
        return None
    return RelatedCase.objects.select_related("basis", "installer").filter(pk=data["rc"]).first()


# --- outbound notifications ---------------------------------------------------------------------------

STATUS_CHANGED = "invoice_basis.status_changed"
WORK_RELEASE_CHANGED = "invoice_basis.work_release_changed"
WORK_RELEASE_ACTIONS = {"billing.basis.work_released", "billing.basis.work_blocked"}


def event_type_of(event: AuditEvent) -> str | None:
    if event.basis_id is None:
        return None
    if event.action in WORK_RELEASE_ACTIONS:
        return WORK_RELEASE_CHANGED
    if event.to_status and event.from_status and event.to_status != event.from_status:
        return STATUS_CHANGED
    return None


def subscriptions_for(basis) -> list[Subscription]:
    """Active subscriptions of the client systems that touched this basis, plus `all_bases` ones."""
    client_ids = ClientBasisLink.objects.filter(basis_id=basis.pk).values("client_id")
    return list(Subscription.objects.filter(is_active=True, client__is_active=True)
                .filter(Q(all_bases=True) | Q(client_id__in=client_ids)).order_by("id"))


def notification_payload(event: AuditEvent, event_type: str, basis: InvoiceBasis) -> dict:
    """The signed notification's body. Its `status_label` is bokmål (LANGUAGE_CODE) whoever made the
    change: another system must not get a different word depending on a customer's language."""
    from billing.status import Status

    with translation.override(settings.LANGUAGE_CODE):
        status_label = str(Status(basis.status).label)
    cases = list(RelatedCase.objects.filter(basis_id=basis.pk).order_by("id"))
    return {
        "event": event_type,
        "event_id": event.pk,
        "action": event.action,
        "occurred_at": event.at.isoformat(),
        "invoice_basis": {
            "id": basis.pk, "number": basis.number, "reference": basis.reference, "title": basis.title,
            "status": basis.status, "status_label": status_label,
            "work_release": basis.work_release,
        },
        "from_status": event.from_status or None,
        "to_status": event.to_status or None,
        "work_release": basis.work_release,
        "related_cases": [{"source": c.source, "external_id": c.external_id, "title": c.title,
                           "status_url": installer_link_url(c)} for c in cases],
    }


def notifications_for_event(event: AuditEvent) -> list[Notification]:
    """Called inside the transaction that wrote the event: the outbox rows commit with the change."""
    event_type = event_type_of(event)
    if event_type is None:
        return []
    basis = event.basis
    subs = subscriptions_for(basis)
    if not subs:
        return []
    payload = notification_payload(event, event_type, basis)
    rows = Notification.objects.bulk_create([
        Notification(subscription=s, basis=basis, event=event, event_type=event_type,
                     payload={**payload, "subscription": s.pk}) for s in subs])
    for row in rows:
        pair = (row.subscription_id, row.basis_id)
        enqueue_on_commit(DELIVER_TASK, *pair)
    return rows


def enqueue_delivery(subscription_id: int, basis_id: int, countdown: float | None = None) -> bool:
    """Queue the delivery task; a dead broker is logged, and the sweeper finds the row later."""
    return enqueue(DELIVER_TASK, subscription_id, basis_id, countdown=countdown)


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def backoff_seconds(attempts: int) -> int:
    base = settings.NOTIFY_BACKOFF_BASE
    cap = settings.NOTIFY_BACKOFF_MAX
    return int(min(cap, base * (2 ** max(0, attempts - 1))))


def _queue_head(subscription_id: int, basis_id: int) -> Notification | None:
    return (Notification.objects.filter(subscription_id=subscription_id, basis_id=basis_id,
                                        status=Notification.Status.PENDING).order_by("id").first())


def _claim(row: Notification, now) -> bool:
    lease = now + dt.timedelta(seconds=settings.NOTIFY_TIMEOUT * 3)
    return bool(Notification.objects.filter(pk=row.pk, status=Notification.Status.PENDING)
                .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
                .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
                .update(claimed_until=lease))


def _post(sub: Subscription, row: Notification) -> tuple[int | None, str]:
    import requests

    body = json.dumps(row.payload, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True).encode("utf-8")
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, sub.secret),
               "X-Kundefaktura-Event": row.event_type, "X-Kundefaktura-Delivery": str(row.pk),
               "User-Agent": "Kundefaktura-Notifier/1"}
    try:
        response = requests.post(sub.url, data=body, headers=headers,  # timeout on the next line  # nosec B113
                                 timeout=settings.NOTIFY_TIMEOUT, allow_redirects=False)
    except requests.RequestException as exc:
        return None, f"{type(exc).__name__}: {exc}"[:1000]
    if 200 <= response.status_code < 300:
        return response.status_code, ""
    return response.status_code, (response.text or "")[:1000]


def deliver_queue(*, subscription_id: int, basis_id: int, max_rows: int = 100) -> dict:
    """Deliver the pending notifications of one (subscription, basis) queue in order. Stops at the first
    failure (the row gets a backoff) so event n+1 is never delivered before event n."""
    delivered = 0
    for _i in range(max_rows):
        row = _queue_head(subscription_id, basis_id)
        if row is None:
            return {"delivered": delivered, "pending": False}
        now = timezone.now()
        if row.next_attempt_at and row.next_attempt_at > now:
            return {"delivered": delivered, "pending": True,
                    "retry_in": (row.next_attempt_at - now).total_seconds()}
        if not _claim(row, now):
            return {"delivered": delivered, "pending": True, "busy": True}
        sub = Subscription.objects.get(pk=subscription_id)
        started = time.monotonic()
        status_code, error = _post(sub, row)
        ms = int((time.monotonic() - started) * 1000)
        ok = status_code is not None and 200 <= status_code < 300
        DeliveryAttempt.objects.create(notification=row, status_code=status_code, ok=ok, error=error,
                                       duration_ms=ms)
        if ok:
            Notification.objects.filter(pk=row.pk).update(
                status=Notification.Status.DELIVERED, delivered_at=timezone.now(), attempts=row.attempts + 1,
                last_status_code=status_code, last_error="", claimed_until=None, next_attempt_at=None)
            delivered += 1
            continue
        wait = backoff_seconds(row.attempts + 1)
        Notification.objects.filter(pk=row.pk).update(
            attempts=row.attempts + 1, last_status_code=status_code, last_error=error or f"HTTP {status_code}",
            claimed_until=None, next_attempt_at=timezone.now() + dt.timedelta(seconds=wait))
        return {"delivered": delivered, "pending": True, "retry_in": wait}
    return {"delivered": delivered, "pending": True, "retry_in": 0}


def sweep_notifications(*, now=None) -> int:
    """Re-queue every queue whose head is due (its task was lost, or its backoff has passed)."""
    now = now or timezone.now()
    due = (Notification.objects.filter(status=Notification.Status.PENDING)
           .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
           .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
           .order_by().values_list("subscription_id", "basis_id").distinct())
    count = 0
    for sub_id, basis_id in list(due)[:1000]:
        if enqueue_delivery(sub_id, basis_id):
            count += 1
    return count
