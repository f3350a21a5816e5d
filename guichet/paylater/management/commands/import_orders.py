import csv
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from guichet.paylater import intake
from guichet.paylater.models import OrderSource


class Command(BaseCommand):
    help = (
        "Imports the lender's pay-later orders from CSV files (a header row, ';' or ',') or JSON lines "
        "(*.jsonl), read as they go. One report line per order line (CSV: line, outcome, reason, "
        "order_number). The same order again is 'already imported'; other content under the same "
        "number is refused. Exits with status 1 if any line was refused, 2 on a usage error. "
        "See docs/paylater-intake.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
        parser.add_argument(
            "--format",
            choices=("csv", "jsonl"),
            help="The files' format (default: from the extension, .jsonl/.ndjson → jsonl, else csv).",
        )
        parser.add_argument("--report", type=Path, help="Write the report (CSV) here instead of stdout.")
        parser.add_argument("--quiet", action="store_true", help="Only the refused lines on stdout.")

    def handle(self, *args: Any, **options: Any) -> None:
        files: list[Path] = options["files"]
        if missing := [str(path) for path in files if not path.is_file()]:
            raise CommandError(_("No such file: %(paths)s") % {"paths": ", ".join(missing)}, returncode=2)
        report_file = None
        if options["report"]:
            try:
                report_file = options["report"].open("w", encoding="utf-8", newline="")
            except OSError as error:
                raise CommandError(str(error), returncode=2) from None
        try:
            totals = self._import(files, options["format"], options["quiet"], report_file)
        finally:
            if report_file is not None:
                report_file.close()
        self.stderr.write(
            _(
                "Lines: %(total)d, imported: %(imported)d, already imported: %(already)d, "
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
            raise CommandError(_("Some lines were refused: see the report."), returncode=1)

    def _import(self, files: list[Path], fmt: str | None, quiet: bool, report_file: Any) -> intake.Totals:
        writer = csv.writer(report_file or self.stdout, lineterminator="\n")
        writer.writerow(intake.report_header())

        def on_item(item: intake.Item) -> None:
            if report_file is not None or not quiet or item.outcome == intake.Outcome.REFUSED:
                writer.writerow(intake.report_row(item))

        totals = intake.Totals()
        for path in files:
            rows = intake.file_rows(path, format=fmt or intake.format_guess(path))
            part = intake.orders_import(rows=rows, source=OrderSource.IMPORT, on_item=on_item)
            totals.imported += part.imported
            totals.already += part.already
            totals.refused += part.refused
        return totals
