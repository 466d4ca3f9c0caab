"""Django's form renderer with the common widget, label and error-list templates written in Python.

Django renders every widget, label and error list through a template (`django/forms/widgets/input.html`
includes `attrs.html`, a `<select>` includes one template per option): a form with a dozen fields costs
about forty template renders, several milliseconds per page. `FastRenderer` produces the same HTML,
byte for byte, for Django's own templates named in `FAST` and hands every other template (a project
override, a custom widget, a whole-form layout) to Django's template engine as before.
`tests/kundefaktura/test_formrender.py` renders every form of the project both ways and compares them.

Validation is untouched: this only turns a bound or unbound form's widgets into HTML.
"""

from django.forms.renderers import DjangoTemplates
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, mark_safe

_INPUT = "django/forms/widgets/input.html"
_OPTION = "django/forms/widgets/select_option.html"
# Widget templates that are nothing but `{% include "django/forms/widgets/input.html" %}` and a newline.
_INPUT_WRAPPERS = {f"django/forms/widgets/{name}.html" for name in (
    "text", "email", "date", "datetime", "time", "number", "password", "search", "tel", "url", "hidden",
    "checkbox", "color")}


def _fmt(value) -> str:
    """`{{ value|stringformat:'s' }}`: str() of the value, escaped unless it is already safe."""
    text = str(value)
    return conditional_escape(mark_safe(text) if isinstance(value, SafeData) else text)  # nosec B308 B703


def _var(value) -> str:
    """`{{ value }}`: localized, then escaped unless safe."""
    return conditional_escape(localize(value))


def _attrs(attrs) -> str | None:
    """`django/forms/widgets/attrs.html` and `django/forms/attrs.html`."""
    out = []
    for name, value in (attrs or {}).items():
        if value is False:
            continue
        if value is True:
            out.append(f" {conditional_escape(name)}")
        else:
            out.append(f' {conditional_escape(name)}="{_fmt(value)}"')
    return "".join(out)


def _input(context) -> str | None:
    w = context["widget"]
    value = w["value"]
    if value is not None and not isinstance(value, str):
        return None  # stringformat of another type: let the template decide
    val = "" if value is None else f' value="{_fmt(value)}"'
    return f'<input type="{_var(w["type"])}" name="{_var(w["name"])}"{val}{_attrs(w["attrs"])}>\n'


def _input_wrapper(context) -> str | None:
    out = _input(context)
    return None if out is None else out + "\n"


def _option(option) -> str:
    return f'<option value="{_fmt(option["value"])}"{_attrs(option["attrs"])}>{_var(option["label"])}</option>\n'


def _select(context) -> str | None:
    w = context["widget"]
    out = [f'<select name="{_var(w["name"])}"{_attrs(w["attrs"])}>']
    for group_name, group_choices, _index in w["optgroups"]:
        if group_name:
            out.append(f'\n  <optgroup label="{_var(group_name)}">')
        for option in group_choices:
            if option["template_name"] != _OPTION:
                return None
            out.append("\n  " + _option(option))
        if group_name:
            out.append("\n  </optgroup>")
    out.append("\n</select>\n")
    return "".join(out)


def _textarea(context) -> str | None:
    w = context["widget"]
    value = w["value"]
    body = _var(value) if value else ""
    return f'<textarea name="{_var(w["name"])}"{_attrs(w["attrs"])}>\n{body}</textarea>\n'


def _label(context) -> str | None:
    if not context.get("use_tag"):
        return f"{_var(context['label'])}\n"
    tag = _var(context["tag"])
    return f"<{tag}{_attrs(context.get('attrs'))}>{_var(context['label'])}</{tag}>\n"


def _errors(context) -> str | None:
    errors = context["errors"]
    if not errors:
        return ""
    field_id = getattr(errors, "field_id", None)
    ident = f' id="{_var(field_id)}_error"' if field_id else ""
    items = "".join(f"<li>{_var(e)}</li>" for e in errors)
    return f'<ul class="{_var(context["error_class"])}"{ident}>{items}</ul>'


FAST = {
    _INPUT: _input,
    **{name: _input_wrapper for name in _INPUT_WRAPPERS},
    "django/forms/widgets/select.html": _select,
    "django/forms/widgets/textarea.html": _textarea,
    "django/forms/label.html": _label,
    "django/forms/errors/list/default.html": _errors,
    "django/forms/errors/list/ul.html": _errors,
}


class FastRenderer(DjangoTemplates):
    """FORM_RENDERER: Django's DjangoTemplates renderer, with `FAST` for its most used templates."""

    def render(self, template_name, context, request=None):
        fast = FAST.get(template_name)
        if fast is not None:
            out = fast(context)
            if out is not None:
                return out.strip()  # as Django's renderer does
        return super().render(template_name, context, request=request)
