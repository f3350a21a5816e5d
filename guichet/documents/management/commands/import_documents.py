import csv
import os
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from guichet.documents import intake

BAR_WIDTH = 30
BAR_SECONDS = 0.2  # redraw the bar at most this often


class Command(BaseCommand):
    help = (
        "Imports documents from billing systems: UBL 2.1 invoices and credit notes (Peppol BIS Billing "
        "3.0, *.xml, with their PDF embedded or as a .pdf of the same name beside them, or none) and CSV "
        "manifests (*.csv) with their PDFs; folders are walked recursively. One report line per file or "
        "manifest line (CSV: file, outcome, reason, document). Exits with status 1 if any was refused, "
        "2 on a usage error. See docs/intake.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")
        parser.add_argument("--report", type=Path, help="Write the report (CSV) here instead of stdout.")
        parser.add_argument(
            "--jobs",
            type=int,
            default=os.cpu_count() or 1,
            help="Worker processes that validate the files (default: the number of cores; 1: inline).",
        )
        parser.add_argument(
            "--quiet", action="store_true", help="No progress bar, and only the refused lines on stdout."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        paths: list[Path] = options["paths"]
        if missing := [str(path) for path in paths if not path.exists()]:
            raise CommandError(
                _("No such file or folder: %(paths)s") % {"paths": ", ".join(missing)}, returncode=2
            )
        if options["jobs"] < 1:
            raise CommandError(_("--jobs must be at least 1."), returncode=2)
        quiet = options["quiet"]
        report_file = None
        if options["report"]:
            try:
                report_file = options["report"].open("w", encoding="utf-8", newline="")
            except OSError as error:
                raise CommandError(str(error), returncode=2) from None
        try:
            totals = self._import(paths, options["jobs"], quiet, report_file)
        finally:
            if report_file is not None:
                report_file.close()
        self.stderr.write(
            _(
                "Documents: %(total)d, imported: %(imported)d, already imported: %(already)d, "
                "refused: %(refused)d."
            )
            % {
                "total": totals.total,
                "imported": totals.imported,
                "already": totals.already,
                "refused": totals.refused,
            }
        )
        if totals.refused:
            raise CommandError(_("Some documents were refused: see the report."), returncode=1)

    def _import(self, paths: list[Path], jobs: int, quiet: bool, report_file: Any) -> intake.Totals:
        out = report_file or self.stdout
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(intake.report_header())
        show_progress = not quiet and self.stderr.isatty()
        total = intake.units_count(paths) if show_progress else 0
        done, last_drawn = 0, 0.0

        def on_item(item: intake.Item) -> None:
            nonlocal done, last_drawn
            done += 1
            if report_file is not None or not quiet or item.outcome == intake.Outcome.REFUSED:
                writer.writerow(intake.report_row(item))
            if show_progress and (time.monotonic() - last_drawn >= BAR_SECONDS or done >= total):
                last_drawn = time.monotonic()
                filled = BAR_WIDTH * min(done, total) // max(total, 1)
                bar = "#" * filled + "-" * (BAR_WIDTH - filled)
                self.stderr.write(f"\r[{bar}] {done}/{max(total, done)}", ending="")
                self.stderr.flush()

        try:
            return intake.paths_import(paths=paths, on_item=on_item, jobs=jobs)
        finally:
            if show_progress:
                self.stderr.write("")
            if report_file is None:
                self.stdout.flush()
