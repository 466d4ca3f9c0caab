"""`{% load i18n %}` loads kundefaktura/i18ntags.py: Django's tags, with a constant `{% translate %}` kept
per language. Whatever the tag's form, the language and the autoescape setting, and in whatever order
languages follow each other, it renders what Django's own library renders."""

import pytest
from django.template import Context, engines
from django.template.engine import Engine
from django.utils import translation

from kundefaktura.i18ntags import ConstantTranslateNode

TEMPLATES = [
    '{% translate "Beløp" %}|{% trans "Kunde" %}|{% translate "Sum eks. MVA" %}',
    '{% translate "Beløp" as b %}[{{ b }}]{% translate "Beløp" noop %}',
    '{% translate "Beløp"|upper %}|{% translate "Mai" context "month name" %}|{% translate word %}',
    '{% translate "100%% <b>fet</b> & «sitat»" %}|{% translate \'Kilde\' %}',
    '{% blocktranslate with n=3 %}Faktura {{ n }}{% endblocktranslate %}|{% get_current_language as L %}{{ L }}',
    '{% for i in "abc" %}{% translate "Endre" %}{{ i }}{% endfor %}',
]


def _engines():
    ours = engines["django"].engine
    django_own = Engine(dirs=ours.dirs, app_dirs=ours.app_dirs, libraries={"i18n": "django.templatetags.i18n"},
                        autoescape=True)
    return ours, django_own


@pytest.mark.parametrize("source", TEMPLATES)
def test_renders_as_djangos_own_in_every_language(source):
    ours, django_own = _engines()
    mine, theirs = ours.from_string("{% load i18n %}" + source), django_own.from_string("{% load i18n %}" + source)
    for language in ("nb", "en", "nn", "en", "nb"):  # languages in turn: nothing kept from the one before
        for autoescape in (True, False):
            with translation.override(language):
                context = {"word": "Beløp <i>"}
                assert mine.render(Context(context, autoescape=autoescape)) == \
                    theirs.render(Context(context, autoescape=autoescape)), (language, autoescape)


def test_only_a_plain_literal_is_kept():
    ours, _ = _engines()
    template = ours.from_string('{% load i18n %}{% translate "Beløp" %}{% translate "Beløp" as b %}'
                                '{% translate word %}{% translate "Beløp"|upper %}{% translate "Mai" context "m" %}')
    kinds = [type(node) for node in template.nodelist if "Translate" in type(node).__name__]
    assert kinds[0] is ConstantTranslateNode and ConstantTranslateNode not in kinds[1:] and len(kinds) == 5
    with translation.override("en"):
        assert template.render(Context({"word": "x"})).startswith("Amount")
    with translation.override("nb"):
        assert template.render(Context({"word": "x"})).startswith("Beløp")


def test_no_other_label_is_taken_twice():
    """The settings silence Django's check of labels used by several tag modules for the one label they
    take over on purpose; the check itself still finds nothing else."""
    warnings = engines["django"]._check_for_template_tags_with_the_same_name()
    assert [w.msg for w in warnings] == [
        "'i18n' is used for multiple template tag modules: 'django.templatetags.i18n', 'kundefaktura.i18ntags'"]
