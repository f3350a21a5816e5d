"""Reads of the documents page: the documents a user sees (always through ``documents.access``),
filtered, sorted by any column and paginated by keyset, at the same cost on the first page and deep
in ten years of invoices.

How a page stays fast: every sort is served by one of the indexes declared on ``Document``, all led
by the customer number (``documents_by_date``, ``_by_number``, ``_by_amount``, ``_by_due_date``).
PostgreSQL cannot read ``customer_number IN (a, b, c) ORDER BY issue_date`` in index order, so the
page is one ``UNION ALL`` of one *branch* per customer number (and per group, see below), each an
ordered index scan that stops after a page, merged by the outer ``ORDER BY … LIMIT``. A second
query loads the page's rows with their reading state. Each page: the customer numbers, the ids,
the rows; three queries whatever the depth, the number of customer numbers or of documents.

Sorts on a column without its own index are made of *groups*: by type, one group per type (each
read newest first from ``documents_by_date``); by customer number, one group per number; by due
date, the documents with a due date then those without (NULL sorts after every date, as
PostgreSQL's ascending index keeps them). A position in the list is thus (rank of the group, value
of the sort column, id): the keyset cursor.
"""

import dataclasses
import datetime
import itertools
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import DateField, Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Cast, Upper

from guichet.documents import access
from guichet.documents.models import CustomerNumber, Document, DocumentKind, DocumentRead

PAGE_SIZE = 50
EXPORT_CHUNK = 1000


def customer_numbers_visible(*, user: Any) -> list[CustomerNumber]:
    """The customer numbers ``user`` sees, with their issuer, in code order (DL2 …, DL5 …)."""
    return list(
        access.customer_numbers(user).select_related("issuer").order_by("issuer__prefix", "number", "pk")
    )


# --- Filters ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DocumentFilter:
    """What the user filters on. ``number`` matches the start of the document number (case
    ignored); amounts are the amount including VAT; ``customer_number`` is the id of one of the
    user's customer numbers (the form only offers those)."""

    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    number: str = ""
    kind: str = ""
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    customer_number: int | None = None

    def as_details(self) -> dict[str, str]:
        """For the audit trail: the filters given, as text."""
        return {
            field.name: str(value)
            for field in dataclasses.fields(self)
            if (value := getattr(self, field.name)) not in (None, "")
        }

    def q(self) -> Q:
        q = Q()
        if self.date_from:
            q &= Q(issue_date__gte=self.date_from)
        if self.date_to:
            q &= Q(issue_date__lte=self.date_to)
        if self.kind:
            q &= Q(kind=self.kind)
        if self.amount_min is not None:
            q &= Q(amount_incl_vat__gte=self.amount_min)
        if self.amount_max is not None:
            q &= Q(amount_incl_vat__lte=self.amount_max)
        if number := self.number.strip():
            q &= Q(number_upper__startswith=number.upper())
        return q


# --- Sorts --------------------------------------------------------------------------------------

SORT_KEYS = ("date", "kind", "number", "customer", "due", "amount")
_COLUMNS = {"date": "issue_date", "number": "number", "amount": "amount_incl_vat", "due": "due_date"}


@dataclasses.dataclass(frozen=True)
class Sort:
    """A column and a direction; written ``date`` (ascending) or ``-date`` (descending) in the URL."""

    key: str = "date"
    descending: bool = True

    def __str__(self) -> str:
        return f"-{self.key}" if self.descending else self.key

    @classmethod
    def parse(cls, value: str | None) -> "Sort":
        """The default (newest first) for anything unknown: a hand-edited URL still shows a list."""
        value = (value or "").strip()
        key = value.removeprefix("-")
        if key not in SORT_KEYS:
            return cls()
        return cls(key=key, descending=value.startswith("-"))

    def on(self, key: str) -> "Sort":
        """The sort a click on column ``key`` asks for: the same column again reverses it."""
        if key == self.key:
            return Sort(key=key, descending=not self.descending)
        return Sort(key=key, descending=False)

    @property
    def is_default(self) -> bool:
        return self == Sort()


@dataclasses.dataclass(frozen=True)
class _Branch:
    """One ordered index scan: the documents of one customer number in one group."""

    rank: int
    customer_number: int
    where: Q
    column: str | None  # None: the group without due date, ordered by id alone
    descending: bool


def _branches(sort: Sort, numbers: list[int]) -> list[_Branch]:
    desc = sort.descending
    if sort.key in ("date", "number", "amount"):
        return [_Branch(0, number, Q(), _COLUMNS[sort.key], desc) for number in numbers]
    if sort.key == "due":
        groups = [(Q(due_date__isnull=False), "due_date"), (Q(due_date__isnull=True), None)]
        if desc:
            groups.reverse()
        return [
            _Branch(rank, number, where, column, desc)
            for rank, (where, column) in enumerate(groups)
            for number in numbers
        ]
    if sort.key == "kind":
        kinds = sorted(DocumentKind.values, reverse=desc)
        return [
            _Branch(rank, number, Q(kind=kind), "issue_date", True)
            for rank, kind in enumerate(kinds)
            for number in numbers
        ]
    ordered = list(reversed(numbers)) if desc else numbers  # "customer": numbers come in code order
    return [_Branch(rank, number, Q(), "issue_date", True) for rank, number in enumerate(ordered)]


# --- Cursor -------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Cursor:
    """A position in the list: (group rank, id, value of the sort column), written ``0.1234.2026-01-31``."""

    rank: int
    pk: int
    value: Any

    def __str__(self) -> str:
        value = "" if self.value is None else self.value
        if isinstance(value, datetime.date):
            value = value.isoformat()
        return f"{self.rank}.{self.pk}.{value}"

    @classmethod
    def parse(cls, text: str | None, branches: list[_Branch]) -> "Cursor | None":
        """None for anything malformed or foreign to this sort: the first page is shown."""
        if not text:
            return None
        rank, _, rest = text.partition(".")
        pk, _, raw = rest.partition(".")
        try:
            rank_number, pk_number = int(rank), int(pk)
        except ValueError:
            return None
        branch = next((branch for branch in branches if branch.rank == rank_number), None)
        if branch is None:
            return None
        if branch.column is None:
            return cls(rank_number, pk_number, None)
        try:
            value = _parse_value(branch.column, raw)
        except (ValueError, ArithmeticError):  # decimal's InvalidOperation and Overflow included
            return None
        return cls(rank_number, pk_number, value)


AMOUNT_CEILING = Decimal("1e12")  # Document amounts have 14 digits, 2 of them decimals


def _parse_value(column: str, raw: str) -> Any:
    if column in ("issue_date", "due_date"):
        return datetime.date.fromisoformat(raw)
    if column == "amount_incl_vat":
        amount = Decimal(raw)
        # Within the column's range and precision: an edited cursor never reaches the database as an
        # overflow (review finding); anything else shows the first page.
        if (
            not amount.is_finite()
            or abs(amount) >= Decimal("1e12")
            or amount != amount.quantize(Decimal("0.01"))
        ):
            raise ValueError(raw)
        return amount
    if len(raw) > 64:
        raise ValueError(raw)
    return raw


def _beyond(branch: _Branch, cursor: Cursor, forward: bool) -> Q | None:
    """The branch's rows after (``forward``) or before the cursor; None when there are none."""
    if branch.rank != cursor.rank:
        return Q() if (branch.rank > cursor.rank) == forward else None
    moving_down = branch.descending == forward
    if branch.column is None:
        return Q(pk__lt=cursor.pk) if moving_down else Q(pk__gt=cursor.pk)
    column, value = branch.column, cursor.value
    # The first condition bounds the index scan; the second only breaks ties on the same value.
    if moving_down:
        return Q(**{f"{column}__lte": value}) & (Q(**{f"{column}__lt": value}) | Q(pk__lt=cursor.pk))
    return Q(**{f"{column}__gte": value}) & (Q(**{f"{column}__gt": value}) | Q(pk__gt=cursor.pk))


# --- Pages --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DocumentPage:
    items: list[Document]  # each with ``is_read`` for the viewer
    previous: Cursor | None  # ``before=`` of the previous page, None on the first page
    next: Cursor | None  # ``after=`` of the next page, None on the last page


def _base(user: Any, filters: DocumentFilter) -> QuerySet[Document]:
    qs = access.documents(user)
    if filters.number.strip():
        qs = qs.alias(number_upper=Upper("number"))
    return qs.filter(filters.q())


def _branch_query(base: QuerySet[Document], branch: _Branch, where: Q, forward: bool, size: int) -> QuerySet:
    desc = branch.descending == forward
    if branch.column is None:
        value = Cast(Value(None), DateField())
        order = ["-pk"] if desc else ["pk"]
    else:
        value = F(branch.column)
        order = [f"-{branch.column}", "-pk"] if desc else [branch.column, "pk"]
    return (
        base.filter(branch.where, where, customer_number_id=branch.customer_number)
        .annotate(rank=Value(branch.rank), sort_value=value)
        .order_by(*order)
        .values_list("pk", "rank", "sort_value")[:size]
    )


def _positions(
    base: QuerySet[Document], branches: list[_Branch], cursor: Cursor | None, forward: bool, size: int
) -> list[tuple[int, int, Any]]:
    """(id, rank, value) of up to ``size`` rows from the cursor on, in the direction of travel."""
    parts = []
    for branch in branches:
        where = Q() if cursor is None else _beyond(branch, cursor, forward)
        if where is not None:
            parts.append(_branch_query(base, branch, where, forward, size))
    if not parts:
        return []
    desc = branches[0].descending == forward  # the groups of one sort share their direction
    if len(parts) == 1:
        return list(parts[0])
    if connection.features.supports_slicing_ordering_in_compound:
        order = ["rank", "-sort_value", "-pk"] if desc else ["rank", "sort_value", "pk"]
        if not forward:
            order[0] = "-rank"
        union = parts[0].union(*parts[1:], all=True).order_by(*order)
        return list(union[:size])
    return _merge_in_python(parts, desc, forward, size)


def _merge_in_python(
    parts: list[QuerySet], desc: bool, forward: bool, size: int
) -> list[tuple[int, int, Any]]:
    """SQLite (the demo) cannot order the parts of a UNION: one query per branch, merged here."""
    rows = sorted(itertools.chain.from_iterable(parts), key=lambda row: row[1], reverse=not forward)
    merged = []
    for _rank, group in itertools.groupby(rows, key=lambda row: row[1]):
        merged.extend(sorted(group, key=lambda row: (row[2] is None, row[2], row[0]), reverse=desc))
    return merged[:size]


def documents_page(
    *,
    user: Any,
    customer_numbers: list[CustomerNumber],
    filters: DocumentFilter,
    sort: Sort,
    after: str | None = None,
    before: str | None = None,
    size: int = PAGE_SIZE,
) -> DocumentPage:
    """One page of the documents ``user`` sees, by keyset: ``after`` (next page) or ``before``
    (previous page) is a cursor from an earlier page. ``customer_numbers`` come from
    ``customer_numbers_visible`` (the same user)."""
    numbers = [number.pk for number in customer_numbers]
    if filters.customer_number is not None:
        numbers = [number for number in numbers if number == filters.customer_number]
    branches = _branches(sort, numbers)
    back = Cursor.parse(before, branches)
    ahead = None if back else Cursor.parse(after, branches)
    forward = back is None
    rows = _positions(_base(user, filters), branches, back or ahead, forward, size + 1)
    more = len(rows) > size
    rows = rows[:size]
    if not forward:
        rows.reverse()
    items = _documents(user, [row[0] for row in rows])
    cursors = [Cursor(rank=row[1], pk=row[0], value=row[2]) for row in rows]
    if forward:
        previous = cursors[0] if ahead is not None and cursors else None
        following = cursors[-1] if more else None
    else:
        previous = cursors[0] if more else None
        following = cursors[-1] if cursors else None
    return DocumentPage(items=items, previous=previous, next=following)


def _documents(user: Any, ids: list[int]) -> list[Document]:
    """The page's rows, in the order of ``ids``, each with ``is_read`` (for these rows only).

    ``ids`` come from ``_positions``, whose every branch starts from ``access.documents(user)``:
    they are checked already, and asking again would cost a third of the page's database time."""
    if not ids:
        return []
    read = DocumentRead.objects.filter(user=user, document=OuterRef("pk"))
    rows = (
        Document.objects.filter(pk__in=ids)
        .select_related("customer_number__issuer")
        .annotate(is_read=Exists(read))
    )
    by_id = {row.pk: row for row in rows}
    return [by_id[pk] for pk in ids if pk in by_id]


def documents_all(
    *, user: Any, customer_numbers: list[CustomerNumber], filters: DocumentFilter, sort: Sort
) -> Iterator[Document]:
    """Every document of the filtered list, in the page's order, read in keyset chunks (the CSV)."""
    after = None
    while True:
        page = documents_page(
            user=user,
            customer_numbers=customer_numbers,
            filters=filters,
            sort=sort,
            after=after,
            size=EXPORT_CHUNK,
        )
        yield from page.items
        if page.next is None:
            return
        after = str(page.next)
