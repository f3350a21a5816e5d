import argparse
import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from guichet.documents.printing import print_batch_create


def _day(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date as YYYY-MM-DD") from None


class Command(BaseCommand):
    help = (
        "Puts the new documents of the customer numbers not opted in to electronic delivery into one "
        "print batch (a ZIP of the PDFs with manifest.csv) for the print shop. Run it once a day (cron "
        "or a systemd timer); each document is printed once, so a repeated run adds nothing twice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--day",
            type=_day,
            default=None,
            help="the batch's day, YYYY-MM-DD (default: today); documents received until its end",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            batch = print_batch_create(day=options["day"])
        except Exception as error:  # a scheduled job must exit non-zero and say why
            raise CommandError(f"The print batch failed: {error}") from error
        if batch is None:
            self.stdout.write("No document to print.")
            return
        self.stdout.write(
            self.style.SUCCESS(f"Print batch {batch.pk}: {batch.count} document(s) in {batch.file.name}")
        )
