"""Services of the documents page: reading state, downloads (PDF, original, duplicate), duplicate
requests, the CSV export and the ZIP of a selection.

Every function takes the acting user and finds documents through ``documents.access`` only: another
customer's document is ``NotFound`` (views answer 404) and nothing is written. Each download is
audited in the trail (``audit.services.record``), in its own short transaction.

CSV format, as the transactions export of ``banking.consultation``: UTF-8 with a byte order mark,
comma-separated, CRLF line ends; dates in ISO 8601 and amounts as plain decimals with a dot. Text
cells starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return get an apostrophe in
front, so that a spreadsheet shows them as text instead of running them (CSV injection).
"""

import csv
import enum
import tempfile
import zipfile
from collections.abc import Iterator
from typing import IO, Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.http import HttpRequest
from django.utils import formats, timezone, translation
from django.utils.text import get_valid_filename
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from guichet.audit.services import record
from guichet.documents import access, pdf, selectors
from guichet.documents.models import CustomerNumber, Document, DocumentKind, DocumentRead, Duplicate

ZIP_LIMIT = 200
BOM = "\ufeff"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class NotFound(Exception):
    """The document (or duplicate) does not exist for this user: views answer 404."""


class ZipErrorCode(enum.StrEnum):
    EMPTY = "empty"
    TOO_MANY = "too_many"


ZIP_MESSAGES = {
    ZipErrorCode.EMPTY: _("Select at least one document to download."),
    ZipErrorCode.TOO_MANY: _(
        "You can download at most %(limit)s documents at once. Select fewer documents, or narrow the "
        "list with the filters."
    ),
}


class ZipRefused(Exception):
    def __init__(self, code: ZipErrorCode) -> None:
        super().__init__(code)
        self.code = code

    @property
    def message(self) -> str:
        return str(ZIP_MESSAGES[self.code]) % {"limit": ZIP_LIMIT}


def document_get(*, user: Any, document_id: Any) -> Document:
    document = access.document_get(user, document_id)
    if document is None:
        raise NotFound(document_id)
    return document


def document_mark_read(*, user: Any, document: Document) -> None:
    """Records that ``user`` opened ``document`` (once; opening it again changes nothing)."""
    DocumentRead.objects.bulk_create([DocumentRead(user=user, document=document)], ignore_conflicts=True)


def _audit(action: str, *, user: Any, target: Any, request: HttpRequest | None, **details: Any) -> None:
    with transaction.atomic():
        record(action=action, actor=user, target=target, request=request, details=details or None)


def pdf_filename(document: Document, suffix: str = "") -> str:
    return get_valid_filename(f"{document.issuer.prefix}-{document.number}{suffix}.pdf")


def document_pdf_get(
    *, user: Any, document_id: Any, inline: bool, request: HttpRequest | None = None
) -> tuple[Document, bytes]:
    """The document's PDF (rendered from its data if the issuer sent none), audited."""
    document = document_get(user=user, document_id=document_id)
    content = pdf.document_pdf(document)
    action = "documents.pdf_opened" if inline else "documents.pdf_downloaded"
    _audit(action, user=user, target=document, request=request)
    return document, content


def document_original_get(
    *, user: Any, document_id: Any, request: HttpRequest | None = None
) -> tuple[Document, IO[bytes]]:
    """The original structured file, kept unchanged (NotFound when the document has none)."""
    document = document_get(user=user, document_id=document_id)
    if not document.original:
        raise NotFound(document_id)
    _audit("documents.original_downloaded", user=user, target=document, request=request)
    return document, document.original.open("rb")


def duplicates_of(document: Document) -> list[Duplicate]:
    """The document's duplicate history, newest first (the document comes from ``document_get``)."""
    return list(document.duplicates.select_related("user"))


def duplicate_request(
    *, user: Any, document_id: Any, language: str, request: HttpRequest | None = None
) -> Duplicate:
    """Makes at once a copy of the PDF stamped DUPLICATE (in ``language``) with today's date, keeps
    it in the document's history and audits the request."""
    document = document_get(user=user, document_id=document_id)
    today = timezone.localdate()
    # The same user's duplicate of today in that language is the same paper: asked again, it is
    # recorded again but not made (and stored) again (review finding: no storage filling by loops).
    same = (
        Duplicate.objects.filter(document=document, user=user, language=language, requested_at__date=today)
        .order_by("-requested_at")
        .first()
    )
    if same is not None:
        record(
            action="documents.duplicate_requested",
            actor=user,
            target=document,
            request=request,
            details={"duplicate": same.pk, "language": language, "reused": True},
        )
        return same
    with translation.override(language):
        label = gettext("DUPLICATE")
        requested_on = gettext("Requested on %(date)s") % {"date": formats.date_format(today, "DATE_FORMAT")}
    content = pdf.stamp_duplicate(pdf.document_pdf(document), label=label, requested_on=requested_on)
    name = pdf_filename(document, f"-duplicate-{today.isoformat()}")
    with transaction.atomic():
        duplicate = Duplicate(document=document, user=user, language=language)
        duplicate.file.save(name, ContentFile(content), save=False)
        duplicate.save()
        record(
            action="documents.duplicate_requested",
            actor=user,
            target=document,
            request=request,
            details={"duplicate": duplicate.pk, "language": language},
        )
    return duplicate


def duplicate_get(
    *, user: Any, document_id: Any, duplicate_id: Any, request: HttpRequest | None = None
) -> tuple[Duplicate, IO[bytes]]:
    """A duplicate of a document ``user`` sees, audited."""
    document = document_get(user=user, document_id=document_id)
    try:
        pk = int(duplicate_id)
    except (TypeError, ValueError):
        raise NotFound(duplicate_id) from None
    duplicate = Duplicate.objects.filter(document=document, pk=pk).first()
    if duplicate is None:
        raise NotFound(duplicate_id)
    duplicate.document = document
    _audit("documents.duplicate_downloaded", user=user, target=document, request=request, duplicate=pk)
    return duplicate, duplicate.file.open("rb")


# --- CSV ----------------------------------------------------------------------------------------


def csv_safe(value: str) -> str:
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


class _Line:
    """A file-like object whose ``write`` returns what it was given (for streaming)."""

    def write(self, value: str) -> str:
        return value


def _header() -> list[str]:
    return [
        gettext("Type"),
        gettext("Document number"),
        gettext("Issue date"),
        gettext("Due date"),
        gettext("Customer number"),
        gettext("Issuer"),
        gettext("Currency"),
        gettext("Amount excluding VAT"),
        gettext("VAT"),
        gettext("Amount including VAT"),
        gettext("Amount payable"),
    ]


def _row(document: Document, kinds: dict[str, str]) -> list[str]:
    number = document.customer_number
    return [
        kinds[document.kind],
        csv_safe(document.number),
        document.issue_date.isoformat(),
        document.due_date.isoformat() if document.due_date else "",
        csv_safe(f"{number.issuer.prefix} {number.number}"),
        csv_safe(number.issuer.name),
        document.currency,
        f"{document.amount_excl_vat:.2f}",
        f"{document.vat:.2f}",
        f"{document.amount_incl_vat:.2f}",
        f"{document.amount_payable:.2f}",
    ]


def _csv_lines(rows: Iterator[Document], header: list[str], kinds: dict[str, str]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield BOM + writer.writerow(header)
    for document in rows:
        yield writer.writerow(_row(document, kinds))


def documents_export(
    *,
    user: Any,
    customer_numbers: list[CustomerNumber],
    filters: selectors.DocumentFilter,
    sort: selectors.Sort,
    request: HttpRequest | None = None,
) -> Iterator[str]:
    """Records the export and returns the CSV of the filtered list, line by line (read lazily in
    keyset chunks: only the documents ``user`` sees)."""
    if not (getattr(user, "is_authenticated", False) and user.is_active):
        raise NotFound("documents")
    _audit("documents.exported", user=user, target="documents", request=request, filters=filters.as_details())
    # Translated now, in the request's language, not later while streaming.
    kinds = {value: str(label) for value, label in DocumentKind.choices}
    rows = selectors.documents_all(user=user, customer_numbers=customer_numbers, filters=filters, sort=sort)
    return _csv_lines(rows, _header(), kinds)


# --- ZIP ----------------------------------------------------------------------------------------


def _ids(values: list[str]) -> list[int]:
    ids = []
    for value in values:
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            continue
    return list(dict.fromkeys(ids))


def documents_zip(*, user: Any, document_ids: list[str], request: HttpRequest | None = None) -> IO[bytes]:
    """A ZIP of the selected documents' PDFs (and originals), built in a temporary file (closing it
    deletes it). Ids of documents ``user`` does not see are ignored; at most ``ZIP_LIMIT``."""
    ids = _ids(document_ids)
    if len(ids) > ZIP_LIMIT:
        raise ZipRefused(ZipErrorCode.TOO_MANY)
    documents = list(
        access.documents(user)
        .filter(pk__in=ids)
        .select_related("issuer", "customer_number")
        .order_by("-issue_date", "-pk")
    )
    if not documents:
        raise ZipRefused(ZipErrorCode.EMPTY)
    _audit(
        "documents.zip_downloaded",
        user=user,
        target="documents",
        request=request,
        documents=[document.pk for document in documents],
    )
    archive = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the response that streams it)
    try:
        _fill_zip(archive, documents)
    except BaseException:
        archive.close()
        raise
    archive.seek(0)
    return archive


def _fill_zip(archive: IO[bytes], documents: list[Document]) -> None:
    used: set[str] = set()
    with zipfile.ZipFile(archive, "w") as zipped:
        for document in documents:
            zipped.writestr(_unique(pdf_filename(document), used), pdf.document_pdf(document))
            if document.original:
                original_name = document.original_name or "original"
                name = get_valid_filename(f"{document.issuer.prefix}-{document.number}-{original_name}")
                with document.original.open("rb") as original:
                    zipped.writestr(_unique(name, used), original.read(), compress_type=zipfile.ZIP_DEFLATED)


def _unique(name: str, used: set[str]) -> str:
    stem, dot, extension = name.rpartition(".")
    candidate, n = name, 1
    while candidate in used:
        n += 1
        candidate = f"{stem}-{n}{dot}{extension}" if dot else f"{name}-{n}"
    used.add(candidate)
    return candidate
