from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from guichet.identity.provisioning import (
    LineOutcome,
    ProvisioningFileError,
    csv_decode,
    csv_read,
    lines_provision,
    report_csv,
)

BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "Provisions the users of a CSV file (columns user_id, email, mobile_phone, "
        "alternate_mobile_phone, language, first_name, last_name; header required; "
        "UTF-8; ',' or ';'). Each line is created on its own; a bad line creates nothing "
        "and is reported. Exits with status 1 if any line was refused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--report", type=Path, help="Write the per-line report (CSV) here, not to stdout."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            lines = csv_read(csv_decode(options["file"].read_bytes()))
        except OSError as error:
            raise CommandError(str(error)) from None
        except ProvisioningFileError as error:
            raise CommandError(error.message) from None
        total, done = len(lines), []
        show_progress = self.stderr.isatty()

        def progress(outcome: LineOutcome) -> None:
            done.append(outcome)
            if show_progress:
                filled = BAR_WIDTH * len(done) // total
                bar = "#" * filled + "-" * (BAR_WIDTH - filled)
                self.stderr.write(f"\r[{bar}] {len(done)}/{total}", ending="")

        outcomes = lines_provision(lines, on_outcome=progress)
        if show_progress:
            self.stderr.write("")
        report = report_csv(outcomes)
        if options["report"]:
            options["report"].write_text(report, encoding="utf-8")
        else:
            self.stdout.write(report, ending="")
        created = sum(outcome.created for outcome in outcomes)
        refused = total - created
        self.stderr.write(
            _("Lines: %(total)d, users created: %(created)d, lines refused: %(refused)d.")
            % {"total": total, "created": created, "refused": refused}
        )
        if refused:
            raise CommandError(_("Some lines were refused: see the report."), returncode=1)
