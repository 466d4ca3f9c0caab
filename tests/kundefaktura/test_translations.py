"""The catalogues: every language in settings.LANGUAGES is complete (no untranslated or fuzzy entry,
msgfmt --check passes), every string the code and templates mark is in them, and numbers and dates stay
Norwegian whatever the language."""

import datetime as dt
import shutil
import subprocess
import sys
from decimal import Decimal

import polib
import pytest
from django.conf import settings
from django.template import Context, Template
from django.utils import translation

from tests.conftest import REPO_ROOT

LOCALE = REPO_ROOT / "locale"
SOURCE = "nb"  # the msgids are bokmål: its catalogue needs no msgstr


def _catalogue(code: str) -> polib.POFile:
    return polib.pofile(str(LOCALE / code / "LC_MESSAGES" / "django.po"))


def test_every_offered_language_has_a_complete_catalogue():
    codes = [code for code, _name in settings.LANGUAGES]
    assert codes[0] == settings.LANGUAGE_CODE == SOURCE
    assert {"nb", "nn", "en"} <= set(codes)
    problems = {}
    for code in codes:
        path = LOCALE / code / "LC_MESSAGES" / "django.po"
        assert path.exists(), f"{code}: no catalogue at {path} (make messages)"
        check = subprocess.run(["msgfmt", "--check", "-o", "/dev/null", str(path)], capture_output=True, text=True)
        assert check.returncode == 0, f"{code}: {check.stderr}"
        if code == SOURCE:
            continue
        po = _catalogue(code)
        missing = [e.msgid for e in po.untranslated_entries()]
        fuzzy = [e.msgid for e in po.fuzzy_entries()]
        if missing or fuzzy:
            problems[code] = {"untranslated": missing[:20], "fuzzy": fuzzy[:20],
                              "counts": (len(missing), len(fuzzy))}
    assert problems == {}, f"translate these (docs/languages.md): {problems}"


def test_translations_keep_the_placeholders_and_markup_of_the_bokmål_text():
    import re

    marks = re.compile(r"%%|%\(\w+\)[sd]|%[sd]|<[^>]+>")
    wrong = []
    for code, _name in settings.LANGUAGES:
        if code == SOURCE:
            continue
        for e in _catalogue(code).translated_entries():
            pairs = [(e.msgid, e.msgstr)] if not e.msgid_plural else \
                [(e.msgid, e.msgstr_plural[0]), (e.msgid_plural, e.msgstr_plural[1])]
            wrong += [f"{code}: {a!r} → {b!r}" for a, b in pairs if sorted(marks.findall(a)) != sorted(marks.findall(b))]
    assert wrong == []


def test_every_marked_string_is_in_the_catalogues(tmp_path):
    """makemessages over a copy of the sources: a string marked in code or templates but missing from
    the catalogues (a template merged after the last `make messages`) fails here."""
    copy = tmp_path / "src"
    ignore = shutil.ignore_patterns(".venv", "var", "node_modules", "tests", "bench", ".git", "locale",
                                    "__pycache__", "*.pyc", "static")
    shutil.copytree(REPO_ROOT, copy, ignore=ignore, symlinks=True)
    (copy / "locale").mkdir()
    env = {"PATH": "/usr/bin:/bin", "DEBUG": "true", "DJANGO_SETTINGS_MODULE": "kundefaktura.settings"}
    result = subprocess.run([sys.executable, "manage.py", "makemessages", "-l", SOURCE, "--no-location",
                             "--ignore=.venv", "--ignore=var"], cwd=copy, capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    fresh = {(e.msgctxt, e.msgid) for e in polib.pofile(str(copy / "locale" / SOURCE / "LC_MESSAGES" / "django.po"))}
    for code, _name in settings.LANGUAGES:
        known = {(e.msgctxt, e.msgid) for e in _catalogue(code) if not e.obsolete}
        missing = sorted(m for _c, m in fresh - known)
        assert missing == [], f"{code}: not in the catalogue — run `make messages` and translate: {missing[:20]}"


@pytest.mark.parametrize("code", ["nb", "nn", "en"])
def test_numbers_dates_and_money_stay_norwegian_in_every_language(code):
    template = Template('{% load money %}{{ d|date:"SHORT_DATE_FORMAT" }}|{{ n }}|{{ amount|nok }}|'
                        '{{ amount|nok_plain }}|{{ at|date:"SHORT_DATETIME_FORMAT" }}')
    with translation.override(code):
        text = template.render(Context({"d": dt.date(2026, 12, 18), "n": Decimal("1234.5"),
                                        "amount": Decimal("1234.50"), "at": dt.datetime(2026, 12, 18, 14, 5)}))
    assert text == "18.12.2026|1234,5|1\u00a0234,50\u00a0kr|1\u00a0234,50|18.12.2026 14:05"
