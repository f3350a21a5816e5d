import argparse
import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from guichet.paylater.debits import debit_run, pending_count, reminders_send


def _date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"Not a date (YYYY-MM-DD): {text}", returncode=2) from None


class Command(BaseCommand):
    help = (
        "Presents every instalment and regularisation payment due on or before the date (today by default) "
        "to the payment provider, then sends the reminders of the debits a few days ahead. Run it daily "
        "(cron or a systemd timer). Safe to repeat and to kill: a run asks again, with the same "
        "idempotency keys, what an interrupted run left pending, and charges nothing twice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="the day of the run, YYYY-MM-DD (default: today)")
        parser.add_argument("--workers", type=int, default=1, help="processes claiming chunks (default 1)")
        parser.add_argument(
            "--reminders",
            action=argparse.BooleanOptionalAction,
            default=True,
            help="also send the reminders of the debits ahead (default: yes)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        on = _date(options["date"]) if options["date"] else timezone.localdate()
        workers = options["workers"]
        if not 1 <= workers <= 64:
            raise CommandError("--workers must be between 1 and 64.", returncode=2)
        report = debit_run(on=on, workers=workers)
        self.stdout.write(
            f"Debit run of {on.isoformat()}: {report.presented} presented, {report.paid} paid, "
            f"{report.refused} refused, {report.left_pending} left pending."
        )
        if report.left_pending:
            self.stdout.write(
                f"{pending_count()} payment(s) wait for the provider's answer: the next run asks again."
            )
        if options["reminders"]:
            sent = reminders_send(on=on)
            self.stdout.write(f"{sent} reminder(s) sent.")
