"""The paper fallback: every day, the new documents of customer numbers not opted in to electronic
delivery go to the print shop in one batch (a ZIP of their PDFs and a CSV manifest).

Which documents: those of a customer number whose ``electronic_delivery`` is off, not printed yet
(no ``PrintItem``), received (``created_at``) before the end of the batch's day, issued within the
retention period, and received after the number last went back to paper (its latest
``DeliveryChannelChange`` to paper). A number that never opted in has no such change: all its
documents not printed yet go. Documents received while the number was electronic were delivered
electronically and are never printed afterwards.

Each document is printed once: the candidates are locked (``SELECT … FOR UPDATE SKIP LOCKED``) in the
transaction that writes the batch and its items, and ``PrintItem.document`` is unique, so a
concurrent run skips them or, in the narrow race where it read them before the first run committed,
fails on the constraint and starts again without them. The ZIP is written to a temporary file and
streamed into the default storage (memory stays flat whatever the number of PDFs); if anything
fails, nothing is recorded and the stored file is removed.
"""

import csv
import datetime
import enum
import hashlib
import io
import logging
import re
import tempfile
import zipfile
from collections.abc import Iterator
from typing import IO, Any

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guichet.audit.services import record
from guichet.documents.downloads import csv_safe
from guichet.documents.models import (
    DeliveryChannelChange,
    Document,
    PrintBatch,
    PrintItem,
)
from guichet.documents.pdf import document_pdf
from guichet.documents.retention import retention_limit

log = logging.getLogger(__name__)

CHUNK = 200
ATTEMPTS = 3
MANIFEST = "manifest.csv"
MANIFEST_HEADER = (
    "file",
    "customer_code",
    "customer_name",
    "contact_name",
    "contact_language",
    "document_type",
    "document_number",
    "issue_date",
    "due_date",
    "currency",
    "amount_incl_vat",
    "amount_payable",
    "payment_reference",
)
CREATE_PERMISSION = "documents.add_printbatch"
DOWNLOAD_PERMISSION = "documents.view_printbatch"
UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
# A Belgian structured communication as the intake formats it (digits only): no formula, kept as is.
STRUCTURED_COMMUNICATION = re.compile(r"\+\+\+[0-9]{3}/[0-9]{4}/[0-9]{5}\+\+\+")


class PrintErrorCode(enum.StrEnum):
    NOT_ALLOWED = "not_allowed"
    NO_FILE = "no_file"


MESSAGES = {
    PrintErrorCode.NOT_ALLOWED: _("You are not allowed to do this with print batches."),
    PrintErrorCode.NO_FILE: _("This print batch has no file."),
}


class PrintError(Exception):
    """A refusal; nothing was written."""

    def __init__(self, code: PrintErrorCode) -> None:
        self.code = code
        super().__init__(str(code))

    @property
    def message(self) -> str:
        return str(MESSAGES[self.code])


# --- Selection ------------------------------------------------------------------------------------


def _day_end(day: datetime.date) -> datetime.datetime:
    """The first instant of the next day in the institution's time zone."""
    next_day = day + datetime.timedelta(days=1)
    return timezone.make_aware(datetime.datetime.combine(next_day, datetime.time.min))


def printable_documents(*, day: datetime.date) -> QuerySet[Document]:
    """The documents that go to paper in the batch of ``day`` (see the module's docstring)."""
    back_to_paper = (
        DeliveryChannelChange.objects.filter(customer_number=OuterRef("customer_number"), electronic=False)
        .order_by("-at")
        .values("at")[:1]
    )
    return (
        Document.objects.filter(
            customer_number__electronic_delivery=False,
            created_at__lt=_day_end(day),
            issue_date__gte=retention_limit(day),
        )
        .exclude(Exists(PrintItem.objects.filter(document=OuterRef("pk"))))
        .annotate(back_to_paper=Subquery(back_to_paper))
        .filter(Q(back_to_paper__isnull=True) | Q(created_at__gt=F("back_to_paper")))
    )


def _print_order(queryset: QuerySet[Document]) -> QuerySet[Document]:
    # One envelope per customer code: the print shop gets them grouped, oldest first.
    return queryset.order_by("customer_number__issuer__prefix", "customer_number__number", "issue_date", "pk")


def _chunks(ids: list[int]) -> Iterator[list[Document]]:
    for start in range(0, len(ids), CHUNK):
        part = ids[start : start + CHUNK]
        rows = Document.objects.filter(pk__in=part).select_related(
            "customer_number__issuer", "customer_number__customer"
        )
        by_pk = {document.pk: document for document in rows}
        yield [by_pk[pk] for pk in part]


# --- The ZIP --------------------------------------------------------------------------------------


def file_name(position: int, document: Document) -> str:
    """``00001_DL2-123456_invoice_F2026-000001.pdf``: print order, customer code, type, number."""
    number = document.customer_number
    code = UNSAFE.sub("_", f"{number.issuer.prefix}-{number.number}")
    return f"{position:05d}_{code}_{document.kind}_{UNSAFE.sub('_', document.number)[:80]}.pdf"


def _reference(value: str) -> str:
    return value if STRUCTURED_COMMUNICATION.fullmatch(value) else csv_safe(value)


def manifest_row(name: str, document: Document) -> list[str]:
    """One line of the manifest; the texts that come from the issuers' files (names, numbers,
    references) never run as a spreadsheet formula (as in the documents' CSV export)."""
    number = document.customer_number
    return [
        name,
        csv_safe(number.code),
        csv_safe(number.customer.name),
        csv_safe(number.contact_name),
        number.contact_language,
        document.kind,
        csv_safe(document.number),
        document.issue_date.isoformat(),
        document.due_date.isoformat() if document.due_date else "",
        document.currency,
        str(document.amount_incl_vat),
        str(document.amount_payable),
        _reference(document.payment_reference),
    ]


def _write_zip(target: IO[bytes], ids: list[int]) -> None:
    """Each PDF in print order, then ``manifest.csv`` (UTF-8 with a BOM, for spreadsheet software)."""
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", newline="") as manifest:
        writer = csv.writer(manifest)
        writer.writerow(MANIFEST_HEADER)
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
            position = 0
            for chunk in _chunks(ids):
                for document in chunk:
                    position += 1
                    name = file_name(position, document)
                    archive.writestr(name, document_pdf(document))
                    writer.writerow(manifest_row(name, document))
            manifest.seek(0)
            with archive.open(MANIFEST, "w") as entry:
                entry.write("\ufeff".encode())
                for text in iter(lambda: manifest.read(64 * 1024), ""):
                    entry.write(text.encode())


def _sha256(handle: IO[bytes]) -> str:
    digest = hashlib.sha256()
    handle.seek(0)
    for block in iter(lambda: handle.read(1024 * 1024), b""):
        digest.update(block)
    handle.seek(0)
    return digest.hexdigest()


# --- The service ----------------------------------------------------------------------------------


def print_batch_create(
    *, day: datetime.date | None = None, by: Any = None, request: HttpRequest | None = None
) -> PrintBatch | None:
    """The print batch of ``day`` (today by default) with every document that goes to paper and was
    not printed yet; None when there is none (no empty batch). ``by``, when given, must hold
    ``documents.add_printbatch`` (the scheduled command runs without a user)."""
    if by is not None and not (by.is_active and by.has_perm(CREATE_PERMISSION)):
        raise PrintError(PrintErrorCode.NOT_ALLOWED)
    day = day or timezone.localdate()
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return _create(day=day, by=by, request=request)
        except IntegrityError:
            # Another run printed some of these documents meanwhile: start again without them.
            if attempt == ATTEMPTS:
                raise
            log.info("print batch of %s: documents printed by a concurrent run, retrying", day)
    return None  # pragma: no cover


def _create(*, day: datetime.date, by: Any, request: HttpRequest | None) -> PrintBatch | None:
    stored = ""
    try:
        with transaction.atomic():
            locked = printable_documents(day=day).select_for_update(skip_locked=True, of=("self",))
            ids = list(_print_order(locked).values_list("pk", flat=True))
            if not ids:
                return None
            batch = PrintBatch(day=day, count=len(ids))
            with tempfile.TemporaryFile() as archive:
                _write_zip(archive, ids)
                batch.sha256 = _sha256(archive)
                name = batch.file.field.generate_filename(batch, f"print-{day.isoformat()}-{batch.pk}.zip")
                stored = default_storage.save(name, File(archive, name=name))
            batch.file.name = stored
            batch.save(force_insert=True)
            PrintItem.objects.bulk_create([PrintItem(batch=batch, document_id=pk) for pk in ids])
            record(
                action="documents.print_batch_created",
                actor=by,
                target=batch,
                request=request,
                details={"day": day.isoformat(), "count": len(ids), "sha256": batch.sha256},
            )
    except BaseException:
        if stored:
            _delete_quietly(stored)
        raise
    return batch


def _delete_quietly(name: str) -> None:
    try:
        default_storage.delete(name)
    except OSError:
        log.warning("print batch: could not delete the orphaned file %s", name)


def print_batch_download(*, batch: PrintBatch, by: Any, request: HttpRequest | None = None) -> IO[bytes]:
    """The batch's ZIP, opened for reading (the caller streams and closes it); audited, and the batch
    marked downloaded. ``by`` must hold ``documents.view_printbatch``."""
    if by is None or not (by.is_active and by.has_perm(DOWNLOAD_PERMISSION)):
        raise PrintError(PrintErrorCode.NOT_ALLOWED)
    if not batch.file:
        raise PrintError(PrintErrorCode.NO_FILE)
    handle = batch.file.open("rb")
    with transaction.atomic():
        batch.downloaded_at = timezone.now()
        PrintBatch.objects.filter(pk=batch.pk).update(downloaded_at=batch.downloaded_at)
        record(
            action="documents.print_batch_downloaded",
            actor=by,
            target=batch,
            request=request,
            details={"day": batch.day.isoformat(), "count": batch.count, "sha256": batch.sha256},
        )
    return handle


def manifest_rows(content: bytes) -> list[list[str]]:
    """The manifest of a batch's ZIP, header included (for tests and checks)."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        text = archive.read(MANIFEST).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))
