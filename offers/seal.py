"""The company's electronic seal on receipts: a PAdES signature (pyHanko) made with the key and
certificate of a PKCS#12 file (`RECEIPT_SEAL_P12`, `RECEIPT_SEAL_P12_PASSWORD`).

- PAdES-B-B: the signature covers the whole PDF and names the signing certificate (ETSI.CAdES.detached,
  SHA-256). With `RECEIPT_TSA_URL` a trusted timestamp (RFC 3161) is added over the signature: PAdES-B-T.
- Without a PKCS#12 file receipts are issued unsealed and say so (`seal_configured()` is False).
- A seal that is configured but cannot be made (unreadable file, wrong password, TSA down) raises
  `SealError`: the receipt is then not stored, and the render is tried again (by the e-mail delivery,
  the PDF view or the render task), never silently stored without the seal it promises.

Anyone can check a sealed receipt: `pyhanko sign validate --trust <company CA> receipt.pdf`, or Adobe
Reader's signature panel (docs/documents-and-email.md).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import logging
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings

log = logging.getLogger(__name__)

FIELD_NAME = "Forsegling"


class SealError(RuntimeError):
    """The seal is configured but could not be applied."""


def seal_configured() -> bool:
    return bool(settings.RECEIPT_SEAL_P12)


def timestamp_configured() -> bool:
    return bool(settings.RECEIPT_TSA_URL)


def _signer():
    from pyhanko.sign import signers

    password = settings.RECEIPT_SEAL_P12_PASSWORD
    try:
        signer = signers.SimpleSigner.load_pkcs12(
            str(settings.RECEIPT_SEAL_P12), passphrase=password.encode() if password else None)
    except (OSError, ValueError) as exc:
        raise SealError(f"the seal's PKCS#12 file cannot be read: {exc}") from exc
    if signer is None:  # pyHanko logs the reason (wrong password, no key in the file)
        raise SealError("the seal's PKCS#12 file cannot be opened (wrong password or no key in it)")
    return signer


def seal_check(app_configs=None, **kwargs):
    """`manage.py check` (and every management command's start): a configured seal that cannot be
    opened is an error, found before the first receipt waits for it."""
    from django.core import checks

    if not seal_configured():
        return []
    try:
        signer = _signer()
    except SealError as exc:
        return [checks.Error(str(exc), hint="Check RECEIPT_SEAL_P12 and RECEIPT_SEAL_P12_PASSWORD.",
                             id="offers.E001")]
    not_after = signer.signing_cert["tbs_certificate"]["validity"]["not_after"].native
    if not_after < dt.datetime.now(dt.UTC):
        return [checks.Error(f"the seal certificate expired {not_after:%Y-%m-%d}", id="offers.E002")]
    return []


def _timestamper():
    if not timestamp_configured():
        return None
    from pyhanko.sign.timestamps.requests_client import HTTPTimeStamper

    return HTTPTimeStamper(settings.RECEIPT_TSA_URL, timeout=settings.RECEIPT_TSA_TIMEOUT)


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def seal_pdf(content: bytes, *, reason: str, location: str = "") -> bytes:
    """`content` with the company's PAdES signature (B-B, or B-T with a timestamp) appended as an
    incremental update: the original bytes are kept unchanged in front of the signature."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    signer = _signer()
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason, location=location or None, use_pades_lta=False, embed_validation_info=False)
    out = io.BytesIO()

    def sign():
        writer = IncrementalPdfFileWriter(io.BytesIO(content))
        signers.PdfSigner(meta, signer=signer, timestamper=_timestamper()).sign_pdf(writer, output=out)

    try:
        if _loop_running():  # pyHanko's synchronous API starts an event loop: not inside a running one
            with ThreadPoolExecutor(max_workers=1) as pool:
                pool.submit(sign).result()
        else:
            sign()
    except Exception as exc:  # noqa: BLE001 — any failure (a TSA down, a broken key) means: not sealed
        log.warning("receipt seal failed: %s", exc)
        raise SealError(f"the receipt could not be sealed: {exc}") from exc
    return out.getvalue()
