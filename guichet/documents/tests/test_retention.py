"""Retention: documents past GUICHET_DOCUMENTS_RETENTION_YEARS are deleted with their files."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command

from guichet.audit.models import AuditEvent
from guichet.documents import retention
from guichet.documents.models import Document
from guichet.documents.testing import make_customer_number, make_document

pytestmark = pytest.mark.django_db(transaction=True)

TODAY = datetime.date(2026, 11, 24)


def test_only_documents_past_retention_are_deleted_with_their_files(settings):
    settings.GUICHET_DOCUMENTS_RETENTION_YEARS = 10
    number = make_customer_number()
    old = make_document(number, issue_date=datetime.date(2016, 11, 23))
    kept = make_document(number, issue_date=datetime.date(2016, 11, 24))
    storage, name = old.pdf.storage, old.pdf.name
    assert storage.exists(name)

    assert retention.purge(today=TODAY, dry_run=True) == 1
    assert Document.objects.count() == 2
    assert retention.purge(today=TODAY) == 1

    assert list(Document.objects.all()) == [kept]
    assert not storage.exists(name) and kept.pdf.storage.exists(kept.pdf.name)
    event = AuditEvent.objects.get(action="documents.retention_purged")
    assert event.details["count"] == 1 and event.details["limit"] == "2016-11-24"


def test_the_command_reports_what_it_does(settings):
    settings.GUICHET_DOCUMENTS_RETENTION_YEARS = 10
    make_document(make_customer_number(), issue_date=datetime.date(2001, 1, 1))
    out = StringIO()

    call_command("purge_expired_documents", "--dry-run", stdout=out)
    assert "1 documents issued before" in out.getvalue() and Document.objects.count() == 1
    call_command("purge_expired_documents", stdout=out)
    assert Document.objects.count() == 0


def test_a_printed_document_past_retention_goes_with_its_print_batch_once_empty(settings):
    from django.core.files.base import ContentFile

    from guichet.documents.models import PrintBatch, PrintItem

    settings.GUICHET_DOCUMENTS_RETENTION_YEARS = 10
    number = make_customer_number()
    old = make_document(number, issue_date=datetime.date(2016, 1, 4))
    kept = make_document(number, issue_date=datetime.date(2026, 1, 5))
    old_batch = PrintBatch.objects.create(day=datetime.date(2016, 1, 5), count=1)
    old_batch.file.save("old.zip", ContentFile(b"PK old"))
    PrintItem.objects.create(batch=old_batch, document=old)
    recent = PrintBatch.objects.create(day=datetime.date(2026, 1, 6), count=1)
    PrintItem.objects.create(batch=recent, document=kept)
    storage, name = old_batch.file.storage, old_batch.file.name

    assert retention.purge(today=TODAY) == 1

    assert list(Document.objects.all()) == [kept]
    assert list(PrintBatch.objects.all()) == [recent]
    assert not storage.exists(name)


def test_a_print_batch_loses_its_zip_as_soon_as_one_of_its_documents_passes_retention(settings):
    # Review finding: the ZIP holds every PDF of the batch; it stayed until the batch's last document
    # passed retention, keeping the PDFs of the documents already deleted.
    from django.core.files.base import ContentFile

    from guichet.documents.models import PrintBatch, PrintItem

    settings.GUICHET_DOCUMENTS_RETENTION_YEARS = 10
    number = make_customer_number()
    old = make_document(number, issue_date=datetime.date(2016, 1, 4))
    younger = make_document(number, issue_date=datetime.date(2016, 12, 1))
    batch = PrintBatch.objects.create(day=datetime.date(2016, 12, 2), count=2)
    batch.file.save("mixed.zip", ContentFile(b"PK mixed"))
    PrintItem.objects.create(batch=batch, document=old)
    PrintItem.objects.create(batch=batch, document=younger)
    storage, name = batch.file.storage, batch.file.name

    assert retention.purge(today=TODAY) == 1

    assert list(Document.objects.all()) == [younger]
    batch.refresh_from_db()
    assert batch.file.name == ""
    assert list(PrintItem.objects.values_list("batch_id", "document_id")) == [(batch.pk, younger.pk)]
    assert not storage.exists(name)


def test_expired_activation_codes_lose_their_encrypted_copy(settings):
    # Review finding: a used or revoked code is wiped at once, an expired one was kept for ever.
    from guichet.documents.models import ActivationCode
    from guichet.documents.testing import make_activation_code

    expired, _plain = make_activation_code(make_customer_number(), weeks_ago=16)
    valid, _plain = make_activation_code(make_customer_number())

    assert expired.code_encrypted != "" and valid.code_encrypted != ""

    retention.purge(today=TODAY)

    assert dict(ActivationCode.objects.values_list("pk", "code_encrypted")) == {
        expired.pk: "",
        valid.pk: valid.code_encrypted,
    }
    assert ActivationCode.objects.get(pk=expired.pk).code_hash == expired.code_hash
