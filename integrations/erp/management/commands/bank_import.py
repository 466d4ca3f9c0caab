from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from integrations.erp import services


class Command(BaseCommand):
    help = "Import bank files (camt.054 XML or Nets OCR): given files, or every file in --dir (moved to done/, or failed/ with the reason)."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="*")
        parser.add_argument("--dir", help="drop directory to import from (default: settings.ERP_BANK_DROP_DIR)")
        parser.add_argument("--resume", action="store_true",
                            help="finish imports left queued or running (their task was lost); safe while one runs")

    def handle(self, *args, **opts):
        from django.conf import settings

        if opts["resume"]:
            imports = [services.bank_import_process(bank_import_id=pk) for pk in services.bank_imports_unfinished()]
        elif opts["files"]:
            imports = []
            for f in opts["files"]:
                try:
                    imports.append(services.bank_import_file(data=Path(f).read_bytes(), filename=Path(f).name))
                except services.BankFileInvalid as exc:
                    self.stderr.write(f"{Path(f).name}: {exc.message}")
                    imports.append(exc.bank_import)
        else:
            directory = opts["dir"] or settings.ERP_BANK_DROP_DIR
            if not directory:
                raise CommandError("give files or --dir")
            imports = services.bank_import_dir(directory=directory)
        for imp in imports:
            self.stdout.write(f"{imp.filename}: {imp.transaction_count} credits, {imp.matched_count} matched, "
                              f"{imp.mismatched_count} mismatched, {imp.unmatched_count} unmatched, "
                              f"{imp.duplicate_count} already imported, {imp.rejected_count} rejected ({imp.status})"
                              + (f": {imp.error}" if imp.error else ""))
