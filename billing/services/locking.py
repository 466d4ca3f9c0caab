"""Row locks the workflows take before they re-check state: the basis, and a cost line with the
checks that say whether it may still be edited."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.errors import LockedError, TransitionError
from billing.models import ChangeNotice, CostLine, InvoiceBasis
from billing.selectors import is_accepted_offer_line
from billing.status import Status

SETTLED_MESSAGE = gettext_lazy("Sluttoppgjøret er utført: grunnlaget kan ikke lenger endres eller faktureres. "
                    "Rettelser gjøres med kreditnota.")


def lock_basis(basis) -> InvoiceBasis:
    return InvoiceBasis.objects.select_for_update().get(pk=basis.pk if hasattr(basis, "pk") else basis)


def lock_line(line) -> tuple[CostLine, InvoiceBasis]:
    # The basis first, then the line: the order every service keeps (issuing an invoice locks the basis
    # and then writes its lines; a line's write locks its basis, billing/migrations/0014_basis_estimate_net.py),
    # so two services never wait for each other in a circle.
    basis_id = CostLine.objects.filter(pk=line.pk).values_list("basis_id", flat=True).first()
    if basis_id is None:
        raise CostLine.DoesNotExist("CostLine matching query does not exist.")
    basis = lock_basis(basis_id)
    line = CostLine.objects.select_for_update().get(pk=line.pk, basis_id=basis_id)
    CostLine.basis.field.set_cached_value(line, basis)
    if line.invoice_id:
        raise LockedError(_("Linjen står på en utstedt faktura og kan ikke endres."))
    # Read under the basis lock, which change_notice_answer also holds while it records the answer.
    if line.is_change and line.change_notice_id and ChangeNotice.objects.filter(
            pk=line.change_notice_id, status=ChangeNotice.Status.ACCEPTED).exists():
        raise LockedError(_("Kunden har akseptert denne endringen, og den kan ikke endres før den er fakturert. "
                            "Legg inn en ny endringslinje og send et nytt endringsvarsel."))
    if line.source == CostLine.Source.SHARED_COST:
        raise LockedError(_("Andelen fra felles anlegg endres på anlegget, ikke her."))
    if is_accepted_offer_line(line, basis):
        raise LockedError(_("Linjen er en del av tilbudet kunden har akseptert og kan ikke endres. Legg inn "
                            "endringen som en ny linje og send et endringsvarsel."))
    if basis.status in (Status.CANCELLED, Status.PAID):
        raise TransitionError(_("Grunnlaget kan ikke endres når status er «%s».") % basis.status_label)
    if basis.settled_at:
        raise TransitionError(SETTLED_MESSAGE, code="settled")
    return line, basis

