"""Peppol BIS Billing 3.0 (UBL 2.1 Invoice and CreditNote): validation and the fields the portal shows.

``parse(content)`` checks one file against the project's own unmodified copy
of the OASIS UBL 2.1 schemas (``documents/xsd/ubl-2.1``), then the totals
(EN 16931 business rules BR-CO-10/13/14/15/16), and answers a ``Parsed``
with plain values: no database access, so it runs in worker processes.
A refusal is a ``UblError`` with a code and a precise, translated reason.

CONTRACT (shared by ``intake`` and this module; keep these names):
"""

import dataclasses
import datetime
import enum
from decimal import Decimal

from django.utils.translation import gettext_lazy as _


class UblErrorCode(enum.StrEnum):
    NOT_XML = "not_xml"  # not well-formed XML
    NOT_UBL = "not_ubl"  # root is not a UBL 2.1 Invoice or CreditNote
    SCHEMA = "schema"  # fails the UBL 2.1 XSD (detail: line and libxml2's message)
    MISSING = "missing"  # a field the portal needs is absent (detail: which)
    INVALID_VALUE = "invalid_value"  # a date, amount or currency that cannot be read (detail: which)
    TOTALS = "totals"  # the totals are not consistent (detail: which rule, expected, found)
    STRUCTURED_COMMUNICATION = "structured_communication"  # +++xxx/xxxx/xxxxx+++ with a wrong check
    TOO_LARGE = "too_large"


MESSAGES = {
    UblErrorCode.NOT_XML: _("The file is not well-formed XML"),
    UblErrorCode.NOT_UBL: _("The file is not a UBL 2.1 invoice or credit note"),
    UblErrorCode.SCHEMA: _("The file does not follow the UBL 2.1 schema"),
    UblErrorCode.MISSING: _("A required field is missing"),
    UblErrorCode.INVALID_VALUE: _("A value cannot be read"),
    UblErrorCode.TOTALS: _("The totals are not consistent"),
    UblErrorCode.STRUCTURED_COMMUNICATION: _("The structured communication is not valid"),
    UblErrorCode.TOO_LARGE: _("The file is too large"),
}


class UblError(Exception):
    """A refused file. ``detail`` is technical and untranslated (an XPath, a line, numbers)."""

    def __init__(self, code: UblErrorCode, detail: str = "") -> None:
        self.code = code
        self.detail = detail
        super().__init__(f"{code}: {detail}")

    @property
    def message(self) -> str:
        text = str(MESSAGES[self.code])
        return f"{text}: {self.detail}" if self.detail else f"{text}."


@dataclasses.dataclass(frozen=True)
class Party:
    name: str  # PartyLegalEntity/RegistrationName, else PartyName/Name
    endpoint: tuple[str, str] | None  # (schemeID, value) of cbc:EndpointID
    party_ids: tuple[tuple[str, str], ...]  # (schemeID or "", value) of each PartyIdentification/ID
    legal_id: tuple[str, str] | None  # (schemeID or "", value) of PartyLegalEntity/CompanyID
    vat: str  # PartyTaxScheme/CompanyID whose TaxScheme/ID is VAT, else ""


@dataclasses.dataclass(frozen=True)
class VatLine:
    category: str  # S, Z, E, AE, K, G, O, L, M
    rate: Decimal | None  # percent, None for category O
    taxable: Decimal
    vat: Decimal


@dataclasses.dataclass(frozen=True)
class Parsed:
    kind: str  # DocumentKind value: "invoice" (UBL Invoice) or "credit_note" (UBL CreditNote)
    type_code: str  # InvoiceTypeCode / CreditNoteTypeCode (380, 381, 384, …)
    number: str  # cbc:ID
    issue_date: datetime.date
    due_date: datetime.date | None  # Invoice: cbc:DueDate; CreditNote: PaymentMeans/PaymentDueDate
    currency: str  # DocumentCurrencyCode
    amount_excl_vat: Decimal  # LegalMonetaryTotal/TaxExclusiveAmount
    vat: Decimal  # TaxTotal/TaxAmount in the document currency
    amount_incl_vat: Decimal  # LegalMonetaryTotal/TaxInclusiveAmount
    amount_payable: Decimal  # LegalMonetaryTotal/PayableAmount
    vat_breakdown: tuple[VatLine, ...]
    seller: Party
    buyer: Party
    buyer_reference: str  # cbc:BuyerReference or ""
    payee_iban: str  # first PaymentMeans/PayeeFinancialAccount/ID, as written, or ""
    payment_reference: str  # PaymentMeans/PaymentID; a Belgian structured communication formatted
    # +++123/4567/89012+++ after its check (python-stdnum), any other reference as written, or ""
    pdf: bytes | None  # the first embedded attachment with mimeCode application/pdf, decoded
    pdf_name: str  # its filename attribute, or ""
