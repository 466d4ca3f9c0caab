"""The work list: filters, status chips, sorting and paging over every basis the case worker may see."""

from html import escape  # what Django's `escape` (and autoescape) does, without its lazy-text wrapper

from django.core.paginator import Page, Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from kundefaktura import pagecache
from kundefaktura.accounts.roles import caseworker_required

from .. import selectors
from ..access import is_company_admin
from ..formatting import nok
from ..forms import WorklistFilterForm
from ..status import Status

PAGE_SIZES = (25, 50, 100, 200)
OVERDUE_CLASS = ' class="overdue"'
URL_SENTINEL = "987654321"  # a basis id in the reversed basis URL, replaced by each row's


def worklist_rows(rows) -> list[str]:
    """The rendered rows of a work-list page (`selectors.WorklistRow`), written in Python: the row
    template (`workspace/_worklist_row.html`) costs about 0.2 ms per row through the template engine,
    this a few microseconds. The template stays the reference: tests/billing/views/test_worklist_rows.py
    renders rows both ways and compares the bytes."""
    labels = {key: escape(_(text)) for key, text in (
        ("number", "Nummer"), ("title", "Tittel"), ("customer", "Kunde"), ("status", "Status"),
        ("valid_until", "Tilbud gyldig til"), ("created", "Opprettet"), ("site", "Anleggsadresse"),
        ("net", "Sum eks. MVA"), ("overdue", "Forfalt"))}
    select = _("Velg %(n)s")
    url = reverse("billing:basis_detail", args=[URL_SENTINEL])
    status_labels = {value: escape(str(label)) for value, label in Status.choices}
    tz = timezone.get_current_timezone()
    out = []
    for b in rows:
        status = escape(b.status)
        chip = f'<span class="chip status-{status}">{status_labels.get(b.status, status)}</span>'
        if b.is_overdue:
            chip += f' <span class="chip status-declined">{labels["overdue"]}</span>'
        site = escape(b.site_street) + (", " + escape(b.site_city) if b.site_city else "")
        number = escape(b.number)
        out.append(
            f'\n<tr{OVERDUE_CLASS if b.is_overdue else ""}>\n'
            f'        <td><input type="checkbox" name="ids" value="{b.pk}" aria-label="'
            f'{select % {"n": number}}"></td>\n'
            f'        <td data-label="{labels["number"]}"><a href="{url.replace(URL_SENTINEL, str(b.pk))}">'
            f'{number}</a></td>\n'
            f'        <td data-label="{labels["title"]}">{escape(b.title)}</td>\n'
            f'        <td data-label="{labels["customer"]}">{escape(b.customer_name) if b.customer_name else "—"}</td>\n'
            f'        <td data-label="{labels["status"]}">{chip}</td>\n'
            f'        <td data-label="{labels["valid_until"]}">'
            f'{b.offer_valid_until.strftime("%d.%m.%Y") if b.offer_valid_until else ""}</td>\n'
            f'        <td data-label="{labels["created"]}">{b.created_at.astimezone(tz).strftime("%d.%m.%Y")}</td>\n'
            f'        <td data-label="{labels["site"]}">{site}</td>\n'
            f'        <td class="num" data-label="{labels["net"]}">{escape(nok(b.net_total))}</td>\n'
            f'      </tr>\n')
    # Our own escaped text and markup only, as the autoescaping template writes it.
    return [SafeString(row) for row in out]  # nosec B703


@caseworker_required
@require_GET
def worklist(request):
    """The work list. Its filters, chips and table are served from the snapshot cache while no write
    has committed (kundefaktura.pagecache); the outer page (menu, user, messages) is rendered each time."""
    partial = bool(request.htmx and request.htmx.target == "results")
    template = "workspace/_worklist_results.html" if partial else "workspace/_worklist_content.html"
    key = ("worklist", template, sorted(request.GET.lists()), translation.get_language(),
           timezone.localdate().isoformat(), request.user.pk if request.GET.get("mine") else None,
           is_company_admin(request.user))
    html = pagecache.cached_part(request, key, lambda extra: render_to_string(
        template, {**_worklist_context(request), "can_manage_company": is_company_admin(request.user), **extra}))
    if partial:
        return HttpResponse(html)
    return render(request, "workspace/worklist.html", {"content": html})


def _worklist_context(request) -> dict:
    form = WorklistFilterForm(request.GET or None)
    filters = form.filters()
    try:
        per_page = int(request.GET.get("per_page", 50))
    except ValueError:
        per_page = 50
    per_page = per_page if per_page in PAGE_SIZES else 50
    result = selectors.worklist_page(user=request.user, filters=filters, page=request.GET.get("page"),
                                     per_page=per_page)
    counts = result.counts
    # The page and its paginator for the template; the selector has counted and cut the page already.
    paginator = Paginator((), per_page)
    paginator.count = result.count
    page = Page(result.rows, result.number, paginator)
    rows = worklist_rows(result.rows)
    params = request.GET.copy()
    params.pop("page", None)
    sort_params = params.copy()
    sort_params.pop("sort", None)
    status_params = params.copy()
    status_params.pop("status", None)
    # A search with more matches than are counted (SEARCH_COUNT_CAP, billing/selectors/worklist.py): "Alle"
    # says "more than", the statuses show no number.
    over = formats.number_format(result.cap, force_grouping=True) + "+" if result.cap else ""
    chips = [{"code": "", "label": _("Alle"), "count": sum(counts.values()) if result.counted else over,
              "active": not filters.status}]
    chips += [{"code": s.value, "label": s.label, "count": counts[s.value] if result.counted else None,
               "active": filters.status == s.value} for s in Status]
    columns = [("number", _("Nummer")), ("title", _("Tittel")), ("customer", _("Kunde")),
               ("status", _("Status")), ("valid_until", _("Tilbud gyldig til")), ("created", _("Opprettet"))]
    return {
        "form": form, "page": page, "paginator": paginator, "chips": chips, "filters": filters,
        "query": params.urlencode(), "sort_query": sort_params.urlencode(),
        "status_query": status_params.urlencode(), "columns": columns, "per_page": per_page,
        "page_sizes": PAGE_SIZES, "rows": rows, "capped": result.capped, "cap": result.cap,
    }
