"""Peppol BIS Billing 3.0 (UBL 2.1 Invoice and CreditNote): validation and the fields the portal shows.

``parse(content)`` checks one file against the project's own unmodified copy
of the OASIS UBL 2.1 schemas (``documents/xsd/ubl-2.1``), then the totals
(EN 16931 business rules BR-CO-10/11/12/13/14/15/16), and answers a ``Parsed``
with plain values: no database access, so it runs in worker processes.
A refusal is a ``UblError`` with a code and a precise, translated reason.

Choices:

- Safety first: the size is checked before anything is parsed; lxml parses
  with entities unresolved, no network, no DTD loading and libxml2's default
  limits (``huge_tree=False``); any DOCTYPE (hence any entity declaration: XXE,
  "billion laughs") is refused, by a byte scan before parsing and, for
  encodings the scan cannot see (UTF-16), by ``docinfo`` after parsing.
  Without ``huge_tree`` one text node may not exceed 10 MB, so an embedded PDF
  above ~7.5 MB is refused as TOO_LARGE whatever the file size limit.
- The XSD is chosen by the root element (namespace and name) and each
  ``XMLSchema`` is built once per process (``functools.cache``): building the
  UBL 2.1 schema costs ~30 ms, validating a typical invoice ~20-35 µs; a whole
  ``parse()`` takes ~0.15-0.2 ms (base-example.xml, Allowance-example.xml).
  Peppol's Schematron is not run: the rules the portal depends on (totals,
  structured communication, decimals, currency) are checked here in Python.
- Each document is parsed once; the fields are read with XPath expressions
  compiled once at import (``etree.XPath`` with namespaces, plain strings).
- Money is ``Decimal`` as written, with cents added when fewer than 2 decimals
  are written (``1325`` → ``1325.00``); more than 2 decimals on a document-level
  amount (totals, VAT, document allowances and charges) is refused (Peppol
  BR-DEC rules); line amounts are summed as written. Sums are exact, and the
  totals must be in the document currency.
- The VAT shown is the ``TaxTotal`` in the document currency (a second
  ``TaxTotal`` in the tax currency, ``TaxCurrencyCode``, is ignored), and the
  VAT breakdown is that ``TaxTotal``'s subtotals. VAT rates are normalised
  (``25.0`` → ``25``) so the same rate always reads the same.
- A payment reference that looks like a Belgian structured communication
  (12 digits, bare or written +++123/4567/89012+++ or ***…***) is checked
  with ``stdnum.be.ogm_vcs`` and formatted +++123/4567/89012+++; any other
  reference is kept as written.

CONTRACT (shared by ``intake`` and this module; keep these names):
"""

import binascii
import dataclasses
import datetime
import enum
import functools
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from lxml import etree
from stdnum.be import ogm_vcs
from stdnum.exceptions import ValidationError


class UblErrorCode(enum.StrEnum):
    NOT_XML = "not_xml"  # not well-formed XML
    NOT_UBL = "not_ubl"  # root is not a UBL 2.1 Invoice or CreditNote
    SCHEMA = "schema"  # fails the UBL 2.1 XSD (detail: line and libxml2's message)
    MISSING = "missing"  # a field the portal needs is absent (detail: which)
    INVALID_VALUE = "invalid_value"  # a date, amount or currency that cannot be read (detail: which)
    TOTALS = "totals"  # the totals are not consistent (detail: which rule, expected, found)
    STRUCTURED_COMMUNICATION = "structured_communication"  # +++xxx/xxxx/xxxxx+++ with a wrong check
    TOO_LARGE = "too_large"  # above GUICHET_INTAKE_MAX_FILE_BYTES, or a text node above libxml2's limit
    DOCTYPE = "doctype"  # a DOCTYPE (entity declarations: XXE, entity expansion) is refused


MESSAGES = {
    UblErrorCode.NOT_XML: _("The file is not well-formed XML"),
    UblErrorCode.NOT_UBL: _("The file is not a UBL 2.1 invoice or credit note"),
    UblErrorCode.SCHEMA: _("The file does not follow the UBL 2.1 schema"),
    UblErrorCode.MISSING: _("A required field is missing"),
    UblErrorCode.INVALID_VALUE: _("A value cannot be read"),
    UblErrorCode.TOTALS: _("The totals are not consistent"),
    UblErrorCode.STRUCTURED_COMMUNICATION: _("The structured communication is not valid"),
    UblErrorCode.TOO_LARGE: _("The file is too large"),
    UblErrorCode.DOCTYPE: _("The file contains a document type declaration, which is refused"),
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


# --- Implementation ---------------------------------------------------------------------------------

DEFAULT_MAX_FILE_BYTES = 20 * 1024 * 1024

NS = {
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cn": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
INVOICE_TAG = f"{{{NS['inv']}}}Invoice"
CREDIT_NOTE_TAG = f"{{{NS['cn']}}}CreditNote"

XSD_DIR = Path(__file__).resolve().parent / "xsd" / "ubl-2.1"
_XSD_FILES = {
    INVOICE_TAG: XSD_DIR / "maindoc" / "UBL-Invoice-2.1.xsd",
    CREDIT_NOTE_TAG: XSD_DIR / "maindoc" / "UBL-CreditNote-2.1.xsd",
}
_KINDS = {INVOICE_TAG: "invoice", CREDIT_NOTE_TAG: "credit_note"}

CENT = Decimal("0.01")
_AMOUNT_LIMIT = Decimal(10) ** 12  # Document amounts: DecimalField(max_digits=14, decimal_places=2)
_NUMBER_MAX_LENGTH = 64  # Document.number
_CURRENCY = re.compile(r"[A-Z]{3}")
# A Belgian structured communication: 12 digits, bare or between +++ or ***, spaces and slashes allowed.
_OGM = re.compile(r"(?:\+\+\+|\*\*\*)?\s*([0-9][0-9 /]*[0-9])\s*(?:\+\+\+|\*\*\*)?")


@functools.cache
def _parser() -> etree.XMLParser:
    # One per process (lxml serialises concurrent use of one parser with a lock).
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


@functools.cache
def schema(root_tag: str) -> etree.XMLSchema:
    """The UBL 2.1 XSD for the root element ``{namespace}Invoice`` or ``{namespace}CreditNote``,
    built once per process from the project's copy."""
    path = _XSD_FILES[root_tag]
    trusted = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.parse(str(path), trusted))


def _xpath(path: str) -> etree.XPath:
    return etree.XPath(path, namespaces=NS, smart_strings=False)


# Relative to the root element (Invoice or CreditNote: the children share the cac/cbc namespaces).
_ID = _xpath("cbc:ID/text()")
_ISSUE_DATE = _xpath("cbc:IssueDate/text()")
_INVOICE_DUE_DATE = _xpath("cbc:DueDate/text()")
_PAYMENT_DUE_DATE = _xpath("cac:PaymentMeans/cbc:PaymentDueDate/text()")
_TYPE_CODE = _xpath("cbc:InvoiceTypeCode/text() | cbc:CreditNoteTypeCode/text()")
_CURRENCY_CODE = _xpath("cbc:DocumentCurrencyCode/text()")
_BUYER_REFERENCE = _xpath("cbc:BuyerReference/text()")
_SELLER = _xpath("cac:AccountingSupplierParty/cac:Party")
_BUYER = _xpath("cac:AccountingCustomerParty/cac:Party")
_IBAN = _xpath("cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID/text()")
_PAYMENT_ID = _xpath("cac:PaymentMeans/cbc:PaymentID/text()")
_ALLOWANCE_CHARGES = _xpath("cac:AllowanceCharge")
_TAX_TOTALS = _xpath("cac:TaxTotal")
_MONETARY_TOTAL = _xpath("cac:LegalMonetaryTotal/*")
_LINE_AMOUNTS = _xpath(
    "cac:InvoiceLine/cbc:LineExtensionAmount/text() | cac:CreditNoteLine/cbc:LineExtensionAmount/text()"
)
_PDF = _xpath(
    "cac:AdditionalDocumentReference/cac:Attachment"
    "/cbc:EmbeddedDocumentBinaryObject[normalize-space(@mimeCode)='application/pdf']"
)
# Relative to a cac:Party.
_REGISTRATION_NAME = _xpath("cac:PartyLegalEntity/cbc:RegistrationName/text()")
_TRADING_NAME = _xpath("cac:PartyName/cbc:Name/text()")
_ENDPOINT = _xpath("cbc:EndpointID")
_PARTY_IDS = _xpath("cac:PartyIdentification/cbc:ID")
_LEGAL_ID = _xpath("cac:PartyLegalEntity/cbc:CompanyID")
_VAT_ID = _xpath("cac:PartyTaxScheme[normalize-space(cac:TaxScheme/cbc:ID)='VAT']/cbc:CompanyID/text()")
# Relative to a cac:AllowanceCharge, a cac:TaxTotal, a cac:TaxSubtotal.
_CHARGE_INDICATOR = _xpath("cbc:ChargeIndicator/text()")
_AMOUNT = _xpath("cbc:Amount/text()")
_TAX_AMOUNT = _xpath("cbc:TaxAmount")
_SUBTOTALS = _xpath("cac:TaxSubtotal")
_TAXABLE_AMOUNT = _xpath("cbc:TaxableAmount/text()")
_SUBTOTAL_TAX_AMOUNT = _xpath("cbc:TaxAmount/text()")
_CATEGORY = _xpath("cac:TaxCategory/cbc:ID/text()")
_PERCENT = _xpath("cac:TaxCategory/cbc:Percent/text()")


def max_file_bytes() -> int:
    """The largest file accepted: ``settings.GUICHET_INTAKE_MAX_FILE_BYTES``, else 20 MB."""
    return getattr(settings, "GUICHET_INTAKE_MAX_FILE_BYTES", DEFAULT_MAX_FILE_BYTES)


def _first(values: list[str]) -> str:
    """The first non-blank value, stripped, or ""."""
    for value in values:
        if value := value.strip():
            return value
    return ""


def _required(values: list[str], what: str) -> str:
    if value := _first(values):
        return value
    raise UblError(UblErrorCode.MISSING, what)


def _date(text: str, what: str) -> datetime.date:
    # The XSD has checked the xsd:date syntax (YYYY-MM-DD, optionally followed by a time zone).
    try:
        return datetime.date.fromisoformat(text[:10])
    except ValueError:
        raise UblError(UblErrorCode.INVALID_VALUE, f"{what} {text!r} is not a date") from None


def _money(text: str | None, what: str) -> Decimal:
    """An amount as written, with 2 decimals added when fewer are written; more than 2 is refused."""
    if text is None or not (text := text.strip()):
        raise UblError(UblErrorCode.MISSING, what)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise UblError(UblErrorCode.INVALID_VALUE, f"{what} {text!r} is not an amount") from None
    if not value.is_finite() or abs(value) >= _AMOUNT_LIMIT:
        raise UblError(UblErrorCode.INVALID_VALUE, f"{what} {text!r} is not an amount")
    exponent = value.as_tuple().exponent
    if exponent < -2:
        raise UblError(UblErrorCode.INVALID_VALUE, f"{what} {text} has more than 2 decimals")
    return value if exponent == -2 else value.quantize(CENT)


def _line_amount(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise UblError(UblErrorCode.INVALID_VALUE, f"{what} {text!r} is not an amount") from None
    if not value.is_finite():
        raise UblError(UblErrorCode.INVALID_VALUE, f"{what} {text!r} is not an amount")
    return value


def _rate(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise UblError(UblErrorCode.INVALID_VALUE, f"TaxCategory/Percent {text!r} is not a number") from None
    if not value.is_finite() or not 0 <= value <= 100:
        raise UblError(UblErrorCode.INVALID_VALUE, f"TaxCategory/Percent {text!r} is not a percentage")
    # 25.0 → 25, 5.50 → 5.5 (normalize() alone would turn 20 into 2E+1).
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def _identifier(element: etree._Element) -> tuple[str, str] | None:
    value = (element.text or "").strip()
    if not value:
        return None
    return ((element.get("schemeID") or "").strip(), value)


def _party(party: etree._Element, role: str) -> Party:
    name = _first(_REGISTRATION_NAME(party)) or _first(_TRADING_NAME(party))
    if not name:
        raise UblError(
            UblErrorCode.MISSING, f"{role} name (PartyLegalEntity/RegistrationName or PartyName/Name)"
        )
    endpoints = [i for e in _ENDPOINT(party) if (i := _identifier(e))]
    legal_ids = [i for e in _LEGAL_ID(party) if (i := _identifier(e))]
    return Party(
        name=name,
        endpoint=endpoints[0] if endpoints else None,
        party_ids=tuple(i for e in _PARTY_IDS(party) if (i := _identifier(e))),
        legal_id=legal_ids[0] if legal_ids else None,
        vat=_first(_VAT_ID(party)),
    )


def payment_reference(value: str) -> str:
    """A payment reference as the portal keeps it: a Belgian structured communication (12 digits, bare or
    written +++123/4567/89012+++ or ***123/4567/89012***, spaces and slashes allowed) is checked and
    answered as +++123/4567/89012+++ (``UblError`` STRUCTURED_COMMUNICATION when its check digits are
    wrong); any other reference is answered stripped, as written."""
    value = value.strip()
    if (match := _OGM.fullmatch(value)) is None:
        return value
    digits = match.group(1).replace(" ", "").replace("/", "")
    if len(digits) != 12 or not digits.isdigit():
        return value
    try:
        ogm_vcs.validate(digits)
    except ValidationError:
        raise UblError(
            UblErrorCode.STRUCTURED_COMMUNICATION,
            f"PaymentID {value}: check digits {digits[10:]}, expected {ogm_vcs.calc_check_digits(digits)}",
        ) from None
    return f"+++{ogm_vcs.format(digits)}+++"


def _check(rule: str, ok: bool, detail: str) -> None:
    if not ok:
        raise UblError(UblErrorCode.TOTALS, f"{rule}: {detail}")


def parse(content: bytes, *, name: str = "") -> Parsed:
    """Validate one UBL 2.1 Invoice or CreditNote (Peppol BIS Billing 3.0) and read the portal's fields.

    ``name`` (the file name) only labels libxml2's messages. Raises ``UblError``.
    """
    limit = max_file_bytes()
    if len(content) > limit:
        raise UblError(UblErrorCode.TOO_LARGE, f"{len(content)} bytes, at most {limit}")
    if b"<!DOCTYPE" in content or b"<!ENTITY" in content:
        raise UblError(UblErrorCode.DOCTYPE, "<!DOCTYPE or <!ENTITY")
    try:
        root = etree.fromstring(content, _parser(), base_url=name or None)
    except etree.XMLSyntaxError as error:
        if error.code == etree.ErrorTypes.ERR_RESOURCE_LIMIT:
            raise UblError(UblErrorCode.TOO_LARGE, error.msg) from None
        raise UblError(UblErrorCode.NOT_XML, error.msg) from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise UblError(UblErrorCode.DOCTYPE, tree.docinfo.doctype)
    kind = _KINDS.get(root.tag)
    if kind is None:
        raise UblError(UblErrorCode.NOT_UBL, f"root element {root.tag}")
    xsd = schema(root.tag)
    if not xsd.validate(tree):
        error = xsd.error_log[0]
        raise UblError(UblErrorCode.SCHEMA, f"line {error.line}: {error.message}")
    return _read(root, kind)


def _read(root: etree._Element, kind: str) -> Parsed:
    number = _required(_ID(root), "cbc:ID")
    if len(number) > _NUMBER_MAX_LENGTH:
        raise UblError(UblErrorCode.INVALID_VALUE, f"cbc:ID longer than {_NUMBER_MAX_LENGTH} characters")
    type_element = "cbc:InvoiceTypeCode" if kind == "invoice" else "cbc:CreditNoteTypeCode"
    type_code = _required(_TYPE_CODE(root), type_element)
    issue_date = _date(_required(_ISSUE_DATE(root), "cbc:IssueDate"), "cbc:IssueDate")
    if kind == "invoice":
        due_text, due_what = _first(_INVOICE_DUE_DATE(root)), "cbc:DueDate"
    else:
        due_text, due_what = _first(_PAYMENT_DUE_DATE(root)), "cac:PaymentMeans/cbc:PaymentDueDate"
    due_date = _date(due_text, due_what) if due_text else None
    currency = _required(_CURRENCY_CODE(root), "cbc:DocumentCurrencyCode")
    if not _CURRENCY.fullmatch(currency):
        raise UblError(UblErrorCode.INVALID_VALUE, f"cbc:DocumentCurrencyCode {currency!r}")

    # LegalMonetaryTotal: every amount in the document currency, at most 2 decimals.
    totals: dict[str, Decimal] = {}
    for element in _MONETARY_TOTAL(root):
        field = etree.QName(element).localname
        what = f"LegalMonetaryTotal/{field}"
        if (element.get("currencyID") or "").strip() != currency:
            raise UblError(
                UblErrorCode.INVALID_VALUE,
                f"{what} in {element.get('currencyID')!r}, the document currency is {currency}",
            )
        totals[field] = _money(element.text, what)
    zero = Decimal("0.00")
    line_extension = _require_total(totals, "LineExtensionAmount")
    excl = _require_total(totals, "TaxExclusiveAmount")
    incl = _require_total(totals, "TaxInclusiveAmount")
    payable = _require_total(totals, "PayableAmount")
    allowance_total = totals.get("AllowanceTotalAmount", zero)
    charge_total = totals.get("ChargeTotalAmount", zero)
    prepaid = totals.get("PrepaidAmount", zero)
    rounding = totals.get("PayableRoundingAmount", zero)

    # The VAT total in the document currency and its breakdown.
    tax_total = None
    for candidate in _TAX_TOTALS(root):
        amounts = _TAX_AMOUNT(candidate)
        if amounts and (amounts[0].get("currencyID") or "").strip() == currency:
            tax_total, vat = candidate, _money(amounts[0].text, "TaxTotal/TaxAmount")
            break
    if tax_total is None:
        raise UblError(UblErrorCode.MISSING, f"cac:TaxTotal/cbc:TaxAmount in {currency}")
    breakdown = []
    for subtotal in _SUBTOTALS(tax_total):
        percent = _first(_PERCENT(subtotal))
        breakdown.append(
            VatLine(
                category=_required(_CATEGORY(subtotal), "TaxSubtotal/TaxCategory/ID"),
                rate=_rate(percent) if percent else None,
                taxable=_money(_first(_TAXABLE_AMOUNT(subtotal)), "TaxSubtotal/TaxableAmount"),
                vat=_money(_first(_SUBTOTAL_TAX_AMOUNT(subtotal)), "TaxSubtotal/TaxAmount"),
            )
        )

    # Document-level allowances and charges.
    allowances = charges = zero
    for element in _ALLOWANCE_CHARGES(root):
        amount = _money(_first(_AMOUNT(element)), "AllowanceCharge/Amount")
        if _first(_CHARGE_INDICATOR(element)) in ("true", "1"):
            charges += amount
        else:
            allowances += amount
    line = "InvoiceLine" if kind == "invoice" else "CreditNoteLine"
    lines = sum(
        (_line_amount(text, f"{line}/LineExtensionAmount") for text in _LINE_AMOUNTS(root)), Decimal(0)
    )

    # EN 16931 consistency of the totals.
    _check(
        "BR-CO-10",
        line_extension == lines,
        f"LineExtensionAmount {line_extension} ≠ Σ {line}/LineExtensionAmount {lines}",
    )
    _check(
        "BR-CO-11",
        allowance_total == allowances,
        f"AllowanceTotalAmount {allowance_total} ≠ Σ AllowanceCharge[ChargeIndicator=false]/Amount "
        f"{allowances}",
    )
    _check(
        "BR-CO-12",
        charge_total == charges,
        f"ChargeTotalAmount {charge_total} ≠ Σ AllowanceCharge[ChargeIndicator=true]/Amount {charges}",
    )
    _check(
        "BR-CO-13",
        excl == line_extension - allowance_total + charge_total,
        f"TaxExclusiveAmount {excl} ≠ LineExtensionAmount {line_extension} - AllowanceTotalAmount "
        f"{allowance_total} + ChargeTotalAmount {charge_total}",
    )
    subtotal_vat = sum((v.vat for v in breakdown), zero)
    _check("BR-CO-14", vat == subtotal_vat, f"TaxAmount {vat} ≠ Σ TaxSubtotal/TaxAmount {subtotal_vat}")
    _check(
        "BR-CO-15",
        incl == excl + vat,
        f"TaxInclusiveAmount {incl} ≠ TaxExclusiveAmount {excl} + TaxAmount {vat}",
    )
    _check(
        "BR-CO-16",
        payable == incl - prepaid + rounding,
        f"PayableAmount {payable} ≠ TaxInclusiveAmount {incl} - PrepaidAmount {prepaid} "
        f"+ PayableRoundingAmount {rounding}",
    )

    sellers, buyers = _SELLER(root), _BUYER(root)
    if not sellers:
        raise UblError(UblErrorCode.MISSING, "cac:AccountingSupplierParty/cac:Party")
    if not buyers:
        raise UblError(UblErrorCode.MISSING, "cac:AccountingCustomerParty/cac:Party")

    pdf, pdf_name = None, ""
    if attachments := _PDF(root):
        attachment = attachments[0]
        try:
            pdf = binascii.a2b_base64(attachment.text or "")
        except binascii.Error:
            raise UblError(UblErrorCode.INVALID_VALUE, "the embedded PDF is not base64") from None
        if not pdf.startswith(b"%PDF-"):
            raise UblError(UblErrorCode.INVALID_VALUE, "the embedded PDF does not start with %PDF-")
        pdf_name = (attachment.get("filename") or "").strip()

    return Parsed(
        kind=kind,
        type_code=type_code,
        number=number,
        issue_date=issue_date,
        due_date=due_date,
        currency=currency,
        amount_excl_vat=excl,
        vat=vat,
        amount_incl_vat=incl,
        amount_payable=payable,
        vat_breakdown=tuple(breakdown),
        seller=_party(sellers[0], "seller"),
        buyer=_party(buyers[0], "buyer"),
        buyer_reference=_first(_BUYER_REFERENCE(root)),
        payee_iban=_first(_IBAN(root)),
        payment_reference=payment_reference(_first(_PAYMENT_ID(root))),
        pdf=pdf,
        pdf_name=pdf_name,
    )


def _require_total(totals: dict[str, Decimal], field: str) -> Decimal:
    try:
        return totals[field]
    except KeyError:
        raise UblError(UblErrorCode.MISSING, f"cac:LegalMonetaryTotal/cbc:{field}") from None
