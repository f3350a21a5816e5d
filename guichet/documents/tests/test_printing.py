"""The paper fallback: which documents go to the daily print batch, the ZIP and its manifest, each
document printed once (also under concurrent runs), nothing recorded when the ZIP fails, the
command, and the audited download."""

import datetime
import hashlib
import io
import threading
import zipfile
from decimal import Decimal
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from guichet.audit.models import AuditEvent
from guichet.backoffice.tests.factories import make_advisor
from guichet.documents import printing
from guichet.documents.models import (
    CustomerNumber,
    DeliveryChannelChange,
    Document,
    DocumentKind,
    PrintBatch,
    PrintItem,
)
from guichet.documents.printing import PrintError, PrintErrorCode, print_batch_create, print_batch_download
from guichet.documents.testing import PDF, make_customer_number, make_document
from guichet.documents.tests.test_admin_intake import grant_issue_7, make_clerk

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 10, 5)


def at(day: datetime.date, hour: int = 12) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def received(document: Document, when: datetime.datetime) -> Document:
    Document.objects.filter(pk=document.pk).update(created_at=when)
    document.created_at = when
    return document


def paper(number: str = "123456", **kwargs) -> CustomerNumber:
    return make_customer_number(number=number, **kwargs)


def electronic(number: str = "777777") -> CustomerNumber:
    customer_number = make_customer_number(number=number, email="e@example.com")
    CustomerNumber.objects.filter(pk=customer_number.pk).update(electronic_delivery=True)
    customer_number.electronic_delivery = True
    return customer_number


def read_zip(batch: PrintBatch) -> zipfile.ZipFile:
    with batch.file.open("rb") as handle:
        return zipfile.ZipFile(io.BytesIO(handle.read()))


def stored_files() -> set[str]:
    root = Path(settings.MEDIA_ROOT) / "documents" / "print"
    return {str(p) for p in root.rglob("*.zip")} if root.exists() else set()


# --- Which documents ---------------------------------------------------------------------------


def test_the_documents_of_paper_customer_numbers_not_yet_printed_go_into_one_batch() -> None:
    number = paper()
    first = received(make_document(number, number="F2026-000001", issue_date=DAY), at(DAY, 9))
    second = received(make_document(number, number="F2026-000002", issue_date=DAY), at(DAY, 10))
    received(make_document(electronic(), number="F2026-000003", issue_date=DAY), at(DAY, 9))
    printed = received(make_document(number, number="F2026-000004", issue_date=DAY), at(DAY, 8))
    PrintItem.objects.create(batch=PrintBatch.objects.create(day=DAY, count=1), document=printed)
    received(
        make_document(number, number="F2026-000005", issue_date=DAY), at(DAY + datetime.timedelta(days=1))
    )

    batch = print_batch_create(day=DAY)

    assert batch is not None and (batch.day, batch.count) == (DAY, 2)
    assert sorted(batch.items.values_list("document_id", flat=True)) == [first.pk, second.pk]


def test_a_number_back_on_paper_prints_only_what_came_after_its_opt_out() -> None:
    number = paper()
    before = received(make_document(number, number="F-BEFORE", issue_date=DAY), at(DAY, 8))
    DeliveryChannelChange.objects.create(
        customer_number=number, electronic=True, reason="activation_code", at=at(DAY, 7)
    )
    DeliveryChannelChange.objects.create(
        customer_number=number, electronic=False, reason="opt_out", at=at(DAY, 9)
    )
    after = received(make_document(number, number="F-AFTER", issue_date=DAY), at(DAY, 10))

    batch = print_batch_create(day=DAY)

    assert list(batch.items.values_list("document_id", flat=True)) == [after.pk]
    assert not PrintItem.objects.filter(document=before).exists()


def test_documents_past_the_retention_period_are_not_printed() -> None:
    number = paper()
    old = make_document(number, number="F-OLD", issue_date=datetime.date(2014, 1, 2))
    recent = make_document(number, number="F-NEW", issue_date=DAY)
    for document in (old, recent):
        received(document, at(DAY, 9))

    batch = print_batch_create(day=DAY)

    assert list(batch.items.values_list("document_id", flat=True)) == [recent.pk]


def test_nothing_to_print_makes_no_batch_no_file_and_no_audit() -> None:
    received(make_document(electronic(), issue_date=DAY), at(DAY, 9))
    files = stored_files()

    assert print_batch_create(day=DAY) is None
    assert not PrintBatch.objects.exists() and stored_files() == files
    assert not AuditEvent.objects.filter(action__startswith="documents.print_batch").exists()


def test_each_document_is_printed_once() -> None:
    number = paper()
    received(make_document(number, issue_date=DAY), at(DAY, 9))
    first = print_batch_create(day=DAY)
    later = received(make_document(number, issue_date=DAY), at(DAY, 11))

    second = print_batch_create(day=DAY)
    third = print_batch_create(day=DAY)

    assert (first.count, second.count, third) == (1, 1, None)
    assert list(second.items.values_list("document_id", flat=True)) == [later.pk]


# --- The ZIP ---------------------------------------------------------------------------------


def test_the_zip_holds_each_pdf_in_print_order_and_the_manifest() -> None:
    dl2 = paper("123456")
    invoice = make_document(dl2, number="F2026/001", issue_date=DAY, amount=Decimal("121.00"))
    Document.objects.filter(pk=invoice.pk).update(payment_reference="+++090/9337/55493+++")
    credit = make_document(
        dl2,
        number="CN-7",
        kind=DocumentKind.CREDIT_NOTE,
        issue_date=DAY,
        amount=Decimal("60.50"),
        with_pdf=False,
    )
    for document in (invoice, credit):
        received(document, at(DAY, 9))

    batch = print_batch_create(day=DAY)

    archive = read_zip(batch)
    names = archive.namelist()
    assert names == [
        "00001_DL2-123456_invoice_F2026_001.pdf",
        "00002_DL2-123456_credit_note_CN-7.pdf",
        "manifest.csv",
    ]
    assert archive.read(names[0]) == PDF
    assert archive.read(names[1]).startswith(b"%PDF-")  # rendered by Guichet, in the contact's language
    assert printing.manifest_rows(batch.file.open("rb").read()) == [
        list(printing.MANIFEST_HEADER),
        [
            names[0],
            "DL2 123456",
            "Schmidt Transport GmbH",
            "Anna Schmidt",
            "de",
            "invoice",
            "F2026/001",
            "2026-10-05",
            "2026-11-04",
            "EUR",
            "121.00",
            "121.00",
            "+++090/9337/55493+++",
        ],
        [
            names[1],
            "DL2 123456",
            "Schmidt Transport GmbH",
            "Anna Schmidt",
            "de",
            "credit_note",
            "CN-7",
            "2026-10-05",
            "2026-11-04",
            "EUR",
            "60.50",
            "60.50",
            "",
        ],
    ]


def test_the_manifest_never_holds_a_spreadsheet_formula() -> None:
    # Review finding: names, numbers and references come from the issuers' files; a cell starting
    # with = + - @ must not run as a formula in the print shop's spreadsheet (as in the documents CSV).
    number = paper("123456", customer_name='=HYPERLINK("http://evil.example")')
    CustomerNumber.objects.filter(pk=number.pk).update(contact_name="@SUM(A1)")
    document = make_document(number, number="-2+3", issue_date=DAY)
    Document.objects.filter(pk=document.pk).update(payment_reference="+cmd|' /C calc'!A0")
    structured = make_document(number, number="F-2", issue_date=DAY)
    Document.objects.filter(pk=structured.pk).update(payment_reference="+++090/9337/55493+++")
    for each in (document, structured):
        received(each, at(DAY, 9))

    batch = print_batch_create(day=DAY)

    rows = printing.manifest_rows(batch.file.open("rb").read())
    assert [(row[2], row[3], row[6], row[12]) for row in rows[1:]] == [
        ('\'=HYPERLINK("http://evil.example")', "'@SUM(A1)", "'-2+3", "'+cmd|' /C calc'!A0"),
        ('\'=HYPERLINK("http://evil.example")', "'@SUM(A1)", "F-2", "+++090/9337/55493+++"),
    ]


def test_the_batch_is_stored_with_its_sha256_and_audited() -> None:
    received(make_document(paper(), issue_date=DAY), at(DAY, 9))

    batch = print_batch_create(day=DAY)

    with batch.file.open("rb") as handle:
        content = handle.read()
    assert batch.file.name.startswith("documents/print/") and batch.file.name.endswith(".zip")
    assert batch.sha256 == hashlib.sha256(content).hexdigest()
    event = AuditEvent.objects.get(action="documents.print_batch_created")
    assert (event.actor_id, event.target_id, event.details) == (
        None,
        str(batch.pk),
        {"day": "2026-10-05", "count": 1, "sha256": batch.sha256},
    )


def test_a_failing_zip_records_nothing_and_leaves_no_file() -> None:
    received(make_document(paper(), issue_date=DAY), at(DAY, 9))
    files = stored_files()

    failing = mock.patch.object(printing, "document_pdf", side_effect=OSError("storage away"))
    with failing, pytest.raises(OSError, match="storage away"):
        print_batch_create(day=DAY)

    assert not PrintBatch.objects.exists() and not PrintItem.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="documents.print_batch").exists()
    assert stored_files() == files


def test_a_failure_after_the_file_is_stored_removes_the_file() -> None:
    received(make_document(paper(), issue_date=DAY), at(DAY, 9))
    files = stored_files()

    failing = mock.patch.object(printing, "record", side_effect=RuntimeError("audit down"))
    with failing, pytest.raises(RuntimeError):
        print_batch_create(day=DAY)

    assert not PrintBatch.objects.exists() and not PrintItem.objects.exists()
    assert stored_files() == files


def test_memory_stays_flat_the_pdfs_are_read_one_chunk_at_a_time() -> None:
    number = paper()
    for n in range(5):
        received(make_document(number, number=f"F-{n}", issue_date=DAY), at(DAY, 9))
    chunks: list[int] = []
    original = printing._chunks

    def spy(ids):
        for chunk in original(ids):
            chunks.append(len(chunk))
            yield chunk

    with mock.patch.object(printing, "CHUNK", 2), mock.patch.object(printing, "_chunks", spy):
        batch = print_batch_create(day=DAY)

    assert (batch.count, chunks) == (5, [2, 2, 1])


# --- Who may ---------------------------------------------------------------------------------


def test_a_user_without_the_permission_creates_no_batch() -> None:
    received(make_document(paper(), issue_date=DAY), at(DAY, 9))

    with pytest.raises(PrintError) as refused:
        print_batch_create(day=DAY, by=make_clerk())

    assert refused.value.code == PrintErrorCode.NOT_ALLOWED
    assert refused.value.message == "You are not allowed to do this with print batches."
    assert not PrintBatch.objects.exists()


def test_an_advisor_creates_a_batch_audited_in_their_name() -> None:
    grant_issue_7()
    advisor = make_advisor()
    received(make_document(paper(), issue_date=DAY), at(DAY, 9))

    batch = print_batch_create(day=DAY, by=advisor)

    assert AuditEvent.objects.get(action="documents.print_batch_created").actor_id == advisor.pk
    assert batch.count == 1


def test_the_download_is_audited_and_dated() -> None:
    grant_issue_7()
    advisor = make_advisor()
    received(make_document(paper(), issue_date=DAY), at(DAY, 9))
    batch = print_batch_create(day=DAY)

    with print_batch_download(batch=batch, by=advisor) as handle:
        content = handle.read()

    batch.refresh_from_db()
    assert hashlib.sha256(content).hexdigest() == batch.sha256 and batch.downloaded_at is not None
    event = AuditEvent.objects.get(action="documents.print_batch_downloaded")
    assert (event.actor_id, event.details) == (
        advisor.pk,
        {"day": "2026-10-05", "count": 1, "sha256": batch.sha256},
    )


def test_the_download_is_refused_without_the_permission() -> None:
    received(make_document(paper(), issue_date=DAY), at(DAY, 9))
    batch = print_batch_create(day=DAY)

    with pytest.raises(PrintError):
        print_batch_download(batch=batch, by=make_clerk())

    batch.refresh_from_db()
    assert batch.downloaded_at is None
    assert not AuditEvent.objects.filter(action="documents.print_batch_downloaded").exists()


# --- The command -----------------------------------------------------------------------------


def test_the_command_prints_the_batch_id_count_and_path() -> None:
    received(make_document(paper(), issue_date=DAY), at(DAY, 9))
    out = io.StringIO()

    call_command("print_batch", "--day", "2026-10-05", stdout=out)

    batch = PrintBatch.objects.get()
    assert out.getvalue() == f"Print batch {batch.pk}: 1 document(s) in {batch.file.name}\n"


def test_the_command_says_when_there_is_nothing_to_print() -> None:
    out = io.StringIO()

    call_command("print_batch", "--day", "2026-10-05", stdout=out)

    assert out.getvalue() == "No document to print.\n"


def test_the_command_refuses_a_wrong_day() -> None:
    with pytest.raises(CommandError, match="is not a date as YYYY-MM-DD"):
        call_command("print_batch", "--day", "05/10/2026")


def test_the_command_fails_loudly_when_the_batch_fails() -> None:
    received(make_document(paper(), issue_date=DAY), at(DAY, 9))

    failing = mock.patch.object(printing, "document_pdf", side_effect=OSError("disk full"))
    with failing, pytest.raises(CommandError, match="The print batch failed: disk full"):
        call_command("print_batch", "--day", "2026-10-05")


# --- Concurrent runs (PostgreSQL) ------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_document_locked_by_another_run_is_skipped_then_printed_by_the_next() -> None:
    number = paper()
    locked = received(make_document(number, issue_date=DAY), at(DAY, 9))
    free = received(make_document(number, issue_date=DAY), at(DAY, 9))
    holding, release = threading.Event(), threading.Event()

    def other_run() -> None:
        try:
            with transaction.atomic():
                list(Document.objects.select_for_update().filter(pk=locked.pk))
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=other_run)
    thread.start()
    holding.wait(10)
    try:
        first = print_batch_create(day=DAY)
    finally:
        release.set()
        thread.join()
    second = print_batch_create(day=DAY)

    assert list(first.items.values_list("document_id", flat=True)) == [free.pk]
    assert list(second.items.values_list("document_id", flat=True)) == [locked.pk]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_runs_never_print_a_document_twice() -> None:
    number = paper()
    documents = [received(make_document(number, issue_date=DAY), at(DAY, 9)) for _ in range(6)]
    start = threading.Barrier(2)
    batches: list[PrintBatch | None] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait(10)
            batches.append(print_batch_create(day=DAY))
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    printed = sorted(PrintItem.objects.values_list("document_id", flat=True))
    assert printed == sorted(d.pk for d in documents)
    made = [b for b in batches if b is not None]
    assert sum(b.count for b in made) == 6 and PrintBatch.objects.count() == len(made)
