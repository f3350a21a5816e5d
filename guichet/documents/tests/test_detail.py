"""A document's page, its PDF (inline and as a download), its original file and its duplicates:
opening marks it read, downloads are audited; another customer's document answers 404 on every
endpoint and writes nothing."""

import hashlib
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import translation

from guichet.audit.models import AuditEvent
from guichet.documents import downloads
from guichet.documents.models import Document, DocumentRead, Duplicate
from guichet.documents.testing import PDF, make_document, make_recipient, make_shared_user
from guichet.documents.tests.test_list import make_cast

pytestmark = pytest.mark.django_db

ORIGINAL = b'<?xml version="1.0"?><Invoice>F2026-1</Invoice>'


def url(name: str, *args: object) -> str:
    with translation.override("en"):
        return reverse(name, args=args or None)


@pytest.fixture
def cast():
    return make_cast()


def with_original(document: Document) -> Document:
    document.original.save("F2026-1.xml", ContentFile(ORIGINAL), save=False)
    document.original_name = "F2026-1.xml"
    document.original_sha256 = hashlib.sha256(ORIGINAL).hexdigest()
    document.save()
    return document


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))


def test_the_page_shows_the_details_and_marks_the_document_read_once(client, cast):
    document = with_original(make_document(cast.mine, number="F2026-1"))
    client.force_login(cast.user)

    response = client.get(url("documents:detail", document.pk))

    content = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Invoice F2026-1</h1>" in content
    for text in ["DL2 123456", "100.00 EUR", "21.00 EUR", "121.00 EUR", "Oct. 1, 2026", "Oct. 31, 2026"]:
        assert text in content, text
    assert document.original_sha256 in content
    assert f'href="{url("documents:pdf", document.pk)}"' in content
    assert f'href="{url("documents:pdf_download", document.pk)}" download' in content
    assert f'href="{url("documents:original", document.pk)}" download' in content
    assert DocumentRead.objects.filter(user=cast.user, document=document).count() == 1

    client.get(url("documents:detail", document.pk))
    assert DocumentRead.objects.filter(document=document).count() == 1


def test_an_e_invoice_shows_its_parties_payment_details_and_vat_breakdown(client, cast):
    from guichet.documents import intake
    from guichet.documents.models import IssuerIdentifier
    from guichet.documents.testing_ubl import Line, invoice_xml, structured_communication

    IssuerIdentifier.objects.create(issuer=cast.mine.issuer, scheme="0208", value="0403170701")
    content = invoice_xml(
        number="E2026-7",
        buyer_reference=cast.mine.number,
        buyer_name="Schmidt Transport SRL",
        lines=[
            Line("Lease", Decimal(1), Decimal("100.00")),
            Line("Insurance", Decimal(1), Decimal("50.00"), Decimal(0)),
        ],
        payment_id=structured_communication(1234567890),
    )
    items = []
    intake.documents_import(
        units=[intake.UblContent(label="E2026-7.xml", content=content)], on_item=items.append
    )
    [item] = items
    client.force_login(cast.user)

    content = client.get(url("documents:detail", item.document)).content.decode()

    assert "<dt>Seller</dt><dd>Aubépine Lease Services SA (VAT number BE0403170701)</dd>" in content
    assert "<dt>Buyer</dt><dd>Schmidt Transport SRL (VAT number BE0477472701)</dd>" in content
    assert '<dt>Account to pay to</dt><dd class="iban">BE71096123456769</dd>' in content
    assert (
        f"<dt>Structured communication</dt><dd><code>{structured_communication(1234567890)}</code></dd>"
        in content
    )
    assert "<caption>VAT breakdown</caption>" in content
    assert "<td>S</td>" in content and "<td>Z</td>" in content


def test_the_pdf_opens_inline_or_downloads_and_each_is_audited(client, cast):
    document = make_document(cast.mine, number="F2026-1")
    client.force_login(cast.user)

    inline = client.get(url("documents:pdf", document.pk))
    attachment = client.get(url("documents:pdf_download", document.pk))

    assert inline.content == PDF
    assert inline["Content-Type"] == "application/pdf"
    assert inline["Content-Disposition"] == 'inline; filename="DL2-F2026-1.pdf"'
    assert attachment["Content-Disposition"] == 'attachment; filename="DL2-F2026-1.pdf"'
    assert actions() == ["documents.pdf_opened", "documents.pdf_downloaded"]
    event = AuditEvent.objects.get(action="documents.pdf_opened")
    assert (event.actor_id, event.target_type, event.target_id) == (
        cast.user.pk,
        "documents.document",
        str(document.pk),
    )


def test_the_original_is_served_unchanged_and_audited(client, cast):
    document = with_original(make_document(cast.mine))
    client.force_login(cast.user)

    response = client.get(url("documents:original", document.pk))

    assert b"".join(response.streaming_content) == ORIGINAL
    assert response["Content-Disposition"] == 'attachment; filename="F2026-1.xml"'
    assert actions() == ["documents.original_downloaded"]


def test_no_original_answers_404(client, cast):
    document = make_document(cast.mine)
    client.force_login(cast.user)
    assert client.get(url("documents:original", document.pk)).status_code == 404
    assert actions() == []


def test_a_duplicate_is_made_at_once_kept_in_the_history_and_downloadable(client, cast):
    document = make_document(cast.mine, number="F2026-1")
    client.force_login(cast.user)

    response = client.post(url("documents:duplicate_request", document.pk))

    duplicate = Duplicate.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("documents:detail", document.pk) + "#duplicates"
    assert (duplicate.document, duplicate.user, duplicate.language) == (document, cast.user, "en")
    page = client.get(response["Location"]).content.decode()
    assert "Your duplicate is ready" in page
    link = url("documents:duplicate", document.pk, duplicate.pk)
    assert f'href="{link}" download' in page

    download = client.get(link)
    assert download["Content-Disposition"].startswith('attachment; filename="DL2-F2026-1-duplicate-')
    assert b"".join(download.streaming_content).startswith(b"%PDF-")
    assert actions() == ["documents.duplicate_requested", "documents.duplicate_downloaded"]


def test_a_duplicate_needs_a_post(client, cast):
    document = make_document(cast.mine)
    client.force_login(cast.user)
    assert client.get(url("documents:duplicate_request", document.pk)).status_code == 405
    assert not Duplicate.objects.exists()


def test_a_shared_user_opens_and_duplicates_a_shared_document(client, cast):
    document = make_document(cast.mine)
    accountant = make_recipient(email="kim@example.com", language="nl")
    make_shared_user(cast.user, email="kim@example.com", user=accountant, shares=[cast.mine])
    client.force_login(accountant)

    assert client.get(url("documents:detail", document.pk)).status_code == 200
    assert client.post(url("documents:duplicate_request", document.pk)).status_code == 302
    assert Duplicate.objects.get().user == accountant


def foreign_endpoints(cast, document: Document, duplicate: Duplicate) -> list[tuple[str, str]]:
    return [
        ("get", url("documents:detail", document.pk)),
        ("get", url("documents:pdf", document.pk)),
        ("get", url("documents:pdf_download", document.pk)),
        ("get", url("documents:original", document.pk)),
        ("post", url("documents:duplicate_request", document.pk)),
        ("get", url("documents:duplicate", document.pk, duplicate.pk)),
    ]


@pytest.mark.parametrize("who", ["outsider", "unshared accountant"])
def test_another_customers_document_answers_404_everywhere_and_writes_nothing(client, cast, who):
    document = with_original(make_document(cast.mine))
    duplicate = downloads.duplicate_request(user=cast.user, document_id=document.pk, language="en")
    before = (AuditEvent.objects.count(), Duplicate.objects.count())
    if who == "outsider":
        client.force_login(cast.outsider)
    else:
        accountant = make_recipient(email="kim@example.com", language="nl")
        make_shared_user(cast.user, email="kim@example.com", user=accountant, shares=[cast.other_mine])
        client.force_login(accountant)

    for method, path in foreign_endpoints(cast, document, duplicate):
        response = getattr(client, method)(path)
        assert response.status_code == 404, path
        assert document.number not in response.content.decode()

    assert (AuditEvent.objects.count(), Duplicate.objects.count()) == before
    assert not DocumentRead.objects.exists()


def test_a_duplicate_of_another_document_answers_404(client, cast):
    mine = make_document(cast.mine)
    theirs = downloads.duplicate_request(
        user=cast.outsider, document_id=cast.foreign_document.pk, language="de"
    )
    client.force_login(cast.user)
    before = AuditEvent.objects.count()
    assert client.get(url("documents:duplicate", mine.pk, theirs.pk)).status_code == 404
    assert AuditEvent.objects.count() == before


def test_documents_beyond_the_visible_window_answer_404(client, cast):
    import datetime

    old = make_document(cast.mine, issue_date=datetime.date(2019, 1, 1))
    client.force_login(cast.user)
    assert client.get(url("documents:detail", old.pk)).status_code == 404
    assert client.get(url("documents:pdf", old.pk)).status_code == 404


def test_anonymous_is_sent_to_log_on_and_nothing_is_written(client, cast):
    document = make_document(cast.mine)
    duplicate = downloads.duplicate_request(user=cast.user, document_id=document.pk, language="en")
    before = AuditEvent.objects.count()
    for method, path in foreign_endpoints(cast, document, duplicate):
        response = getattr(client, method)(path)
        assert response.status_code in (302, 403), path
        if response.status_code == 302:
            assert "/accounts/login/" in response["Location"]
    assert AuditEvent.objects.count() == before
    assert Duplicate.objects.count() == 1


def test_the_duplicate_history_does_not_show_other_users_names(client):
    """Review finding: a shared user must not learn the primary contact's or other users' addresses."""
    from guichet.documents import downloads
    from guichet.documents.testing import (
        make_customer_number,
        make_document,
        make_recipient,
        make_shared_user,
    )

    owner = make_recipient(email="owner.person@example.com", language="en")
    number = make_customer_number(account=owner, email="owner.person@example.com")
    document = make_document(number)
    accountant = make_recipient(email="kim.accountant@example.com", language="en")
    make_shared_user(owner, email="kim.accountant@example.com", user=accountant, shares=[number])
    downloads.duplicate_request(user=owner, document_id=document.pk, language="en")

    client.force_login(accountant)
    with translation.override("en"):
        page = client.get(reverse("documents:detail", args=[document.pk])).content.decode()

    assert "owner.person@example.com" not in page
    assert "Another user of this customer number" in page
