"""Writes of the document portal: adding a document (the one way in, for tests, the demo and the
billing systems' intake).

``document_add`` validates everything before it writes anything, keeps the
PDF and the original file unchanged in the default storage (the original
with its SHA-256), announces the document to its recipients in the same
transaction (``notices.document_announce``) and audits it. Adding the same
document again is harmless: it answers the document already there.
"""

import datetime
import enum
import hashlib
from decimal import Decimal, InvalidOperation
from typing import Any

import pycountry
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext_lazy as _

from guichet.audit.services import record
from guichet.documents import notices
from guichet.documents.models import CustomerNumber, Document, DocumentKind

CENT = Decimal("0.01")
AMOUNT_LIMIT = Decimal("1E12")  # 14 digits, 2 of them decimals
NUMBER_MAX = 64
ORIGINAL_NAME_MAX = 255
PDF_MAGIC = b"%PDF-"


class DocumentErrorCode(enum.StrEnum):
    UNKNOWN_CUSTOMER_NUMBER = "unknown_customer_number"
    INVALID_KIND = "invalid_kind"
    INVALID_NUMBER = "invalid_number"
    INVALID_DATE = "invalid_date"
    ISSUE_DATE_FUTURE = "issue_date_future"
    DUE_BEFORE_ISSUE = "due_before_issue"
    INVALID_CURRENCY = "invalid_currency"
    INVALID_AMOUNT = "invalid_amount"
    NEGATIVE_AMOUNT = "negative_amount"
    TOTAL_MISMATCH = "total_mismatch"
    PAYABLE_ABOVE_TOTAL = "payable_above_total"
    INVALID_PDF = "invalid_pdf"
    NUMBER_CONFLICT = "number_conflict"


MESSAGES = {
    DocumentErrorCode.UNKNOWN_CUSTOMER_NUMBER: _("This customer number does not exist."),
    DocumentErrorCode.INVALID_KIND: _("The document type must be an invoice or a credit note."),
    DocumentErrorCode.INVALID_NUMBER: _("Enter a document number of 1 to 64 characters."),
    DocumentErrorCode.INVALID_DATE: _("Enter a valid date."),
    DocumentErrorCode.ISSUE_DATE_FUTURE: _("The issue date cannot be in the future."),
    DocumentErrorCode.DUE_BEFORE_ISSUE: _("The due date cannot be before the issue date."),
    DocumentErrorCode.INVALID_CURRENCY: _("Enter a currency as its ISO 4217 code, such as EUR."),
    DocumentErrorCode.INVALID_AMOUNT: _("Enter an amount with at most 2 decimals, below 1,000,000,000,000."),
    DocumentErrorCode.NEGATIVE_AMOUNT: _(
        "The amounts of a credit note are positive, and an invoice's totals all have the same sign."
    ),
    DocumentErrorCode.TOTAL_MISMATCH: _(
        "The amount including VAT must equal the amount excluding VAT plus the VAT."
    ),
    DocumentErrorCode.PAYABLE_ABOVE_TOTAL: _(
        "The amount payable of an invoice cannot exceed its amount including VAT."
    ),
    DocumentErrorCode.INVALID_PDF: _("The PDF file is empty or is not a PDF."),
    DocumentErrorCode.NUMBER_CONFLICT: _(
        "Another document with this type and number already exists for this issuer, with other content."
    ),
}


class DocumentError(Exception):
    """A refusal; ``field`` names the input at fault, if any. Nothing was written."""

    def __init__(self, code: DocumentErrorCode, *, field: str = "") -> None:
        self.code = code
        self.field = field
        super().__init__(str(code))

    @property
    def message(self) -> str:
        return str(MESSAGES[self.code])


# --- Input --------------------------------------------------------------------------------------


def _amount(value: Any, field: str) -> Decimal:
    """A Decimal (or its text, or an int) with at most 2 decimals; floats are refused (inexact)."""
    if isinstance(value, bool | float) or value is None:
        raise DocumentError(DocumentErrorCode.INVALID_AMOUNT, field=field)
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise DocumentError(DocumentErrorCode.INVALID_AMOUNT, field=field) from None
    if not amount.is_finite() or amount.as_tuple().exponent < -2 or abs(amount) >= AMOUNT_LIMIT:
        raise DocumentError(DocumentErrorCode.INVALID_AMOUNT, field=field)
    return amount.quantize(CENT)


def _date(value: Any, field: str, *, required: bool = True) -> datetime.date | None:
    if value is None and not required:
        return None
    if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
        raise DocumentError(DocumentErrorCode.INVALID_DATE, field=field)
    return value


def _currency(value: Any) -> str:
    code = str(value or "").strip().upper()
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        raise DocumentError(DocumentErrorCode.INVALID_CURRENCY, field="currency")
    return code


def _number(value: Any) -> str:
    number = str(value or "").strip()
    if not number or len(number) > NUMBER_MAX:
        raise DocumentError(DocumentErrorCode.INVALID_NUMBER, field="number")
    return number


def _clean(
    *,
    customer_number: Any,
    kind: Any,
    number: Any,
    issue_date: Any,
    due_date: Any,
    currency: Any,
    amounts: dict[str, Any],
    pdf: bytes | None,
) -> dict[str, Any]:
    """The document's fields, checked; raises ``DocumentError`` naming the first bad one."""
    if not isinstance(customer_number, CustomerNumber) or customer_number.pk is None:
        raise DocumentError(DocumentErrorCode.UNKNOWN_CUSTOMER_NUMBER, field="customer_number")
    if kind not in DocumentKind.values:
        raise DocumentError(DocumentErrorCode.INVALID_KIND, field="kind")
    fields = {"kind": str(kind), "number": _number(number), "currency": _currency(currency)}
    fields["issue_date"] = _date(issue_date, "issue_date")
    fields["due_date"] = _date(due_date, "due_date", required=False)
    if fields["issue_date"] > timezone.localdate():
        raise DocumentError(DocumentErrorCode.ISSUE_DATE_FUTURE, field="issue_date")
    if fields["due_date"] is not None and fields["due_date"] < fields["issue_date"]:
        raise DocumentError(DocumentErrorCode.DUE_BEFORE_ISSUE, field="due_date")
    for name, value in amounts.items():
        fields[name] = _amount(value, name)
    # A credit note states its totals as positive numbers (UBL and Peppol BIS 3); a corrective invoice
    # may be negative as a whole (Peppol BIS 3 "negative invoice"), but its totals share one sign.
    incl, payable = fields["amount_incl_vat"], fields["amount_payable"]
    if kind == DocumentKind.CREDIT_NOTE and (incl < 0 or payable < 0):
        raise DocumentError(
            DocumentErrorCode.NEGATIVE_AMOUNT, field="amount_incl_vat" if incl < 0 else "amount_payable"
        )
    if kind == DocumentKind.INVOICE and (incl < 0) != (payable < 0) and payable != 0:
        raise DocumentError(DocumentErrorCode.NEGATIVE_AMOUNT, field="amount_payable")
    if fields["amount_excl_vat"] + fields["vat"] != incl:
        raise DocumentError(DocumentErrorCode.TOTAL_MISMATCH, field="amount_incl_vat")
    # Prepaid amounts lower what is payable; a rounding amount (below one unit) may raise it.
    if kind == DocumentKind.INVOICE and incl >= 0 and payable - incl >= 1:
        raise DocumentError(DocumentErrorCode.PAYABLE_ABOVE_TOTAL, field="amount_payable")
    if pdf is not None and (not isinstance(pdf, bytes) or not pdf.startswith(PDF_MAGIC)):
        raise DocumentError(DocumentErrorCode.INVALID_PDF, field="pdf")
    return fields


def sha256(content: bytes | None) -> str:
    return hashlib.sha256(content).hexdigest() if content else ""


def _stored_sha256(file: Any) -> str:
    if not file:
        return ""
    with file.open("rb") as handle:
        return sha256(handle.read())


def _same_content(
    document: Document,
    fields: dict[str, Any],
    customer_number: CustomerNumber,
    pdf_hash: str,
    original_hash: str,
) -> bool:
    """Whether ``document`` is the one being added again (same data, same files)."""
    return (
        document.customer_number_id == customer_number.pk
        and all(getattr(document, name) == value for name, value in fields.items())
        and document.original_sha256 == original_hash
        and _stored_sha256(document.pdf) == pdf_hash
    )


def _file_name(number: str, suffix: str) -> str:
    try:
        return get_valid_filename(f"{number}{suffix}")
    except SuspiciousFileOperation:
        return f"document{suffix}"


def _original_name(name: str) -> str:
    """The original's name as given, without its folders (kept to name the download)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    try:
        return get_valid_filename(base)[-ORIGINAL_NAME_MAX:] if base else ""
    except SuspiciousFileOperation:
        return ""


# --- The service --------------------------------------------------------------------------------


def document_add(
    *,
    customer_number: CustomerNumber,
    kind: str,
    number: str,
    issue_date: datetime.date,
    due_date: datetime.date | None,
    currency: str,
    amount_excl_vat: Decimal,
    vat: Decimal,
    amount_incl_vat: Decimal,
    amount_payable: Decimal,
    pdf: bytes | None,
    original: bytes | None = None,
    original_name: str = "",
    request: HttpRequest | None = None,
) -> Document:
    """Adds an invoice or a credit note of ``customer_number`` and announces it to its recipients.

    Idempotent: the same issuer, type and number with the same content answer
    the document already there (nothing written, nothing sent); with other
    content, ``DocumentError(NUMBER_CONFLICT)``. ``pdf`` None: Guichet renders
    one from the data when it is first needed.
    """
    fields = _clean(
        customer_number=customer_number,
        kind=kind,
        number=number,
        issue_date=issue_date,
        due_date=due_date,
        currency=currency,
        amounts={
            "amount_excl_vat": amount_excl_vat,
            "vat": vat,
            "amount_incl_vat": amount_incl_vat,
            "amount_payable": amount_payable,
        },
        pdf=pdf,
    )
    original = original or None
    pdf_hash, original_hash = sha256(pdf), sha256(original)
    issuer = customer_number.issuer
    key = {"issuer": issuer, "kind": fields["kind"], "number": fields["number"]}

    def existing_or_conflict() -> Document | None:
        document = Document.objects.filter(**key).first()
        if document is None:
            return None
        if _same_content(document, fields, customer_number, pdf_hash, original_hash):
            return document
        raise DocumentError(DocumentErrorCode.NUMBER_CONFLICT, field="number")

    if (document := existing_or_conflict()) is not None:
        return document
    document = Document(customer_number=customer_number, issuer=issuer, **fields)
    if pdf is not None:
        document.pdf.save(_file_name(fields["number"], ".pdf"), ContentFile(pdf), save=False)
    if original is not None:
        document.original_name = _original_name(original_name) or _file_name(fields["number"], ".xml")
        document.original_sha256 = original_hash
        document.original.save(document.original_name, ContentFile(original), save=False)
    try:
        with transaction.atomic():
            document.announced_at = timezone.now()  # announced below, in this transaction
            document.save(force_insert=True)
            record(
                action="documents.document_added",
                target=document,
                request=request,
                details={
                    "customer_number": customer_number.code,
                    "kind": document.kind,
                    "number": document.number,
                    "amount_incl_vat": str(document.amount_incl_vat),
                    "currency": document.currency,
                    "pdf_sha256": pdf_hash,
                    "original_sha256": original_hash,
                },
            )
            notices.document_announce(document=document)
    except IntegrityError:
        # The same document added at the same moment by another process.
        _files_delete(document)
        if (existing := existing_or_conflict()) is not None:
            return existing
        raise
    except BaseException:
        _files_delete(document)
        raise
    return document


def _files_delete(document: Document) -> None:
    """The files written for a document whose row was not saved."""
    for file in (document.pdf, document.original):
        if file:
            file.storage.delete(file.name)
