from django.core.management.base import BaseCommand

from integrations.erp import services
from integrations.erp.models import ExportBatch


class Command(BaseCommand):
    help = ("Export every issued, not yet exported invoice and credit note (CSV + EHF) and reminder fee (CSV) "
            "to the ERP, then deliver undelivered batches. --no-deliver only writes the files.")

    def add_arguments(self, parser):
        parser.add_argument("--no-deliver", action="store_true", help="claim and write files, do not deliver")
        parser.add_argument("--redeliver", type=int, metavar="BATCH", help="deliver this batch again")

    def handle(self, *args, **opts):
        if opts["redeliver"]:
            batch = ExportBatch.objects.get(pk=opts["redeliver"])
            services.export_redeliver(batch=batch)
            ids = [batch.pk]
        else:
            batch = services.export_run(trigger=ExportBatch.Trigger.COMMAND)
            if batch is None:
                self.stdout.write("Nothing to export.")
            else:
                self.stdout.write(f"Batch {batch.pk}: {batch.invoice_count} invoices, {batch.credit_note_count} "
                                  f"credit notes, {batch.reminder_fee_count} reminder fees → {batch.csv_file}, "
                                  f"{batch.ehf_archive}")
            ids = [] if opts["no_deliver"] else list(services.export_undelivered_batches().values_list("pk", flat=True))
        failed = 0
        for batch_id in ids:
            try:
                done = services.export_deliver(batch_id=batch_id)
                self.stdout.write(f"Batch {batch_id}: {done.get_status_display()} {done.delivery_reference}")
            except services.DeliveryFailed as exc:
                failed += 1
                self.stderr.write(f"Batch {batch_id}: delivery failed: {exc}")
        if failed:
            raise SystemExit(1)
