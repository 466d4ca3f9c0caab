"""Customers and the company profile."""

from __future__ import annotations

from django.db import transaction

from billing.errors import InvalidInput
from billing.models import CompanyProfile, Customer
from billing.services.audit import audit
from billing.services.validation import validate

CUSTOMER_FIELDS = ("kind", "name", "orgnr", "email", "phone", "street", "postal_code", "city", "country",
                   "erp_customer_number", "bank_account", "language")


def customer_create(*, by=None, **fields) -> Customer:
    unknown = set(fields) - set(CUSTOMER_FIELDS)
    if unknown:
        raise InvalidInput(f"unknown customer fields: {', '.join(sorted(unknown))}")
    fields = {k: (v if v is not None else "") for k, v in fields.items()}
    if fields.get("orgnr"):
        fields["orgnr"] = "".join(ch for ch in fields["orgnr"] if ch.isdigit())
        fields.setdefault("kind", Customer.Kind.ORGANISATION)
    customer = Customer(**fields)
    validate(customer, exclude=["user"])
    customer.save()
    return customer


def customer_update(*, customer: Customer, by=None, **fields) -> Customer:
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        for k, v in fields.items():
            if k not in CUSTOMER_FIELDS:
                raise InvalidInput(f"unknown customer field {k}")
            setattr(customer, k, v if v is not None else "")
        validate(customer, exclude=["user"])
        customer.save()
    return customer


def customer_language_set(*, customer: Customer, language: str, by=None) -> Customer:
    """The customer's preferred language (portal, documents, e-mails), chosen by the customer in the
    portal or by a case worker. Idempotent: choosing the current language writes nothing."""
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if customer.language == language:
            return customer
        old = customer.language
        customer.language = language
        validate(customer, exclude=["user"])
        customer.save(update_fields=["language"])
        audit(action="billing.customer.language_set", by=by, note=f"{old} → {language}",
              data={"customer": customer.pk, "old": old, "new": language})
    return customer


def _audit_value(value):
    if value is None or isinstance(value, bool | int | str):
        return value
    if hasattr(value, "name") and hasattr(value, "storage"):  # a file field
        return value.name or ""
    return str(value)


@transaction.atomic
def company_profile_save(*, profile: CompanyProfile, by) -> CompanyProfile:
    """Save the company's settings as edited (`profile` holds the new values, not yet saved) and write one
    audit event listing every changed field with its old and new value. Saving unchanged values writes
    nothing."""
    old = CompanyProfile.objects.select_for_update().filter(pk=profile.pk).first() if profile.pk else None
    changes = {}
    for field in CompanyProfile._meta.concrete_fields:
        if field.primary_key or getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            continue
        before = _audit_value(field.value_from_object(old)) if old is not None else None
        after = _audit_value(field.value_from_object(profile))
        if before != after:
            changes[field.name] = {"label": str(field.verbose_name), "old": before, "new": after}
    if old is not None and not changes:
        return old
    profile.save()
    audit(action="billing.company.updated", by=by,
          note=", ".join(c["label"] for c in changes.values()), data={"changes": changes})
    return profile

