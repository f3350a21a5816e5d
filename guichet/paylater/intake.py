"""The intake of the lender's orders: CSV or JSON lines, from ``manage.py import_orders`` and the order
endpoint (``paylater.api``), one report item per line.

- **Reading** streams: ``file_rows`` reads a file line by line (UTF-8, with or without a BOM); a CSV
  has a header row and ``;`` or ``,`` as delimiter (whichever splits the header); JSON lines hold one
  object per line. Nothing is loaded whole, so a file of a million lines takes flat memory.
- **Checking** (``line_clean``) is strict and needs the database only for the merchant: every field
  is checked and all the faults of a line are reported together, translated. First of all, a line in
  which any value (or field name) looks like a card number (13 to 19 digits, spaces or dashes
  allowed, passing Luhn) is refused as a whole, and nothing of it is echoed: only the provider's
  token may be sent.
- **Writing** is one transaction per line (``schedules.order_create``, the customer's e-mail
  ``paylater_order_received`` queued in it), so one bad line refuses only itself and a crash loses
  at most the line being written.

Idempotency: a line's content is normalised and hashed (SHA-256, ``Order.content_hash``). The same
merchant and order number with the same content is "already imported" (nothing written, nothing
sent); with other content it is refused as a conflict. Running the same file again is therefore safe.
"""

import csv
import dataclasses
import datetime
import enum
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from guichet.identity.exceptions import IdentityError
from guichet.notifications.services import notify
from guichet.paylater import schedules
from guichet.paylater.models import (
    ACCEPTED_BRANDS,
    InstalmentStatus,
    Merchant,
    Order,
    OrderClient,
)

FIELDS = (
    "merchant",
    "order_number",
    "email",
    "purchase_date",
    "purchase_amount",
    "fees",
    "currency",
    "instalments",
    "phone",
    "first_name",
    "last_name",
    "language",
    "card_token",
    "card_brand",
    "card_last4",
    "card_expiry",
    "first_instalment_paid",
)
OPTIONAL = frozenset({"fees", "currency", "phone", "first_instalment_paid"})
REQUIRED = tuple(name for name in FIELDS if name not in OPTIONAL)
LANGUAGES = ("fr", "nl", "en", "de")
MAX_VALUE_LENGTH = 254  # the longest field (an e-mail address); anything longer is refused unread
MAX_LINE_CHARS = 8192  # a JSON line or CSV record longer than this is refused unread

_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
_AMOUNT = re.compile(r"(\d{1,10})(?:[.,](\d{1,2}))?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_TOKEN = re.compile(r"[\x21-\x7e]{1,200}")
_LAST4 = re.compile(r"\d{4}")
_EXPIRY = re.compile(r"(\d{2})/(\d{4})")
_E164 = re.compile(r"\+[1-9]\d{6,14}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TRUE = frozenset({"true", "1", "yes", "y"})
_FALSE = frozenset({"false", "0", "no", "n"})
# Runs of digits, possibly separated by single spaces or dashes (how card numbers are written).
_DIGIT_RUN = re.compile(r"\d+(?:[ -]\d+)*")


class Outcome(enum.StrEnum):
    IMPORTED = "imported"
    ALREADY = "already imported"
    REFUSED = "refused"


@dataclasses.dataclass(frozen=True)
class Item:
    """One line of the report: ``line`` is ``file:line`` (or the line number, or the array index)."""

    line: str
    outcome: Outcome
    reason: str = ""
    order_number: str = ""
    order: int | None = None


@dataclasses.dataclass
class Totals:
    imported: int = 0
    already: int = 0
    refused: int = 0

    def add(self, item: Item) -> None:
        if item.outcome == Outcome.IMPORTED:
            self.imported += 1
        elif item.outcome == Outcome.ALREADY:
            self.already += 1
        else:
            self.refused += 1

    @property
    def total(self) -> int:
        return self.imported + self.already + self.refused


@dataclasses.dataclass(frozen=True)
class Row:
    """A line as read: its fields (raw values), or why it could not even be read."""

    line: str
    fields: Mapping[str, Any] | None = None
    error: str = ""


class LineRefused(Exception):
    """A line that fails the checks; ``order_number`` is given only when it is itself valid."""

    def __init__(self, reason: str, order_number: str = "") -> None:
        self.reason = reason
        self.order_number = order_number
        super().__init__(reason)


# --- Card numbers ---------------------------------------------------------------------------------


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def looks_like_card_number(text: str) -> bool:
    """Whether ``text`` contains 13 to 19 digits (single spaces or dashes between them allowed) that
    pass the Luhn check. Every stretch of consecutive groups of a digit run is tried, so a card number
    glued to other digits by a space ("ref 12 4242 4242 4242 4242") is still found."""
    for run in _DIGIT_RUN.finditer(text):
        groups = re.split(r"[ -]", run[0])
        for start in range(len(groups)):
            digits = ""
            for group in groups[start:]:
                digits += group
                if len(digits) > 19:
                    break
                if len(digits) >= 13 and luhn_valid(digits):
                    return True
    return False


def card_number_refusal() -> str:
    return _("A card number was sent; only the provider's token may be. The line was not imported.")


# --- Checking a line ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class OrderLine:
    """A line that passed every check, with its values normalised."""

    merchant: Merchant
    number: str
    email: str
    purchased_on: datetime.date
    purchase_amount: Decimal
    fees: Decimal
    currency: str
    instalments: int
    phone: str
    first_name: str
    last_name: str
    language: str
    card: schedules.CardOnFile
    first_instalment_paid: bool

    def normalised(self) -> dict[str, Any]:
        """The content the hash is taken of: the same order written differently hashes the same."""
        return {
            "merchant": self.merchant.code,
            "order_number": self.number,
            "email": self.email.lower(),
            "purchase_date": self.purchased_on.isoformat(),
            "purchase_amount": str(self.purchase_amount),
            "fees": str(self.fees),
            "currency": self.currency,
            "instalments": self.instalments,
            "phone": self.phone,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "language": self.language,
            "card_token": self.card.token,
            "card_brand": self.card.brand,
            "card_last4": self.card.last4,
            "card_expiry": f"{self.card.expiry_month:02d}/{self.card.expiry_year}",
            "first_instalment_paid": self.first_instalment_paid,
        }

    @property
    def content_hash(self) -> str:
        canonical = json.dumps(self.normalised(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


class MerchantScope:
    """The merchants a line may name: all of them for the command, the client's own for the endpoint
    (looked up as they come and remembered; a client's other merchants look like unknown ones)."""

    def __init__(self, client: OrderClient | None = None) -> None:
        self.client = client
        self._known: dict[str, Merchant | None] = {}

    def get(self, code: str) -> Merchant | None:
        if code not in self._known:
            merchants = self.client.merchants.all() if self.client is not None else Merchant.objects.all()
            self._known[code] = merchants.filter(code=code).first()
        return self._known[code]

    def refusal(self) -> str:
        if self.client is not None:
            return _("merchant: unknown, or not one of the merchants of this key.")
        return _("merchant: unknown merchant code.")


def _text(value: Any) -> str:
    """A raw value as text: strings stripped, JSON numbers and booleans written out, null as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, str):
        return value.strip()
    raise TypeError(type(value).__name__)


def _values(raw: Mapping[str, Any]) -> dict[str, str]:
    """The line's values as text, after the card-number check (which comes before anything else, so
    that no report ever echoes a part of such a line)."""
    for key, value in raw.items():
        shown = value if isinstance(value, str) else json.dumps(value, default=str)
        if looks_like_card_number(str(key)) or looks_like_card_number(shown):
            raise LineRefused(card_number_refusal())
    values: dict[str, str] = {}
    faults: list[str] = []
    for key, value in raw.items():
        name = str(key).strip().lower()
        try:
            values[name] = _text(value)
        except TypeError:
            faults.append(_("%(field)s: a single value is expected.") % {"field": name[:40]})
    if unknown := [name for name in values if name not in FIELDS]:
        shown_names = ", ".join(sorted(name[:40] for name in unknown)[:5])
        faults.append(_("Unknown fields: %(fields)s.") % {"fields": shown_names})
    if faults:
        raise LineRefused(" ".join(faults))
    return values


def line_clean(raw: Mapping[str, Any], *, merchants: MerchantScope) -> OrderLine:
    """The line's values checked and normalised, or ``LineRefused`` with all its faults."""
    values = _values(raw)
    number = values.get("order_number", "")
    valid_number = number if _NUMBER.fullmatch(number) else ""
    checker = _Checker(values)
    line = checker.line(merchants)
    if checker.faults or line is None:
        raise LineRefused(" ".join(checker.faults), order_number=valid_number)
    return line


class _Checker:
    """Checks one field after the other, collecting the faults (each a translated sentence)."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.faults: list[str] = []

    def fault(self, message: str) -> None:
        self.faults.append(message)

    def get(self, name: str) -> str:
        value = self.values.get(name, "")
        if len(value) > MAX_VALUE_LENGTH:
            self.fault(_("%(field)s is too long.") % {"field": name})
            return ""
        if not value and name in REQUIRED:
            self.fault(_("%(field)s is required.") % {"field": name})
        return value

    def line(self, merchants: MerchantScope) -> OrderLine | None:
        merchant = self.merchant(merchants)
        number = self.number()
        email = self.email()
        purchased_on = self.date()
        amount = self.amount("purchase_amount", positive=True)
        fees = self.amount("fees", positive=False)
        currency = self.currency()
        count = self.instalments()
        phone = self.phone()
        first_name, last_name = self.name("first_name"), self.name("last_name")
        language = self.language()
        card = self.card(purchased_on)
        first_paid = self.flag("first_instalment_paid", default=True)
        if self.faults or None in (merchant, purchased_on, amount, fees, count, card, first_paid):
            return None
        return OrderLine(
            merchant=merchant,  # type: ignore[arg-type]
            number=number,
            email=email,
            purchased_on=purchased_on,  # type: ignore[arg-type]
            purchase_amount=amount,  # type: ignore[arg-type]
            fees=fees,  # type: ignore[arg-type]
            currency=currency,
            instalments=count,  # type: ignore[arg-type]
            phone=phone,
            first_name=first_name,
            last_name=last_name,
            language=language,
            card=card,  # type: ignore[arg-type]
            first_instalment_paid=first_paid,  # type: ignore[arg-type]
        )

    def merchant(self, merchants: MerchantScope) -> Merchant | None:
        code = self.get("merchant")
        if not code:
            return None
        merchant = merchants.get(code.lower())
        if merchant is None:
            self.fault(merchants.refusal())
        return merchant

    def number(self) -> str:
        number = self.get("order_number")
        if number and not _NUMBER.fullmatch(number):
            self.fault(
                _(
                    "%(field)s: 1 to 40 letters, digits, dots, dashes or underscores, starting with one "
                    "letter or digit."
                )
                % {"field": "order_number"}
            )
        return number

    def email(self) -> str:
        email = self.get("email")
        if email:
            try:
                validate_email(email)
            except ValidationError:
                self.fault(_("%(field)s: not a valid e-mail address.") % {"field": "email"})
        return email.lower()

    def date(self) -> datetime.date | None:
        value = self.get("purchase_date")
        if not value:
            return None
        try:
            day = datetime.date.fromisoformat(value) if _DATE.fullmatch(value) else None
        except ValueError:
            day = None
        if day is None:
            self.fault(_("%(field)s: not a valid date (YYYY-MM-DD).") % {"field": "purchase_date"})
        elif day > timezone.localdate():
            self.fault(_("%(field)s: the date is in the future.") % {"field": "purchase_date"})
            return None
        return day

    def amount(self, name: str, *, positive: bool) -> Decimal | None:
        value = self.get(name) or ("" if positive else "0")
        if not value:
            return None
        match = _AMOUNT.fullmatch(value)
        amount = Decimal(f"{match[1]}.{(match[2] or '').ljust(2, '0')}") if match else None
        if amount is None or (positive and amount <= 0):
            message = (
                _("%(field)s: an amount more than 0 with at most 2 decimals is expected (e.g. 127.96).")
                if positive
                else _("%(field)s: an amount of 0 or more with at most 2 decimals is expected (e.g. 4.50).")
            )
            self.fault(message % {"field": name})
            return None
        return amount

    def currency(self) -> str:
        currency = (self.get("currency") or "EUR").upper()
        if not _CURRENCY.fullmatch(currency):
            self.fault(
                _("%(field)s: a 3-letter ISO 4217 code is expected (e.g. EUR).") % {"field": "currency"}
            )
        return currency

    def instalments(self) -> int | None:
        value = self.get("instalments")
        if value and value not in ("3", "4"):
            self.fault(_("%(field)s: 3 or 4.") % {"field": "instalments"})
        return int(value) if value in ("3", "4") else None

    def phone(self) -> str:
        value = self.get("phone").replace(" ", "")
        if not value:
            return ""
        try:
            number = phonenumbers.parse(value, None) if _E164.fullmatch(value) else None
        except phonenumbers.NumberParseException:
            number = None
        mobile = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
        if (
            number is None
            or not phonenumbers.is_valid_number(number)
            or phonenumbers.number_type(number) not in mobile
        ):
            self.fault(
                _(
                    "%(field)s: a mobile number in international format is expected "
                    "(E.164, e.g. +32470123456)."
                )
                % {"field": "phone"}
            )
            return ""
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def name(self, field: str) -> str:
        value = self.get(field)
        if len(value) > 150 or _CONTROL.search(value):
            self.fault(_("%(field)s: at most 150 characters, without control characters.") % {"field": field})
        return value

    def language(self) -> str:
        value = self.get("language").lower()
        if value and value not in LANGUAGES:
            self.fault(_("%(field)s: one of fr, nl, en, de.") % {"field": "language"})
        return value

    def card(self, purchased_on: datetime.date | None) -> schedules.CardOnFile | None:
        faults_before = len(self.faults)
        token, brand = self.get("card_token"), self.get("card_brand").lower()
        last4, expiry = self.get("card_last4"), self.get("card_expiry")
        if token and not _TOKEN.fullmatch(token):
            self.fault(
                _("%(field)s: the provider's token, 1 to 200 characters without spaces.")
                % {"field": "card_token"}
            )
        if brand and brand not in ACCEPTED_BRANDS:
            self.fault(
                _("%(field)s: visa or mastercard (no other card is accepted).") % {"field": "card_brand"}
            )
        if last4 and not _LAST4.fullmatch(last4):
            self.fault(_("%(field)s: the last 4 digits of the card.") % {"field": "card_last4"})
        month_year = self.expiry(expiry)
        if not (token and brand and last4 and month_year) or len(self.faults) > faults_before:
            return None
        month, year = month_year
        if purchased_on and schedules.card_valid_through(expiry_month=month, expiry_year=year) < purchased_on:
            self.fault(_("%(field)s: the card had expired at the purchase date.") % {"field": "card_expiry"})
            return None
        return schedules.CardOnFile(
            token=token, brand=brand, last4=last4, expiry_month=month, expiry_year=year
        )

    def expiry(self, value: str) -> tuple[int, int] | None:
        if not value:
            return None
        match = _EXPIRY.fullmatch(value)
        if match is None or not 1 <= int(match[1]) <= 12 or not 2000 <= int(match[2]) <= 2099:
            self.fault(_("%(field)s: MM/YYYY is expected (e.g. 12/2030).") % {"field": "card_expiry"})
            return None
        return int(match[1]), int(match[2])

    def flag(self, name: str, *, default: bool) -> bool | None:
        value = self.get(name).lower()
        if not value:
            return default
        if value in _TRUE | _FALSE:
            return value in _TRUE
        self.fault(_("%(field)s: true or false.") % {"field": name})
        return None


# --- Reading --------------------------------------------------------------------------------------


def _where(label: str, number: int) -> str:
    return f"{label}:{number}" if label else str(number)


def csv_rows(lines: Iterable[str], *, label: str = "") -> Iterator[Row]:
    """The records of a CSV text given line by line: a header row naming the fields, then one order per
    record; the delimiter (``;`` or ``,``) is the one that splits the header."""
    lines = iter(lines)
    header_line = next(lines, "").lstrip("\ufeff")
    if not header_line.strip():
        yield Row(_where(label, 1), error=_("The file is empty: a header row naming the fields is expected."))
        return
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    header = [name.strip().lower() for name in next(csv.reader([header_line], delimiter=delimiter))]
    if refusal := _header_refusal(header):
        yield Row(_where(label, 1), error=refusal)
        return
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error:  # a stray quote: this record is refused, the reader goes on with the next
            yield Row(_where(label, reader.line_num + 1), error=_("This line cannot be read as CSV."))
            continue
        line_number = reader.line_num + 1
        if not record or not any(cell.strip() for cell in record):
            continue
        if sum(len(cell) for cell in record) > MAX_LINE_CHARS:
            yield Row(_where(label, line_number), error=_("This line is too long."))
        elif len(record) != len(header):
            yield Row(_where(label, line_number), fields=None, error=_column_count_refusal(record, header))
        else:
            yield Row(_where(label, line_number), fields=dict(zip(header, record, strict=True)))


def _column_count_refusal(record: list[str], header: list[str]) -> str:
    if any(looks_like_card_number(cell) for cell in record):
        return card_number_refusal()
    return _("%(found)d values where the header names %(expected)d fields.") % {
        "found": len(record),
        "expected": len(header),
    }


def _header_refusal(header: list[str]) -> str:
    if any(looks_like_card_number(name) for name in header):
        return card_number_refusal()
    if len(set(header)) != len(header):
        return _("The header names a field twice.")
    if unknown := [name for name in header if name not in FIELDS]:
        return _("Unknown fields in the header: %(fields)s.") % {
            "fields": ", ".join(name[:40] for name in unknown[:5])
        }
    if missing := [name for name in REQUIRED if name not in header]:
        return _("Fields missing from the header: %(fields)s.") % {"fields": ", ".join(missing)}
    return ""


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def json_value(text: str) -> Any:
    """JSON with exact decimals (``127.96`` is a ``Decimal``, never a float); NaN and Infinity refused."""
    return json.loads(text, parse_float=Decimal, parse_constant=_no_constant)


def jsonl_rows(lines: Iterable[str], *, label: str = "") -> Iterator[Row]:
    """One order per non-blank line, each a JSON object."""
    number = 0
    try:
        for number, text in enumerate(lines, start=1):
            text = text.lstrip("\ufeff") if number == 1 else text
            if not text.strip():
                continue
            yield _json_row(_where(label, number), text)
    except UnicodeDecodeError:
        yield Row(_where(label, number + 1), error=_("This line is not UTF-8."))


def _json_row(line: str, text: str) -> Row:
    if len(text) > MAX_LINE_CHARS:
        return Row(line, error=_("This line is too long."))
    try:
        value = json_value(text)
    except ValueError:
        refusal = card_number_refusal() if looks_like_card_number(text) else _("This line is not valid JSON.")
        return Row(line, error=refusal)
    return json_item_row(line, value)


def json_item_row(line: str, value: Any) -> Row:
    if not isinstance(value, dict):
        return Row(line, error=_("An order is a JSON object."))
    return Row(line, fields=value)


def file_rows(path: Path, *, format: str) -> Iterator[Row]:
    """The rows of a file, read as it goes (UTF-8, an optional BOM is skipped)."""
    with path.open(encoding="utf-8-sig", newline="") as lines:
        rows = csv_rows(lines, label=path.name) if format == "csv" else jsonl_rows(lines, label=path.name)
        try:
            yield from rows
        except UnicodeDecodeError:
            yield Row(f"{path.name}", error=_("The file is not UTF-8 from here on: the rest was not read."))


def format_guess(path: Path) -> str:
    return "jsonl" if path.suffix.lower() in (".jsonl", ".ndjson", ".json") else "csv"


# --- Writing --------------------------------------------------------------------------------------


def orders_import(
    *,
    rows: Iterable[Row],
    source: str,
    on_item: Callable[[Item], None],
    client: OrderClient | None = None,
    request: HttpRequest | None = None,
) -> Totals:
    """Imports the orders of ``rows``, one transaction per line; ``on_item`` gets each line's outcome
    as it comes (only the counters are kept)."""
    merchants = MerchantScope(client)
    totals = Totals()
    for row in rows:
        item = row_import(row=row, merchants=merchants, source=source, request=request)
        totals.add(item)
        on_item(item)
    return totals


def row_import(*, row: Row, merchants: MerchantScope, source: str, request: HttpRequest | None) -> Item:
    if row.fields is None:
        return Item(row.line, Outcome.REFUSED, row.error)
    try:
        line = line_clean(row.fields, merchants=merchants)
    except LineRefused as refusal:
        return Item(row.line, Outcome.REFUSED, refusal.reason, order_number=refusal.order_number)
    if (known := _known(line, row.line)) is not None:
        return known
    try:
        with transaction.atomic():
            order = _order_create(line, source=source)
            order_received_notify(order=order, language=line.language, request=request)
    except IntegrityError:  # the same order number written by another process just now
        return _known(line, row.line) or Item(
            row.line, Outcome.REFUSED, _("The order could not be written."), order_number=line.number
        )
    except IdentityError as error:
        return Item(row.line, Outcome.REFUSED, str(error.message), order_number=line.number)
    return Item(row.line, Outcome.IMPORTED, order_number=line.number, order=order.pk)


def _known(line: OrderLine, where: str) -> Item | None:
    """The outcome of a line whose order is already there: already imported, or a conflict."""
    existing = (
        Order.objects.filter(merchant=line.merchant, number=line.number)
        .values_list("pk", "content_hash")
        .first()
    )
    if existing is None:
        return None
    pk, content_hash = existing
    if content_hash == line.content_hash:
        return Item(where, Outcome.ALREADY, order_number=line.number, order=pk)
    return Item(
        where,
        Outcome.REFUSED,
        _(
            "This order number was already received for this merchant with other content: "
            "refused as a conflict."
        ),
        order_number=line.number,
    )


def _order_create(line: OrderLine, *, source: str) -> Order:
    return schedules.order_create(
        merchant=line.merchant,
        number=line.number,
        email=line.email,
        purchased_on=line.purchased_on,
        purchase_amount=line.purchase_amount,
        fees=line.fees,
        instalment_count=line.instalments,
        source=source,
        card=line.card,
        currency=line.currency,
        phone=line.phone,
        first_name=line.first_name,
        last_name=line.last_name,
        language=line.language,
        first_instalment_paid=line.first_instalment_paid,
        content_hash=line.content_hash,
    )


# --- The customer's e-mail ------------------------------------------------------------------------


def absolute_url(name: str, *, language: str, request: HttpRequest | None, args: tuple = ()) -> str:
    """A link in ``language``: from the request when there is one, else ``GUICHET_PUBLIC_URL`` (empty
    when neither can tell the address)."""
    try:
        with translation.override(language):
            path = reverse(name, args=args)
    except NoReverseMatch:
        return ""
    if request is not None:
        return request.build_absolute_uri(path)
    base = settings.GUICHET_PUBLIC_URL.rstrip("/")
    return base + path if base else ""


def instalment_rows(schedule: Any) -> list[dict[str, Any]]:
    """The instalment table as plain values for an e-mail (the status label is translated when the
    e-mail is rendered, in the recipient's language)."""
    return [
        {
            "number": instalment.number,
            "due_date": instalment.due_date,
            "amount": instalment.amount,
            "status": instalment.status,
            "status_label": InstalmentStatus(instalment.status).label,
        }
        for instalment in schedule.instalments.order_by("number")
    ]


def order_received_notify(*, order: Order, language: str, request: HttpRequest | None = None) -> None:
    """Tells the customer their schedule is in their customer space (inside the caller's transaction).

    A customer without a password yet is sent to "First login"; one with an access to the login page.
    """
    customer = order.customer
    language = language or customer.preferred_language or settings.LANGUAGE_CODE
    has_access = customer.has_usable_password()
    context = {
        "first_name": customer.first_name,
        "merchant": order.merchant.name,
        "order_number": order.number,
        "purchase_amount": order.purchase_amount,
        "fees": order.fees,
        "currency": order.currency,
        "purchased_on": order.purchased_on,
        "instalments": instalment_rows(order.schedule),
        "has_access": has_access,
        "email": order.email,
        "url": absolute_url(
            "account_login" if has_access else "identity:consumer_first_login",
            language=language,
            request=request,
        ),
    }
    notify(
        template="paylater_order_received",
        context=context,
        user=customer,
        email=order.email,
        language=language,
        idempotency_key=f"paylater_order_received:{order.pk}",
    )


# --- Report ---------------------------------------------------------------------------------------


def report_header() -> list[str]:
    return ["line", "outcome", "reason", "order_number"]


def report_row(item: Item) -> list[str]:
    """A report line; the reasons and numbers come from the lender's files, so no cell starts a formula."""
    from guichet.documents.downloads import csv_safe

    return [csv_safe(item.line), str(item.outcome), csv_safe(item.reason), csv_safe(item.order_number)]
