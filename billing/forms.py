"""Forms of the workspace: they parse and validate input; services decide and change state."""

from decimal import Decimal

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from kundefaktura.languages import language_choices

from . import norwegian, textinput
from .clock import today
from .errors import BillingError
from .models import (
    SOURCE_LABELS,
    Acceptance,
    AllocationMethod,
    CompanyProfile,
    CostCategory,
    CostLine,
    Customer,
    SharedCost,
    VatCode,
    validate_metering_point,
)
from .selectors import DEFAULT_SORT, SORTS, SOURCES, WorklistFilters
from .status import Status


class AmountField(forms.DecimalField):
    """A decimal typed the Norwegian way or the English way: "1 234,50", "1234.50", "12,5"."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
        super().__init__(**kwargs)

    def to_python(self, value):
        if isinstance(value, str):
            value = value.strip().replace("\u00a0", "").replace(" ", "").replace("\u2212", "-")
            if "," in value:
                value = value.replace(".", "").replace(",", ".")
        if value in self.empty_values:
            return None
        if isinstance(value, Decimal):
            return value
        places = self.decimal_places if self.decimal_places is not None else 6
        int_digits = (self.max_digits - places) if self.max_digits is not None else 18
        if textinput.has_foreign_digits(value):
            raise forms.ValidationError(_("Skriv tallet med sifrene 0–9."), code="invalid")
        try:
            return textinput.parse_decimal(str(value), places=places, int_digits=int_digits)
        except ValueError:
            # Django's validators give the precise reason (too many digits or decimals) for what parses.
            try:
                return super().to_python(value)
            except forms.ValidationError:
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None

    def prepare_value(self, value):
        # A stored Decimal is shown the Norwegian way, as the line table shows it: quantity 2.000 → "2"
        # (not "2.000", which reads as two thousand), price 1234.50 → "1 234,50". to_python reads it back.
        if isinstance(value, Decimal):
            from .formatting import nok_plain, qty

            return nok_plain(value) if self.decimal_places == 2 else qty(value)
        return super().prepare_value(value)


def _single_line(value):
    reason = textinput.single_line_error(value)
    if reason:
        raise forms.ValidationError(_("Feltet %(reason)s.") % {"reason": reason}, code="control_chars")


class InputRulesMixin:
    """For every form of the workspace: single-line text fields refuse line breaks and control characters,
    and number fields refuse digits other than ASCII 0–9 (Django itself reads "１２３" as 123)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.CharField) and not isinstance(field.widget, forms.Textarea):
                field.validators.append(_single_line)

    def clean(self):
        cleaned = super().clean()
        for name, field in self.fields.items():
            if isinstance(field, forms.IntegerField | forms.DecimalField | forms.FloatField):
                raw = field.widget.value_from_datadict(self.data, self.files, self.add_prefix(name))
                if textinput.has_foreign_digits(raw) and name not in self.errors:
                    self.add_error(name, forms.ValidationError(
                        _("Skriv tallet med sifrene 0–9."), code="invalid"))
        return cleaned


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class LanguageSelect(forms.Select):
    """Each language named in itself ("Norsk nynorsk", "English"), marked with its `lang` so a screen
    reader pronounces it right."""

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        if value:
            option["attrs"]["lang"] = value
        return option


class WorklistFilterForm(InputRulesMixin, forms.Form):
    q = forms.CharField(label=_("Søk"), required=False, max_length=100,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": _(
                            "Nummer, kunde, adresse, målepunkt, saksnummer")}))
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("Alle"))] + list(Status.choices))
    source = forms.ChoiceField(label=_("Kilde"), required=False,
                               choices=[("", _("Alle"))] + [(s, SOURCE_LABELS[s]) for s in SOURCES])
    mine = forms.BooleanField(label=_("Opprettet av meg"), required=False)
    expiring = forms.BooleanField(label=_("Tilbud utløper snart"), required=False)
    overdue = forms.BooleanField(label=_("Forfalt"), required=False)
    sort = forms.CharField(required=False, widget=forms.HiddenInput)

    def filters(self) -> WorklistFilters:
        data = self.cleaned_data if self.is_valid() else {}
        sort = data.get("sort") or DEFAULT_SORT
        if sort.lstrip("-") not in SORTS:
            sort = DEFAULT_SORT
        return WorklistFilters(q=data.get("q") or "", status=data.get("status") or "",
                               source=data.get("source") or "", mine=bool(data.get("mine")),
                               expiring=bool(data.get("expiring")), overdue=bool(data.get("overdue")), sort=sort)


def validate_phone(value):
    if value and not norwegian.phone_valid(value):
        raise forms.ValidationError(_("Skriv telefonnummeret med 8–15 siffer (mellomrom og + foran er lov)."),
                                    code="phone")


def validate_postcode(value):
    if value and not norwegian.postcode_valid(value):
        raise forms.ValidationError(_("Postnummeret må være fire siffer."), code="postcode")


def validate_orgnr_input(value):
    if value and not norwegian.orgnr_valid(value):
        raise forms.ValidationError(_("Ugyldig organisasjonsnummer: ni siffer med riktig kontrollsiffer."),
                                    code="orgnr")


# The customer fields of the basis form: they create a new customer, or edit the picked one.
CUSTOMER_FORM_FIELDS = {"new_customer_name": "name", "new_customer_email": "email", "new_customer_phone": "phone",
                        "new_customer_street": "street", "new_customer_postal_code": "postal_code",
                        "new_customer_city": "city", "new_customer_language": "language"}


class BasisForm(InputRulesMixin, forms.Form):
    title = forms.CharField(label=_("Tittel"), max_length=200)
    customer = forms.ModelChoiceField(label=_("Kunde"), queryset=Customer.objects.all(), required=False,
                                      widget=forms.HiddenInput)
    new_customer_name = forms.CharField(label=_("Navn på ny kunde"), max_length=200, required=False)
    new_customer_email = forms.EmailField(label=_("E-post"), required=False)
    new_customer_phone = forms.CharField(label=_("Telefon"), max_length=40, required=False,
                                         validators=[validate_phone],
                                         widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}))
    new_customer_orgnr = forms.CharField(label=_("Organisasjonsnummer"), max_length=11, required=False,
                                         validators=[validate_orgnr_input])
    new_customer_street = forms.CharField(label=_("Postadresse"), max_length=200, required=False)
    new_customer_postal_code = forms.CharField(label=_("Postnummer"), max_length=10, required=False,
                                               validators=[validate_postcode],
                                               widget=forms.TextInput(attrs={"inputmode": "numeric"}))
    new_customer_city = forms.CharField(label=_("Poststed"), max_length=100, required=False)
    new_customer_language = forms.ChoiceField(
        label=_("Språk"), required=False, choices=language_choices, widget=LanguageSelect)
    # Filled by the ERP customer search (static/js/erp.js); ties the new customer to the ERP's record.
    new_customer_erp_number = forms.CharField(max_length=40, required=False, widget=forms.HiddenInput)
    site_street = forms.CharField(label=_("Anleggsadresse"), max_length=200, required=False)
    site_postal_code = forms.CharField(label=_("Postnummer"), max_length=10, required=False,
                                       validators=[validate_postcode],
                                       widget=forms.TextInput(attrs={"inputmode": "numeric"}))
    site_city = forms.CharField(label=_("Poststed"), max_length=100, required=False)
    metering_point_id = forms.CharField(label=_("Målepunkt-ID"), max_length=24, required=False,
                                        help_text=_("18 siffer"))
    order_date = forms.DateField(label=_("Bestillingsdato"), required=False, widget=DateInput())
    prepayment_required = forms.BooleanField(label=_("Forskudd påkrevd"), required=False)

    def clean_new_customer_language(self):
        return self.cleaned_data.get("new_customer_language") or settings.LANGUAGE_CODE

    def clean_metering_point_id(self):
        value = "".join((self.cleaned_data.get("metering_point_id") or "").split())
        validate_metering_point(value)
        return value

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("customer"):
            # Editing the picked customer: the name may be changed, not removed.
            if "new_customer_name" in self.data and not (cleaned.get("new_customer_name") or "").strip() \
                    and "new_customer_name" not in self.errors:
                self.add_error("new_customer_name", forms.ValidationError(_("Kunden må ha et navn."),
                                                                          code="required"))
        elif not cleaned.get("new_customer_name"):
            filled = [name for name in (*CUSTOMER_FORM_FIELDS, "new_customer_orgnr") if cleaned.get(name)]
            if filled and "new_customer_name" not in self.errors:
                self.add_error("new_customer_name", forms.ValidationError(
                    _("Skriv navnet på den nye kunden."), code="required"))
        return cleaned

    def customer_fields(self) -> dict:
        d = self.cleaned_data
        fields = {model: d.get(name) or "" for name, model in CUSTOMER_FORM_FIELDS.items()}
        if d.get("new_customer_orgnr"):
            fields["orgnr"] = d["new_customer_orgnr"]
        if d.get("new_customer_erp_number"):
            fields["erp_customer_number"] = d["new_customer_erp_number"]
        return fields

    def customer_changes(self, customer: Customer) -> dict:
        """The picked customer's fields the case worker changed (only those the form submitted)."""
        d = self.cleaned_data
        return {model: d.get(name) or "" for name, model in CUSTOMER_FORM_FIELDS.items()
                if name in self.data and (d.get(name) or "") != getattr(customer, model)}

    @staticmethod
    def customer_initial(customer: Customer | None) -> dict:
        if customer is None:
            return {}
        return {name: getattr(customer, model) for name, model in CUSTOMER_FORM_FIELDS.items()}

    def basis_fields(self) -> dict:
        d = self.cleaned_data
        return {k: d[k] for k in ("site_street", "site_postal_code", "site_city", "metering_point_id",
                                  "order_date", "prepayment_required")}


class LineForm(InputRulesMixin, forms.Form):
    category = forms.ModelChoiceField(label=_("Kategori"), queryset=CostCategory.objects.all(),
                                      to_field_name="code", empty_label=None)
    description = forms.CharField(label=_("Beskrivelse"), max_length=300)
    quantity = AmountField(label=_("Antall"), max_digits=14, decimal_places=3)
    unit = forms.CharField(label=_("Enhet"), max_length=20, initial="stk")
    unit_price = AmountField(label=_("Enhetspris"), max_digits=14, decimal_places=2)
    vat_code = forms.ModelChoiceField(label=_("MVA"), queryset=VatCode.objects.all(), to_field_name="code",
                                      required=False, empty_label=_("Standard"))
    customer_caused = forms.BooleanField(label=_("Kundeforårsaket"), required=False)

    def __init__(self, *args, categories=None, vat_codes=None, form_id=None, **kwargs):
        super().__init__(*args, **kwargs)
        if form_id:
            # Inputs of a table row belong to a <form> elsewhere in the row (HTML form attribute).
            for f in self.fields.values():
                f.widget.attrs.update({"form": form_id, "aria-label": str(f.label)})
        # Lists loaded once per page and reused by every row's form (no query per row).
        if categories is not None:
            self.fields["category"].choices = [(c.code, c.display_label) for c in categories]
        if vat_codes is not None:
            self.fields["vat_code"].choices = [("", _("Standard"))] + [(v.code, str(v)) for v in vat_codes]

    def clean_quantity(self):
        q = self.cleaned_data["quantity"]
        if q is not None and q <= 0:
            raise forms.ValidationError(_("Antall må være større enn null."))
        return q

    def service_kwargs(self) -> dict:
        d = self.cleaned_data
        return {"category": d["category"], "description": d["description"], "quantity": d["quantity"],
                "unit": d["unit"] or "stk", "unit_price": d["unit_price"],
                "vat_code": d["vat_code"].code if d.get("vat_code") else None,
                "customer_caused": d["customer_caused"]}

    @classmethod
    def initial_for(cls, line: CostLine) -> dict:
        return {"category": line.category.code, "description": line.description, "quantity": line.quantity,
                "unit": line.unit, "unit_price": line.unit_price, "vat_code": line.vat_code.code,
                "customer_caused": line.customer_caused}


class SendOfferForm(InputRulesMixin, forms.Form):
    valid_until = forms.DateField(label=_("Gyldig til"), required=False, widget=DateInput(),
                                  help_text=_("Tom: selskapets standard gyldighet"))


class AcceptForm(InputRulesMixin, forms.Form):
    channel = forms.ChoiceField(label=_("Hvordan aksepterte kunden?"),
                                choices=[(Acceptance.Channel.PAPER, _("Papir (signert tilbud)")),
                                         (Acceptance.Channel.PHONE, _("Telefon"))],
                                widget=forms.RadioSelect, initial=Acceptance.Channel.PAPER)
    note = forms.CharField(label=_("Notat"), widget=forms.Textarea(attrs={"rows": 3}), required=False,
                           help_text=_("For eksempel hvem du snakket med og når."))


class IssueForm(InputRulesMixin, forms.Form):
    issue_date = forms.DateField(label=_("Fakturadato"), required=False, widget=DateInput(),
                                 help_text=_("Tom: i dag"))


class CancelForm(InputRulesMixin, forms.Form):
    reason = forms.CharField(label=_("Grunn"), widget=forms.Textarea(attrs={"rows": 3}), required=False)


class PaymentForm(InputRulesMixin, forms.Form):
    invoice = forms.TypedChoiceField(label=_("Faktura"), coerce=int)
    amount = AmountField(label=_("Beløp"), max_digits=14, decimal_places=2)
    note = forms.CharField(label=_("Merknad"), max_length=300, required=False)

    def __init__(self, *args, invoices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["invoice"].choices = [(i.pk, f"{i.get_kind_display()} {i.number}") for i in invoices]


class CreditForm(InputRulesMixin, forms.Form):
    MODES = [("full", _("Hele fakturaen")), ("amount", _("Et beløp")), ("lines", _("Valgte linjer"))]
    invoice = forms.TypedChoiceField(label=_("Faktura"), coerce=int)
    mode = forms.ChoiceField(label=_("Hva skal krediteres?"), choices=MODES, widget=forms.RadioSelect,
                             initial="full")
    amount = AmountField(label=_("Beløp"), max_digits=14, decimal_places=2, required=False)
    lines = forms.TypedMultipleChoiceField(label=_("Linjer"), coerce=int, required=False,
                                           widget=forms.CheckboxSelectMultiple)
    reason = forms.CharField(label=_("Grunn"), widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, invoices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["invoice"].choices = [(i.pk, f"{i.get_kind_display()} {i.number}") for i in invoices]
        self.fields["lines"].choices = [(ln.pk, f"{i.number}: {ln.description}")
                                        for i in invoices for ln in i.lines.all()]

    def clean(self):
        d = super().clean()
        if d.get("mode") == "amount" and not d.get("amount"):
            self.add_error("amount", _("Oppgi beløpet som skal krediteres."))
        if d.get("mode") == "lines" and not d.get("lines"):
            self.add_error("lines", _("Velg minst én linje."))
        return d


class SharedCostForm(InputRulesMixin, forms.ModelForm):
    class Meta:
        model = SharedCost
        fields = ["description", "capacity", "capacity_unit", "allocation", "expected_count", "energised_on"]
        widgets = {"energised_on": DateInput()}
        labels = {"description": _("Beskrivelse"), "capacity": _("Kapasitet"), "capacity_unit": _("Enhet"),
                  "allocation": _("Fordelingsnøkkel"), "expected_count": _("Forventet antall tilknytninger"),
                  "energised_on": _("Spenningssatt")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["allocation"].choices = AllocationMethod.choices


class SharedLineForm(InputRulesMixin, forms.Form):
    category = forms.ModelChoiceField(label=_("Kategori"), queryset=CostCategory.objects.all(),
                                      to_field_name="code", initial="connection_contribution", empty_label=None)
    description = forms.CharField(label=_("Beskrivelse"), max_length=300)
    quantity = AmountField(label=_("Antall"), max_digits=14, decimal_places=3, initial=Decimal("1"))
    unit = forms.CharField(label=_("Enhet"), max_length=20, initial="stk")
    unit_price = AmountField(label=_("Enhetspris"), max_digits=14, decimal_places=2)

    def service_data(self) -> dict:
        d = self.cleaned_data
        return {"category": d["category"].code, "description": d["description"], "quantity": d["quantity"],
                "unit": d["unit"], "unit_price": d["unit_price"]}


class ParticipantForm(InputRulesMixin, forms.Form):
    basis = forms.IntegerField(widget=forms.HiddenInput)
    capacity = AmountField(label=_("Kapasitet"), max_digits=12, decimal_places=3, min_value=0)
    connected_on = forms.DateField(label=_("Tilknyttet"), required=False, widget=DateInput())


class CompanyProfileForm(InputRulesMixin, forms.ModelForm):
    class Meta:
        model = CompanyProfile
        fields = ["name", "orgnr", "vat_registered", "foretaksregisteret", "street", "postal_code", "city",
                  "email", "phone", "website", "bank_account", "kid_scheme", "kid_length", "due_days",
                  "offer_validity_days", "prepayment_required_default", "base_deduction_enabled",
                  "base_deduction_amount", "default_allocation", "reminder_fee", "reminder_days_after_due",
                  "refund_indexing", "refund_index_annual_percent", "installer_sees_amounts", "letterhead_note",
                  "logo"]
        widgets = {"letterhead_note": forms.TextInput()}


def add_billing_error(form, exc: BillingError):
    """Put a service's error beside the fields it names (or on the form)."""
    placed = False
    for name in exc.fields:
        # A customer service's field ("email") sits in the basis form as "new_customer_email".
        target = name if name in form.fields else f"new_customer_{name}"
        if target in form.fields:
            form.add_error(target, exc.message)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


class ValidUntilForm(InputRulesMixin, forms.Form):
    valid_until = forms.DateField(label=_("Gyldig til"), required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}))

    def clean_valid_until(self):
        value = self.cleaned_data.get("valid_until")
        if value and value < today():
            raise forms.ValidationError(_("Datoen er passert."))
        return value


class ActualCostForm(InputRulesMixin, forms.Form):
    category = forms.ModelChoiceField(label=_("Kategori"), queryset=CostCategory.objects.all(),
                                      to_field_name="code")
    description = forms.CharField(label=_("Beskrivelse"), max_length=300)
    quantity = AmountField(label=_("Antall"), max_digits=14, decimal_places=3, initial=1)
    unit = forms.CharField(label=_("Enhet"), max_length=20, initial="stk")
    unit_price = AmountField(label=_("Enhetspris"), max_digits=14, decimal_places=2)
    vat_code = forms.ModelChoiceField(label=_("MVA-kode"), queryset=VatCode.objects.all(),
                                      to_field_name="code", required=False,
                                      empty_label=_("Kategoriens standard"))
    customer_caused = forms.BooleanField(label=_("Kundeforårsaket (utenfor 15 %-taket)"),
                                         required=False)


class PayoutForm(InputRulesMixin, forms.Form):
    account = forms.CharField(label=_("Utbetalt til konto"), max_length=20, required=False)
    note = forms.CharField(label=_("Merknad"), max_length=300, required=False)
