"""ERP pages for case workers: customer search (htmx), export log, bank payment import."""

import re

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from billing.errors import BillingError
from kundefaktura.accounts.roles import caseworker_required
from kundefaktura.progress import Progress, progress_response
from kundefaktura.queue import enqueue_on_commit

from . import adapters, ehf, services
from .forms import BankFileForm
from .models import BankImport, BankTransaction, ExportBatch

MIN_QUERY = 2


@caseworker_required
@require_GET
def customer_search(request):
    q = (request.GET.get("q") or "").strip()[:100]
    hits, error = [], ""
    if len(q) >= MIN_QUERY:
        try:
            hits = adapters.get_adapter().search_customers(q, limit=10)
        except adapters.ErpError:
            error = _("ERP-systemet svarer ikke. Fyll inn kunden manuelt eller prøv igjen.")
    return render(request, "erp/_customer_hits.html", {"q": q, "hits": hits, "error": error,
                                                       "too_short": 0 < len(q) < MIN_QUERY})


def _export_progress(after: int | None) -> Progress | None:
    """The progress of the export started after batch `after` (the first batch with a higher id), or,
    without `after`, of the newest batch while it is unfinished. Steps, from the batch row: waiting for
    a worker, files being written (claimed), written (pending), delivering, delivered or failed."""
    if after is not None:
        batch = ExportBatch.objects.filter(pk__gt=after).order_by("pk").first()
    else:
        batch = ExportBatch.objects.order_by("-pk").first()
        if batch is None or batch.status in (ExportBatch.Status.DELIVERED, ExportBatch.Status.FAILED):
            return None
    S = ExportBatch.Status
    steps = {None: 0, S.CLAIMED: 1, S.PENDING: 2, S.DELIVERING: 3, S.DELIVERED: 4, S.FAILED: 4}
    status = batch.status if batch else None
    texts = {
        None: _("Venter på at eksporten starter"),
        S.CLAIMED: _("Skriver filene"),
        S.PENDING: _("Filene er skrevet, venter på levering"),
        S.DELIVERING: _("Leverer til ERP-systemet"),
        S.DELIVERED: _("Levert"),
        S.FAILED: _("Levering feilet"),
    }
    outcome = ""
    if status == S.DELIVERED:
        outcome = ngettext("Bunt %(b)s med %(n)s dokument er levert.", "Bunt %(b)s med %(n)s dokumenter er levert.",
                           batch.document_count) % {"b": batch.pk, "n": batch.document_count}
    elif status == S.FAILED:
        outcome = _("Bunt %(b)s: %(e)s Leveringen prøves igjen automatisk.") % {"b": batch.pk, "e": batch.last_error}
    query = f"?etter={after}" if after is not None else ""
    return Progress(dom_id="export-progress", label=_("Fremdrift"), done=steps[status], total=4,
                    status=_("Steg %(n)s av 4: %(s)s") % {"n": steps[status], "s": texts[status]},
                    finished=status in (S.DELIVERED, S.FAILED), outcome=outcome, failed=status == S.FAILED,
                    poll_url=reverse("erp:export_progress") + query)


def _after(request) -> int | None:
    value = request.GET.get("etter", "")
    return int(value) if value.isdigit() and len(value) < 12 else None


@caseworker_required
def export_log(request):
    page = Paginator(ExportBatch.objects.select_related("created_by"), 25).get_page(request.GET.get("side"))
    template = "erp/_export_rows.html" if request.htmx else "erp/export_log.html"
    return render(request, template, {"page": page, "batches": page.object_list,
                                      "progress": _export_progress(_after(request))})


@caseworker_required
@require_GET
def export_progress(request):
    """htmx polls this while an export runs (the shared progress partial); a plain GET goes to the log."""
    progress = _export_progress(_after(request))
    if progress is None or not request.htmx:
        return redirect(reverse("erp:export_log") + (f"?etter={_after(request)}" if _after(request) is not None
                                                      else ""))
    return progress_response(request, progress=progress, page_template="", context={}, reload_when_done=True)


@caseworker_required
@require_POST
def export_start(request):
    if not services.export_has_work():
        messages.info(request, _("Ingen nye dokumenter å eksportere. Alt som er utstedt, er allerede overført "
                                 "til ERP-systemet."))
        return redirect("erp:export_log")
    user_id = request.user.pk
    after = ExportBatch.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    enqueue_on_commit("integrations.erp_export", trigger=ExportBatch.Trigger.MANUAL, user_id=user_id)
    messages.success(request, _("Eksporten er startet. Fremdriften vises her."))
    return redirect(reverse("erp:export_log") + f"?etter={after}")


@caseworker_required
def export_detail(request, pk):
    batch = get_object_or_404(ExportBatch, pk=pk)
    items = Paginator(batch.items.select_related("invoice").order_by("invoice__series", "invoice__number"), 100)
    page = items.get_page(request.GET.get("side"))
    rows = [(item.invoice, ehf.filename(item.invoice)) for item in page]
    return render(request, "erp/export_detail.html", {"batch": batch, "page": page, "rows": rows})


@caseworker_required
@require_POST
def export_redeliver(request, pk):
    batch = get_object_or_404(ExportBatch, pk=pk)
    if batch.status == ExportBatch.Status.CLAIMED:
        messages.error(request, _("Bunten er ikke ferdig skrevet ennå."))
        return redirect("erp:export_detail", pk=pk)
    services.export_redeliver(batch=batch, by=request.user)
    enqueue_on_commit("integrations.erp_deliver", batch.pk)
    messages.success(request, _("Bunt %(n)s leveres på nytt.") % {"n": batch.pk})
    return redirect("erp:export_detail", pk=pk)


def _file(stored_name, name, content_type):
    """A stored file streamed from the storage (file system or S3) to a user the view has let in."""
    try:
        fh = services.stored_open(stored_name)
    except FileNotFoundError:
        raise Http404 from None
    return FileResponse(fh, as_attachment=True, filename=name, content_type=content_type)


@caseworker_required
def export_download_csv(request, pk):
    batch = get_object_or_404(ExportBatch, pk=pk)
    return _file(batch.csv_file, f"erp-eksport-{batch.pk}.csv", "text/csv; charset=utf-8")


@caseworker_required
def export_download_zip(request, pk):
    batch = get_object_or_404(ExportBatch, pk=pk)
    return _file(batch.ehf_archive, f"erp-eksport-{batch.pk}-ehf.zip", "application/zip")


@caseworker_required
def export_download_receipts(request, pk):
    """The receipts the batch's invoices rest on (their PDFs, as delivered to the ERP)."""
    batch = get_object_or_404(ExportBatch, pk=pk)
    return _file(batch.receipts_archive, f"erp-eksport-{batch.pk}-kvitteringer.zip", "application/zip")


@caseworker_required
def export_download_xml(request, pk, name):
    batch = get_object_or_404(ExportBatch, pk=pk)
    if not batch.ehf_archive or "/" in name or not name.endswith(".xml"):
        raise Http404
    try:
        with adapters.BatchFiles.of(batch).open_archive() as zf:
            data = zf.read(name)
    except (KeyError, FileNotFoundError):
        raise Http404 from None
    response = HttpResponse(data, content_type="application/xml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _summary(bank_import) -> str:
    return _("%(n)s av %(t)s innbetalinger behandlet: %(m)s avstemt, %(x)s avvik, %(u)s uten treff, "
             "%(d)s allerede importert, %(r)s avvist.") % {
        "n": bank_import.transaction_count, "t": bank_import.credit_count, "m": bank_import.matched_count,
        "x": bank_import.mismatched_count, "u": bank_import.unmatched_count, "d": bank_import.duplicate_count,
        "r": bank_import.rejected_count}


@caseworker_required
def bank_imports(request):
    form = BankFileForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            bank_import = services.bank_import_create(data=upload.read(), filename=upload.name, by=request.user)
        except BillingError as exc:  # not a bank file: recorded as a failed import, told here
            form.add_error("file", exc.message)
        else:
            if services.bank_import_in_background(bank_import):
                pk = bank_import.pk
                enqueue_on_commit("integrations.bank_import_process", pk)  # broker down: stays queued
                messages.info(request, _("Filen har %(t)s innbetalinger og behandles i bakgrunnen. Fremdriften "
                                         "vises her.") % {"t": bank_import.credit_count})
            else:
                bank_import = services.bank_import_process(bank_import_id=bank_import.pk)
                if bank_import.status == BankImport.Status.FAILED:
                    messages.error(request, bank_import.error)
                else:
                    messages.success(request, _summary(bank_import))
            return redirect("erp:bank_import_detail", pk=bank_import.pk)
    if request.method == "POST":
        status = 400
    imports = BankImport.objects.select_related("uploaded_by")[:50]
    return render(request, "erp/bank_imports.html", {"form": form, "imports": imports,
                                                     "attention": services.attention_transactions()[:200]},
                  status=status)


@caseworker_required
@require_GET
def bank_import_download(request, pk):
    """The bank file as it was received, byte for byte (its SHA-256 is on the import), under a name made
    safe for a download whatever the uploaded name held."""
    bank_import = get_object_or_404(BankImport, pk=pk)
    if not bank_import.file:
        raise Http404
    safe = re.sub(r"[^\w.-]+", "_", bank_import.filename, flags=re.ASCII).strip("._")[:100] or "bankfil"
    return _file(bank_import.file, f"bankimport-{bank_import.pk}-{safe}", "application/octet-stream")


@caseworker_required
def bank_import_detail(request, pk):
    """The import with its progress; htmx polls this view for the status partial while it runs."""
    bank_import = get_object_or_404(BankImport, pk=pk)
    running = bank_import.status in (BankImport.Status.QUEUED, BankImport.Status.RUNNING)
    failed = bank_import.status == BankImport.Status.FAILED
    done, total = bank_import.transaction_count, bank_import.credit_count
    progress = Progress(
        dom_id="bank-import-status", label=_("Fremdrift"), done=done, total=total, finished=not running,
        status=ngettext("%(d)s av %(t)s innbetaling behandlet", "%(d)s av %(t)s innbetalinger behandlet",
                        total) % {"d": done, "t": total},
        poll_url=reverse("erp:bank_import_detail", args=[bank_import.pk]),
        outcome=bank_import.error if failed else _summary(bank_import), failed=failed,
        detail_template="erp/_bank_import_status.html")
    context = {"bank_import": bank_import}
    if request.htmx:  # finished: reload once to show the booked and rejected credits
        return progress_response(request, progress=progress, page_template="", context=context,
                                 reload_when_done=True)
    page = Paginator(bank_import.transactions.select_related("invoice"), 200).get_page(request.GET.get("side"))
    context.update(transactions=page.object_list, page=page, rejected=bank_import.rejected.all()[:500])
    return progress_response(request, progress=progress, page_template="erp/bank_import_detail.html",
                             context=context)


@caseworker_required
@require_POST
def bank_transaction_resolve(request, pk):
    tx = get_object_or_404(BankTransaction, pk=pk)
    services.transaction_resolve(tx=tx, by=request.user)
    messages.success(request, _("Innbetalingen er merket som behandlet."))
    return redirect("erp:bank_imports")
