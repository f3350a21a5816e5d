"""``services.document_add``: validation (nothing written on refusal), storage with SHA-256,
idempotency, conflicts, audit, and the announcement inside the document's transaction."""

import datetime
import hashlib
import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone, translation

from guichet.audit.models import AuditEvent
from guichet.documents.models import Document, DocumentKind, Invitation
from guichet.documents.services import DocumentError, DocumentErrorCode, document_add
from guichet.documents.testing import PDF, make_customer_number, make_issuer
from guichet.notifications.models import Message

pytestmark = pytest.mark.django_db

UBL = b'<?xml version="1.0"?><Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>'


@pytest.fixture
def number():
    return make_customer_number(email="Anna.Schmidt@Example.com", language="de")


def add(customer_number, /, **overrides):
    data = {
        "customer_number": customer_number,
        "kind": DocumentKind.INVOICE,
        "number": "F2026-000123",
        "issue_date": datetime.date(2026, 1, 15),
        "due_date": datetime.date(2026, 2, 14),
        "currency": "EUR",
        "amount_excl_vat": Decimal("100.00"),
        "vat": Decimal("21.00"),
        "amount_incl_vat": Decimal("121.00"),
        "amount_payable": Decimal("121.00"),
        "pdf": PDF,
    }
    return document_add(**{**data, **overrides})


def written() -> tuple[int, int, int, int]:
    return (
        Document.objects.count(),
        Invitation.objects.count(),
        Message.objects.count(),
        AuditEvent.objects.count(),
    )


def test_adds_the_document_with_its_files_and_audits_it(number):
    document = add(number, original=UBL, original_name="../in/F2026-000123.xml")

    document.refresh_from_db()
    assert (document.customer_number, document.issuer, document.kind) == (number, number.issuer, "invoice")
    assert (document.amount_excl_vat, document.vat, document.amount_incl_vat) == (
        Decimal("100.00"),
        Decimal("21.00"),
        Decimal("121.00"),
    )
    with document.pdf.open("rb") as handle:
        assert handle.read() == PDF
    with document.original.open("rb") as handle:
        assert handle.read() == UBL
    assert document.original_name == "F2026-000123.xml"
    assert document.original_sha256 == hashlib.sha256(UBL).hexdigest()
    event = AuditEvent.objects.get(action="documents.document_added")
    assert event.target_id == str(document.pk)
    assert event.details["original_sha256"] == hashlib.sha256(UBL).hexdigest()


def test_a_document_without_pdf_or_original_is_accepted(number):
    document = add(number, pdf=None, due_date=None)

    assert (document.pdf.name, document.original.name, document.original_sha256) == ("", "", "")
    assert document.due_date is None


def test_a_credit_note_may_have_a_payable_amount_of_zero(number):
    document = add(number, kind=DocumentKind.CREDIT_NOTE, number="C2026-1", amount_payable=Decimal("0"))

    assert document.kind == DocumentKind.CREDIT_NOTE
    assert document.amount_payable == Decimal("0.00")


def test_amounts_given_as_text_or_integers_are_stored_exactly(number):
    document = add(number, amount_excl_vat="100", vat=21, amount_incl_vat="121.0", amount_payable="60.50")

    assert (document.amount_excl_vat, document.amount_incl_vat, document.amount_payable) == (
        Decimal("100.00"),
        Decimal("121.00"),
        Decimal("60.50"),
    )


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"customer_number": None}, DocumentErrorCode.UNKNOWN_CUSTOMER_NUMBER, "customer_number"),
        ({"kind": "receipt"}, DocumentErrorCode.INVALID_KIND, "kind"),
        ({"number": "  "}, DocumentErrorCode.INVALID_NUMBER, "number"),
        ({"number": "F" * 65}, DocumentErrorCode.INVALID_NUMBER, "number"),
        ({"issue_date": "2026-01-15"}, DocumentErrorCode.INVALID_DATE, "issue_date"),
        (
            {"issue_date": datetime.datetime(2026, 1, 15, tzinfo=datetime.UTC)},
            DocumentErrorCode.INVALID_DATE,
            "issue_date",
        ),
        ({"due_date": datetime.date(2026, 1, 14)}, DocumentErrorCode.DUE_BEFORE_ISSUE, "due_date"),
        ({"currency": "EURO"}, DocumentErrorCode.INVALID_CURRENCY, "currency"),
        ({"currency": "XYZ"}, DocumentErrorCode.INVALID_CURRENCY, "currency"),
        ({"amount_excl_vat": 100.0}, DocumentErrorCode.INVALID_AMOUNT, "amount_excl_vat"),
        ({"vat": Decimal("21.001")}, DocumentErrorCode.INVALID_AMOUNT, "vat"),
        ({"vat": "twenty"}, DocumentErrorCode.INVALID_AMOUNT, "vat"),
        ({"vat": Decimal("NaN")}, DocumentErrorCode.INVALID_AMOUNT, "vat"),
        ({"amount_payable": Decimal("1E12")}, DocumentErrorCode.INVALID_AMOUNT, "amount_payable"),
        ({"amount_incl_vat": Decimal("120.99")}, DocumentErrorCode.TOTAL_MISMATCH, "amount_incl_vat"),
        ({"amount_payable": Decimal("122.00")}, DocumentErrorCode.PAYABLE_ABOVE_TOTAL, "amount_payable"),
        ({"amount_payable": Decimal("-1.00")}, DocumentErrorCode.NEGATIVE_AMOUNT, "amount_payable"),
        (
            {
                "kind": DocumentKind.CREDIT_NOTE,
                "amount_excl_vat": Decimal("-100"),
                "vat": Decimal("-21"),
                "amount_incl_vat": Decimal("-121"),
                "amount_payable": Decimal("-121"),
            },
            DocumentErrorCode.NEGATIVE_AMOUNT,
            "amount_incl_vat",
        ),
        ({"pdf": b"not a pdf"}, DocumentErrorCode.INVALID_PDF, "pdf"),
        ({"pdf": b""}, DocumentErrorCode.INVALID_PDF, "pdf"),
    ],
)
def test_bad_input_is_refused_with_its_code_and_nothing_is_written(number, overrides, code, field):
    before = written()

    with pytest.raises(DocumentError) as caught:
        add(number, **overrides)

    assert (caught.value.code, caught.value.field) == (code, field)
    assert written() == before


def test_a_negative_corrective_invoice_and_a_rounding_cent_are_accepted(number):
    negative = add(
        number,
        number="C-1",
        amount_excl_vat=Decimal("-100"),
        vat=Decimal("-21"),
        amount_incl_vat=Decimal("-121"),
        amount_payable=Decimal("-121"),
    )
    rounded = add(number, number="R-1", amount_payable=Decimal("121.01"))

    assert (negative.kind, negative.amount_incl_vat) == (DocumentKind.INVOICE, Decimal("-121.00"))
    assert rounded.amount_payable == Decimal("121.01")
    assert negative.announced_at is not None


def test_an_issue_date_in_the_future_is_refused(number):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)

    with pytest.raises(DocumentError) as caught:
        add(number, issue_date=tomorrow, due_date=None)

    assert caught.value.code == DocumentErrorCode.ISSUE_DATE_FUTURE
    assert written() == (0, 0, 0, 0)


def test_error_messages_are_translated():
    error = DocumentError(DocumentErrorCode.TOTAL_MISMATCH)
    with translation.override("en"):
        english = error.message
    with translation.override("fr"):
        french = error.message
    assert english == "The amount including VAT must equal the amount excluding VAT plus the VAT."
    assert french  # the catalogue may not have it yet; it never fails


def test_the_same_document_again_answers_the_existing_one_and_writes_nothing(number):
    first = add(number, original=UBL, original_name="F.xml")
    before = written()

    again = add(number, original=UBL, original_name="F.xml")

    assert again.pk == first.pk
    assert written() == before


@pytest.mark.parametrize(
    "change",
    [
        {"original": UBL + b" "},
        {"pdf": PDF + b"%"},
        {"amount_excl_vat": Decimal("99.00"), "vat": Decimal("22.00")},
        {"issue_date": datetime.date(2026, 1, 16)},
    ],
)
def test_the_same_number_with_other_content_is_refused(number, change):
    add(number, original=UBL)
    before = written()

    with pytest.raises(DocumentError) as caught:
        add(number, **{"original": UBL, **change})

    assert caught.value.code == DocumentErrorCode.NUMBER_CONFLICT
    assert written() == before


def test_the_same_number_for_another_customer_number_is_a_conflict(number):
    add(number)
    other = make_customer_number(issuer=number.issuer)

    with pytest.raises(DocumentError) as caught:
        add(other)

    assert caught.value.code == DocumentErrorCode.NUMBER_CONFLICT


def test_the_same_number_at_another_issuer_or_of_another_kind_is_another_document(number):
    add(number)
    other_issuer = make_customer_number(issuer=make_issuer(prefix="DL5", name="Aubépine Lease Belgium"))

    credit_note = add(number, kind=DocumentKind.CREDIT_NOTE)
    elsewhere = add(other_issuer)

    assert Document.objects.count() == 3
    assert credit_note.issuer == number.issuer
    assert elsewhere.issuer.prefix == "DL5"


def test_a_document_added_in_a_rolled_back_transaction_leaves_nothing(number):
    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        document = add(number, original=UBL)
        raise Rollback

    # No row, no invitation, no e-mail (the files stay as orphans: a later sweep may remove them).
    assert written() == (0, 0, 0, 0)
    assert document.pk is not None


def test_the_first_document_of_a_contact_without_account_sends_the_invitation(number):
    document = add(number)

    invitation = Invitation.objects.get()
    assert (invitation.customer_number, invitation.email, invitation.language) == (
        number,
        "anna.schmidt@example.com",
        "de",
    )
    message = Message.objects.get(template="documents_invitation")
    assert (message.recipient, message.language) == ("anna.schmidt@example.com", "de")
    assert document.number in message.body_text


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_document_added_twice_at_once_is_stored_once():
    number = make_customer_number()
    barrier = threading.Barrier(2)
    results: list = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(add(number).pk)
        except Exception as error:  # reported by the assertion below
            results.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Document.objects.count() == 1
    assert results == [Document.objects.get().pk] * 2
    assert Invitation.objects.count() == 1
