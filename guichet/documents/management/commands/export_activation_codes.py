"""manage.py export_activation_codes: the CSV of the activation-code letters for the print shop."""

import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from guichet.documents.codes import activation_codes_export
from guichet.documents.models import Issuer


class Command(BaseCommand):
    help = (
        "Writes the CSV of the activation codes to print on letters (customer code, customer name, contact "
        "name, language, code, expiry) and marks them exported. By default only the codes never exported; "
        "codes already used, revoked or expired are never exported. The file holds live codes: hand it to "
        "the print shop over a protected channel and delete it afterwards."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--issuer", default="", help="only this issuer's codes, by prefix (e.g. DL2)")
        parser.add_argument(
            "--all", action="store_true", help="every valid unused code, also those already exported"
        )
        parser.add_argument("--output", default="", help="the CSV file to write (default: standard output)")

    def handle(self, *args: Any, **options: Any) -> None:
        issuer = None
        if options["issuer"]:
            issuer = Issuer.objects.filter(prefix__iexact=options["issuer"].strip()).first()
            if issuer is None:
                raise CommandError(f"No issuer has the prefix {options['issuer']!r}.")
        only_new = not options["all"]
        if not options["output"]:
            count = activation_codes_export(out=self.stdout, issuer=issuer, only_new=only_new)
            self.stderr.write(f"{count} activation code(s) exported.")
            return
        path = Path(options["output"])
        try:  # readable by its owner only, and never over an existing file
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise CommandError(f"{path} already exists: choose another file name.") from None
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as out:
                count = activation_codes_export(out=out, issuer=issuer, only_new=only_new)
        except BaseException:
            path.unlink(missing_ok=True)  # nothing was marked exported: no half file either
            raise
        self.stdout.write(self.style.SUCCESS(f"{count} activation code(s) exported to {path}."))
