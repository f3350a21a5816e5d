from typing import Any

from django.core.management.base import BaseCommand, CommandError

from guichet.audit.verify import chain_verify


class Command(BaseCommand):
    help = "Verifies the audit trail's hash chain; exits non-zero and names the first broken link."

    def handle(self, *args: Any, **options: Any) -> None:
        report = chain_verify()
        if not report.ok:
            raise CommandError(
                f"Audit chain BROKEN at seq {report.broken_seq}: {report.reason} "
                f"({report.count} events verified before it)."
            )
        if report.count == 0:
            self.stdout.write(self.style.SUCCESS("OK: the audit trail is empty."))
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"OK: {report.count} audit events, chain intact up to seq {report.head_seq} "
                f"(head hash {report.head_hash})."
            )
        )
