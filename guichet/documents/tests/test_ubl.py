"""guichet.documents.ubl: every Peppol BIS Billing 3.0 example of the shared test data read field by field;
refusals (broken XML, DOCTYPE/entities, another root, schema violations, each BR-CO totals rule, decimals,
currencies, structured communications, embedded PDFs, size) each reported with a precise detail; the
project's copy of the UBL 2.1 schemas is unmodified."""

import base64
import dataclasses
import datetime
import hashlib
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation
from pypdf import PdfWriter

from guichet.documents import ubl
from guichet.documents.ubl import Parsed, Party, UblError, UblErrorCode, VatLine

TESTDATA = Path(settings.BASE_DIR).parent / "shared" / "testdata"
PEPPOL = TESTDATA / "peppol-bis3"
SHARED_XSD = TESTDATA / "ubl-2.1-xsd"
CBC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}"


def example(name: str) -> bytes:
    path = PEPPOL / name
    if not PEPPOL.is_dir():
        pytest.skip(f"the shared Peppol examples are absent ({PEPPOL})")
    return path.read_bytes()


def mutate(content: bytes, old: bytes, new: bytes, count: int = 1) -> bytes:
    """``content`` with the first ``count`` occurrences of ``old`` replaced (which must be there)."""
    assert content.count(old) >= count, old
    return content.replace(old, new, count)


def refusal(content: bytes) -> tuple[UblErrorCode, str]:
    with pytest.raises(UblError) as caught:
        ubl.parse(content)
    return caught.value.code, caught.value.detail


def d(value: str) -> Decimal:
    return Decimal(value)


# --- The shared examples, field by field -----------------------------------------------------------

SELLER_BASE = Party(
    name="SupplierOfficialName Ltd",
    endpoint=("0088", "9482348239847239874"),
    party_ids=(("", "99887766"),),
    legal_id=("", "GB983294"),
    vat="GB1232434",
)
SELLER_GLN = dataclasses.replace(SELLER_BASE, endpoint=("0088", "7300010000001"))
BUYER_BASE = Party(
    name="Buyer Official Name",
    endpoint=("0002", "FR23342"),
    party_ids=(("0002", "FR23342"),),
    legal_id=("0183", "39937423947"),
    vat="SE4598375937",
)
SELLER_SMALL = Party(
    name="The Sellercompany Incorporated",
    endpoint=("0088", "7300010000001"),
    party_ids=(("", "7300010000001"),),
    legal_id=None,
    vat="GB928741974",
)
BUYER_SMALL = Party(
    name="The Buyercompany", endpoint=("0184", "12345678"), party_ids=(), legal_id=None, vat=""
)

BASE = Parsed(
    kind="invoice",
    type_code="380",
    number="Snippet1",
    issue_date=datetime.date(2017, 11, 13),
    due_date=datetime.date(2017, 12, 1),
    currency="EUR",
    amount_excl_vat=d("1325.00"),
    vat=d("331.25"),
    amount_incl_vat=d("1656.25"),
    amount_payable=d("1656.25"),
    vat_breakdown=(VatLine(category="S", rate=d("25"), taxable=d("1325.00"), vat=d("331.25")),),
    seller=SELLER_BASE,
    buyer=BUYER_BASE,
    buyer_reference="0150abc",
    payee_iban="IBAN32423940",
    payment_reference="Snippet1",
    pdf=None,
    pdf_name="",
)
SMALL_Z = Parsed(
    kind="invoice",
    type_code="380",
    number="Vat-Z",
    issue_date=datetime.date(2018, 8, 30),
    due_date=None,
    currency="GBP",
    amount_excl_vat=d("1200.00"),
    vat=d("0.00"),
    amount_incl_vat=d("1200.00"),
    amount_payable=d("1200.00"),
    vat_breakdown=(VatLine(category="Z", rate=d("0"), taxable=d("1200.00"), vat=d("0.00")),),
    seller=SELLER_SMALL,
    buyer=BUYER_SMALL,
    buyer_reference="test reference",
    payee_iban="SE1212341234123412",
    payment_reference="",
    pdf=None,
    pdf_name="",
)

EXPECTED = {
    "base-example.xml": BASE,
    # Same number and seller as base-example.xml: only the order reference differs.
    "sales-order-example.xml": BASE,
    "base-negative-inv-correction.xml": dataclasses.replace(
        BASE,
        number="Correction1",
        amount_excl_vat=d("-1325.00"),
        vat=d("-331.25"),
        amount_incl_vat=d("-1656.25"),
        amount_payable=d("-1656.25"),
        vat_breakdown=(VatLine(category="S", rate=d("25"), taxable=d("-1325.00"), vat=d("-331.25")),),
    ),
    # A credit note: no cbc:DueDate, and no PaymentMeans/PaymentDueDate in this one.
    "base-creditnote-correction.xml": dataclasses.replace(
        BASE, kind="credit_note", type_code="381", due_date=None
    ),
    # Two TaxTotals: the VAT is the one in EUR (the document currency), not the SEK one (9324.00);
    # document-level allowance 200 and charge 200, prepaid 1000.
    "Allowance-example.xml": dataclasses.replace(
        BASE,
        amount_excl_vat=d("5900.00"),
        vat=d("1225.00"),
        amount_incl_vat=d("7125.00"),
        amount_payable=d("6125.00"),
        vat_breakdown=(
            VatLine(category="S", rate=d("25"), taxable=d("4900.00"), vat=d("1225.00")),
            VatLine(category="E", rate=d("0"), taxable=d("1000.00"), vat=d("0.00")),
        ),
        seller=SELLER_GLN,
        buyer=dataclasses.replace(
            BUYER_BASE, endpoint=("0002", "4598375937"), party_ids=(("0002", "4598375937"),)
        ),
    ),
    "Vat-category-S.xml": dataclasses.replace(
        BASE,
        amount_excl_vat=d("7000.00"),
        vat=d("1550.00"),
        amount_incl_vat=d("8550.00"),
        amount_payable=d("8550.00"),
        vat_breakdown=(
            VatLine(category="S", rate=d("25"), taxable=d("5000.00"), vat=d("1250.00")),
            VatLine(category="S", rate=d("15"), taxable=d("2000.00"), vat=d("300.00")),
        ),
        seller=SELLER_GLN,
    ),
    "vat-category-Z.xml": SMALL_Z,
    # Same number "Vat-Z" and seller as vat-category-Z.xml (a copy-paste in the examples).
    "vat-category-E.xml": dataclasses.replace(
        SMALL_Z, vat_breakdown=(VatLine(category="E", rate=d("0"), taxable=d("1200.00"), vat=d("0.00")),)
    ),
    "vat-category-O.xml": dataclasses.replace(
        SMALL_Z,
        number="Vat-O",
        currency="SEK",
        amount_excl_vat=d("3200.00"),
        amount_incl_vat=d("3200.00"),
        amount_payable=d("3200.00"),
        vat_breakdown=(VatLine(category="O", rate=None, taxable=d("3200.00"), vat=d("0.00")),),
        seller=dataclasses.replace(SELLER_SMALL, vat=""),
        buyer=dataclasses.replace(BUYER_SMALL, endpoint=("0192", "987654325")),
    ),
    # A credit note with a second TaxTotal in SEK, the seller's second (non-VAT) tax scheme, and a
    # text/csv attachment (ignored: not a PDF).
    "snippets/Snippet-cn.xml": dataclasses.replace(
        BASE,
        kind="credit_note",
        type_code="381",
        due_date=None,
        amount_excl_vat=d("4000.00"),
        vat=d("1000.00"),
        amount_incl_vat=d("5000.00"),
        amount_payable=d("4000.00"),
        vat_breakdown=(VatLine(category="S", rate=d("25"), taxable=d("4000.00"), vat=d("1000.00")),),
        seller=SELLER_GLN,
        buyer=dataclasses.replace(BUYER_BASE, vat="SE459837593701"),
    ),
}


def test_every_shared_example_is_listed() -> None:
    example("base-example.xml")  # skips when absent
    files = {str(p.relative_to(PEPPOL)) for p in PEPPOL.rglob("*.xml")}
    assert files == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_shared_example_is_read_field_by_field(name: str) -> None:
    parsed = ubl.parse(example(name), name=name)

    expected = EXPECTED[name]
    for field in dataclasses.fields(Parsed):
        # repr: Decimal("1325.00") and Decimal("1325") are equal but not the same amount as written.
        assert repr(getattr(parsed, field.name)) == repr(getattr(expected, field.name)), field.name
    assert parsed == expected


def test_amounts_keep_their_two_decimals() -> None:
    parsed = ubl.parse(example("Allowance-example.xml"))

    # 5900 → 5900.00, 1225.00 stays, 4900.0 → 4900.00, 0 → 0.00
    assert str(parsed.amount_excl_vat) == "5900.00"
    assert str(parsed.vat) == "1225.00"
    assert [str(v.taxable) for v in parsed.vat_breakdown] == ["4900.00", "1000.00"]
    assert [str(v.vat) for v in parsed.vat_breakdown] == ["1225.00", "0.00"]
    assert [str(v.rate) for v in parsed.vat_breakdown] == ["25", "0"]


def test_a_credit_note_due_date_sits_under_the_payment_means() -> None:
    content = mutate(
        example("base-creditnote-correction.xml"),
        b"<cbc:PaymentID>Snippet1</cbc:PaymentID>",
        b"<cbc:PaymentDueDate>2017-12-15</cbc:PaymentDueDate><cbc:PaymentID>Snippet1</cbc:PaymentID>",
    )

    assert ubl.parse(content).due_date == datetime.date(2017, 12, 15)


def test_each_schema_is_built_once_per_process() -> None:
    ubl.parse(example("base-example.xml"))
    ubl.parse(example("base-creditnote-correction.xml"))
    before = ubl.schema.cache_info()

    ubl.parse(example("base-example.xml"))
    ubl.parse(example("base-creditnote-correction.xml"))

    after = ubl.schema.cache_info()
    assert after.misses == before.misses
    assert after.currsize == 2
    assert ubl.schema(ubl.INVOICE_TAG) is not ubl.schema(ubl.CREDIT_NOTE_TAG)


# --- Not XML, not safe, not UBL, not valid ----------------------------------------------------------


def test_broken_xml_is_refused_with_its_line() -> None:
    assert refusal(example("base-example.xml")[:500]) == (
        UblErrorCode.NOT_XML,
        "Premature end of data in tag ID line 7, line 7, column 14",
    )
    assert refusal(b"") == (UblErrorCode.NOT_XML, "Document is empty, line 1, column 1")


XXE = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE Invoice [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
    xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
    <cbc:ID>&xxe;</cbc:ID>
</Invoice>"""
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<lolz>&lol2;</lolz>"""


def test_a_doctype_or_an_entity_is_refused_before_parsing() -> None:
    assert refusal(XXE) == (UblErrorCode.DOCTYPE, "<!DOCTYPE or <!ENTITY")
    assert refusal(LAUGHS) == (UblErrorCode.DOCTYPE, "<!DOCTYPE or <!ENTITY")


def test_a_doctype_the_byte_scan_cannot_see_is_refused_after_parsing() -> None:
    utf16 = XXE.decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    assert b"<!DOCTYPE" not in utf16

    assert refusal(utf16) == (UblErrorCode.DOCTYPE, "<!DOCTYPE Invoice>")


def test_another_root_is_not_ubl() -> None:
    order = b'<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"><ID>1</ID></Order>'
    assert refusal(order) == (
        UblErrorCode.NOT_UBL,
        "root element {urn:oasis:names:specification:ubl:schema:xsd:Order-2}Order",
    )
    assert refusal(b"<Invoice/>") == (UblErrorCode.NOT_UBL, "root element Invoice")
    # An Invoice in the CreditNote namespace.
    wrong = b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"/>'
    assert refusal(wrong) == (
        UblErrorCode.NOT_UBL,
        "root element {urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2}Invoice",
    )


def test_a_renamed_element_fails_the_schema_with_its_line() -> None:
    content = mutate(
        example("base-example.xml"),
        b"<cbc:IssueDate>2017-11-13</cbc:IssueDate>",
        b"<cbc:IssuedDate>2017-11-13</cbc:IssuedDate>",
    )

    assert refusal(content) == (
        UblErrorCode.SCHEMA,
        f"line 8: Element '{CBC}IssuedDate': This element is not expected. Expected is one of "
        f"( {CBC}CopyIndicator, {CBC}UUID, {CBC}IssueDate ).",
    )


def test_a_removed_element_fails_the_schema() -> None:
    content = mutate(example("base-creditnote-correction.xml"), b"<cbc:ID>Snippet1</cbc:ID>\n", b"")

    assert refusal(content) == (
        UblErrorCode.SCHEMA,
        f"line 7: Element '{CBC}IssueDate': This element is not expected. Expected is one of "
        f"( {CBC}ProfileExecutionID, {CBC}ID ).",
    )


def test_an_unreadable_amount_or_date_fails_the_schema() -> None:
    content = mutate(
        example("base-example.xml"), b'"EUR">1656.25</cbc:PayableAmount>', b'"EUR">12,5</cbc:PayableAmount>'
    )
    assert refusal(content) == (
        UblErrorCode.SCHEMA,
        f"line 144: Element '{CBC}PayableAmount': '12,5' is not a valid value of the local atomic type.",
    )
    content = mutate(example("base-example.xml"), b">2017-11-13<", b">2017-02-30<")
    assert refusal(content) == (
        UblErrorCode.SCHEMA,
        f"line 8: Element '{CBC}IssueDate': '2017-02-30' is not a valid value of the atomic type 'xs:date'.",
    )


def test_fields_the_schema_leaves_optional_but_the_portal_needs_are_missing() -> None:
    base = example("base-example.xml")
    no_type = mutate(base, b"<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>", b"")
    assert refusal(no_type) == (UblErrorCode.MISSING, "cbc:InvoiceTypeCode")
    no_currency = mutate(base, b"<cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>", b"")
    assert refusal(no_currency) == (UblErrorCode.MISSING, "cbc:DocumentCurrencyCode")
    no_excl = mutate(base, b'<cbc:TaxExclusiveAmount currencyID="EUR">1325</cbc:TaxExclusiveAmount>', b"")
    assert refusal(no_excl) == (UblErrorCode.MISSING, "cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount")
    # The only TaxTotal is not in the document currency.
    usd = mutate(base, b'<cbc:TaxAmount currencyID="EUR">331.25', b'<cbc:TaxAmount currencyID="USD">331.25')
    assert refusal(usd) == (UblErrorCode.MISSING, "cac:TaxTotal/cbc:TaxAmount in EUR")


def test_more_than_two_decimals_or_another_currency_on_a_total_is_refused() -> None:
    base = example("base-example.xml")
    content = mutate(base, b'"EUR">1325</cbc:TaxExclusiveAmount>', b'"EUR">1325.001</cbc:TaxExclusiveAmount>')
    assert refusal(content) == (
        UblErrorCode.INVALID_VALUE,
        "LegalMonetaryTotal/TaxExclusiveAmount 1325.001 has more than 2 decimals",
    )
    content = mutate(
        base, b'<cbc:TaxableAmount currencyID="EUR">1325<', b'<cbc:TaxableAmount currencyID="EUR">1325.000<'
    )
    assert refusal(content) == (
        UblErrorCode.INVALID_VALUE,
        "TaxSubtotal/TaxableAmount 1325.000 has more than 2 decimals",
    )
    content = mutate(base, b'<cbc:PayableAmount currencyID="EUR">', b'<cbc:PayableAmount currencyID="USD">')
    assert refusal(content) == (
        UblErrorCode.INVALID_VALUE,
        "LegalMonetaryTotal/PayableAmount in 'USD', the document currency is EUR",
    )
    content = mutate(base, b">EUR</cbc:DocumentCurrencyCode>", b">euro</cbc:DocumentCurrencyCode>")
    assert refusal(content) == (UblErrorCode.INVALID_VALUE, "cbc:DocumentCurrencyCode 'euro'")


# --- EN 16931 totals --------------------------------------------------------------------------------


def test_br_co_10_line_extension_is_the_sum_of_the_lines() -> None:
    content = mutate(
        example("base-example.xml"),
        b'"EUR">2800</cbc:LineExtensionAmount>',
        b'"EUR">2700</cbc:LineExtensionAmount>',
    )

    assert refusal(content) == (
        UblErrorCode.TOTALS,
        "BR-CO-10: LineExtensionAmount 1300.00 ≠ Σ InvoiceLine/LineExtensionAmount 1200",
    )


def test_br_co_10_on_credit_note_lines() -> None:
    content = mutate(
        example("snippets/Snippet-cn.xml"),
        b'<cbc:LineExtensionAmount currencyID="EUR">4100.00<',
        b'<cbc:LineExtensionAmount currencyID="EUR">4099.99<',
    )

    assert refusal(content) == (
        UblErrorCode.TOTALS,
        "BR-CO-10: LineExtensionAmount 4100.00 ≠ Σ CreditNoteLine/LineExtensionAmount 4099.99",
    )


def test_br_co_11_allowance_total_is_the_sum_of_document_allowances() -> None:
    content = mutate(
        example("Allowance-example.xml"),
        b'Discount</cbc:AllowanceChargeReason>\n        <cbc:Amount currencyID="EUR">200<',
        b'Discount</cbc:AllowanceChargeReason>\n        <cbc:Amount currencyID="EUR">150<',
    )

    assert refusal(content) == (
        UblErrorCode.TOTALS,
        "BR-CO-11: AllowanceTotalAmount 200.00 ≠ Σ AllowanceCharge[ChargeIndicator=false]/Amount 150.00",
    )


def test_br_co_12_charge_total_is_the_sum_of_document_charges() -> None:
    content = mutate(
        example("base-example.xml"), b'<cbc:Amount currencyID="EUR">25<', b'<cbc:Amount currencyID="EUR">30<'
    )

    assert refusal(content) == (
        UblErrorCode.TOTALS,
        "BR-CO-12: ChargeTotalAmount 25.00 ≠ Σ AllowanceCharge[ChargeIndicator=true]/Amount 30.00",
    )


def test_br_co_12_a_missing_charge_total_counts_as_zero() -> None:
    content = mutate(
        example("base-example.xml"),
        b'<cbc:ChargeTotalAmount currencyID="EUR">25</cbc:ChargeTotalAmount>',
        b"",
    )

    assert refusal(content) == (
        UblErrorCode.TOTALS,
        "BR-CO-12: ChargeTotalAmount 0.00 ≠ Σ AllowanceCharge[ChargeIndicator=true]/Amount 25.00",
    )


def test_br_co_13_tax_exclusive_amount() -> None:
    content = mutate(
        example("base-example.xml"),
        b'"EUR">1325</cbc:TaxExclusiveAmount>',
        b'"EUR">1300</cbc:TaxExclusiveAmount>',
    )

    assert refusal(content) == (
        UblErrorCode.TOTALS,
        "BR-CO-13: TaxExclusiveAmount 1300.00 ≠ LineExtensionAmount 1300.00 - AllowanceTotalAmount 0.00 "
        "+ ChargeTotalAmount 25.00",
    )


def test_br_co_14_tax_amount_is_the_sum_of_the_subtotals() -> None:
    content = mutate(
        example("base-example.xml"),
        b'<cbc:TaxAmount currencyID="EUR">331.25</cbc:TaxAmount>\n            <cac:TaxCategory>',
        b'<cbc:TaxAmount currencyID="EUR">331.00</cbc:TaxAmount>\n            <cac:TaxCategory>',
    )

    assert refusal(content) == (
        UblErrorCode.TOTALS,
        "BR-CO-14: TaxAmount 331.25 ≠ Σ TaxSubtotal/TaxAmount 331.00",
    )


def test_br_co_15_tax_inclusive_amount() -> None:
    content = mutate(
        example("base-example.xml"), b'"EUR">331.25</cbc:TaxAmount>', b'"EUR">331</cbc:TaxAmount>', count=2
    )

    code, detail = refusal(content)

    assert (code, detail) == (
        UblErrorCode.TOTALS,
        "BR-CO-15: TaxInclusiveAmount 1656.25 ≠ TaxExclusiveAmount 1325.00 + TaxAmount 331.00",
    )
    with translation.override("en"):
        assert UblError(code, detail).message == (
            "The totals are not consistent: "
            "BR-CO-15: TaxInclusiveAmount 1656.25 ≠ TaxExclusiveAmount 1325.00 + TaxAmount 331.00"
        )


def test_br_co_16_payable_amount() -> None:
    content = mutate(
        example("base-example.xml"), b'"EUR">1656.25</cbc:PayableAmount>', b'"EUR">1600</cbc:PayableAmount>'
    )

    assert refusal(content) == (
        UblErrorCode.TOTALS,
        "BR-CO-16: PayableAmount 1600.00 ≠ TaxInclusiveAmount 1656.25 - PrepaidAmount 0.00 "
        "+ PayableRoundingAmount 0.00",
    )


def test_br_co_16_prepaid_amount() -> None:
    content = mutate(
        example("Allowance-example.xml"), b'"EUR">1000</cbc:PrepaidAmount>', b'"EUR">900</cbc:PrepaidAmount>'
    )

    assert refusal(content) == (
        UblErrorCode.TOTALS,
        "BR-CO-16: PayableAmount 6125.00 ≠ TaxInclusiveAmount 7125.00 - PrepaidAmount 900.00 "
        "+ PayableRoundingAmount 0.00",
    )


def test_a_payable_rounding_amount_is_added() -> None:
    content = mutate(
        example("base-example.xml"),
        b'<cbc:PayableAmount currencyID="EUR">1656.25</cbc:PayableAmount>',
        b'<cbc:PayableRoundingAmount currencyID="EUR">0.75</cbc:PayableRoundingAmount>'
        b'<cbc:PayableAmount currencyID="EUR">1657.00</cbc:PayableAmount>',
    )

    parsed = ubl.parse(content)

    assert parsed.amount_payable == Decimal("1657.00")
    assert parsed.amount_incl_vat == Decimal("1656.25")


# --- Payment reference: the Belgian structured communication ----------------------------------------


def check_digits(first_ten: str) -> str:
    """The mod-97 rule, written out independently of python-stdnum: 0 becomes 97."""
    return f"{int(first_ten) % 97 or 97:02d}"


def with_payment_id(value: str) -> bytes:
    return mutate(
        example("base-example.xml"),
        b"<cbc:PaymentID>Snippet1</cbc:PaymentID>",
        f"<cbc:PaymentID>{value}</cbc:PaymentID>".encode(),
    )


def test_the_check_digit_helper_is_the_belgian_rule() -> None:
    assert check_digits("0108068171") == "83"  # python-stdnum's own example: +++010/8068/17183+++
    assert check_digits("0000000097") == "97"  # remainder 0 → 97


@pytest.mark.parametrize(
    "written",
    [
        "+++010/8068/17183+++",
        "***010/8068/17183***",
        "010806817183",
        "010/8068/17183",
        "010 8068 17183",
        " +++ 010 / 8068 / 17183 +++ ",
    ],
)
def test_a_valid_structured_communication_is_formatted(written: str) -> None:
    assert ubl.parse(with_payment_id(written)).payment_reference == "+++010/8068/17183+++"


def test_a_built_structured_communication_with_a_remainder_of_zero() -> None:
    first_ten = "1234567890"
    first_ten = f"{int(first_ten) - int(first_ten) % 97:010d}"  # a multiple of 97: check digits 97
    digits = first_ten + check_digits(first_ten)
    assert digits == "123456788897"  # 1234567888 = 97 * 12727504

    parsed = ubl.parse(with_payment_id(digits))

    assert parsed.payment_reference == "+++123/4567/88897+++"


def test_a_structured_communication_with_a_wrong_check_is_refused() -> None:
    assert refusal(with_payment_id("+++010/8068/17180+++")) == (
        UblErrorCode.STRUCTURED_COMMUNICATION,
        "PaymentID +++010/8068/17180+++: check digits 80, expected 83",
    )
    assert refusal(with_payment_id("000000000000")) == (
        UblErrorCode.STRUCTURED_COMMUNICATION,
        "PaymentID 000000000000: check digits 00, expected 97",
    )


@pytest.mark.parametrize(
    "reference",
    ["Snippet1", "RF18539007547034", "12345678901", "1234567890123", "+++010/8068/1718A+++", "INV-2026/0001"],
)
def test_any_other_reference_is_kept_as_written(reference: str) -> None:
    assert ubl.payment_reference(reference) == reference
    assert ubl.parse(with_payment_id(reference)).payment_reference == reference


# --- Embedded PDF -----------------------------------------------------------------------------------


def a_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def attachment(data: bytes, *, mime: str = "application/pdf", filename: str = "Snippet1.pdf") -> bytes:
    encoded = base64.encodebytes(data).decode()  # wrapped at 76 characters, as mail and many tools do
    return (
        "    <cac:AdditionalDocumentReference>\n"
        "        <cbc:ID>Snippet1</cbc:ID>\n"
        "        <cac:Attachment>\n"
        f'            <cbc:EmbeddedDocumentBinaryObject mimeCode="{mime}" filename="{filename}">{encoded}'
        "</cbc:EmbeddedDocumentBinaryObject>\n"
        "        </cac:Attachment>\n"
        "    </cac:AdditionalDocumentReference>\n"
    ).encode()


def with_attachment(data: bytes, **options: str) -> bytes:
    # UBL order: AdditionalDocumentReference comes after BuyerReference, before AccountingSupplierParty.
    return mutate(
        example("base-example.xml"),
        b"    <cac:AccountingSupplierParty>",
        attachment(data, **options) + b"    <cac:AccountingSupplierParty>",
    )


def test_an_embedded_pdf_is_decoded() -> None:
    pdf = a_pdf()

    parsed = ubl.parse(with_attachment(pdf))

    assert parsed.pdf == pdf
    assert parsed.pdf_name == "Snippet1.pdf"
    assert dataclasses.replace(parsed, pdf=None, pdf_name="") == BASE


def test_the_pdf_is_found_after_a_csv_attachment_in_a_credit_note() -> None:
    pdf = a_pdf()
    content = mutate(
        example("snippets/Snippet-cn.xml"),
        b"    <cac:OriginatorDocumentReference>",
        attachment(pdf, filename="cn.pdf") + b"    <cac:OriginatorDocumentReference>",
    )

    parsed = ubl.parse(content)

    assert (parsed.pdf, parsed.pdf_name) == (pdf, "cn.pdf")


def test_an_attachment_that_is_not_a_pdf_is_ignored() -> None:
    parsed = ubl.parse(with_attachment(b"a;b\n1;2\n", mime="text/csv", filename="a.csv"))

    assert (parsed.pdf, parsed.pdf_name) == (None, "")


def test_an_attachment_announced_as_pdf_that_is_not_one_is_refused() -> None:
    assert refusal(with_attachment(b"<html>not a pdf</html>")) == (
        UblErrorCode.INVALID_VALUE,
        "the embedded PDF does not start with %PDF-",
    )


def test_an_attachment_out_of_the_ubl_order_fails_the_schema() -> None:
    content = mutate(
        example("base-example.xml"),
        b"    <cac:PaymentMeans>",
        attachment(a_pdf()) + b"    <cac:PaymentMeans>",
    )

    code, detail = refusal(content)

    assert code == UblErrorCode.SCHEMA
    assert detail.startswith(
        "line 99: Element '{urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2}"
        "AdditionalDocumentReference': This element is not expected."
    )


# --- Size -------------------------------------------------------------------------------------------


def test_a_file_above_the_configured_limit_is_refused_before_parsing(settings) -> None:
    settings.GUICHET_INTAKE_MAX_FILE_BYTES = 1000
    content = example("base-example.xml")

    assert refusal(content) == (UblErrorCode.TOO_LARGE, f"{len(content)} bytes, at most 1000")


def test_the_default_limit_is_20_mb(settings) -> None:
    if hasattr(settings, "GUICHET_INTAKE_MAX_FILE_BYTES"):
        del settings.GUICHET_INTAKE_MAX_FILE_BYTES

    assert ubl.max_file_bytes() == 20 * 1024 * 1024
    assert refusal(b" " * (20 * 1024 * 1024 + 1)) == (
        UblErrorCode.TOO_LARGE,
        "20971521 bytes, at most 20971520",
    )


def test_a_text_node_above_libxml2_limit_is_too_large() -> None:
    # An embedded "PDF" of 8 MB: 10.7 MB of base64 in one text node, above libxml2's 10 MB without huge_tree.
    content = with_attachment(b"%PDF-" + b"\0" * (8 * 1024 * 1024))

    code, detail = refusal(content)

    assert code == UblErrorCode.TOO_LARGE
    assert detail.startswith("Resource limit exceeded: Text node too long, try XML_PARSE_HUGE")


# --- The project's copy of the schemas ---------------------------------------------------------------

XSD_BLOBS = {
    "common/CCTS_CCT_SchemaModule-2.1.xsd": "5be7ba1d7ad7fe2c561ddc5918899a665d28c6b8",
    "common/UBL-CommonAggregateComponents-2.1.xsd": "53d2cef15cd2758f5b129c71029732ca7b2c3393",
    "common/UBL-CommonBasicComponents-2.1.xsd": "81179677e80ab19d095dc7f03f8128751cc626e5",
    "common/UBL-CommonExtensionComponents-2.1.xsd": "46c7a020e4924a6588522358e0988f364a208193",
    "common/UBL-CommonSignatureComponents-2.1.xsd": "39acb435cbc32f3a7acff42c257e2c7a37b69db7",
    "common/UBL-CoreComponentParameters-2.1.xsd": "1a80c1817259753529cbeb83049423451810d394",
    "common/UBL-ExtensionContentDataType-2.1.xsd": "94eb8cd99a431ed1db46f6e4853abfe4db238145",
    "common/UBL-QualifiedDataTypes-2.1.xsd": "d16047bad619a6339976ac1a299e705d8ea56034",
    "common/UBL-SignatureAggregateComponents-2.1.xsd": "5b4bd23e16b84d25f2b04080c5a6ff05545af7d2",
    "common/UBL-SignatureBasicComponents-2.1.xsd": "c04a945421363b5ba0256d9eecba334cc56da724",
    "common/UBL-UnqualifiedDataTypes-2.1.xsd": "96f97c1390482a2493851154b8617e6477d9f3e8",
    "common/UBL-XAdESv132-2.1.xsd": "aee01c262bf31d04d52698abc6c2bea83ed432b9",
    "common/UBL-XAdESv141-2.1.xsd": "4be919110f62acf15c8ae78a9f6b4c08079d8fbb",
    "common/UBL-xmldsig-core-schema-2.1.xsd": "3b06be385a38933409a30a68226c114351fb2638",
    "maindoc/UBL-CreditNote-2.1.xsd": "e4f2c7cfb12e8bf559a16906a4dbf7763f0fa08e",
    "maindoc/UBL-Invoice-2.1.xsd": "5d358c0aca52942015b54e840cc1059a1c44eba5",
}


def git_blob_hash(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def test_the_shipped_schemas_are_unmodified() -> None:
    shipped = {str(p.relative_to(ubl.XSD_DIR)) for p in ubl.XSD_DIR.rglob("*.xsd")}
    assert shipped == set(XSD_BLOBS)
    for name, blob in XSD_BLOBS.items():
        assert git_blob_hash((ubl.XSD_DIR / name).read_bytes()) == blob, name
    assert (ubl.XSD_DIR / "PROVENANCE.md").is_file()


def test_the_shipped_schemas_are_the_shared_ones() -> None:
    if not SHARED_XSD.is_dir():
        pytest.skip(f"the shared UBL 2.1 schemas are absent ({SHARED_XSD})")
    for name in XSD_BLOBS:
        assert (ubl.XSD_DIR / name).read_bytes() == (SHARED_XSD / name).read_bytes(), name
