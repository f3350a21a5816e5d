"""The intake of the billing systems' documents: UBL 2.1 (Peppol BIS Billing 3.0) files and CSV
manifests with their PDFs, from ``manage.py import_documents`` and from the intake endpoint.

The pipeline, built for 100,000 files at ≥ 1,000 a second with flat memory:

1. **Units** are produced lazily (``path_units``: folders are walked as a
   generator; a CSV manifest yields one unit per line, read as it goes).
2. **Preparation** (``_prepare``: read the file, ``ubl.parse`` — schema and
   totals —, the seller's issuer, the buyer's candidate customer numbers, the
   PDF embedded or beside, the SHA-256) needs no database: with ``jobs > 1`` it
   runs in a ``multiprocessing`` pool (``imap``, in order), throttled so that
   no more than a few chunks are ever in flight.
3. **Writing** (``_Writer``), in the main process, by chunks of
   ``GUICHET_INTAKE_CHUNK_SIZE`` (200): one query for the customer numbers,
   one for the documents already there, ``services._clean`` on each row (the
   very checks of ``document_add``), the files written through the default
   storage, one ``bulk_create``, ONE audit event and ONE announcement task
   (``tasks.announce_documents``), all in one transaction; the files are
   deleted again if it fails. A chunk the database refuses is retried one
   document at a time, so one bad row (or another process adding the same
   number at that moment) refuses only itself.
4. **Reports** stream out through ``on_item`` (one ``Item`` per file or
   manifest line); only counters are kept.

Idempotency and conflicts are ``document_add``'s: the same issuer, type and
number with the same content is "already imported" (nothing written), with
other content it is refused. Running the same batch again after a crash is
therefore safe. The announcement is deferred: ``announced_at`` tells which
documents the task has told their recipients of.
"""

import csv
import dataclasses
import enum
import functools
import hashlib
import logging
import multiprocessing
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import DatabaseError, IntegrityError, transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from guichet.audit.services import record
from guichet.documents import services, ubl
from guichet.documents.downloads import csv_safe
from guichet.documents.models import (
    CustomerNumber,
    CustomerNumberSource,
    Document,
    IntakeClient,
    Issuer,
    IssuerIdentifier,
)
from guichet.documents.services import DocumentError, DocumentErrorCode

log = logging.getLogger(__name__)

UBL_SUFFIXES = frozenset({".xml"})
MANIFEST_SUFFIXES = frozenset({".csv"})
PDF_SUFFIXES = frozenset({".pdf"})
MANIFEST_COLUMNS = (
    "issuer",
    "customer_number",
    "type",
    "number",
    "issue_date",
    "due_date",
    "currency",
    "amount_excl_vat",
    "vat",
    "amount_incl_vat",
    "amount_payable",
    "pdf",
)
MANIFEST_OPTIONAL_COLUMNS = ("payment_reference",)
# Text fields of Document filled from the UBL: names are shortened to fit, the others refused.
_NAME_FIELDS = {"seller_name": 200, "buyer_name": 200}
_CODE_FIELDS = {"seller_vat": 32, "buyer_vat": 32, "payee_iban": 64, "payment_reference": 64}
IMAP_CHUNK = 8  # units sent to a worker at a time


class Outcome(enum.StrEnum):
    IMPORTED = "imported"
    ALREADY = "already imported"
    REFUSED = "refused"


@dataclasses.dataclass(frozen=True)
class Item:
    """One line of the report: a file, or a line of a manifest (``file.csv:7``)."""

    file: str
    outcome: Outcome
    reason: str = ""
    document: int | None = None


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


# --- Units of work (plain, picklable) ------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class UblFile:
    """A UBL file on disk; its PDF, when not embedded, is the ``.pdf`` of the same stem beside it."""

    label: str
    path: str


@dataclasses.dataclass(frozen=True)
class UblContent:
    """A UBL document received in memory (the endpoint), with the PDF sent beside it, if any."""

    label: str
    content: bytes
    pdf: bytes | None = None


@dataclasses.dataclass(frozen=True)
class ManifestLine:
    """One line of a CSV manifest. Its PDF is read from ``folder`` (the manifest's folder) or,
    for the endpoint, given in ``pdf`` (``pdf_found`` False: no uploaded file has that name)."""

    label: str
    row: dict[str, str]
    folder: str | None = None
    pdf: bytes | None = None
    pdf_found: bool = True


Unit = UblFile | UblContent | ManifestLine | Item  # an Item: refused before any work (a bad manifest…)


# --- The issuers' rules, a snapshot sent to the workers -------------------------------------------


@dataclasses.dataclass(frozen=True)
class IssuerRule:
    pk: int
    prefix: str
    source: str
    pattern: str


@dataclasses.dataclass(frozen=True)
class Rules:
    identifiers: dict[tuple[str, str], frozenset[int]]
    issuers: dict[int, IssuerRule]
    prefixes: dict[str, int]


def _identifier_key(scheme: str, value: str) -> tuple[str, str]:
    """Identifiers compare without case, spaces, dots or dashes (BE 0403.170.701 = be0403170701)."""
    return scheme.strip().upper(), re.sub(r"[\s.\-]", "", value).upper()


def rules_load() -> Rules:
    """Every issuer's seller identifiers and customer-number rule (a few rows: read once a batch)."""
    identifiers: dict[tuple[str, str], set[int]] = {}
    for scheme, value, issuer_id in IssuerIdentifier.objects.values_list("scheme", "value", "issuer_id"):
        identifiers.setdefault(_identifier_key(scheme, value), set()).add(issuer_id)
    issuers = {
        issuer.pk: IssuerRule(
            pk=issuer.pk,
            prefix=issuer.prefix,
            source=issuer.customer_number_source,
            pattern=issuer.customer_number_pattern,
        )
        for issuer in Issuer.objects.all()
    }
    return Rules(
        identifiers={key: frozenset(ids) for key, ids in identifiers.items()},
        issuers=issuers,
        prefixes={rule.prefix.upper(): pk for pk, rule in issuers.items()},
    )


# --- Preparation (no database: runs in the workers) -----------------------------------------------


@dataclasses.dataclass(frozen=True)
class Row:
    """A document ready to be written once its customer number is found."""

    label: str
    issuer_id: int
    candidates: tuple[str, ...]  # customer numbers to try, in order
    source: str  # where they come from, for the report
    kind: str
    number: str
    issue_date: Any
    due_date: Any
    currency: str
    amounts: dict[str, Any]
    extra: dict[str, Any]  # seller_name, …, vat_breakdown (UBL) or payment_reference (CSV)
    pdf: bytes | None
    pdf_sha256: str
    original: bytes | None
    original_name: str
    original_sha256: str

    @property
    def content_sha256(self) -> str:
        return self.original_sha256 or self.pdf_sha256


class _Refusal(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


_RULES: Rules | None = None  # the workers' copy (set by _worker_init)


def _worker_init(rules: Rules) -> None:
    global _RULES
    _RULES = rules


def _worker_prepare(unit: Unit) -> Row | Item:
    assert _RULES is not None  # noqa: S101 (set by the pool's initializer)
    return _prepare(unit, _RULES)


def _prepare(unit: Unit, rules: Rules) -> Row | Item:
    if isinstance(unit, Item):
        return unit
    try:
        if isinstance(unit, UblFile):
            path = Path(unit.path)
            return _prepare_ubl(unit.label, _read(path), rules, pdf_beside=lambda: _pdf_beside(path))
        if isinstance(unit, UblContent):
            return _prepare_ubl(unit.label, unit.content, rules, pdf_beside=lambda: unit.pdf)
        return _prepare_line(unit, rules)
    except _Refusal as refusal:
        return Item(unit.label, Outcome.REFUSED, refusal.reason)
    except ubl.UblError as error:
        return Item(unit.label, Outcome.REFUSED, error.message)
    except DocumentError as error:
        return Item(unit.label, Outcome.REFUSED, _document_error(error))
    except Exception as error:  # a bad file never stops the batch
        log.exception("intake: %s could not be prepared", unit.label)
        return Item(
            unit.label, Outcome.REFUSED, _("Unexpected error: %(error)s") % {"error": type(error).__name__}
        )


def _document_error(error: DocumentError) -> str:
    return f"{error.field}: {error.message}" if error.field else error.message


def _read(path: Path) -> bytes:
    """A file's bytes, refused when above the size limit before anything is read."""
    limit = ubl.max_file_bytes()
    try:
        size = path.stat().st_size
        if size > limit:
            raise ubl.UblError(ubl.UblErrorCode.TOO_LARGE, f"{size} bytes, at most {limit}")
        return path.read_bytes()
    except OSError as error:
        raise _Refusal(_("The file cannot be read: %(error)s") % {"error": error.strerror or error}) from None


def _pdf_beside(path: Path) -> bytes | None:
    for suffix in (".pdf", ".PDF"):
        candidate = path.with_suffix(suffix)
        if candidate.is_file():
            return _read(candidate)
    return None


def _sha256(content: bytes | None) -> str:
    return hashlib.sha256(content).hexdigest() if content else ""


def _seller_issuer(parsed: ubl.Parsed, rules: Rules) -> int:
    seller = parsed.seller
    keys = [seller.endpoint] if seller.endpoint else []
    keys += list(seller.party_ids)
    if seller.vat:
        keys.append(("VAT", seller.vat))
    if seller.legal_id:
        keys.append(("LEGAL", seller.legal_id[1]))
    found = set().union(*(rules.identifiers.get(_identifier_key(*key), ()) for key in keys))
    if not found:
        shown = ", ".join(f"{scheme}:{value}" if scheme else value for scheme, value in keys)
        raise _Refusal(_("Unknown seller (%(identifiers)s).") % {"identifiers": shown or "-"})
    if len(found) > 1:
        prefixes = ", ".join(sorted(rules.issuers[pk].prefix for pk in found))
        raise _Refusal(_("The seller matches several issuers (%(prefixes)s).") % {"prefixes": prefixes})
    return found.pop()


@functools.lru_cache(maxsize=64)
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _buyer_values(parsed: ubl.Parsed, source: str) -> list[str]:
    buyer = parsed.buyer
    if source == CustomerNumberSource.BUYER_PARTY_ID:
        return [value for _scheme, value in buyer.party_ids]
    if source == CustomerNumberSource.BUYER_ENDPOINT:
        return [buyer.endpoint[1]] if buyer.endpoint else []
    if source == CustomerNumberSource.BUYER_LEGAL_ID:
        return [buyer.legal_id[1]] if buyer.legal_id else []
    if source == CustomerNumberSource.BUYER_VAT:
        return [buyer.vat]
    return [parsed.buyer_reference]


def _candidates(parsed: ubl.Parsed, rule: IssuerRule) -> tuple[str, ...]:
    """The customer numbers the issuer's rule finds among the buyer's identifiers, in order."""
    try:
        pattern = _pattern(rule.pattern) if rule.pattern else None
    except re.error:
        raise _Refusal(
            _("The customer number rule of %(prefix)s is not a valid regular expression.")
            % {"prefix": rule.prefix}
        ) from None
    found: list[str] = []
    for value in _buyer_values(parsed, rule.source):
        value = value.strip()
        if value and pattern is not None:
            match = pattern.search(value)
            value = "" if match is None else (match.group(1) if pattern.groups else match.group(0)) or ""
            value = value.strip()
        if value and value not in found:
            found.append(value)
    return tuple(found)


def _text_fields(values: dict[str, str]) -> dict[str, str]:
    fields = {name: values[name][:size] for name, size in _NAME_FIELDS.items() if name in values}
    for name, size in _CODE_FIELDS.items():
        if name in values:
            if len(values[name]) > size:
                raise _Refusal(
                    _("%(field)s is longer than %(size)d characters.") % {"field": name, "size": size}
                )
            fields[name] = values[name]
    return fields


def _prepare_ubl(label: str, content: bytes, rules: Rules, *, pdf_beside: Callable[[], bytes | None]) -> Row:
    parsed = ubl.parse(content, name=label)
    issuer_id = _seller_issuer(parsed, rules)
    rule = rules.issuers[issuer_id]
    pdf = parsed.pdf if parsed.pdf is not None else pdf_beside()
    extra: dict[str, Any] = _text_fields(
        {
            "seller_name": parsed.seller.name,
            "seller_vat": parsed.seller.vat,
            "buyer_name": parsed.buyer.name,
            "buyer_vat": parsed.buyer.vat,
            "payee_iban": parsed.payee_iban,
            "payment_reference": parsed.payment_reference,
        }
    )
    extra["vat_breakdown"] = [
        {
            "category": line.category,
            "rate": "" if line.rate is None else str(line.rate),
            "taxable": str(line.taxable),
            "vat": str(line.vat),
        }
        for line in parsed.vat_breakdown
    ]
    return Row(
        label=label,
        issuer_id=issuer_id,
        candidates=_candidates(parsed, rule),
        source=str(CustomerNumberSource(rule.source).label),
        kind=parsed.kind,
        number=parsed.number,
        issue_date=parsed.issue_date,
        due_date=parsed.due_date,
        currency=parsed.currency,
        amounts={
            "amount_excl_vat": parsed.amount_excl_vat,
            "vat": parsed.vat,
            "amount_incl_vat": parsed.amount_incl_vat,
            "amount_payable": parsed.amount_payable,
        },
        extra=extra,
        pdf=pdf,
        pdf_sha256=_sha256(pdf),
        original=content,
        original_name=label,
        original_sha256=_sha256(content),
    )


def _iso_date(value: str, field: str, *, required: bool = True) -> Any:
    import datetime

    value = value.strip()
    if not value and not required:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise DocumentError(DocumentErrorCode.INVALID_DATE, field=field) from None


def _manifest_pdf(unit: ManifestLine) -> bytes:
    name = unit.row.get("pdf", "").strip()
    if not name:
        raise _Refusal(_("pdf: the PDF file name is required."))
    if unit.folder is None:
        if not unit.pdf_found:
            raise _Refusal(_("pdf: %(name)s is not among the files sent.") % {"name": name})
        return unit.pdf or b""
    folder = Path(unit.folder).resolve()
    path = (folder / name).resolve()
    if Path(name).is_absolute() or not path.is_relative_to(folder):
        raise _Refusal(_("pdf: %(name)s must be in the manifest's folder.") % {"name": name})
    if not path.is_file():
        raise _Refusal(_("pdf: %(name)s does not exist.") % {"name": name})
    return _read(path)


def _prepare_line(unit: ManifestLine, rules: Rules) -> Row:
    row = unit.row
    prefix = row["issuer"].strip()
    issuer_id = rules.prefixes.get(prefix.upper())
    if issuer_id is None:
        raise _Refusal(_("issuer: unknown issuer %(prefix)s.") % {"prefix": prefix or "-"})
    customer_number = row["customer_number"].strip()
    pdf = _manifest_pdf(unit)
    reference = ubl.payment_reference(row.get("payment_reference") or "")
    return Row(
        label=unit.label,
        issuer_id=issuer_id,
        candidates=(customer_number,) if customer_number else (),
        source="customer_number",
        kind=row["type"].strip().lower(),
        number=row["number"],
        issue_date=_iso_date(row["issue_date"], "issue_date"),
        due_date=_iso_date(row["due_date"], "due_date", required=False),
        currency=row["currency"],
        amounts={
            name: row[name].strip()
            for name in ("amount_excl_vat", "vat", "amount_incl_vat", "amount_payable")
        },
        extra=_text_fields({"payment_reference": reference}),
        pdf=pdf,
        pdf_sha256=_sha256(pdf),
        original=None,
        original_name="",
        original_sha256="",
    )


# --- Units from paths and from manifests ----------------------------------------------------------


def manifest_units(
    label: str, text: Iterable[str], make: Callable[[str, dict[str, str]], Unit]
) -> Iterator[Unit]:
    """One unit per line of a CSV manifest (header row; ``;`` or ``,``); a bad header refuses the
    whole manifest (one item), a bad line only itself. Never raises."""
    lines = iter(text)
    try:
        header_line = next(lines, "")
        delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
        header = [name.strip().lower() for name in next(csv.reader([header_line], delimiter=delimiter), [])]
        missing = [name for name in MANIFEST_COLUMNS if name not in header]
        unknown = [name for name in header if name not in MANIFEST_COLUMNS + MANIFEST_OPTIONAL_COLUMNS]
        if missing or unknown or len(set(header)) != len(header):
            reason = _("Not a document manifest: the header must name the columns %(columns)s.") % {
                "columns": ", ".join(MANIFEST_COLUMNS)
            }
            if missing:
                reason += " " + _("Missing: %(names)s.") % {"names": ", ".join(missing)}
            if unknown:
                reason += " " + _("Unknown: %(names)s.") % {"names": ", ".join(unknown)}
            yield Item(label, Outcome.REFUSED, reason)
            return
        reader = csv.reader(lines, delimiter=delimiter)
        line_number = 1
        for values in reader:
            line_number = 1 + reader.line_num
            if not any(value.strip() for value in values):
                continue
            where = f"{label}:{line_number}"
            if len(values) != len(header):
                yield Item(
                    where,
                    Outcome.REFUSED,
                    _("Expected %(expected)d columns, found %(found)d.")
                    % {"expected": len(header), "found": len(values)},
                )
                continue
            yield make(where, dict(zip(header, values, strict=True)))
    except (UnicodeDecodeError, csv.Error) as error:
        yield Item(label, Outcome.REFUSED, _("The manifest cannot be read: %(error)s") % {"error": error})
    except OSError as error:
        yield Item(
            label, Outcome.REFUSED, _("The file cannot be read: %(error)s") % {"error": error.strerror}
        )


def _manifest_file_units(path: Path) -> Iterator[Unit]:
    label, folder = str(path), str(path.parent)
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as error:
        yield Item(
            label, Outcome.REFUSED, _("The file cannot be read: %(error)s") % {"error": error.strerror}
        )
        return
    with handle:
        yield from manifest_units(label, handle, lambda where, row: ManifestLine(where, row, folder=folder))


def _walk(folder: Path) -> Iterator[Path]:
    """The files under ``folder``, depth first, in name order (one directory listed at a time)."""
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as error:
        log.warning("intake: cannot list %s: %s", folder, error)
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(Path(entry.path))
        elif entry.is_file():
            yield Path(entry.path)


def _path_units(path: Path, *, explicit: bool) -> Iterator[Unit]:
    suffix = path.suffix.lower()
    if suffix in UBL_SUFFIXES:
        yield UblFile(str(path), str(path))
    elif suffix in MANIFEST_SUFFIXES:
        yield from _manifest_file_units(path)
    elif suffix not in PDF_SUFFIXES and explicit:
        # A PDF goes with its UBL file or manifest; other files in a folder are not ours.
        yield Item(str(path), Outcome.REFUSED, _("Not a UBL file (.xml) or a CSV manifest (.csv)."))


def path_units(paths: Iterable[Path]) -> Iterator[Unit]:
    """The units of files and folders (walked recursively), lazily."""
    for path in paths:
        if path.is_dir():
            for file in _walk(path):
                yield from _path_units(file, explicit=False)
        else:
            yield from _path_units(path, explicit=True)


def units_count(paths: Iterable[Path]) -> int:
    """About how many units ``path_units`` will give (for a progress bar): UBL files and manifest lines."""
    count = 0
    for path in paths:
        files = _walk(path) if path.is_dir() else iter([path])
        for file in files:
            suffix = file.suffix.lower()
            if suffix in UBL_SUFFIXES:
                count += 1
            elif suffix in MANIFEST_SUFFIXES:
                try:
                    with file.open("rb") as handle:
                        count += max(sum(1 for line in handle if line.strip()) - 1, 1)
                except OSError:
                    count += 1
    return count


# --- Writing (main process) ----------------------------------------------------------------------


def _refused(row: Row, reason: str) -> Item:
    return Item(row.label, Outcome.REFUSED, reason)


@dataclasses.dataclass
class _Pending:
    index: int
    document: Document
    row: Row
    fields: dict[str, Any]
    duplicates: list[int] = dataclasses.field(default_factory=list)


class _Writer:
    """Buffers prepared results and writes them by chunks; answers the items in input order."""

    def __init__(
        self,
        *,
        on_item: Callable[[Item], None],
        chunk_size: int,
        allowed: frozenset[int] | None,
        client: IntakeClient | None,
        request: HttpRequest | None,
        rules: Rules,
    ) -> None:
        self.on_item = on_item
        self.chunk_size = chunk_size
        self.allowed = allowed
        self.client = client
        self.request = request
        self.rules = rules
        self.buffer: list[Row | Item] = []
        self.totals = Totals()

    def add(self, result: Row | Item) -> None:
        if isinstance(result, Row) and self.allowed is not None and result.issuer_id not in self.allowed:
            result = _refused(result, _("Not allowed for this client."))
        self.buffer.append(result)
        if len(self.buffer) >= self.chunk_size:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        results, self.buffer = self.buffer, []
        for item in self._write(results):
            self.totals.add(item)
            self.on_item(item)

    def _write(self, results: list[Row | Item]) -> list[Item]:
        try:
            return self._write_chunk(results)
        except DatabaseError as error:
            rows = sum(isinstance(result, Row) for result in results)
            if rows > 1:
                # One document at a time: a bad row (or a number added meanwhile) refuses only itself.
                return [item for result in results for item in self._write([result])]
            if isinstance(error, IntegrityError):
                try:  # added by another process at the same moment: now it is there to compare with
                    return self._write_chunk(results)
                except DatabaseError as again:
                    error = again
            log.exception("intake: %s could not be stored", [getattr(r, "label", "") for r in results])
            reason = _(
                "The document could not be stored (database error: %(error)s); nothing of it was written."
            )
            return [
                _refused(result, reason % {"error": type(error).__name__})
                if isinstance(result, Row)
                else result
                for result in results
            ]

    def _write_chunk(self, results: list[Row | Item]) -> list[Item]:
        items: list[Item | None] = [result if isinstance(result, Item) else None for result in results]
        rows = [(index, result) for index, result in enumerate(results) if isinstance(result, Row)]
        if not rows:
            return items  # type: ignore[return-value]
        numbers = _customer_numbers([row for _index, row in rows])
        existing = _existing_documents([row for _index, row in rows])
        pending: dict[tuple[int, str, str], _Pending] = {}
        for index, row in rows:
            outcome = self._plan(index, row, numbers, existing, pending)
            if outcome is not None:
                items[index] = outcome
        if pending:
            self._store(list(pending.values()))
            for entry in pending.values():
                items[entry.index] = Item(entry.row.label, Outcome.IMPORTED, "", entry.document.pk)
                for duplicate in entry.duplicates:
                    items[duplicate] = Item(results[duplicate].label, Outcome.ALREADY, "", entry.document.pk)
        return items  # type: ignore[return-value]

    def _plan(
        self,
        index: int,
        row: Row,
        numbers: dict[tuple[int, str], CustomerNumber],
        existing: dict[tuple[int, str, str], Document],
        pending: dict[tuple[int, str, str], _Pending],
    ) -> Item | None:
        """The outcome of one row, or None when it is to be written (added to ``pending``)."""
        prefix = self.rules.issuers[row.issuer_id].prefix
        if not row.candidates:
            return _refused(
                row,
                _("No customer number found (%(source)s) for %(prefix)s.")
                % {"source": row.source, "prefix": prefix},
            )
        customer_number = next(
            (numbers[(row.issuer_id, c)] for c in row.candidates if (row.issuer_id, c) in numbers), None
        )
        if customer_number is None:
            return _refused(
                row,
                _("Unknown customer number %(number)s for %(prefix)s.")
                % {"number": row.candidates[0], "prefix": prefix},
            )
        try:
            fields = services._clean(
                customer_number=customer_number,
                kind=row.kind,
                number=row.number,
                issue_date=row.issue_date,
                due_date=row.due_date,
                currency=row.currency,
                amounts=row.amounts,
                pdf=row.pdf,
            )
        except DocumentError as error:
            return _refused(row, _document_error(error))
        key = (row.issuer_id, fields["kind"], fields["number"])
        conflict = _refused(row, _("Number already used with other content."))
        if (document := existing.get(key)) is not None:
            if services._same_content(document, fields, customer_number, row.pdf_sha256, row.original_sha256):
                return Item(row.label, Outcome.ALREADY, "", document.pk)
            return conflict
        if (first := pending.get(key)) is not None:
            same = (
                first.document.customer_number_id == customer_number.pk
                and first.fields == fields
                and first.row.pdf_sha256 == row.pdf_sha256
                and first.row.original_sha256 == row.original_sha256
            )
            if not same:
                return conflict
            first.duplicates.append(index)
            return None
        document = Document(
            customer_number=customer_number,
            issuer_id=row.issuer_id,
            original_sha256=row.original_sha256,
            **fields,
            **row.extra,
        )
        pending[key] = _Pending(index=index, document=document, row=row, fields=fields)
        return None

    def _store(self, entries: list[_Pending]) -> None:
        """Files, rows, the audit event and the announcement task of a chunk: all or nothing."""
        written: list[Any] = []
        try:
            with transaction.atomic():
                for entry in entries:
                    _files_write(entry, written)
                documents = Document.objects.bulk_create([entry.document for entry in entries])
                record(
                    action="documents.imported",
                    target=self.client,
                    request=self.request,
                    details=self._audit_details(entries),
                )
                from guichet.documents.tasks import announce_documents

                announce_documents.enqueue([document.pk for document in documents])
        except BaseException:
            for file in written:
                file.storage.delete(file.name)
            for entry in entries:
                entry.document.pk = None
            raise

    def _audit_details(self, entries: list[_Pending]) -> dict[str, Any]:
        prefixes = sorted({self.rules.issuers[entry.row.issuer_id].prefix for entry in entries})
        return {
            "count": len(entries),
            "issuers": prefixes,
            "client": self.client.name if self.client else "",
            "documents": [
                [
                    self.rules.issuers[entry.row.issuer_id].prefix,
                    entry.document.kind,
                    entry.document.number,
                    entry.row.content_sha256,
                ]
                for entry in entries
            ],
        }


def _files_write(entry: _Pending, written: list[Any]) -> None:
    document, row = entry.document, entry.row
    if row.pdf is not None:
        document.pdf.save(services._file_name(document.number, ".pdf"), ContentFile(row.pdf), save=False)
        written.append(document.pdf)
    if row.original is not None:
        document.original_name = services._original_name(row.original_name) or services._file_name(
            document.number, ".xml"
        )
        document.original.save(document.original_name, ContentFile(row.original), save=False)
        written.append(document.original)


def _customer_numbers(rows: list[Row]) -> dict[tuple[int, str], CustomerNumber]:
    issuers = {row.issuer_id for row in rows}
    numbers = {number for row in rows for number in row.candidates}
    found = CustomerNumber.objects.filter(issuer_id__in=issuers, number__in=numbers).select_related("issuer")
    return {(number.issuer_id, number.number): number for number in found}


def _existing_documents(rows: list[Row]) -> dict[tuple[int, str, str], Document]:
    issuers = {row.issuer_id for row in rows}
    numbers = {str(row.number or "").strip() for row in rows}
    found = Document.objects.filter(issuer_id__in=issuers, number__in=numbers)
    return {(document.issuer_id, document.kind, document.number): document for document in found}


# --- The batch -----------------------------------------------------------------------------------


class _Throttle:
    """Lets at most ``limit`` units be in flight between the pool's feeder thread and the writer:
    ``imap`` would otherwise read every file ahead and queue every result."""

    def __init__(self, limit: int) -> None:
        self.semaphore = threading.BoundedSemaphore(limit)
        self.stopped = threading.Event()

    def wrap(self, units: Iterable[Unit]) -> Iterator[Unit]:
        for unit in units:
            while not self.semaphore.acquire(timeout=0.1):
                if self.stopped.is_set():
                    return
            if self.stopped.is_set():
                return
            yield unit

    def release(self) -> None:
        self.semaphore.release()

    def stop(self) -> None:
        self.stopped.set()


def documents_import(
    *,
    units: Iterable[Unit],
    on_item: Callable[[Item], None],
    jobs: int = 1,
    client: IntakeClient | None = None,
    request: HttpRequest | None = None,
    chunk_size: int | None = None,
) -> Totals:
    """Imports the documents of ``units`` and answers the totals; each unit gives exactly one
    ``Item`` to ``on_item``, in order, as soon as its chunk is written.

    ``jobs`` > 1 validates in that many worker processes (fork); 1 runs everything inline.
    ``client``: only documents of its issuers are accepted (the endpoint).
    """
    rules = rules_load()
    allowed = frozenset(client.issuers.values_list("pk", flat=True)) if client is not None else None
    size = chunk_size or getattr(settings, "GUICHET_INTAKE_CHUNK_SIZE", 200)
    writer = _Writer(
        on_item=on_item, chunk_size=size, allowed=allowed, client=client, request=request, rules=rules
    )
    if jobs <= 1:
        for unit in units:
            writer.add(_prepare(unit, rules))
    else:
        throttle = _Throttle(2 * size + 2 * IMAP_CHUNK * jobs)
        with multiprocessing.get_context("fork").Pool(
            jobs, initializer=_worker_init, initargs=(rules,)
        ) as pool:
            try:
                for result in pool.imap(_worker_prepare, throttle.wrap(units), chunksize=IMAP_CHUNK):
                    throttle.release()
                    writer.add(result)
            finally:
                throttle.stop()
    writer.flush()
    return writer.totals


def paths_import(
    *, paths: Iterable[Path], on_item: Callable[[Item], None], jobs: int = 1, chunk_size: int | None = None
) -> Totals:
    """``documents_import`` of files and folders (``manage.py import_documents``)."""
    return documents_import(units=path_units(paths), on_item=on_item, jobs=jobs, chunk_size=chunk_size)


def report_header() -> list[str]:
    return ["file", "outcome", "reason", "document"]


def report_row(item: Item) -> list[str]:
    """A report line; file names and reasons come from the issuers' files, so no cell starts a formula."""
    document = "" if item.document is None else str(item.document)
    return [csv_safe(item.file), str(item.outcome), csv_safe(item.reason), document]
