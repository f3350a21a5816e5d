"""``manage.py check_pain001 FILE [FILE…]``: validates pain.001.001.09 files against the official XSD
shipped with Guichet, then runs the consistency checks (control sums and counts, unique identifiers,
amounts, creditor IBAN checksums). Prints each problem; exits non-zero if any file has one."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from guichet.banking import pain001


class Command(BaseCommand):
    help = "Validates pain.001.001.09 files (XSD and consistency checks); exits non-zero on any problem."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path)

    def handle(self, *args: Any, files: list[Path], **options: Any) -> None:
        failed = 0
        for file in files:
            try:
                xml = file.read_bytes()
            except OSError as error:
                found = [f"cannot read: {error.strerror}"]
            else:
                found = pain001.xsd_errors(xml) + pain001.check(xml)
            if found:
                failed += 1
                for problem in found:
                    self.stdout.write(f"{file}: {problem}")
            else:
                self.stdout.write(f"{file}: OK")
        if failed:
            raise CommandError(f"{failed} of {len(files)} file(s) have problems")
