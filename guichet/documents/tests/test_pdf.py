"""PDFs: a document without PDF is rendered from its data (WeasyPrint), once, in the primary
contact's language; a duplicate is the PDF stamped DUPLICATE with the request date on every page."""

import io

import pytest
from django.urls import reverse
from django.utils import formats, timezone, translation
from pypdf import PdfReader, PdfWriter

from guichet.documents import downloads, pdf
from guichet.documents.testing import make_document
from guichet.documents.tests.test_list import make_cast

pytestmark = pytest.mark.django_db


def url(name: str, *args: object) -> str:
    with translation.override("en"):
        return reverse(name, args=args or None)


def text_of(content: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


def two_pages() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_blank_page(width=842, height=595)  # a landscape page gets its own stamp size
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture
def cast():
    return make_cast()


def test_a_document_without_pdf_is_rendered_from_its_data_once(client, cast):
    cast.mine.contact_language = "en"
    cast.mine.save()
    document = make_document(cast.mine, number="F2026-77", with_pdf=False)
    client.force_login(cast.user)

    first = client.get(url("documents:pdf", document.pk))

    assert first.status_code == 200
    assert first["Content-Type"] == "application/pdf"
    assert first.content.startswith(b"%PDF-")
    (page,) = text_of(first.content)
    for text in ["Invoice F2026-77", "DL2 123456", "121.00 EUR", "Amount payable", "Aubépine Lease Services"]:
        assert text in page, text
    document.refresh_from_db()
    stored = document.rendered_pdf.name
    assert stored.startswith("documents/rendered/")
    assert not document.pdf

    # Served from the cache afterwards: the same file, byte for byte, and no new one.
    second = client.get(url("documents:pdf_download", document.pk))
    document.refresh_from_db()
    assert document.rendered_pdf.name == stored
    assert second.content == first.content
    assert second["Content-Disposition"] == 'attachment; filename="DL2-F2026-77.pdf"'


def test_the_rendered_pdf_is_in_the_primary_contacts_language(cast):
    document = make_document(cast.mine, with_pdf=False)  # the contact reads German

    content = pdf.document_pdf(document)

    assert PdfReader(io.BytesIO(content)).trailer["/Root"]["/Lang"] == "de"
    assert content == document.rendered_pdf.open("rb").read()


def test_a_stored_pdf_is_served_unchanged_and_never_rendered(cast):
    document = make_document(cast.mine)
    content = pdf.document_pdf(document)
    document.refresh_from_db()
    assert content == document.pdf.open("rb").read()
    assert not document.rendered_pdf


def test_the_stamp_is_on_every_page_with_the_date(cast):
    stamped = pdf.stamp_duplicate(two_pages(), label="DUPLICATE", requested_on="Requested on Nov. 24, 2026")

    pages = text_of(stamped)
    assert len(pages) == 2
    for page in pages:
        assert "DUPLICATE" in page
        assert "Requested on Nov. 24, 2026" in page


def test_a_duplicate_request_stamps_in_the_users_language_and_keeps_the_file(cast):
    document = make_document(cast.mine)

    duplicate = downloads.duplicate_request(user=cast.user, document_id=document.pk, language="en")

    (page,) = text_of(duplicate.file.open("rb").read())
    with translation.override("en"):
        today = formats.date_format(timezone.localdate(), "DATE_FORMAT")
    assert "DUPLICATE" in page
    assert f"Requested on {today}" in page
    assert duplicate.language == "en"
    assert duplicate.file.name.startswith("documents/duplicates/")


def test_a_duplicate_of_a_document_without_pdf_stamps_the_rendered_one(cast):
    cast.mine.contact_language = "en"
    cast.mine.save()
    document = make_document(cast.mine, number="F2026-88", with_pdf=False)

    duplicate = downloads.duplicate_request(user=cast.user, document_id=document.pk, language="en")

    (page,) = text_of(duplicate.file.open("rb").read())
    assert "Invoice F2026-88" in page
    assert "DUPLICATE" in page
    document.refresh_from_db()
    assert document.rendered_pdf  # rendered once, for the duplicate and for later


def test_weasyprint_fetches_nothing(cast):
    with pytest.raises(ValueError, match="may not fetch"):
        pdf._no_fetch("http://169.254.169.254/")


def test_asking_again_the_same_day_reuses_the_duplicate():
    """Review finding: a loop of requests must not fill the storage with copies."""
    from guichet.audit.models import AuditEvent
    from guichet.documents import downloads
    from guichet.documents.models import Duplicate
    from guichet.documents.testing import make_customer_number, make_document, make_recipient

    owner = make_recipient()
    document = make_document(make_customer_number(account=owner))

    first = downloads.duplicate_request(user=owner, document_id=document.pk, language="fr")
    again = downloads.duplicate_request(user=owner, document_id=document.pk, language="fr")
    other_language = downloads.duplicate_request(user=owner, document_id=document.pk, language="de")

    assert again.pk == first.pk and other_language.pk != first.pk
    assert Duplicate.objects.filter(document=document).count() == 2
    assert AuditEvent.objects.filter(action="documents.duplicate_requested").count() == 3
