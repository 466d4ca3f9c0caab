"""Progress of a long job (bulk offer sending, an ERP export, a bank import) on its page: one shared
partial (`templates/_progress.html`) and one polling pattern.

A view builds a `Progress` from the job's own rows (no extra state) and returns `progress_response`:
the whole page for a normal request, only the partial for htmx's poll. While the job runs the partial
carries `hx-get`/`hx-trigger="every 1s"` and swaps itself; the finished partial has no trigger, so
swapping it in ends the polling (and `reload_when_done` reloads the page once to show the results).
Without JavaScript a reload shows the same state.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.shortcuts import render


@dataclass
class Progress:
    dom_id: str  # the polled element's id
    label: str  # what is being done ("Sender tilbud")
    done: int
    total: int
    status: str  # "3 av 10 ferdig"
    finished: bool
    poll_url: str = ""
    outcome: str = ""  # shown (and announced) when finished
    failed: bool = False  # the outcome is an error
    detail_template: str = ""  # rendered inside the polled element (e.g. the bulk items table)

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, 100 * self.done // self.total)


def progress_response(request, *, progress: Progress, page_template: str, context: dict,
                      reload_when_done: bool = False):
    """The page, or for htmx's poll the partial alone (with HX-Refresh once the job is done, if asked)."""
    context = {**context, "progress": progress}
    if request.htmx:
        response = render(request, "_progress.html", context)
        if progress.finished and reload_when_done:
            response["HX-Refresh"] = "true"
        return response
    return render(request, page_template, context)
