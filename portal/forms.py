from django import forms
from django.utils.translation import gettext_lazy as _


class LoginLinkRequestForm(forms.Form):
    email = forms.EmailField(label=_("E-postadresse"), max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}))


class AcceptForm(forms.Form):
    offer_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    terms_read = forms.BooleanField(
        label=_("Jeg har lest vilkårene"),
        error_messages={"required": _("Kryss av for at du har lest vilkårene før du aksepterer.")})


class DeclineForm(forms.Form):
    offer_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    reason = forms.CharField(label=_("Begrunnelse (valgfritt)"), required=False, max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 3}))


class PayForm(forms.Form):
    attempt = forms.UUIDField(widget=forms.HiddenInput)
