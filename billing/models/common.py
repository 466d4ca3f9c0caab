"""Field sizes, validators and choices that several of the billing tables share."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from billing import norwegian

MONEY = {"max_digits": 14, "decimal_places": 2}
QTY = {"max_digits": 14, "decimal_places": 3}


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
