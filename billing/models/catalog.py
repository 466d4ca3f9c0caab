"""What a cost line can be: VAT codes and cost categories."""

from django.db import models
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

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


# The cost categories the database is seeded with (billing/migrations/0002_seed_vat_and_categories.py):
# their labels are in the catalogues, so a page or document shows them in its language. A label the
# company wrote itself is shown as written.
SEEDED_CATEGORY_LABELS = (gettext_noop("Anleggsbidrag"), gettext_noop("Trafoutlevering"),
                          gettext_noop("Målerarbeid"), gettext_noop("Replombering"), gettext_noop("Sanering/riving"),
                          gettext_noop("Flytting/omlegging av nett"), gettext_noop("Tjeneste"), gettext_noop("Gebyr"))


def category_label(label: str) -> str:
    """A cost category's label (a category row's or an invoice line's snapshot) in the active language."""
    return gettext(label) if label else label


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
        return self.display_label

    @property
    def display_label(self) -> str:
        return category_label(self.label)
