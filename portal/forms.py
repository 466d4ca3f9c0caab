from django import forms
from django.utils.translation import gettext_lazy as _


class LoginLinkRequestForm(forms.Form):
    email = forms.EmailField(label=_("E-postadresse"), max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}))


class AcceptForm(forms.Form):
    offer_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    terms_read = forms.BooleanField(
        label=_("Jeg har lest vilkårene over"),
        widget=forms.CheckboxInput(attrs={"aria-describedby": "offer-terms"}),
        error_messages={"required": _("Kryss av for at du har lest vilkårene før du aksepterer.")})

    def full_clean(self):
        super().full_clean()
        if "terms_read" in self.errors:  # the error is read out with the terms it is about
            self.fields["terms_read"].widget.attrs["aria-describedby"] = "offer-terms id_terms_read_error"


class DeclineForm(forms.Form):
    offer_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    reason = forms.CharField(label=_("Begrunnelse (valgfritt)"), required=False, max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 3}))


class PayForm(forms.Form):
    attempt = forms.UUIDField(widget=forms.HiddenInput)
