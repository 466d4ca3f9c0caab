"""`{% field_block field %}`: a form field of the portal's forms with its label, help text and errors."""

from html import escape  # what autoescape does, without Django's lazy-text wrapper

from django import template
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag
def field_block(field) -> str:
    """The field (a bound field) in its `<div class="field">`: a checkbox inside its label, any other
    widget after it; the help text and the errors with the ids the widget's aria-describedby names
    (…_helptext, …_error). Written in Python, as a portal page shows a few on every request;
    `portal/_field.html` is the reference (tests/portal/test_fields.py compares the bytes)."""
    label = escape(str(field.label))
    for_id = escape(str(field.id_for_label))
    if getattr(field.field.widget, "input_type", None) == "checkbox":
        labelled = f'<label class="check" for="{for_id}">{field} <span>{label}</span></label>'
    else:
        labelled = f'<label for="{for_id}">{label}</label>\n  {field}'
    errors = field.errors
    help_text = (f'<div class="help" id="{escape(str(field.auto_id))}_helptext">{field.help_text}</div>'
                 if field.help_text else "")
    listing = ""
    if errors:
        items = "".join(f"<li>{escape(str(e))}</li>" for e in errors)
        listing = f'<ul class="errorlist" id="{escape(str(field.auto_id))}_error">{items}</ul>'
    # The widget's own markup (Django's, escaped by it), the help text as the template marks it safe (our
    # own texts), and escaped text otherwise.
    return SafeString(  # nosec B703
        f'<div class="field{" has-error" if errors else ""}">\n  \n  {labelled}\n  \n  {help_text}\n  \n  {listing}\n</div>\n')
