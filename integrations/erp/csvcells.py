"""Spreadsheet-safe text cells for the ERP CSV (OWASP "CSV injection").

A text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is read as a formula by
Excel and LibreOffice; such a cell is written with a leading apostrophe, which spreadsheets show as
plain text. A cell that itself starts with an apostrophe gets one more, so `unescape` gives back exactly
the original value (the http adapter sends the original text, not the spreadsheet form). Numeric columns
(numbers, dates, amounts) are never passed through here.
"""

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
MARK = "'"


def escape(value) -> str:
    text = "" if value is None else str(value)
    if text.startswith(TRIGGERS) or text.startswith(MARK):
        return MARK + text
    return text


def unescape(cell: str) -> str:
    if len(cell) > 1 and cell.startswith(MARK) and cell[1:].startswith((*TRIGGERS, MARK)):
        return cell[1:]
    return cell
