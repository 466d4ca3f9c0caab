"""The fast form renderer writes exactly what Django's form templates write, for every form of the project."""

import inspect

import pytest
from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe

import billing.forms
import integrations.erp.forms
import integrations.forms
import portal.forms
from kundefaktura.formrender import FastRenderer

pytestmark = pytest.mark.django_db

SLOW, FAST = DjangoTemplates(), FastRenderer()


class EveryWidget(forms.Form):
    text = forms.CharField(label="Navn <b>&", max_length=10, help_text="hjelp", initial='a "quoted" <x>')
    email = forms.EmailField(required=False)
    number = forms.IntegerField(label=mark_safe("Antall <em>trygt</em>"), initial=3)
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date", "data-x": mark_safe("<safe>")}))
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "off", "disabled": True}))
    hidden = forms.CharField(widget=forms.HiddenInput, initial="h&v")
    check = forms.BooleanField(required=False, initial=True)
    check_off = forms.BooleanField(required=False, widget=forms.CheckboxInput(attrs={"hidden": False}))
    search = forms.CharField(widget=forms.TextInput(attrs={"type": "search"}), required=False)
    url = forms.URLField(required=False, assume_scheme="https")
    area = forms.CharField(widget=forms.Textarea, initial="linje 1\n<linje 2>")
    area_empty = forms.CharField(widget=forms.Textarea, required=False)
    choice = forms.ChoiceField(choices=[("", "—"), ("a", "A & B"), (3, 4)], initial="a")
    grouped = forms.ChoiceField(choices=[("Gruppe <1>", [("x", "X"), ("y", "Y")]), ("z", "Z")], initial="y")
    multi = forms.MultipleChoiceField(choices=[("a", "A"), ("b", "B")], initial=["a", "b"], required=False)
    radio = forms.ChoiceField(widget=forms.RadioSelect, choices=[("a", "A"), ("b", "B")], required=False)
    when = forms.SplitDateTimeField(required=False)


def _project_forms():
    found = []
    for module in (billing.forms, portal.forms, integrations.forms, integrations.erp.forms,
                   ):
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, forms.BaseForm) and cls.__module__ == module.__name__:
                found.append(cls)
    return found + [AuthenticationForm]


def _render(form):
    parts = []
    for bf in form:
        parts += [str(bf), bf.label_tag(), str(bf.errors), bf.as_field_group()]
    parts += [str(form.non_field_errors()), form.as_div()]
    return parts


def _build(cls, renderer, **kwargs):
    try:
        return cls(renderer=renderer, **kwargs)
    except TypeError:  # a form that needs arguments of its own (an instance, a user): unbound data only
        return None


@pytest.mark.parametrize("data", [None, {"text": "x" * 20, "number": "tre", "date": "nei", "choice": "q",
                                         "area": "", "multi": ["c"], "when_0": "x", "check_off": "on"}])
def test_every_widget_renders_the_same(data):
    kwargs = {} if data is None else {"data": data}
    slow, fast = _render(EveryWidget(renderer=SLOW, **kwargs)), _render(EveryWidget(renderer=FAST, **kwargs))
    assert fast == slow
    if data:
        assert 'class="errorlist"' in "".join(fast)


def test_the_project_forms_render_the_same():
    rendered = 0
    for cls in _project_forms():
        for kwargs in ({}, {"data": {"description": "<x>", "quantity": "-1", "title": "", "email": "nei"}},
                       {"prefix": "l7", "initial": {"unit": "stk"}}):
            slow, fast = _build(cls, SLOW, **kwargs), _build(cls, FAST, **kwargs)
            if slow is None:
                continue
            assert _render(fast) == _render(slow), cls.__name__
            rendered += 1
    assert rendered >= 40  # most forms build without arguments of their own


def test_the_line_form_of_a_table_row_renders_the_same():
    kwargs = {"form_id": "line-form-7", "prefix": "l7", "categories": [], "vat_codes": [],
              "data": {"l7-description": "kabel\u00a0<b>", "l7-quantity": "1,5"}}
    slow = billing.forms.LineForm(renderer=SLOW, **kwargs)
    fast = billing.forms.LineForm(renderer=FAST, **kwargs)
    assert _render(fast) == _render(slow)
