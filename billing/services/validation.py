"""Input validation shared by the workflows: model validation as `InvalidInput`, and lookups of
cost categories and VAT codes by code."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from billing.errors import InvalidInput
from billing.models import CostCategory, VatCode


def validate(instance, exclude=None):
    try:
        # Uniqueness and constraints are the database's job (and a query per row here).
        instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        fields = {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
        first = next(iter(fields.values()))[0] if fields else str(exc)
        raise InvalidInput(first, fields=fields) from None


def get_vat_code(code: str) -> VatCode:
    try:
        return VatCode.objects.get(code=code)
    except VatCode.DoesNotExist:
        raise InvalidInput(_("Ukjent MVA-kode: %s") % code, fields={"vat_code": ["unknown"]}) from None


def get_category(code: str) -> CostCategory:
    try:
        return CostCategory.objects.select_related("default_vat").get(code=code)
    except CostCategory.DoesNotExist:
        raise InvalidInput(_("Ukjent kostnadskategori: %s") % code, fields={"category": ["unknown"]}) from None

