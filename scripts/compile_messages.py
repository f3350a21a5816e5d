"""Compiles the gettext catalogues (.po → .mo) without needing GNU gettext.

Run at install by the Makefile, so a fresh machine needs only Python.
Fails when a catalogue has an untranslated or fuzzy entry: the four
languages are kept 100 % translated.
"""

import sys
from pathlib import Path

import polib

LOCALE = Path(__file__).resolve().parent.parent / "guichet" / "locale"


def main() -> int:
    problems = []
    for po_path in sorted(LOCALE.glob("*/LC_MESSAGES/*.po")):
        catalogue = polib.pofile(str(po_path))
        missing = [e.msgid for e in catalogue.untranslated_entries()]
        fuzzy = [e.msgid for e in catalogue.fuzzy_entries()]
        problems += [f"{po_path}: untranslated: {m!r}" for m in missing]
        problems += [f"{po_path}: fuzzy: {m!r}" for m in fuzzy]
        catalogue.save_as_mofile(str(po_path.with_suffix(".mo")))
    for line in problems:
        print(line, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
