"""The CSV export of an account's transactions: the only write of consultation is its audit event.

Format, chosen for Excel and for machines alike: UTF-8 with a byte order mark
(so that Excel reads the accents right), comma-separated, CRLF line ends,
quoting as Python's ``csv`` does; dates in ISO 8601 (2026-01-31) and amounts as
plain decimals with a dot and a minus sign for debits (-1234.56), whatever the
page's language. Text cells starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return are prefixed with an apostrophe so that a spreadsheet shows
them as text instead of running them as formulas (CSV injection); the amount
column is written by us from a ``Decimal`` and is never text from outside.
"""

import csv
import datetime
from collections.abc import Iterator
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from guichet.audit.services import record
from guichet.banking import selectors
from guichet.banking.models import Transaction
from guichet.entities.models import BankAccount

BOM = "\ufeff"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: str) -> str:
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


class _Line:
    """A file-like object whose ``write`` returns what it was given (for streaming)."""

    def write(self, value: str) -> str:
        return value


def _header() -> list[str]:
    return [
        _("Booking date"),
        _("Value date"),
        _("Amount"),
        _("Currency"),
        _("Counterparty"),
        _("Counterparty's account"),
        _("Description"),
        _("Reference"),
    ]


def _row(item: Transaction) -> list[str]:
    return [
        item.booking_date.isoformat(),
        item.value_date.isoformat(),
        f"{item.amount:.2f}",
        item.currency,
        csv_safe(item.counterparty_name),
        csv_safe(item.counterparty_iban),
        csv_safe(item.description),
        csv_safe(item.reference),
    ]


def transactions_csv_lines(rows: Iterator[Transaction], header: list[str]) -> Iterator[str]:
    """The CSV file, line by line (the BOM in front of the header)."""
    writer = csv.writer(_Line())
    yield BOM + writer.writerow(header)
    for item in rows:
        yield writer.writerow(_row(item))


def transactions_export(
    *, user: Any, account_id: int, filters: selectors.TransactionFilter, request: HttpRequest | None = None
) -> tuple[BankAccount, Iterator[str]]:
    """Checks the consultation right, records the export, and returns the account and the CSV lines
    (read lazily, in keyset chunks). Raises ``selectors.NotFound`` (nothing recorded) without the right."""
    account = selectors.account_get(user=user, account_id=account_id)
    with transaction.atomic():
        record(
            action="banking.transactions_exported",
            actor=user,
            target=account,
            request=request,
            details={"filters": filters.as_details()},
        )
    rows = selectors.transactions_all(selectors.transactions_filtered(account=account, filters=filters))
    # The header is translated now, in the request's language, not later while streaming.
    return account, transactions_csv_lines(rows, _header())


def export_filename(account: BankAccount, today: datetime.date | None = None) -> str:
    return f"transactions-{account.iban}-{(today or timezone.localdate()).isoformat()}.csv"
