"""A pseudo language for finding text that did not go through translation.

`pseudo_catalogue()` writes a catalogue for the language code `xx` in which every msgid of ours (the
bokmål catalogue) and of Django's own apps is translated to itself between ⟦ and ⟧. Rendered in `xx`,
every word that went through gettext is inside brackets; `unmarked_words()` returns the words that are
not — after taking out the data the page shows (names, addresses, numbers, amounts, dates, codes) —
which is text that would stay bokmål in every language.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import django
import polib

from tests.conftest import REPO_ROOT

CODE = "xx"
OPEN, CLOSE = "\u27e6", "\u27e7"


def _sources() -> list[Path]:
    site = Path(django.__file__).resolve().parent
    found = [REPO_ROOT / "locale" / "nb" / "LC_MESSAGES" / "django.po",
             site / "conf" / "locale" / "nb" / "LC_MESSAGES" / "django.po"]
    found += sorted((site / "contrib").glob("*/locale/nb/LC_MESSAGES/django.po"))
    found += sorted(site.parent.glob("axes/locale/nb/LC_MESSAGES/django.po"))
    return [p for p in found if p.exists()]


def pseudo_catalogue(root: Path) -> Path:
    """Write root/xx/LC_MESSAGES/django.{po,mo}; returns `root` (for LOCALE_PATHS)."""
    out = polib.POFile()
    out.metadata = {"Content-Type": "text/plain; charset=UTF-8", "Language": CODE,
                    "Plural-Forms": "nplurals=2; plural=(n != 1);"}
    seen = set()
    for path in _sources():
        for e in polib.pofile(str(path)):
            key = (e.msgctxt, e.msgid)
            if key in seen or not e.msgid or e.obsolete:
                continue
            seen.add(key)
            entry = polib.POEntry(msgctxt=e.msgctxt, msgid=e.msgid, msgid_plural=e.msgid_plural, flags=[])
            if e.msgid_plural:
                entry.msgstr_plural = {0: OPEN + e.msgid + CLOSE, 1: OPEN + e.msgid_plural + CLOSE}
            else:
                entry.msgstr = OPEN + e.msgid + CLOSE
            out.append(entry)
    folder = root / CODE / "LC_MESSAGES"
    folder.mkdir(parents=True, exist_ok=True)
    out.save(str(folder / "django.po"))
    out.save_as_mofile(str(folder / "django.mo"))
    return root


class _Text(HTMLParser):
    """Visible text and the attributes people read or hear, minus elements in another language
    (the language switch names each language in itself)."""

    VISIBLE_ATTRS = ("title", "aria-label", "placeholder", "alt", "data-label", "data-confirm")
    SKIP = {"script", "style", "template"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._stack: list[bool] = []  # per open element: is its text skipped?

    def _skipped(self) -> bool:
        return any(self._stack)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        skip = tag in self.SKIP or (tag != "html" and "lang" in a)
        if not skip and not self._skipped():
            self.parts += [v for k, v in attrs if k in self.VISIBLE_ATTRS and v]
            if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
                self.parts.append(a["value"])
        if tag not in self.VOID:
            self._stack.append(skip)

    def handle_endtag(self, tag):
        if tag not in self.VOID and self._stack:
            self._stack.pop()

    def handle_data(self, data):
        if not self._skipped():
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    return "\n".join(parser.parts)


_MARKED = re.compile(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}")
_NOT_WORDS = re.compile(r"https?://\S+|\S+@\S+|/[\w/.\-]+/")
WORD = re.compile(r"[^\W\d_]{2,}")


def words(text: str) -> set[str]:
    return set(WORD.findall(_NOT_WORDS.sub(" ", text or "")))


def unmarked_words(text: str, data: set[str]) -> set[str]:
    """The words of `text` outside ⟦…⟧ that are not data."""
    previous = None
    while previous != text:  # innermost first: a translated text may hold a translated value
        previous, text = text, _MARKED.sub(" ", text)
    return {w for w in words(text) if w not in data}


# Names and symbols that are the same in every language: the product, SI units of capacity.
NAMES = {"Kundefaktura", "kW", "kVA"}


def data_words() -> set[str]:
    """Every word stored in the database's text columns (what a page shows as data, not as text), and
    the product's name."""
    from django.apps import apps
    from django.db import models

    found: set[str] = set(NAMES)
    for model in apps.get_models():
        fields = [f.name for f in model._meta.concrete_fields
                  if isinstance(f, models.CharField | models.TextField | models.JSONField)]
        if not fields:
            continue
        for row in model._default_manager.values_list(*fields):
            for value in row:
                found |= words(value if isinstance(value, str) else repr(value))
    return found
