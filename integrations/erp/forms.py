from django import forms
from django.utils.translation import gettext_lazy as _

MAX_BANK_FILE = 20 * 1024 * 1024


class BankFileForm(forms.Form):
    file = forms.FileField(label=_("Bankfil (camt.054 XML eller OCR)"))

    def clean_file(self):
        f = self.cleaned_data["file"]
        if f.size > MAX_BANK_FILE:
            raise forms.ValidationError(_("Filen er for stor (maks 20 MB)."))
        return f
