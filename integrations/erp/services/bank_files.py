"""Reading bank files: the credits of an ISO 20022 camt.054 notification or a Nets OCR giro file, and
the checks a credit must pass before it can be booked (integrations/erp/services/bank.py books them)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from django.utils.translation import gettext as _

from billing.errors import InvalidInput

from ..models import BankImport, BankTransaction

KID_MAX = 25  # Nets: a KID is 2–25 digits
AMOUNT_LIMIT = Decimal(10) ** (BankTransaction._meta.get_field("amount").max_digits
                               - BankTransaction._meta.get_field("amount").decimal_places)
REFERENCE_MAX = BankTransaction._meta.get_field("bank_reference").max_length
PAYER_MAX = BankTransaction._meta.get_field("payer").max_length
AMOUNT_TEXT = re.compile(r"-?[0-9]{1,40}(\.[0-9]{1,40})?")


@dataclass
class Credit:
    bank_reference: str
    amount_text: str
    kid: str = ""
    currency: str = ""
    booking_date: dt.date | None = None
    value_date: dt.date | None = None
    payer: str = ""
    amount: Decimal | None = None  # set by credit_check when the credit can be booked


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(el, *path):
    for name in path:
        if el is None:
            return None
        el = next((c for c in el if _local(c.tag) == name), None)
    return el


def _text(el, *path) -> str:
    found = _child(el, *path)
    return (found.text or "").strip() if found is not None else ""


def _date(el, name) -> dt.date | None:
    node = _child(el, name)
    if node is None:
        return None
    raw = _text(node, "Dt") or _text(node, "DtTm")[:10]
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def credit_check(credit: Credit) -> str:
    """Why this credit cannot be booked ("" when it can; then `credit.amount` is set): what the bank file
    says must fit what we store — reference and KID lengths, a positive NOK amount in øre that fits
    max_digits, a KID of digits only."""
    ref = credit.bank_reference
    if not ref:
        return _("Mangler bankens referanse (AcctSvcrRef).")
    if len(ref) > REFERENCE_MAX:
        return _("Bankens referanse er lengre enn %(n)s tegn.") % {"n": REFERENCE_MAX}
    if credit.currency and credit.currency != "NOK":
        return _("Valuta %(c)s: bare innbetalinger i NOK kan registreres.") % {"c": credit.currency[:10]}
    raw = credit.amount_text
    if not AMOUNT_TEXT.fullmatch(raw):
        return _("Ugyldig beløp.")
    amount = Decimal(raw)
    if amount <= 0:
        return _("Beløpet må være større enn null.")
    if amount >= AMOUNT_LIMIT:
        return _("Beløpet er for stort til å være en innbetaling.")
    if amount != amount.quantize(Decimal("0.01"), rounding=ROUND_DOWN):
        return _("Beløpet har mer enn to desimaler.")
    kid = credit.kid
    if kid and not (kid.isascii() and kid.isdigit() and 2 <= len(kid) <= KID_MAX):
        return _("KID må være 2–%(n)s sifre.") % {"n": KID_MAX}
    credit.amount = amount.quantize(Decimal("0.01"))
    return ""


def parse_camt054(data: bytes) -> list[Credit]:
    """Credits (CRDT) of an ISO 20022 camt.054 notification, any message version (namespace-agnostic).
    Raises InvalidInput only when the file as a whole is not one; each credit is checked on its own."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise InvalidInput(_("Filen er ikke gyldig XML: %s") % exc) from exc
    if not any(_local(el.tag) == "BkToCstmrDbtCdtNtfctn" for el in root.iter()):
        raise InvalidInput(_("Filen er ikke en camt.054-melding (BkToCstmrDbtCdtNtfctn)."))
    credits = []
    for ntry in (el for el in root.iter() if _local(el.tag) == "Ntry"):
        if _text(ntry, "CdtDbtInd") != "CRDT":
            continue
        status = _text(ntry, "Sts") or _text(ntry, "Sts", "Cd")
        if status and status not in ("BOOK",):
            continue  # pending/info entries are not money yet
        booking, value = _date(ntry, "BookgDt"), _date(ntry, "ValDt")
        entry_ref = _text(ntry, "AcctSvcrRef") or _text(ntry, "NtryRef")
        txs = [tx for dtls in ntry if _local(dtls.tag) == "NtryDtls" for tx in dtls if _local(tx.tag) == "TxDtls"]
        for n, tx in enumerate(txs or [ntry], 1):
            amt = next((el for el in (_child(tx, "Amt"), _child(tx, "AmtDtls", "TxAmt", "Amt"), _child(ntry, "Amt"))
                        if el is not None and (el.text or "").strip()), None)
            ref = _text(tx, "Refs", "AcctSvcrRef") or (f"{entry_ref}-{n}" if len(txs) > 1 and entry_ref
                                                      else entry_ref)
            kid = ""
            for strd in (el for el in tx.iter() if _local(el.tag) == "Strd"):
                kid = _text(strd, "CdtrRefInf", "Ref")
                if kid:
                    break
            payer = _text(tx, "RltdPties", "Dbtr", "Nm") or _text(tx, "RltdPties", "Dbtr", "Pty", "Nm")
            credits.append(Credit(bank_reference=ref, amount_text=(amt.text or "").strip() if amt is not None else "",
                                  currency=(amt.get("Ccy") or "").strip() if amt is not None else "",
                                  kid=kid.replace(" ", ""), booking_date=booking, value_date=value,
                                  payer=payer[:PAYER_MAX]))
    return credits


def parse_ocr(data: bytes) -> list[Credit]:
    """Nets OCR giro file (80-character records): amount item 1 (record 30) and 2 (record 31)."""
    text_ = data.decode("latin-1")
    credits, assignment = [], ""
    pending = None
    for raw in text_.splitlines():
        line = raw.rstrip("\r\n").ljust(80)
        if not line.startswith("NY"):
            continue
        record = line[6:8]
        if record == "20":
            assignment = line[17:24].strip()
        elif record == "30":
            settle = line[15:21]
            try:
                settle_date = dt.datetime.strptime(settle, "%d%m%y").date()
            except ValueError:
                settle_date = None
            digits = line[32:49].strip() or "0"
            sign = "-" if line[31:32] == "-" else ""
            amount = (f"{sign}{int(digits) // 100}.{int(digits) % 100:02d}" if digits.isascii() and digits.isdigit()
                      else digits)
            pending = Credit(bank_reference=f"OCR-{assignment}-{line[8:15].strip()}-{settle}", amount_text=amount,
                             kid=line[49:74].strip(), booking_date=settle_date, value_date=settle_date)
            credits.append(pending)
        elif record == "31" and pending is not None:
            pending.bank_reference = f"OCR-{line[15:25].strip() or pending.bank_reference}-{line[8:15].strip()}"
    return credits


def parse_bank_file(data: bytes, fmt: str) -> list[Credit]:
    if fmt == BankImport.Format.CAMT054:
        return parse_camt054(data)
    credits = parse_ocr(data)
    if not credits and not data.strip().startswith(b"NY"):
        raise InvalidInput(_("Filen er verken camt.054 eller en OCR-fil."))
    return credits
