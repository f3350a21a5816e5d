from argparse import ArgumentParser

from django.core.management.base import BaseCommand

from guichet.documents import retention


class Command(BaseCommand):
    help = (
        "Deletes the documents issued before the retention limit (GUICHET_DOCUMENTS_RETENTION_YEARS) "
        "with their files. Run it daily; --dry-run only counts them."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count, delete nothing")

    def handle(self, *args: object, **options: object) -> None:
        count = retention.purge(dry_run=bool(options["dry_run"]))
        verb = "would be deleted" if options["dry_run"] else "deleted"
        limit = retention.retention_limit().isoformat()
        self.stdout.write(f"{count} documents issued before {limit} {verb}.")
