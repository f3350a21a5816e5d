"""Generated Peppol BIS Billing 3.0 invoices and credit notes (UBL 2.1), for tests and benchmarks.

``invoice_xml`` builds one document following the structure of the Peppol
examples (``base-example.xml``): elements in the order of the UBL 2.1 XSD,
totals computed as EN 16931 wants them (BR-CO-10 to 16: line sums,
allowances and charges, VAT per category and rate rounded to the cent), an
optional embedded PDF, an optional Belgian structured communication.
``varied_invoice_xml`` draws a varied one (1 to 10 lines, VAT 21/6/0 %,
allowances and charges, credit notes, structured communications) from a seed.
Plain string building: fast enough to generate 100,000 files in seconds.
"""

import base64
import dataclasses
import datetime
import random
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from xml.sax.saxutils import escape, quoteattr

from stdnum.be import ogm_vcs

CENT = Decimal("0.01")
CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
NAMESPACES = (
    'xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" '
    'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"'
)


@dataclasses.dataclass(frozen=True)
class Line:
    description: str
    quantity: Decimal
    price: Decimal
    rate: Decimal = Decimal(21)  # VAT percent: 21, 6 or 0 in Belgium (0: category Z)
    unit: str = "C62"  # "one" (UN/ECE rec. 20)

    @property
    def amount(self) -> Decimal:
        return (self.quantity * self.price).quantize(CENT, ROUND_HALF_UP)


@dataclasses.dataclass(frozen=True)
class AllowanceCharge:
    """A document-level allowance (a discount) or charge (``charge=True``), at one VAT rate."""

    amount: Decimal
    rate: Decimal = Decimal(21)
    reason: str = "Discount"
    charge: bool = False


DEFAULT_LINES = (Line("Leasing, monthly instalment", Decimal(1), Decimal("450.00")),)


def structured_communication(base: int) -> str:
    """The Belgian structured communication of a 10-digit ``base``: +++123/4567/89012+++."""
    digits = f"{base % 10**10:010d}"
    digits += ogm_vcs.calc_check_digits(digits)
    return f"+++{digits[:3]}/{digits[3:7]}/{digits[7:]}+++"


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT))


def _amount(tag: str, value: Decimal, currency: str) -> str:
    return f'<cbc:{tag} currencyID="{currency}">{_money(value)}</cbc:{tag}>'


def _rate_text(rate: Decimal) -> str:
    return str(rate.normalize()) if rate != rate.to_integral_value() else str(int(rate))


def _category(rate: Decimal) -> str:
    return "S" if rate > 0 else "Z"


def _tax_category(tag: str, rate: Decimal) -> str:
    return (
        f"<cac:{tag}><cbc:ID>{_category(rate)}</cbc:ID><cbc:Percent>{_rate_text(rate)}</cbc:Percent>"
        f"<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:{tag}>"
    )


def _party(
    *,
    endpoint: tuple[str, str],
    name: str,
    vat: str,
    street: str,
    city: str,
    zone: str,
    country: str,
    party_id: str = "",
) -> str:
    scheme, value = endpoint
    identification = (
        f"<cac:PartyIdentification><cbc:ID>{escape(party_id)}</cbc:ID></cac:PartyIdentification>"
        if party_id
        else ""
    )
    tax_scheme = (
        f"<cac:PartyTaxScheme><cbc:CompanyID>{escape(vat)}</cbc:CompanyID>"
        "<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>"
        if vat
        else ""
    )
    legal_id = (
        f'<cbc:CompanyID schemeID="{escape(scheme)}">{escape(value)}</cbc:CompanyID>'
        if scheme == "0208"
        else ""
    )
    return (
        f"<cac:Party><cbc:EndpointID schemeID={quoteattr(scheme)}>{escape(value)}</cbc:EndpointID>"
        f"{identification}<cac:PartyName><cbc:Name>{escape(name)}</cbc:Name></cac:PartyName>"
        f"<cac:PostalAddress><cbc:StreetName>{escape(street)}</cbc:StreetName><cbc:CityName>{escape(city)}"
        f"</cbc:CityName><cbc:PostalZone>{escape(zone)}</cbc:PostalZone><cac:Country><cbc:IdentificationCode>"
        f"{country}</cbc:IdentificationCode></cac:Country></cac:PostalAddress>{tax_scheme}"
        f"<cac:PartyLegalEntity><cbc:RegistrationName>{escape(name)}</cbc:RegistrationName>{legal_id}"
        "</cac:PartyLegalEntity></cac:Party>"
    )


def invoice_xml(
    *,
    number: str,
    seller_endpoint: tuple[str, str] = ("0208", "0403170701"),
    seller_vat: str = "BE0403170701",
    seller_name: str = "Aubépine Lease Services SA",
    buyer_reference: str = "100001",
    buyer_endpoint: tuple[str, str] = ("0208", "0477472701"),
    buyer_vat: str = "BE0477472701",
    buyer_name: str = "Schmidt Transport SRL",
    buyer_party_id: str = "",
    issue_date: datetime.date = datetime.date(2026, 10, 1),
    due_date: datetime.date | None = None,
    lines: Sequence[Line] = DEFAULT_LINES,
    allowances: Sequence[AllowanceCharge] = (),
    prepaid: Decimal = Decimal(0),
    credit_note: bool = False,
    pdf: bytes | None = None,
    pdf_name: str = "",
    payment_id: str | None = None,
    iban: str = "BE71096123456769",
    currency: str = "EUR",
    note: str = "",
) -> bytes:
    """One Peppol BIS 3 Invoice (or CreditNote) in UBL 2.1, valid against the XSD, totals consistent.

    ``due_date`` defaults to 30 days after ``issue_date`` (for a credit note it
    goes under the payment means, as Peppol wants).
    """
    if not lines:
        raise ValueError("a document has at least one line")
    due_date = due_date or issue_date + datetime.timedelta(days=30)
    root, line_tag, quantity_tag = (
        ("CreditNote", "CreditNoteLine", "CreditedQuantity")
        if credit_note
        else ("Invoice", "InvoiceLine", "InvoicedQuantity")
    )
    cur = escape(currency)

    # Totals (EN 16931): per VAT rate, the lines, minus allowances, plus charges; VAT rounded per rate.
    taxable: dict[Decimal, Decimal] = {}
    for line in lines:
        taxable[line.rate] = taxable.get(line.rate, Decimal(0)) + line.amount
    for item in allowances:
        taxable[item.rate] = taxable.get(item.rate, Decimal(0)) + (
            item.amount if item.charge else -item.amount
        )
    vat_by_rate = {rate: (base * rate / 100).quantize(CENT, ROUND_HALF_UP) for rate, base in taxable.items()}
    line_total = sum((line.amount for line in lines), Decimal(0))
    allowance_total = sum((a.amount for a in allowances if not a.charge), Decimal(0))
    charge_total = sum((a.amount for a in allowances if a.charge), Decimal(0))
    excl = line_total - allowance_total + charge_total
    vat = sum(vat_by_rate.values(), Decimal(0))
    incl = excl + vat
    payable = incl - prepaid

    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<{root} xmlns="urn:oasis:names:specification:ubl:schema:xsd:{root}-2" {NAMESPACES}>',
        f"<cbc:CustomizationID>{CUSTOMIZATION}</cbc:CustomizationID><cbc:ProfileID>{PROFILE}</cbc:ProfileID>",
        f"<cbc:ID>{escape(number)}</cbc:ID><cbc:IssueDate>{issue_date.isoformat()}</cbc:IssueDate>",
    ]
    if not credit_note:
        parts.append(
            f"<cbc:DueDate>{due_date.isoformat()}</cbc:DueDate><cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>"
        )
    else:
        parts.append("<cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>")
    if note:
        parts.append(f"<cbc:Note>{escape(note)}</cbc:Note>")
    parts.append(f"<cbc:DocumentCurrencyCode>{cur}</cbc:DocumentCurrencyCode>")
    if buyer_reference:
        parts.append(f"<cbc:BuyerReference>{escape(buyer_reference)}</cbc:BuyerReference>")
    if credit_note:
        parts.append(
            f"<cac:BillingReference><cac:InvoiceDocumentReference><cbc:ID>{escape(number)}-INV</cbc:ID>"
            "</cac:InvoiceDocumentReference></cac:BillingReference>"
        )
    if pdf is not None:
        name = pdf_name or f"{number}.pdf"
        parts.append(
            f"<cac:AdditionalDocumentReference><cbc:ID>{escape(number)}</cbc:ID><cac:Attachment>"
            f'<cbc:EmbeddedDocumentBinaryObject mimeCode="application/pdf" filename={quoteattr(name)}>'
            f"{base64.b64encode(pdf).decode('ascii')}</cbc:EmbeddedDocumentBinaryObject></cac:Attachment>"
            "</cac:AdditionalDocumentReference>"
        )
    parts.append(
        "<cac:AccountingSupplierParty>"
        + _party(
            endpoint=seller_endpoint,
            name=seller_name,
            vat=seller_vat,
            street="Rue de la Loi 16",
            city="Bruxelles",
            zone="1000",
            country="BE",
        )
        + "</cac:AccountingSupplierParty><cac:AccountingCustomerParty>"
        + _party(
            endpoint=buyer_endpoint,
            name=buyer_name,
            vat=buyer_vat,
            street="Meir 1",
            city="Antwerpen",
            zone="2000",
            country="BE",
            party_id=buyer_party_id,
        )
        + "</cac:AccountingCustomerParty>"
    )
    due = f"<cbc:PaymentDueDate>{due_date.isoformat()}</cbc:PaymentDueDate>" if credit_note else ""
    reference = f"<cbc:PaymentID>{escape(payment_id)}</cbc:PaymentID>" if payment_id else ""
    parts.append(
        f'<cac:PaymentMeans><cbc:PaymentMeansCode name="Credit transfer">30</cbc:PaymentMeansCode>{due}'
        f"{reference}<cac:PayeeFinancialAccount><cbc:ID>{escape(iban)}</cbc:ID></cac:PayeeFinancialAccount>"
        "</cac:PaymentMeans><cac:PaymentTerms><cbc:Note>Payment within 30 days</cbc:Note></cac:PaymentTerms>"
    )
    for item in allowances:
        parts.append(
            "<cac:AllowanceCharge>"
            f"<cbc:ChargeIndicator>{'true' if item.charge else 'false'}</cbc:ChargeIndicator>"
            f"<cbc:AllowanceChargeReason>{escape(item.reason)}</cbc:AllowanceChargeReason>"
            f"{_amount('Amount', item.amount, cur)}"
            f"{_tax_category('TaxCategory', item.rate)}</cac:AllowanceCharge>"
        )
    parts.append(f'<cac:TaxTotal><cbc:TaxAmount currencyID="{cur}">{_money(vat)}</cbc:TaxAmount>')
    for rate in sorted(taxable, reverse=True):
        parts.append(
            f"<cac:TaxSubtotal>{_amount('TaxableAmount', taxable[rate], cur)}"
            f"{_amount('TaxAmount', vat_by_rate[rate], cur)}"
            + _tax_category("TaxCategory", rate)
            + "</cac:TaxSubtotal>"
        )
    parts.append("</cac:TaxTotal>")
    totals = [
        _amount("LineExtensionAmount", line_total, cur),
        _amount("TaxExclusiveAmount", excl, cur),
        _amount("TaxInclusiveAmount", incl, cur),
        _amount("AllowanceTotalAmount", allowance_total, cur) if allowance_total else "",
        _amount("ChargeTotalAmount", charge_total, cur) if charge_total else "",
        _amount("PrepaidAmount", prepaid, cur) if prepaid else "",
        _amount("PayableAmount", payable, cur),
    ]
    parts.append(f"<cac:LegalMonetaryTotal>{''.join(totals)}</cac:LegalMonetaryTotal>")
    for index, line in enumerate(lines, start=1):
        parts.append(
            f"<cac:{line_tag}><cbc:ID>{index}</cbc:ID>"
            f'<cbc:{quantity_tag} unitCode="{escape(line.unit)}">{line.quantity}</cbc:{quantity_tag}>'
            f'<cbc:LineExtensionAmount currencyID="{cur}">{_money(line.amount)}</cbc:LineExtensionAmount>'
            f"<cac:Item><cbc:Name>{escape(line.description)}</cbc:Name>"
            f"{_tax_category('ClassifiedTaxCategory', line.rate)}</cac:Item>"
            f'<cac:Price><cbc:PriceAmount currencyID="{cur}">{line.price}</cbc:PriceAmount></cac:Price>'
            f"</cac:{line_tag}>"
        )
    parts.append(f"</{root}>\n")
    return "".join(parts).encode("utf-8")


_ITEMS = (
    "Leasing, monthly instalment",
    "Maintenance contract",
    "Replacement vehicle",
    "Tyres (set of 4)",
    "Fuel card fees",
    "Insurance premium",
    "Roadside assistance",
    "Books and publications",
    "Late payment interest",
    "Administrative fee",
)
_RATES = (Decimal(21), Decimal(21), Decimal(21), Decimal(6), Decimal(0))


def varied_invoice_xml(
    seed: int,
    *,
    number: str,
    buyer_reference: str,
    issue_date: datetime.date,
    pdf: bytes | None = None,
    **options: object,
) -> bytes:
    """A varied, valid document drawn from ``seed``: 1 to 10 lines at 21, 6 or 0 % VAT, sometimes an
    allowance or a charge, one in ten a credit note, half with a structured communication."""
    rng = random.Random(seed)  # noqa: S311 (test data, not secrets)
    lines = [
        Line(
            description=rng.choice(_ITEMS),
            quantity=Decimal(rng.randint(1, 12)),
            price=Decimal(rng.randint(100, 250_000)) / 100,
            rate=rng.choice(_RATES),
        )
        for _ in range(rng.randint(1, 10))
    ]
    allowances = []
    if rng.random() < 0.3:
        base = min(line.amount for line in lines)
        allowances.append(
            AllowanceCharge(
                amount=(base * Decimal(rng.randint(1, 20)) / 100).quantize(CENT),
                rate=lines[0].rate,
                reason=rng.choice(("Loyalty discount", "Volume discount")),
            )
        )
    if rng.random() < 0.15:
        allowances.append(
            AllowanceCharge(amount=Decimal("7.50"), rate=Decimal(21), reason="Handling", charge=True)
        )
    payment_id = structured_communication(seed * 7919 + 12345) if rng.random() < 0.5 else None
    return invoice_xml(
        number=number,
        buyer_reference=buyer_reference,
        issue_date=issue_date,
        due_date=issue_date + datetime.timedelta(days=rng.choice((15, 30, 60))),
        lines=lines,
        allowances=allowances,
        credit_note=rng.random() < 0.1,
        pdf=pdf,
        payment_id=payment_id,
        **options,  # type: ignore[arg-type]
    )
