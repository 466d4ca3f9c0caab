from decimal import Decimal

from django.db import migrations

VAT = [
    ("S", "Standard sats", Decimal("25.00"), ""),
    ("O", "Utenfor merverdiavgiftsområdet", Decimal("0.00"), "Anleggsbidrag er utenfor merverdiavgiftsområdet"),
    ("E", "Fritatt", Decimal("0.00"), "Fritatt for merverdiavgift"),
    ("Z", "Nullsats", Decimal("0.00"), ""),
]
CATEGORIES = [
    ("connection_contribution", "Anleggsbidrag", "O"),
    ("transformer_delivery", "Trafoutlevering", "O"),
    ("meter_work", "Målerarbeid", "S"),
    ("resealing", "Replombering", "S"),
    ("decommissioning", "Sanering/riving", "S"),
    ("relocation", "Flytting/omlegging av nett", "S"),
    ("service", "Tjeneste", "S"),
    ("fee", "Gebyr", "S"),
]
SERIES = ["F", "K"]


def seed(apps, schema_editor):
    VatCode = apps.get_model("billing", "VatCode")
    CostCategory = apps.get_model("billing", "CostCategory")
    NumberSeries = apps.get_model("billing", "NumberSeries")
    for code, name, rate, reason in VAT:
        VatCode.objects.update_or_create(code=code, defaults={"name": name, "rate": rate,
                                                              "exemption_reason": reason})
    for i, (code, label, vat) in enumerate(CATEGORIES):
        CostCategory.objects.update_or_create(
            code=code, defaults={"label": label, "default_vat": VatCode.objects.get(code=vat), "sort_order": i})
    for name in SERIES:
        NumberSeries.objects.get_or_create(name=name, defaults={"next_value": 1})


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
