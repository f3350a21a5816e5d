"""Reads of protected banking data, always through ``entities.access``: the accounts, contracts,
transactions and beneficiaries a user may see. Each function takes the viewer; another entity's
ID is simply not found (``NotFound``), so a check and a list can never disagree.

Lists run a constant number of queries whatever the number of accounts or rights
(``select_related``, no per-row lookups). Transactions are paginated by keyset on
(booking date, id), which the index ``banking_tx_account_date`` serves at any depth.
"""

import dataclasses
import datetime
import itertools
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.db.models.functions import Abs

from guichet.banking.models import Beneficiary, Transaction
from guichet.entities import access
from guichet.entities.models import BankAccount, Contract, Entity, Right

PAGE_SIZE = 50
EXPORT_CHUNK = 2000


class NotFound(Exception):
    """The object does not exist for this user (another entity's, or no right): views answer 404."""


# --- Accounts and contracts ---------------------------------------------------------------


def accounts_visible(*, user: Any) -> QuerySet[BankAccount]:
    """The accounts ``user`` may consult, with their entity, ordered by entity then label."""
    return (
        access.accounts(user, Right.CONSULTATION)
        .select_related("entity")
        .order_by("entity__name", "entity_id", "label", "pk")
    )


def accounts_search(accounts: QuerySet[BankAccount], search: str) -> QuerySet[BankAccount]:
    """Accounts whose label contains ``search``, or whose IBAN does (spaces ignored)."""
    if not search:
        return accounts
    compact = "".join(search.split()).upper()
    return accounts.filter(Q(label__icontains=search) | Q(iban__contains=compact))


def account_get(*, user: Any, account_id: int, right: Right = Right.CONSULTATION) -> BankAccount:
    account = access.accounts(user, right).select_related("entity").filter(pk=account_id).first()
    if account is None:
        raise NotFound(account_id)
    return account


def by_entity(items: list[Any]) -> list[tuple[Entity, list[Any]]]:
    """Groups accounts or contracts already ordered by entity (no query)."""
    return [(entity, list(group)) for entity, group in itertools.groupby(items, key=lambda item: item.entity)]


def contracts_visible(*, user: Any) -> QuerySet[Contract]:
    return (
        access.contracts(user, Right.CONSULTATION)
        .select_related("entity")
        .order_by("entity__name", "entity_id", "label", "pk")
    )


def contract_get(*, user: Any, contract_id: int) -> Contract:
    contract = (
        access.contracts(user, Right.CONSULTATION).select_related("entity").filter(pk=contract_id).first()
    )
    if contract is None:
        raise NotFound(contract_id)
    return contract


# --- Transactions -----------------------------------------------------------------------------


class Direction:
    ALL = ""
    DEBITS = "debits"
    CREDITS = "credits"


@dataclasses.dataclass(frozen=True)
class TransactionFilter:
    """What the user filters on. Amounts are compared in absolute value (a debit of 120.00 matches
    "from 100 to 150"); ``direction`` narrows to debits or credits."""

    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    text: str = ""
    direction: str = Direction.ALL

    def as_details(self) -> dict[str, str]:
        """For the audit trail: the filters given, as text."""
        return {
            field.name: str(value)
            for field in dataclasses.fields(self)
            if (value := getattr(self, field.name)) not in (None, "")
        }


def transactions_filtered(*, account: BankAccount, filters: TransactionFilter) -> QuerySet[Transaction]:
    """The account's transactions matching ``filters``, newest first. The account must come from
    ``account_get`` (the right was checked there)."""
    qs = Transaction.objects.filter(account=account)
    if filters.date_from:
        qs = qs.filter(booking_date__gte=filters.date_from)
    if filters.date_to:
        qs = qs.filter(booking_date__lte=filters.date_to)
    if filters.amount_min is not None or filters.amount_max is not None:
        qs = qs.alias(magnitude=Abs("amount"))
        if filters.amount_min is not None:
            qs = qs.filter(magnitude__gte=filters.amount_min)
        if filters.amount_max is not None:
            qs = qs.filter(magnitude__lte=filters.amount_max)
    if filters.direction == Direction.DEBITS:
        qs = qs.filter(amount__lt=0)
    elif filters.direction == Direction.CREDITS:
        qs = qs.filter(amount__gt=0)
    if text := filters.text.strip():
        qs = qs.filter(
            Q(counterparty_name__icontains=text)
            | Q(description__icontains=text)
            | Q(reference__icontains=text)
        )
    return qs.order_by("-booking_date", "-pk")


@dataclasses.dataclass(frozen=True)
class Cursor:
    """A position in the list: the (booking date, id) of a row. Serialised as ``2026-01-31.1234``."""

    booking_date: datetime.date
    pk: int

    def __str__(self) -> str:
        return f"{self.booking_date.isoformat()}.{self.pk}"

    @classmethod
    def parse(cls, value: str | None) -> "Cursor | None":
        """None for anything malformed: a hand-edited URL shows the first page."""
        if not value:
            return None
        day, _, pk = value.partition(".")
        try:
            return cls(datetime.date.fromisoformat(day), int(pk))
        except ValueError:
            return None

    @classmethod
    def of(cls, transaction: Transaction) -> "Cursor":
        return cls(transaction.booking_date, transaction.pk)


@dataclasses.dataclass(frozen=True)
class TransactionPage:
    items: list[Transaction]
    newer: Cursor | None  # ``before=`` of the previous page (newer rows), None on the first page
    older: Cursor | None  # ``after=`` of the next page (older rows), None on the last page


def _older_than(cursor: Cursor) -> Q:
    return Q(booking_date__lt=cursor.booking_date) | Q(booking_date=cursor.booking_date, pk__lt=cursor.pk)


def _newer_than(cursor: Cursor) -> Q:
    return Q(booking_date__gt=cursor.booking_date) | Q(booking_date=cursor.booking_date, pk__gt=cursor.pk)


def transactions_page(
    qs: QuerySet[Transaction],
    *,
    after: Cursor | None = None,
    before: Cursor | None = None,
    size: int = PAGE_SIZE,
) -> TransactionPage:
    """One page of ``qs`` (ordered newest first), by keyset: one query at any depth.

    ``after``: the rows older than the cursor (next page); ``before``: the rows newer than it
    (previous page). One extra row tells whether there is a page beyond.
    """
    if before is not None:
        rows = list(qs.filter(_newer_than(before)).order_by("booking_date", "pk")[: size + 1])
        more_newer = len(rows) > size
        items = list(reversed(rows[:size]))
        return TransactionPage(
            items=items,
            newer=Cursor.of(items[0]) if more_newer else None,
            older=Cursor.of(items[-1]) if items else None,
        )
    if after is not None:
        qs = qs.filter(_older_than(after))
    rows = list(qs[: size + 1])
    items = rows[:size]
    return TransactionPage(
        items=items,
        newer=Cursor.of(items[0]) if after is not None and items else None,
        older=Cursor.of(items[-1]) if len(rows) > size else None,
    )


def transactions_all(qs: QuerySet[Transaction], *, chunk: int = EXPORT_CHUNK) -> Iterator[Transaction]:
    """Every row of ``qs``, by keyset chunks: bounded memory without server-side cursors."""
    after = None
    while True:
        page = transactions_page(qs, after=after, size=chunk)
        yield from page.items
        if page.older is None:
            return
        after = page.older


# --- Beneficiaries ------------------------------------------------------------------------------


def managed_entities(*, user: Any) -> QuerySet[Entity]:
    """The entities on at least one of whose accounts ``user`` holds the management right."""
    return Entity.objects.filter(pk__in=access.accounts(user, Right.MANAGEMENT).values("entity_id")).order_by(
        "name", "pk"
    )


def beneficiaries_visible(*, user: Any) -> QuerySet[Beneficiary]:
    return (
        Beneficiary.objects.filter(entity__in=managed_entities(user=user))
        .select_related("entity")
        .order_by("entity__name", "entity_id", "name", "pk")
    )


def beneficiary_get(*, user: Any, beneficiary_id: int) -> Beneficiary:
    beneficiary = beneficiaries_visible(user=user).filter(pk=beneficiary_id).first()
    if beneficiary is None:
        raise NotFound(beneficiary_id)
    return beneficiary
