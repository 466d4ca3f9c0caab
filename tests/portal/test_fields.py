"""The portal's form fields are written in Python (`field_block`, portal/templatetags/fields.py);
portal/_field.html is the reference: both must give the same bytes for every kind of field, unbound,
valid and refused, in every language and with hostile text."""

import pytest
from django import forms
from django.template import Context, Template
from django.template.loader import get_template
from django.utils import translation

from portal.forms import AcceptForm, DeclineForm

HOSTILE = "<b>\"Ærlig\" & 'åpen'</b> %(n)s {{ x }} «»\nny linje"


class HostileForm(forms.Form):
    email = forms.EmailField(label=HOSTILE, help_text="Vi sender en <strong>lenke</strong>.")
    secret = forms.CharField(label="Passord", widget=forms.PasswordInput, help_text=HOSTILE.replace("<", "&lt;"))
    agree = forms.BooleanField(label=HOSTILE)
    note = forms.CharField(widget=forms.Textarea, required=False, max_length=5)


def _forms():
    yield AcceptForm(initial={"offer_version": 3})
    yield AcceptForm({"offer_version": "3"})  # the terms not read: refused
    yield DeclineForm(initial={"offer_version": 3})
    yield DeclineForm({"offer_version": "3", "reason": HOSTILE * 300})  # too long
    yield HostileForm()
    yield HostileForm({"email": HOSTILE, "secret": "x", "note": "<script>alert(1)</script>"})
    yield HostileForm(auto_id=False)


@pytest.mark.parametrize("language", ["nb", "nn", "en"])
def test_field_block_is_the_templates_bytes(language):
    seen = 0
    with translation.override(language):
        for form in _forms():
            if form.is_bound:
                form.is_valid()
            for field in form.visible_fields():
                expected = get_template("portal/_field.html").render({"field": field})
                written = Template("{% load fields %}{% field_block field %}").render(Context({"field": field}))
                assert written == expected, (type(form).__name__, field.name)
                seen += 1
    assert seen == 16


def test_what_a_refused_field_says():
    form = HostileForm({"email": HOSTILE, "secret": "x"})
    form.is_valid()
    with translation.override("nb"):
        written = Template("{% load fields %}{% field_block field %}").render(Context({"field": form["email"]}))
    assert 'class="field has-error"' in written and 'id="id_email_error"' in written
    assert "&lt;b&gt;&quot;Ærlig&quot;" in written and "<b>" not in written  # the label, escaped
    assert "Vi sender en <strong>lenke</strong>." in written  # our own help text, as the template marks it
