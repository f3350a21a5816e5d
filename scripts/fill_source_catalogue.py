"""Fills the English catalogue: English is the source language of every msgid.

Run by `make messages`; keeps the en catalogue 100 % translated without
hand-copying each new string.
"""

from pathlib import Path

import polib

CATALOGUE = Path(__file__).resolve().parent.parent / "guichet" / "locale" / "en" / "LC_MESSAGES" / "django.po"


def main() -> None:
    catalogue = polib.pofile(str(CATALOGUE))
    for entry in catalogue:
        if entry.msgid_plural:
            entry.msgstr_plural = {0: entry.msgid, 1: entry.msgid_plural}
        else:
            entry.msgstr = entry.msgid
        if "fuzzy" in entry.flags:
            entry.flags.remove("fuzzy")
        entry.previous_msgid = None
        entry.previous_msgid_plural = None
    catalogue.save()


if __name__ == "__main__":
    main()
