"""Work release: whether the contractor may start, derived from acceptance and (when prepayment is
required) the paid prepayment invoices. Audited whenever it changes."""

from __future__ import annotations

from django.utils import timezone

from billing.selectors import work_release_due
from billing.services.audit import audit


def work_release_refresh(basis, *, by=None) -> None:
    due = work_release_due(basis)
    if due == bool(basis.work_released_at):
        return
    basis.work_released_at = timezone.now() if due else None
    basis.save(update_fields=["work_released_at", "updated_at"])
    audit(action="billing.basis.work_released" if due else "billing.basis.work_blocked", by=by, basis=basis,
          data={"work_release": basis.work_release})

