"""``manage.py export_transfers [--entity ID]``: exports the validated transfers now (one pain.001 file per
entity) and drops every file not yet delivered into the outbox folder. Safe to run at any time, also
next to the workers: the export is idempotent and locks what it exports."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from guichet.banking.export import export_run


class Command(BaseCommand):
    help = "Exports validated transfers to pain.001 files and delivers undelivered files to the outbox."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--entity", type=int, help="only this business client (its ID)")

    def handle(self, *args: Any, entity: int | None = None, **options: Any) -> None:
        result = export_run(entity_id=entity)
        for export_file in result.files:
            self.stdout.write(
                f"{export_file.message_id}: {export_file.transaction_count} transfers, "
                f"{export_file.control_sum} EUR (entity {export_file.entity_id})"
            )
        self.stdout.write(result.summary())
        if result.failed_entities or result.undelivered:
            raise CommandError(
                f"export refused for entities {result.failed_entities}, {result.undelivered} file(s) not "
                "delivered: see the log and the audit trail"
            )
