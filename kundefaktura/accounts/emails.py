"""E-mail addresses as login identities: one normal form, compared exactly.

An address is stored and looked up as NFKC + casefold, trimmed. The database never folds case
itself: PostgreSQL's case-insensitive comparison maps the dotless ı (U+0131) to I, so a look-alike
address typed into a form would match a stored one.
"""

import unicodedata


def email_normalize(value: str | None) -> str:
    """The one stored and compared form of an e-mail address ("" for none)."""
    text = unicodedata.normalize("NFKC", (value or "").strip())
    return unicodedata.normalize("NFKC", text.casefold()).strip()
