"""Forms of the case worker's related-case panel on the basis page: they parse and validate input;
integrations.services decides and changes state."""

from django import forms
from django.utils.translation import gettext_lazy as _

from billing.forms import InputRulesMixin, validate_orgnr_input, validate_phone

from .models import Installer, RelatedCase

NEW_INSTALLER_FIELDS = {"new_installer_name": "name", "new_installer_orgnr": "orgnr",
                        "new_installer_email": "email", "new_installer_phone": "phone"}


class CaseLinkForm(InputRulesMixin, forms.Form):
    """A related case (source, case number, title) and its installer: one picked from the search
    (`installer` = its id), or a new one from the new_installer_* fields, or none."""

    source = forms.ChoiceField(label=_("Kilde"), choices=RelatedCase.Source.choices)
    external_id = forms.CharField(label=_("Saksnummer"), max_length=100,
                                  help_text=_("Nummeret saken har i kildesystemet, f.eks. NM-2026-10411."))
    title = forms.CharField(label=_("Tittel"), max_length=200, required=False)
    installer = forms.CharField(required=False, widget=forms.HiddenInput)
    installer_q = forms.CharField(label=_("Søk etter installatør"), max_length=100, required=False,
                                  widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
                                  help_text=_("Navn, e-post eller organisasjonsnummer."))
    new_installer_name = forms.CharField(label=_("Navn"), max_length=200, required=False)
    new_installer_orgnr = forms.CharField(label=_("Organisasjonsnummer"), max_length=11, required=False,
                                          validators=[validate_orgnr_input],
                                          widget=forms.TextInput(attrs={"inputmode": "numeric"}))
    new_installer_email = forms.EmailField(label=_("E-post"), required=False,
                                           widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    new_installer_phone = forms.CharField(label=_("Telefon"), max_length=40, required=False,
                                          validators=[validate_phone],
                                          widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].initial = RelatedCase.Source.NETTMELDING

    def clean_external_id(self):
        return (self.cleaned_data.get("external_id") or "").strip()

    def clean_installer(self):
        value = (self.cleaned_data.get("installer") or "").strip()
        if not value:
            return None
        installer = Installer.objects.filter(pk=int(value)).first() if value.isascii() and value.isdigit() \
            and len(value) < 12 else None
        if installer is None:
            raise forms.ValidationError(_("Installatøren finnes ikke. Søk og velg på nytt."), code="invalid")
        return installer

    def clean(self):
        cleaned = super().clean()
        # What was typed counts, valid or not: an invalid org.nr. alone still asks for the name.
        new = {name: (self.data.get(self.add_prefix(name)) or "").strip() for name in NEW_INSTALLER_FIELDS}
        if any(new.values()):
            if cleaned.get("installer"):
                self.add_error("new_installer_name", forms.ValidationError(
                    _("Du har både valgt en installatør og fylt inn en ny. Velg «Ingen valgt» eller tøm "
                      "feltene for ny installatør."), code="both"))
            for name, message in (("new_installer_name", _("Skriv navnet på installatøren.")),
                                  ("new_installer_orgnr", _("Skriv installatørens organisasjonsnummer."))):
                if not new[name] and name not in self.errors:
                    self.add_error(name, forms.ValidationError(message, code="required"))
        return cleaned

    def new_installer(self) -> dict | None:
        d = self.cleaned_data
        data = {model: (d.get(name) or "").strip() for name, model in NEW_INSTALLER_FIELDS.items()}
        return data if any(data.values()) else None

    def has_new_installer_input(self) -> bool:
        return any((self.data.get(self.add_prefix(name)) or "").strip() for name in NEW_INSTALLER_FIELDS) \
            or any(name in self.errors for name in NEW_INSTALLER_FIELDS)

    def service_kwargs(self) -> dict:
        d = self.cleaned_data
        return {"source": d["source"], "external_id": d["external_id"], "title": d.get("title") or "",
                "installer": self.new_installer() or d.get("installer")}
