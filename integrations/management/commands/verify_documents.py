"""Check every stored file against the SHA-256 its row recorded when it was written: the PDFs of every
document kind, the ERP export batches and the received bank files. Run it after a restore (or any time):
a missing file or a changed byte is reported by name, and the exit status is 1."""

from itertools import chain

from django.core.management.base import BaseCommand, CommandError

from integrations.erp import services as erp
from kundefaktura.storage import stored_check
from offers import documents


class Command(BaseCommand):
    help = ("Check every stored document, ERP export file and bank file against its recorded SHA-256; "
            "list each missing or changed file and exit 1 if there is one.")

    def add_arguments(self, parser):
        parser.add_argument("--verbose-ok", action="store_true", help="also list every file that matches")

    def handle(self, *args, **opts):
        counts = {"ok": 0, "missing": 0, "mismatch": 0, "unrecorded": 0}
        for kind, pk, name, sha in chain(documents.stored_documents(), erp.stored_files()):
            if not sha:  # written before its hash was recorded: can only be checked for presence
                status = "missing" if stored_check(name, "") == "missing" else "unrecorded"
            else:
                status = stored_check(name, sha)
            counts[status] += 1
            if status in ("missing", "mismatch"):
                self.stderr.write(f"{status.upper()}: {kind} {pk} {name or '(no file name)'}")
            elif opts["verbose_ok"]:
                self.stdout.write(f"{status}: {kind} {pk} {name}")
        checked = sum(counts.values())
        summary = (f"{checked} stored files checked: {counts['ok']} match their SHA-256, {counts['mismatch']} "
                   f"changed, {counts['missing']} missing, {counts['unrecorded']} present without a recorded SHA-256.")
        if counts["missing"] or counts["mismatch"]:
            raise CommandError(summary)
        self.stdout.write(summary)
