"""The CSV export of the filtered list and the ZIP of a selection: only the user's documents,
formulas defused, built in a temporary file, limited, audited; refusals write nothing."""

import csv
import datetime
import hashlib
import io
import zipfile
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import translation

from guichet.audit.models import AuditEvent
from guichet.documents import downloads, selectors
from guichet.documents.models import DocumentKind
from guichet.documents.testing import PDF, make_document
from guichet.documents.tests.test_list import make_cast

pytestmark = pytest.mark.django_db


def url(name: str, *args: object) -> str:
    with translation.override("en"):
        return reverse(name, args=args or None)


@pytest.fixture
def cast():
    return make_cast()


def csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_the_csv_has_the_filtered_list_of_own_documents_and_is_audited(client, cast):
    make_document(cast.mine, number="F-1", issue_date=datetime.date(2026, 1, 10), amount=Decimal("121.00"))
    make_document(
        cast.other_mine, number="C-1", kind=DocumentKind.CREDIT_NOTE, issue_date=datetime.date(2026, 2, 10)
    )
    make_document(cast.mine, number="F-2", issue_date=datetime.date(2026, 3, 10), amount=Decimal("1210.00"))
    client.force_login(cast.user)

    response = client.get(url("documents:export"), {"kind": "invoice", "sort": "amount"})

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="documents-')
    rows = csv_rows(response)
    assert rows[0] == [
        "Type",
        "Document number",
        "Issue date",
        "Due date",
        "Customer number",
        "Issuer",
        "Currency",
        "Amount excluding VAT",
        "VAT",
        "Amount including VAT",
        "Amount payable",
    ]
    assert rows[1:] == [
        [
            "Invoice",
            "F-1",
            "2026-01-10",
            "2026-02-09",
            "DL2 123456",
            "Aubépine Lease Services",
            "EUR",
            "100.00",
            "21.00",
            "121.00",
            "121.00",
        ],
        [
            "Invoice",
            "F-2",
            "2026-03-10",
            "2026-04-09",
            "DL2 123456",
            "Aubépine Lease Services",
            "EUR",
            "1000.00",
            "210.00",
            "1210.00",
            "1210.00",
        ],
    ]
    event = AuditEvent.objects.get()
    assert (event.action, event.actor_id) == ("documents.exported", cast.user.pk)
    assert event.details == {"filters": {"kind": "invoice"}}


def test_the_csv_never_contains_another_customers_document(client, cast):
    make_document(cast.mine, number="MINE-1")
    client.force_login(cast.user)
    rows = csv_rows(client.get(url("documents:export")))
    assert [row[1] for row in rows[1:]] == ["MINE-1"]
    # Another customer's number as a filter is refused: back to the page, nothing exported.
    response = client.get(url("documents:export"), {"customer": cast.foreign.pk})
    assert response.status_code == 302
    assert response["Location"] == url("documents:list") + f"?customer={cast.foreign.pk}"
    assert AuditEvent.objects.count() == 1


def test_the_csv_defuses_formulas(client, cast):
    make_document(cast.mine, number="=HYPERLINK(1)")
    make_document(cast.mine, number="+33")
    client.force_login(cast.user)
    numbers = sorted(row[1] for row in csv_rows(client.get(url("documents:export")))[1:])
    assert numbers == ["'+33", "'=HYPERLINK(1)"]


@pytest.mark.parametrize(
    ("value", "expected"), [("=1+1", "'=1+1"), ("-2", "'-2"), ("@x", "'@x"), ("F-1", "F-1")]
)
def test_csv_safe(value, expected):
    assert downloads.csv_safe(value) == expected


def test_the_csv_reads_every_row_in_keyset_chunks(client, cast, monkeypatch):
    for n in range(7):
        make_document(cast.mine, number=f"K-{n}", with_pdf=False)
    monkeypatch.setattr(selectors, "EXPORT_CHUNK", 3)
    client.force_login(cast.user)
    rows = csv_rows(client.get(url("documents:export"), {"sort": "number"}))
    assert [row[1] for row in rows[1:]] == [f"K-{n}" for n in range(7)]


def test_the_csv_needs_a_logon(client, cast):
    assert client.get(url("documents:export")).status_code == 302
    assert not AuditEvent.objects.exists()


# --- ZIP --------------------------------------------------------------------------------------


def zip_names(response) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    return {name: archive.read(name) for name in archive.namelist()}


def test_the_zip_holds_the_selected_pdfs_and_originals_and_is_audited(client, cast):
    first = make_document(cast.mine, number="F-1")
    second = make_document(cast.other_mine, number="F-2", with_pdf=False)
    second.original.save("F-2.xml", ContentFile(b"<Invoice/>"), save=False)
    second.original_name = "F-2.xml"
    second.original_sha256 = hashlib.sha256(b"<Invoice/>").hexdigest()
    second.save()
    make_document(cast.mine, number="NOT-SELECTED")
    client.force_login(cast.user)

    response = client.post(url("documents:zip"), {"document": [first.pk, second.pk]})

    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="documents-')
    files = zip_names(response)
    assert sorted(files) == ["DL2-F-1.pdf", "DL5-F-2-F-2.xml", "DL5-F-2.pdf"]
    assert files["DL2-F-1.pdf"] == PDF
    assert files["DL5-F-2.pdf"].startswith(b"%PDF-")  # rendered from its data
    assert files["DL5-F-2-F-2.xml"] == b"<Invoice/>"
    event = AuditEvent.objects.get()
    assert event.action == "documents.zip_downloaded"
    assert sorted(event.details["documents"]) == sorted([first.pk, second.pk])


def test_the_zip_ignores_another_customers_document(client, cast):
    mine = make_document(cast.mine, number="MINE-1")
    client.force_login(cast.user)

    response = client.post(url("documents:zip"), {"document": [mine.pk, cast.foreign_document.pk, "x"]})

    assert list(zip_names(response)) == ["DL2-MINE-1.pdf"]
    assert AuditEvent.objects.get().details["documents"] == [mine.pk]


@pytest.mark.parametrize("selection", [[], ["foreign"], ["x"]])
def test_a_zip_of_nothing_visible_is_refused_and_writes_nothing(client, cast, selection):
    ids = [cast.foreign_document.pk if value == "foreign" else value for value in selection]
    client.force_login(cast.user)

    response = client.post(url("documents:zip"), {"document": ids, "query": "kind=invoice"})

    assert response.status_code == 302
    assert response["Location"] == url("documents:list") + "?kind=invoice"
    page = client.get(response["Location"]).content.decode()
    assert "Select at least one document to download." in page
    assert not AuditEvent.objects.exists()


def test_a_zip_above_the_limit_is_refused_with_a_clear_message(client, cast, monkeypatch):
    documents = [make_document(cast.mine, with_pdf=False) for _ in range(3)]
    monkeypatch.setattr(downloads, "ZIP_LIMIT", 2)
    client.force_login(cast.user)

    response = client.post(url("documents:zip"), {"document": [d.pk for d in documents]})

    page = client.get(response["Location"]).content.decode()
    assert "You can download at most 2 documents at once." in page
    assert not AuditEvent.objects.exists()


def test_the_zip_limit_is_200():
    assert downloads.ZIP_LIMIT == 200


def test_the_zip_is_built_in_a_temporary_file(cast):
    document = make_document(cast.mine)
    archive = downloads.documents_zip(user=cast.user, document_ids=[str(document.pk)])
    try:
        assert not isinstance(archive, io.BytesIO)
        assert hasattr(archive, "fileno")
        assert zipfile.ZipFile(archive).namelist() == [f"DL2-{document.number}.pdf"]
    finally:
        archive.close()


def test_the_zip_needs_a_post_and_a_logon(client, cast):
    document = make_document(cast.mine)
    assert client.post(url("documents:zip"), {"document": [document.pk]}).status_code == 302
    client.force_login(cast.user)
    assert client.get(url("documents:zip")).status_code == 405
    assert not AuditEvent.objects.exists()


def test_the_redirect_after_a_refusal_stays_on_the_list(client, cast):
    client.force_login(cast.user)
    response = client.post(url("documents:zip"), {"query": "//evil.example/\r\nx"})
    assert response["Location"].startswith(url("documents:list"))
