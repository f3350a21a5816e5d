"""``intake``: every shared Peppol example imported field by field (alone, and all in one batch with
their number conflicts), generated invoices with their PDF beside / embedded / none, CSV manifests,
the issuer and customer-number rules, idempotency and conflicts, the deferred announcement (once,
even when its task runs twice), all-or-nothing chunks, and the worker pool."""

import datetime
import hashlib
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone, translation
from django_tasks_db.models import DBTaskResult

from guichet.audit.models import AuditEvent
from guichet.documents import intake, testing_ubl
from guichet.documents.intake import Item, Outcome
from guichet.documents.models import (
    CustomerNumberSource,
    Document,
    Invitation,
    Issuer,
    IssuerIdentifier,
)
from guichet.documents.tasks import announce_documents
from guichet.documents.testing import PDF, make_customer_number, make_issuer, make_recipient, pdf_bytes
from guichet.notifications.models import Message

pytestmark = pytest.mark.django_db

PEPPOL = Path(settings.BASE_DIR).parent / "shared" / "testdata" / "peppol-bis3"
TODAY = timezone.localdate()
ISSUED = TODAY - datetime.timedelta(days=3)

# name, issuer, kind, number, issue, due, excl, VAT, incl, payable, IBAN, reference, VAT breakdown,
# seller, seller VAT, buyer, buyer VAT, customer number.
EXAMPLES = [
    (
        "Allowance-example.xml",
        "GLN",
        "invoice",
        "Snippet1",
        "2017-11-13",
        "2017-12-01",
        "5900.00",
        "1225.00",
        "7125.00",
        "6125.00",
        "IBAN32423940",
        "Snippet1",
        [("S", "25", "4900.00", "1225.00"), ("E", "0", "1000.00", "0.00")],
        "SupplierOfficialName Ltd",
        "GB1232434",
        "Buyer Official Name",
        "SE4598375937",
        "0150abc",
    ),
    (
        "Vat-category-S.xml",
        "GLN",
        "invoice",
        "Snippet1",
        "2017-11-13",
        "2017-12-01",
        "7000.00",
        "1550.00",
        "8550.00",
        "8550.00",
        "IBAN32423940",
        "Snippet1",
        [("S", "25", "5000.00", "1250.00"), ("S", "15", "2000.00", "300.00")],
        "SupplierOfficialName Ltd",
        "GB1232434",
        "Buyer Official Name",
        "SE4598375937",
        "0150abc",
    ),
    (
        "base-creditnote-correction.xml",
        "SUP",
        "credit_note",
        "Snippet1",
        "2017-11-13",
        None,
        "1325.00",
        "331.25",
        "1656.25",
        "1656.25",
        "IBAN32423940",
        "Snippet1",
        [("S", "25", "1325.00", "331.25")],
        "SupplierOfficialName Ltd",
        "GB1232434",
        "Buyer Official Name",
        "SE4598375937",
        "0150abc",
    ),
    (
        "base-example.xml",
        "SUP",
        "invoice",
        "Snippet1",
        "2017-11-13",
        "2017-12-01",
        "1325.00",
        "331.25",
        "1656.25",
        "1656.25",
        "IBAN32423940",
        "Snippet1",
        [("S", "25", "1325.00", "331.25")],
        "SupplierOfficialName Ltd",
        "GB1232434",
        "Buyer Official Name",
        "SE4598375937",
        "0150abc",
    ),
    (
        "base-negative-inv-correction.xml",
        "SUP",
        "invoice",
        "Correction1",
        "2017-11-13",
        "2017-12-01",
        "-1325.00",
        "-331.25",
        "-1656.25",
        "-1656.25",
        "IBAN32423940",
        "Snippet1",
        [("S", "25", "-1325.00", "-331.25")],
        "SupplierOfficialName Ltd",
        "GB1232434",
        "Buyer Official Name",
        "SE4598375937",
        "0150abc",
    ),
    (
        "sales-order-example.xml",
        "SUP",
        "invoice",
        "Snippet1",
        "2017-11-13",
        "2017-12-01",
        "1325.00",
        "331.25",
        "1656.25",
        "1656.25",
        "IBAN32423940",
        "Snippet1",
        [("S", "25", "1325.00", "331.25")],
        "SupplierOfficialName Ltd",
        "GB1232434",
        "Buyer Official Name",
        "SE4598375937",
        "0150abc",
    ),
    (
        "snippets/Snippet-cn.xml",
        "GLN",
        "credit_note",
        "Snippet1",
        "2017-11-13",
        None,
        "4000.00",
        "1000.00",
        "5000.00",
        "4000.00",
        "IBAN32423940",
        "Snippet1",
        [("S", "25", "4000.00", "1000.00")],
        "SupplierOfficialName Ltd",
        "GB1232434",
        "Buyer Official Name",
        "SE459837593701",
        "0150abc",
    ),
    (
        "vat-category-E.xml",
        "GLN",
        "invoice",
        "Vat-Z",
        "2018-08-30",
        None,
        "1200.00",
        "0.00",
        "1200.00",
        "1200.00",
        "SE1212341234123412",
        "",
        [("E", "0", "1200.00", "0.00")],
        "The Sellercompany Incorporated",
        "GB928741974",
        "The Buyercompany",
        "",
        "test reference",
    ),
    (
        "vat-category-O.xml",
        "GLN",
        "invoice",
        "Vat-O",
        "2018-08-30",
        None,
        "3200.00",
        "0.00",
        "3200.00",
        "3200.00",
        "SE1212341234123412",
        "",
        [("O", "", "3200.00", "0.00")],
        "The Sellercompany Incorporated",
        "",
        "The Buyercompany",
        "",
        "test reference",
    ),
    (
        "vat-category-Z.xml",
        "GLN",
        "invoice",
        "Vat-Z",
        "2018-08-30",
        None,
        "1200.00",
        "0.00",
        "1200.00",
        "1200.00",
        "SE1212341234123412",
        "",
        [("Z", "0", "1200.00", "0.00")],
        "The Sellercompany Incorporated",
        "GB928741974",
        "The Buyercompany",
        "",
        "test reference",
    ),
]


CURRENCIES = {"vat-category-E.xml": "GBP", "vat-category-Z.xml": "GBP", "vat-category-O.xml": "SEK"}


def run(*paths: Path, jobs: int = 1, chunk_size: int | None = None) -> list[Item]:
    items: list[Item] = []
    totals = intake.paths_import(paths=list(paths), on_item=items.append, jobs=jobs, chunk_size=chunk_size)
    assert totals.total == len(items)
    return items


def outcomes(items: list[Item], root: Path | None = None) -> list[tuple[str, str, str]]:
    def name(label: str) -> str:
        return str(Path(label).relative_to(root)) if root and label.startswith(str(root)) else label

    return [(name(item.file), str(item.outcome), item.reason) for item in items]


@pytest.fixture
def peppol() -> Path:
    if not PEPPOL.is_dir():
        pytest.skip(f"the shared Peppol examples are absent ({PEPPOL})")
    return PEPPOL


@pytest.fixture
def examples_issuers() -> dict[str, Issuer]:
    """The sellers of the Peppol examples, as two issuers whose rule reads cbc:BuyerReference."""
    sup = make_issuer(prefix="SUP", name="SupplierOfficialName")
    gln = make_issuer(prefix="GLN", name="Seller by GLN")
    IssuerIdentifier.objects.create(issuer=sup, scheme="0088", value="9482348239847239874")
    IssuerIdentifier.objects.create(issuer=gln, scheme="0088", value="7300010000001")
    make_customer_number(issuer=sup, number="0150abc")
    make_customer_number(issuer=gln, number="0150abc")
    make_customer_number(issuer=gln, number="test reference")
    return {"SUP": sup, "GLN": gln}


@pytest.fixture
def dl2() -> Issuer:
    """A Belgian issuer known by its Peppol ID (0208) and VAT; customer numbers in BuyerReference."""
    issuer = make_issuer(prefix="DL2", name="Aubépine Lease Services")
    IssuerIdentifier.objects.create(issuer=issuer, scheme="0208", value="0403170701")
    IssuerIdentifier.objects.create(issuer=issuer, scheme="VAT", value="BE0403170701")
    return issuer


@pytest.fixture
def anna(dl2):
    account = make_recipient(email="anna.schmidt@example.com", language="de")
    return make_customer_number(issuer=dl2, number="100001", account=account)


def write(folder: Path, name: str, content: bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def stored(file) -> bytes:
    with file.open("rb") as handle:
        return handle.read()


def media_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "documents"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def clean_media():
    shutil.rmtree(Path(settings.MEDIA_ROOT) / "documents", ignore_errors=True)
    yield
    shutil.rmtree(Path(settings.MEDIA_ROOT) / "documents", ignore_errors=True)


# --- The shared Peppol examples ------------------------------------------------------------------


def test_every_shared_example_is_in_the_table(peppol) -> None:
    assert sorted(str(p.relative_to(peppol)) for p in peppol.rglob("*.xml")) == sorted(e[0] for e in EXAMPLES)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_each_shared_example_imports_field_by_field(peppol, examples_issuers, example) -> None:
    name, prefix, kind, number, issued, due, excl, vat, incl, payable, iban, reference, breakdown = example[
        :13
    ]
    seller, seller_vat, buyer, buyer_vat, customer_number = example[13:]
    content = (peppol / name).read_bytes()

    items = run(peppol / name)

    document = Document.objects.get()
    assert items == [Item(str(peppol / name), Outcome.IMPORTED, "", document.pk)]
    assert (document.issuer.prefix, document.customer_number.number) == (prefix, customer_number)
    assert (document.kind, document.number) == (kind, number)
    assert document.issue_date == datetime.date.fromisoformat(issued)
    assert document.due_date == (datetime.date.fromisoformat(due) if due else None)
    assert (document.currency, document.amount_excl_vat, document.vat) == (
        CURRENCIES.get(name, "EUR"),
        Decimal(excl),
        Decimal(vat),
    )
    assert (document.amount_incl_vat, document.amount_payable) == (Decimal(incl), Decimal(payable))
    assert (document.payee_iban, document.payment_reference) == (iban, reference)
    assert document.vat_breakdown == [
        {"category": c, "rate": r, "taxable": t, "vat": v} for c, r, t, v in breakdown
    ]
    assert (document.seller_name, document.seller_vat) == (seller, seller_vat)
    assert (document.buyer_name, document.buyer_vat) == (buyer, buyer_vat)
    assert stored(document.original) == content
    assert document.original_sha256 == hashlib.sha256(content).hexdigest()
    assert document.original_name == Path(name).name
    assert not document.pdf and document.announced_at is None


@pytest.mark.parametrize("chunk_size", [200, 1], ids=["one chunk", "a chunk per file"])
def test_all_shared_examples_in_one_batch_store_the_first_of_each_number(
    peppol, examples_issuers, chunk_size
) -> None:
    items = run(peppol, chunk_size=chunk_size)

    conflict = "Number already used with other content."
    assert outcomes(items, peppol) == [
        ("Allowance-example.xml", "imported", ""),
        ("Vat-category-S.xml", "refused", conflict),
        ("base-creditnote-correction.xml", "imported", ""),
        ("base-example.xml", "imported", ""),
        ("base-negative-inv-correction.xml", "imported", ""),
        ("sales-order-example.xml", "refused", conflict),
        ("snippets/Snippet-cn.xml", "imported", ""),
        ("vat-category-E.xml", "imported", ""),
        ("vat-category-O.xml", "imported", ""),
        ("vat-category-Z.xml", "refused", conflict),
    ]
    assert sorted(Document.objects.values_list("issuer__prefix", "kind", "number", "original_name")) == [
        ("GLN", "credit_note", "Snippet1", "Snippet-cn.xml"),
        ("GLN", "invoice", "Snippet1", "Allowance-example.xml"),
        ("GLN", "invoice", "Vat-O", "vat-category-O.xml"),
        ("GLN", "invoice", "Vat-Z", "vat-category-E.xml"),
        ("SUP", "credit_note", "Snippet1", "base-creditnote-correction.xml"),
        ("SUP", "invoice", "Correction1", "base-negative-inv-correction.xml"),
        ("SUP", "invoice", "Snippet1", "base-example.xml"),
    ]


def test_the_same_batch_again_is_already_imported_and_writes_nothing(peppol, examples_issuers) -> None:
    run(peppol)
    events, tasks, files = AuditEvent.objects.count(), DBTaskResult.objects.count(), media_files()

    items = run(peppol)

    assert [item.outcome for item in items].count(Outcome.ALREADY) == 7
    assert [item.outcome for item in items].count(Outcome.REFUSED) == 3
    assert Document.objects.count() == 7
    assert (AuditEvent.objects.count(), DBTaskResult.objects.count(), media_files()) == (events, tasks, files)


# --- Generated invoices: the PDF, the fields, the chunk's audit event and task -------------------------


def test_a_pdf_beside_the_ubl_is_kept_with_it(tmp_path, anna) -> None:
    other_pdf = pdf_bytes() + b"\n% beside"
    content = testing_ubl.invoice_xml(number="F2026-0001", issue_date=ISSUED)
    write(tmp_path, "F2026-0001.xml", content)
    write(tmp_path, "F2026-0001.pdf", other_pdf)

    items = run(tmp_path)

    document = Document.objects.get()
    assert items == [Item(str(tmp_path / "F2026-0001.xml"), Outcome.IMPORTED, "", document.pk)]
    assert stored(document.pdf) == other_pdf and stored(document.original) == content


def test_an_embedded_pdf_wins_over_one_beside(tmp_path, anna) -> None:
    embedded = pdf_bytes() + b"\n% embedded"
    write(tmp_path, "a.xml", testing_ubl.invoice_xml(number="F1", issue_date=ISSUED, pdf=embedded))
    write(tmp_path, "a.pdf", PDF)

    run(tmp_path)

    assert stored(Document.objects.get().pdf) == embedded


def test_without_pdf_the_document_has_none(tmp_path, anna) -> None:
    write(tmp_path, "a.xml", testing_ubl.invoice_xml(number="F1", issue_date=ISSUED))

    run(tmp_path)

    assert not Document.objects.get().pdf


def test_the_fields_of_a_generated_credit_note(tmp_path, anna) -> None:
    reference = testing_ubl.structured_communication(1234567890)
    lines = [
        testing_ubl.Line("Tyres", Decimal(4), Decimal("125.50"), Decimal(21)),
        testing_ubl.Line("Books", Decimal(2), Decimal("10.00"), Decimal(6)),
        testing_ubl.Line("Export", Decimal(1), Decimal("99.99"), Decimal(0)),
    ]
    allowance = testing_ubl.AllowanceCharge(Decimal("2.00"), Decimal(6), "Discount")
    content = testing_ubl.invoice_xml(
        number="C2026-7",
        issue_date=ISSUED,
        lines=lines,
        allowances=[allowance],
        credit_note=True,
        payment_id=reference,
    )
    write(tmp_path, "c.xml", content)

    run(tmp_path)

    document = Document.objects.get()
    assert (document.kind, document.number, document.customer_number) == ("credit_note", "C2026-7", anna)
    assert (document.issue_date, document.due_date) == (ISSUED, ISSUED + datetime.timedelta(days=30))
    assert (document.amount_excl_vat, document.vat) == (Decimal("619.99"), Decimal("106.50"))
    assert (document.amount_incl_vat, document.amount_payable) == (Decimal("726.49"), Decimal("726.49"))
    assert document.vat_breakdown == [
        {"category": "S", "rate": "21", "taxable": "502.00", "vat": "105.42"},
        {"category": "S", "rate": "6", "taxable": "18.00", "vat": "1.08"},
        {"category": "Z", "rate": "0", "taxable": "99.99", "vat": "0.00"},
    ]
    assert (document.payment_reference, document.payee_iban) == ("+++123/4567/89002+++", "BE71096123456769")
    assert (document.seller_name, document.seller_vat) == ("Aubépine Lease Services SA", "BE0403170701")
    assert (document.buyer_name, document.buyer_vat) == ("Schmidt Transport SRL", "BE0477472701")


def test_a_chunk_has_one_audit_event_and_one_announcement_task(tmp_path, anna) -> None:
    for n in range(5):
        write(tmp_path, f"F{n}.xml", testing_ubl.invoice_xml(number=f"F{n}", issue_date=ISSUED))

    items = run(tmp_path, chunk_size=3)

    ids = [item.document for item in items]
    event_details = [
        e.details for e in AuditEvent.objects.filter(action="documents.imported").order_by("seq")
    ]
    assert [(d["count"], d["issuers"], d["client"]) for d in event_details] == [
        (3, ["DL2"], ""),
        (2, ["DL2"], ""),
    ]
    sha = {d.number: d.original_sha256 for d in Document.objects.all()}
    assert event_details[0]["documents"] == [["DL2", "invoice", f"F{n}", sha[f"F{n}"]] for n in range(3)]
    tasks = DBTaskResult.objects.order_by("enqueued_at")
    assert [(t.task_path, t.args_kwargs["args"]) for t in tasks] == [
        ("guichet.documents.tasks.announce_documents", [ids[:3]]),
        ("guichet.documents.tasks.announce_documents", [ids[3:]]),
    ]
    assert not Message.objects.exists()  # nothing told before the task runs


# --- Issuer and customer number ------------------------------------------------------------------


def test_an_unknown_seller_is_reported(tmp_path, anna) -> None:
    write(
        tmp_path,
        "x.xml",
        testing_ubl.invoice_xml(
            number="F1", issue_date=ISSUED, seller_endpoint=("0208", "0999999999"), seller_vat=""
        ),
    )

    items = run(tmp_path)

    assert outcomes(items, tmp_path) == [
        ("x.xml", "refused", "Unknown seller (0208:0999999999, LEGAL:0999999999).")
    ]
    assert not Document.objects.exists()


def test_the_seller_is_also_found_by_its_vat_number(tmp_path, anna) -> None:
    write(
        tmp_path,
        "x.xml",
        testing_ubl.invoice_xml(number="F1", issue_date=ISSUED, seller_endpoint=("9925", "BE0403.170.701")),
    )

    assert [item.outcome for item in run(tmp_path)] == [Outcome.IMPORTED]


def test_an_unknown_customer_number_is_reported_not_guessed(tmp_path, anna) -> None:
    write(
        tmp_path, "x.xml", testing_ubl.invoice_xml(number="F1", issue_date=ISSUED, buyer_reference="999999")
    )

    items = run(tmp_path)

    assert outcomes(items, tmp_path) == [("x.xml", "refused", "Unknown customer number 999999 for DL2.")]
    assert not Document.objects.exists()


def test_the_issuer_rule_picks_the_buyer_identifier_and_pattern(tmp_path, dl2) -> None:
    number = make_customer_number(issuer=dl2, number="482913")
    Issuer.objects.filter(pk=dl2.pk).update(
        customer_number_source=CustomerNumberSource.BUYER_PARTY_ID, customer_number_pattern=r"^CUST-(\d+)$"
    )
    write(
        tmp_path,
        "x.xml",
        testing_ubl.invoice_xml(
            number="F1", issue_date=ISSUED, buyer_reference="PO-77", buyer_party_id="CUST-482913"
        ),
    )
    write(tmp_path, "y.xml", testing_ubl.invoice_xml(number="F2", issue_date=ISSUED, buyer_party_id="X-1"))

    items = run(tmp_path)

    assert outcomes(items, tmp_path) == [
        ("x.xml", "imported", ""),
        (
            "y.xml",
            "refused",
            "No customer number found (Buyer identifier (cac:PartyIdentification)) for DL2.",
        ),
    ]
    assert Document.objects.get().customer_number == number


def test_a_document_refused_by_document_add_rules_is_reported(tmp_path, anna) -> None:
    future = TODAY + datetime.timedelta(days=5)
    write(tmp_path, "x.xml", testing_ubl.invoice_xml(number="F1", issue_date=future))

    items = run(tmp_path)

    assert outcomes(items, tmp_path) == [
        ("x.xml", "refused", "issue_date: The issue date cannot be in the future.")
    ]


# --- Idempotency and conflicts -------------------------------------------------------------------


def test_the_same_document_twice_is_stored_once(tmp_path, anna) -> None:
    content = testing_ubl.invoice_xml(number="F1", issue_date=ISSUED, pdf=PDF)
    write(tmp_path, "a/F1.xml", content)
    write(tmp_path, "b/F1.xml", content)

    items = run(tmp_path)
    again = run(tmp_path / "a")

    document = Document.objects.get()
    assert outcomes(items, tmp_path) == [("a/F1.xml", "imported", ""), ("b/F1.xml", "already imported", "")]
    assert [item.document for item in items + again] == [document.pk] * 3
    assert again[0].outcome == Outcome.ALREADY
    assert len(media_files()) == 2  # one PDF, one original


def test_the_same_number_with_other_content_is_refused(tmp_path, anna) -> None:
    write(tmp_path, "a/F1.xml", testing_ubl.invoice_xml(number="F1", issue_date=ISSUED))
    write(tmp_path, "b/F1.xml", testing_ubl.invoice_xml(number="F1", issue_date=ISSUED, note="changed"))

    first = run(tmp_path / "a")
    second = run(tmp_path / "b")
    both = run(tmp_path)

    assert [i.outcome for i in first + second] == [Outcome.IMPORTED, Outcome.REFUSED]
    assert second[0].reason == "Number already used with other content."
    assert [i.outcome for i in both] == [Outcome.ALREADY, Outcome.REFUSED]
    assert Document.objects.count() == 1


def test_a_broken_file_does_not_stop_the_batch(tmp_path, anna) -> None:
    write(tmp_path, "1.xml", testing_ubl.invoice_xml(number="F1", issue_date=ISSUED))
    write(tmp_path, "2.xml", b"<Invoice><broken>")
    write(tmp_path, "3.xml", testing_ubl.invoice_xml(number="F3", issue_date=ISSUED))

    items = run(tmp_path)

    assert [(Path(i.file).name, i.outcome) for i in items] == [
        ("1.xml", Outcome.IMPORTED),
        ("2.xml", Outcome.REFUSED),
        ("3.xml", Outcome.IMPORTED),
    ]
    assert items[1].reason.startswith("The file is not well-formed XML: ")


# --- CSV manifests -------------------------------------------------------------------------------

MANIFEST_HEADER = (
    "issuer;customer_number;type;number;issue_date;due_date;currency;amount_excl_vat;vat;"
    "amount_incl_vat;amount_payable;pdf;payment_reference\n"
)


def test_a_manifest_imports_its_good_lines_and_reports_each_bad_one(tmp_path, anna) -> None:
    d = ISSUED.isoformat()
    good_ref = testing_ubl.structured_communication(1234567890)
    write(tmp_path, "pdf/one.pdf", PDF)
    write(tmp_path, "two.pdf", pdf_bytes() + b"\n% two")
    manifest = (
        "\ufeff"
        + MANIFEST_HEADER
        + "".join(
            [
                f"DL2;100001;invoice;M-1;{d};;EUR;100.00;21.00;121.00;121.00;pdf/one.pdf;{good_ref}\n",
                f"DL2;100001;credit_note;M-2;{d};{d};EUR;10;0.60;10.60;10.60;two.pdf;\n",
                "DL2;100001;invoice;M-3;2026-13-01;;EUR;100.00;21.00;121.00;121.00;two.pdf;\n",
                f"DL2;999999;invoice;M-4;{d};;EUR;100.00;21.00;121.00;121.00;two.pdf;\n",
                f"DL2;100001;invoice;M-5;{d};;EUR;100.00;21.00;121.00;121.00;missing.pdf;\n",
                f"DL2;100001;invoice;M-6;{d};;EUR;100.00;21.00;121.00;121.00;two.pdf;+++123/4567/89012+++\n",
                f"XX9;100001;invoice;M-7;{d};;EUR;100.00;21.00;121.00;121.00;two.pdf;\n",
                f"DL2;100001;invoice;M-8;{d};;EUR;100.00;21.00;120.00;120.00;two.pdf;\n",
                f"DL2;100001;invoice;M-9;{d};;EUR;100.00\n",
                f"DL2;100001;invoice;M-10;{d};;EUR;100.00;21.00;121.00;121.00;../two.pdf;\n",
                "\n",
                f"DL2;100001;invoice;M-1;{d};;EUR;100.00;21.00;121.00;121.00;pdf/one.pdf;{good_ref}\n",
            ]
        )
    )
    write(tmp_path, "batch.csv", manifest.encode("utf-8"))

    items = run(tmp_path / "batch.csv")

    docs = {d.number: d for d in Document.objects.all()}
    assert outcomes(items, tmp_path) == [
        ("batch.csv:2", "imported", ""),
        ("batch.csv:3", "imported", ""),
        ("batch.csv:4", "refused", "issue_date: Enter a valid date."),
        ("batch.csv:5", "refused", "Unknown customer number 999999 for DL2."),
        ("batch.csv:6", "refused", "pdf: missing.pdf does not exist."),
        (
            "batch.csv:7",
            "refused",
            "The structured communication is not valid: PaymentID +++123/4567/89012+++: check digits 12, "
            "expected 02",
        ),
        ("batch.csv:8", "refused", "issuer: unknown issuer XX9."),
        (
            "batch.csv:9",
            "refused",
            "amount_incl_vat: The amount including VAT must equal the amount excluding VAT plus the VAT.",
        ),
        ("batch.csv:10", "refused", "Expected 13 columns, found 8."),
        ("batch.csv:11", "refused", "pdf: ../two.pdf must be in the manifest's folder."),
        ("batch.csv:13", "already imported", ""),
    ]
    assert sorted(docs) == ["M-1", "M-2"]
    assert (docs["M-1"].payment_reference, stored(docs["M-1"].pdf)) == ("+++123/4567/89002+++", PDF)
    assert (docs["M-2"].kind, docs["M-2"].amount_incl_vat, docs["M-2"].due_date) == (
        "credit_note",
        Decimal("10.60"),
        ISSUED,
    )
    assert not docs["M-2"].original and docs["M-2"].original_sha256 == ""


def test_a_comma_manifest_without_bom_and_the_optional_column(tmp_path, anna) -> None:
    write(tmp_path, "one.pdf", PDF)
    header = MANIFEST_HEADER.replace(";payment_reference", "").replace(";", ",")
    line = f'DL2,100001,invoice,"M,1",{ISSUED},,EUR,100.00,21.00,121.00,121.00,one.pdf\n'
    write(tmp_path, "m.csv", (header + line).encode())

    items = run(tmp_path / "m.csv")

    assert outcomes(items, tmp_path) == [("m.csv:2", "imported", "")]
    assert Document.objects.get().number == "M,1"


def test_a_manifest_with_a_bad_header_is_one_refused_item(tmp_path, anna) -> None:
    write(tmp_path, "m.csv", b"issuer;number;colour\nDL2;1;red\n")

    items = run(tmp_path / "m.csv")

    assert len(items) == 1 and items[0].outcome == Outcome.REFUSED
    assert items[0].reason.startswith("Not a document manifest: the header must name the columns issuer, ")
    assert items[0].reason.endswith("Unknown: colour.")


def test_an_explicit_file_of_another_kind_is_refused_but_ignored_in_a_folder(tmp_path, anna) -> None:
    write(tmp_path, "notes.txt", b"hello")
    write(tmp_path, "lost.pdf", PDF)

    assert outcomes(run(tmp_path / "notes.txt", tmp_path / "lost.pdf"), tmp_path) == [
        ("notes.txt", "refused", "Not a UBL file (.xml) or a CSV manifest (.csv).")
    ]
    assert run(tmp_path) == []


# --- The announcement -----------------------------------------------------------------------------


def test_the_announcement_task_tells_each_recipient_once_even_when_run_twice(tmp_path, anna, dl2) -> None:
    invited = make_customer_number(issuer=dl2, number="100002", email="new.contact@example.com")
    write(tmp_path, "a.xml", testing_ubl.invoice_xml(number="F1", issue_date=ISSUED))
    write(
        tmp_path, "b.xml", testing_ubl.invoice_xml(number="F2", issue_date=ISSUED, buyer_reference="100002")
    )
    ids = [item.document for item in run(tmp_path)]

    first = announce_documents.call(ids)
    second = announce_documents.call(ids)

    assert (first, second) == (2, 0)
    assert sorted(Message.objects.values_list("recipient", "template")) == [
        ("anna.schmidt@example.com", "documents_new"),
        ("new.contact@example.com", "documents_invitation"),
    ]
    assert Invitation.objects.filter(customer_number=invited).count() == 1
    assert Document.objects.filter(announced_at__isnull=True).count() == 0


# --- All or nothing -------------------------------------------------------------------------------


def test_nothing_is_half_written_when_a_chunk_fails_at_the_database(tmp_path, anna, monkeypatch) -> None:
    for n in range(3):
        write(tmp_path, f"F{n}.xml", testing_ubl.invoice_xml(number=f"F{n}", issue_date=ISSUED, pdf=PDF))

    def failing_record(**kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(intake, "record", failing_record)

    items = run(tmp_path)

    assert [(i.outcome, i.reason) for i in items] == [
        (
            Outcome.REFUSED,
            "The document could not be stored (database error: DatabaseError); nothing of it was written.",
        )
    ] * 3
    assert not Document.objects.exists()
    assert media_files() == []
    assert not DBTaskResult.objects.exists()
    assert not AuditEvent.objects.filter(action="documents.imported").exists()


def test_a_row_the_database_refuses_refuses_only_itself(tmp_path, anna, monkeypatch) -> None:
    for n in range(3):
        write(tmp_path, f"F{n}.xml", testing_ubl.invoice_xml(number=f"F{n}", issue_date=ISSUED))
    real = intake._files_write

    def files_write(entry, written):
        real(entry, written)
        if entry.document.number == "F1":
            raise DatabaseError("bad row")

    monkeypatch.setattr(intake, "_files_write", files_write)

    items = run(tmp_path)

    assert [i.outcome for i in items] == [Outcome.IMPORTED, Outcome.REFUSED, Outcome.IMPORTED]
    assert sorted(Document.objects.values_list("number", flat=True)) == ["F0", "F2"]
    assert len(media_files()) == 2
    assert AuditEvent.objects.filter(action="documents.imported").count() == 2
    assert DBTaskResult.objects.count() == 2


# --- The worker pool -------------------------------------------------------------------------------


def test_the_worker_pool_gives_the_same_report_in_order(tmp_path, anna) -> None:
    for n in range(40):
        content = testing_ubl.varied_invoice_xml(
            n, number=f"V{n:03d}", buyer_reference="100001" if n % 7 else "404", issue_date=ISSUED
        )
        write(tmp_path, f"V{n:03d}.xml", content)
    write(tmp_path, "V999.xml", b"not xml")

    items = run(tmp_path, jobs=2, chunk_size=8)

    assert [Path(i.file).name for i in items] == [f"V{n:03d}.xml" for n in range(40)] + ["V999.xml"]
    refused = [Path(i.file).name for i in items if i.outcome == Outcome.REFUSED]
    assert refused == [f"V{n:03d}.xml" for n in range(0, 40, 7)] + ["V999.xml"]
    assert Document.objects.count() == 40 - 6
