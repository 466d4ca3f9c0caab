"""Read side of the ERP export and the bank import: the figures /metrics reports."""

from django.db.models import Max

from kundefaktura.metrics import Figure

from .models import BankImport, ExportBatch


def erp_figures():
    """Last delivered export (unix time, 0 if never) and bank files waiting to be booked (two queries)."""
    last = ExportBatch.objects.filter(status=ExportBatch.Status.DELIVERED).aggregate(t=Max("delivered_at"))["t"]
    waiting = BankImport.objects.filter(status__in=[BankImport.Status.QUEUED, BankImport.Status.RUNNING]).count()
    return [
        Figure("erp_export_last_success_timestamp_seconds", "When an ERP export batch was last delivered",
               last.timestamp() if last else 0),
        Figure("bank_files_waiting", "Bank files uploaded and not yet fully booked", waiting),
    ]
