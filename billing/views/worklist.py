"""The work list: filters, status chips, sorting and paging over every basis the case worker may see."""

import hashlib

from django.core.cache import caches
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import get_template, render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from kundefaktura import pagecache
from kundefaktura.accounts.roles import caseworker_required

from .. import selectors
from ..access import is_company_admin
from ..forms import WorklistFilterForm
from ..status import Status

PAGE_SIZES = (25, 50, 100, 200)


def worklist_rows(bases) -> list[str]:
    """The rendered rows of a work-list page. Rendering 50 rows is most of the page's cost, so each
    row is cached under a key made of everything it shows (and the language): a changed basis simply
    gets a new key, so there is nothing to invalidate and nothing can be stale."""
    cache = caches["fragments"]
    language = translation.get_language()
    keys = []
    for b in bases:
        shown = (b.pk, b.number, b.title, b.customer.name if b.customer_id else "", b.status, b.is_overdue,
                 b.offer_valid_until, timezone.localdate(b.created_at), b.site_street, b.site_city,
                 str(b.net_total), language)
        keys.append("wl-row:" + hashlib.sha256(repr(shown).encode()).hexdigest())
    cached = cache.get_many(keys)
    template = get_template("workspace/_worklist_row.html")
    fresh = {}
    rows = []
    for key, b in zip(keys, bases, strict=True):
        html = cached.get(key)
        if html is None:
            html = fresh[key] = template.render({"b": b})
        rows.append(html)  # a SafeString from our own autoescaping template (pickled as such by the cache)
    if fresh:
        cache.set_many(fresh, timeout=24 * 3600)
    return rows


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
    without_status, qs = selectors.basis_list(user=request.user, filters=filters)
    counts = selectors.status_counts(without_status)
    try:
        per_page = int(request.GET.get("per_page", 50))
    except ValueError:
        per_page = 50
    per_page = per_page if per_page in PAGE_SIZES else 50
    paginator = Paginator(qs.values_list("pk", flat=True), per_page)
    # The chips already counted every status: no second COUNT over the whole list.
    paginator.count = counts.get(filters.status, 0) if filters.status else sum(counts.values())
    page = paginator.get_page(request.GET.get("page"))
    page.object_list = selectors.worklist_page_rows(list(page.object_list))
    rows = worklist_rows(page.object_list)
    params = request.GET.copy()
    params.pop("page", None)
    sort_params = params.copy()
    sort_params.pop("sort", None)
    status_params = params.copy()
    status_params.pop("status", None)
    chips = [{"code": "", "label": _("Alle"), "count": sum(counts.values()), "active": not filters.status}]
    chips += [{"code": s.value, "label": s.label, "count": counts[s.value], "active": filters.status == s.value}
              for s in Status]
    columns = [("number", _("Nummer")), ("title", _("Tittel")), ("customer", _("Kunde")),
               ("status", _("Status")), ("valid_until", _("Tilbud gyldig til")), ("created", _("Opprettet"))]
    return {
        "form": form, "page": page, "paginator": paginator, "chips": chips, "filters": filters,
        "query": params.urlencode(), "sort_query": sort_params.urlencode(),
        "status_query": status_params.urlencode(), "columns": columns, "per_page": per_page,
        "page_sizes": PAGE_SIZES, "rows": rows,
    }
