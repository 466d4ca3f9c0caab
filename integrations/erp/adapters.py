"""ERP adapters: customer search and delivery of export batches, chosen by settings.ERP_ADAPTER.

- "demo":     customers from integrations/erp/fixtures/demo_customers.json (or ERP_DEMO_CUSTOMERS);
              delivery is accepted at once (nothing leaves the machine) — for `make run`.
- "http":     a generic HTTP/JSON ERP at ERP_BASE_URL with a bearer token ERP_TOKEN:
                GET  {base}/customers?q=<text>&limit=<n>   → {"results": [{customer}, ...]}
                POST {base}/invoices  (one JSON document per invoice/credit note, with the EHF XML and
                     `receipts`: [{filename, sha256, pdf_base64}] of the answers the invoice rests on),
                     header Idempotency-Key: kundefaktura-<series>-<number>; 2xx = accepted,
                     409 = already had it (also accepted). Anything else fails the delivery.
                POST {base}/reminder-fees  (one JSON record per reminder fee: the CSV row's fields —
                     invoice number, KID, customer, fee, reminder_step, date — after the documents),
                     header Idempotency-Key: kundefaktura-reminder-<invoice number>-<step>; same answers.
- "filedrop": writes the batch into ERP_DROP_DIR/kundefaktura-batch-<id>/ (export.csv, one
              XML per document under ehf/, the receipts the invoices rest on under receipts/)
              through a temporary directory that is renamed when complete, so the ERP never picks
              up half a batch. Customer search reads ERP_DROP_DIR/customers.json
              when the ERP drops one there.

A customer is a dict with: number, name, orgnr, email, phone, street, postal_code, city, kind.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import requests
from django.conf import settings
from django.core.files.storage import default_storage

from . import csvcells

CUSTOMER_FIELDS = ("number", "name", "orgnr", "email", "phone", "street", "postal_code", "city", "kind")


class ErpError(Exception):
    """The ERP could not be reached or refused what we sent (delivery is retried)."""


@dataclass
class DeliveryResult:
    reference: str = ""
    delivered: int = 0


# Other names ERPs give the postal address fields (flat, or inside an "address" object).
ADDRESS_ALIASES = {"street": ("street", "address_line", "address1", "line1"),
                   "postal_code": ("postal_code", "postcode", "zip", "zip_code"),
                   "city": ("city", "postal_place", "town")}


def _normalise(raw: dict) -> dict:
    c = {f: str(raw.get(f) or "").strip() for f in CUSTOMER_FIELDS}
    c["number"] = c["number"] or str(raw.get("customer_number") or raw.get("id") or "").strip()
    nested = raw.get("address") if isinstance(raw.get("address"), dict) else {}
    if isinstance(raw.get("address"), str) and not c["street"]:
        c["street"] = raw["address"].strip()
    for field, names in ADDRESS_ALIASES.items():
        if not c[field]:
            c[field] = next((str(src[n]).strip() for src in (raw, nested) for n in names if src.get(n)), "")
    if not c["kind"]:
        c["kind"] = "organisation" if c["orgnr"] else "person"
    return c


def _match(customers, q: str, limit: int) -> list[dict]:
    words = [w for w in q.lower().split() if w]
    hits = []
    for raw in customers:
        c = _normalise(raw)
        hay = " ".join((c["number"], c["name"], c["orgnr"], c["email"], c["street"], c["city"])).lower()
        if words and all(w in hay for w in words):
            hits.append(c)
            if len(hits) >= limit:
                break
    return hits


class ErpAdapter:
    name = "base"

    def search_customers(self, q: str, limit: int = 10) -> list[dict]:
        raise NotImplementedError

    def deliver(self, batch, files: BatchFiles) -> DeliveryResult:
        raise NotImplementedError


class BatchFiles:
    """The stored files of a batch, by their names in the project's storage: the CSV, the zip of EHF
    documents and the zip of the receipts the invoices rest on (read through the storage API, streamed,
    never loaded whole)."""

    def __init__(self, csv_name: str, archive_name: str, receipts_name: str = "", storage=None):
        self.csv_name, self.archive_name, self.receipts_name = csv_name, archive_name, receipts_name
        self.storage = storage or default_storage

    @classmethod
    def of(cls, batch) -> BatchFiles:
        return cls(batch.csv_file, batch.ehf_archive, batch.receipts_archive)

    def open_csv_bytes(self):
        return self.storage.open(self.csv_name, "rb")

    def open_csv(self):
        """The CSV as text (UTF-8, the CSV module's newline handling)."""
        return io.TextIOWrapper(self.open_csv_bytes(), encoding="utf-8", newline="")

    @contextlib.contextmanager
    def open_archive(self):
        """The EHF zip, open (a ZipFile does not close a file it was handed: both are closed here)."""
        with self.storage.open(self.archive_name, "rb") as fh, zipfile.ZipFile(fh) as zf:
            yield zf

    @contextlib.contextmanager
    def open_receipts(self):
        """The receipts zip, open; None when the batch has none."""
        if not self.receipts_name:
            yield None
            return
        with self.storage.open(self.receipts_name, "rb") as fh, zipfile.ZipFile(fh) as zf:
            yield zf

    def documents(self):
        """Yield (filename, xml bytes) one at a time."""
        with self.open_archive() as zf:
            for info in zf.infolist():
                yield info.filename, zf.read(info)


class DemoAdapter(ErpAdapter):
    name = "demo"

    def _customers(self):
        path = settings.ERP_DEMO_CUSTOMERS or Path(__file__).parent / "fixtures" / "demo_customers.json"
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)

    def search_customers(self, q: str, limit: int = 10) -> list[dict]:
        return _match(self._customers(), q, limit)

    def deliver(self, batch, files: BatchFiles) -> DeliveryResult:
        count = sum(1 for _ in files.documents())
        return DeliveryResult(reference=f"demo-{batch.pk}", delivered=count)


class HttpAdapter(ErpAdapter):
    name = "http"

    def __init__(self, base_url: str | None = None, token: str | None = None, timeout: float | None = None,
                 session: requests.Session | None = None):
        self.base_url = (base_url if base_url is not None else settings.ERP_BASE_URL).rstrip("/")
        self.token = token if token is not None else settings.ERP_TOKEN
        self.timeout = timeout or settings.ERP_HTTP_TIMEOUT
        self.session = session or requests.Session()
        if not self.base_url:
            raise ErpError("ERP_BASE_URL is not set")

    def _headers(self, **extra):
        return {"Authorization": f"Bearer {self.token}", "Accept": "application/json", **extra}

    def search_customers(self, q: str, limit: int = 10) -> list[dict]:
        try:
            r = self.session.get(f"{self.base_url}/customers", params={"q": q, "limit": limit},
                                 headers=self._headers(), timeout=self.timeout)
        except requests.RequestException as exc:
            raise ErpError(f"ERP customer search failed: {exc}") from exc
        if r.status_code != 200:
            raise ErpError(f"ERP customer search answered {r.status_code}")
        try:
            results = r.json().get("results", [])
        except ValueError as exc:
            raise ErpError("ERP customer search did not answer JSON") from exc
        return [_normalise(c) for c in results][:limit]

    def _push(self, path: str, key: str, payload: dict, what: str) -> None:
        try:
            r = self.session.post(f"{self.base_url}/{path}", json=payload,
                                  headers=self._headers(**{"Idempotency-Key": key}), timeout=self.timeout)
        except requests.RequestException as exc:
            raise ErpError(f"ERP {what} push failed: {exc}") from exc
        if r.status_code == 409 or 200 <= r.status_code < 300:
            return
        raise ErpError(f"ERP refused {what} {payload['number']}: HTTP {r.status_code} {r.text[:200]}")

    def push_document(self, payload: dict) -> None:
        self._push("invoices", f"kundefaktura-{payload['series']}-{payload['number']}", payload, "document")

    def push_reminder_fee(self, payload: dict) -> None:
        self._push("reminder-fees", f"kundefaktura-reminder-{payload['number']}-{payload['reminder_step']}",
                   payload, "reminder fee")

    def deliver(self, batch, files: BatchFiles) -> DeliveryResult:
        import csv

        count = 0
        with files.open_csv() as fh, files.open_archive() as zf, files.open_receipts() as receipts:
            for cells in csv.DictReader(fh, delimiter=";"):
                row = {k: csvcells.unescape(v) for k, v in cells.items()}  # the text as typed, not the CSV form
                if row["document_type"] == "reminder_fee":  # after every document of the batch
                    self.push_reminder_fee({**row, "batch": batch.pk})
                    continue
                xml = zf.read(row["ehf_file"]).decode("utf-8")
                self.push_document({**row, "series": "K" if row["document_type"] == "credit_note" else "F",
                                    "batch": batch.pk, "ehf_xml": xml, "receipts": _receipts(receipts, row)})
                count += 1
        return DeliveryResult(reference=f"http-{batch.pk}", delivered=count)


def _receipts(zf: zipfile.ZipFile | None, row: dict) -> list[dict]:
    """The receipts a document row names, with their PDFs (base64) from the batch's receipts.zip."""
    names = [n for n in (row.get("receipt_files") or "").split("|") if n]
    if not names:
        return []
    if zf is None:
        raise ErpError(f"document {row.get('number')} names receipts but the batch has no receipts.zip")
    hashes = (row.get("receipt_sha256") or "").split("|")
    return [{"filename": name, "sha256": sha, "pdf_base64": base64.b64encode(zf.read(name)).decode()}
            for name, sha in zip(names, hashes, strict=True)]


class FileDropAdapter(ErpAdapter):
    name = "filedrop"

    def __init__(self, drop_dir=None):
        self.drop_dir = Path(drop_dir or settings.ERP_DROP_DIR)

    def search_customers(self, q: str, limit: int = 10) -> list[dict]:
        path = self.drop_dir / "customers.json"
        if not path.exists():
            return []
        with open(path, encoding="utf-8") as fh:
            return _match(json.load(fh), q, limit)

    def deliver(self, batch, files: BatchFiles) -> DeliveryResult:
        final = self.drop_dir / f"kundefaktura-batch-{batch.pk}"
        if final.exists():  # re-delivery on demand replaces the earlier copy
            shutil.rmtree(final)
        tmp = self.drop_dir / f".tmp-kundefaktura-batch-{batch.pk}-{os.getpid()}"
        try:
            if tmp.exists():
                shutil.rmtree(tmp)
            (tmp / "ehf").mkdir(parents=True)
            with files.open_csv_bytes() as src, open(tmp / "export.csv", "wb") as dst:
                shutil.copyfileobj(src, dst)
            count = 0
            with files.open_archive() as zf:
                for info in zf.infolist():
                    with zf.open(info) as src, open(tmp / "ehf" / Path(info.filename).name, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                    count += 1
            with files.open_receipts() as rz:
                for info in rz.infolist() if rz is not None else ():
                    (tmp / "receipts").mkdir(exist_ok=True)
                    with rz.open(info) as src, open(tmp / "receipts" / Path(info.filename).name, "wb") as dst:
                        shutil.copyfileobj(src, dst)
            os.replace(tmp, final)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise ErpError(f"file drop to {self.drop_dir} failed: {exc}") from exc
        return DeliveryResult(reference=str(final), delivered=count)


ADAPTERS = {"demo": DemoAdapter, "http": HttpAdapter, "filedrop": FileDropAdapter}


def get_adapter(name: str | None = None) -> ErpAdapter:
    name = name or settings.ERP_ADAPTER
    try:
        return ADAPTERS[name]()
    except KeyError:
        raise ErpError(f"unknown ERP_ADAPTER {name!r} (choose one of {', '.join(ADAPTERS)})") from None
