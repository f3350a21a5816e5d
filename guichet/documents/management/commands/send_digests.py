from typing import Any

from django.core.management.base import BaseCommand, CommandError

from guichet.documents.models import Frequency
from guichet.documents.notices import digests_send
from guichet.documents.tasks import send_digests


class Command(BaseCommand):
    help = (
        "Sends the digests of new documents: --daily once a day, --weekly once a week (cron or a systemd "
        "timer). Idempotent: running it twice sends nothing twice."
    )

    def add_arguments(self, parser: Any) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--daily", action="store_true", help="the daily digests")
        which.add_argument("--weekly", action="store_true", help="the weekly digests")
        parser.add_argument(
            "--enqueue", action="store_true", help="queue a task for the worker instead of sending now"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        frequency = Frequency.DAILY if options["daily"] else Frequency.WEEKLY
        if options["enqueue"]:
            result = send_digests.enqueue(str(frequency))
            self.stdout.write(f"Queued task {result.id} for the {frequency} digests.")
            return
        try:
            sent = digests_send(frequency=frequency)
        except Exception as error:  # a cron job must exit non-zero and say why
            raise CommandError(f"{frequency} digests failed: {error}") from error
        self.stdout.write(self.style.SUCCESS(f"{sent} {frequency} digest(s) sent."))
