"""Django's `i18n` template tags, with `{% translate "…" %}` of a constant kept once per language.

A `{% translate %}` tag costs about 6 µs on every render (a lazy string, gettext, the active language
from a context-local), the same text each time for the same language; a basis page renders some 200 of
them. The settings register this module under the label `i18n` (TEMPLATES' `libraries`), so
`{% load i18n %}` loads it: every tag and filter is Django's own, except that a `translate` (or
`trans`) of a plain string literal — no filters, no `context`, no `as`, no `noop` — keeps what it
rendered per active language and autoescape setting. Any other form renders as Django renders it.
Translations do not change while a process runs (a deployment restarts it).
tests/kundefaktura/test_i18ntags.py renders both ways in every language and compares.
"""

from django import template
from django.templatetags import i18n
from django.utils import translation

register = template.Library()
register.tags.update(i18n.register.tags)
register.filters.update(i18n.register.filters)


class ConstantTranslateNode(i18n.TranslateNode):
    """A TranslateNode of a plain literal: its output depends only on the language and autoescape."""

    rendered: dict

    def render(self, context):
        key = (translation.get_language(), context.autoescape)
        try:
            return self.rendered[key]
        except KeyError:
            value = self.rendered[key] = super().render(context)
            return value


@register.tag("translate")
@register.tag("trans")
def do_translate(parser, token):
    node = i18n.do_translate(parser, token)
    expression = node.filter_expression
    if (not node.noop and node.asvar is None and node.message_context is None and not expression.filters
            and isinstance(expression.var, template.Variable) and expression.var.literal is not None):
        node.__class__ = ConstantTranslateNode
        node.rendered = {}
    return node
