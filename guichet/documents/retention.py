"""Retention of stored documents (``GUICHET_DOCUMENTS_RETENTION_YEARS``, 10 by default: the Belgian
legal period since 2023), separate from what accounts see (``GUICHET_DOCUMENTS_VISIBLE_YEARS``).

Documents issued before the retention limit are deleted with their files (PDF, rendered PDF,
original, duplicates), in batches, each batch in its own transaction and audited. The files are
removed after the rows' transaction commits, so a crash never leaves a row without its file.
"""

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from guichet.audit.services import record
from guichet.documents.models import ActivationCode, Document, Duplicate, PrintBatch, PrintItem

log = logging.getLogger(__name__)
BATCH = 500


def retention_limit(today: datetime.date | None = None) -> datetime.date:
    today = today or timezone.localdate()
    years = settings.GUICHET_DOCUMENTS_RETENTION_YEARS
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def expired_documents(today: datetime.date | None = None):
    return Document.objects.filter(issue_date__lt=retention_limit(today))


def purge(*, today: datetime.date | None = None, dry_run: bool = False) -> int:
    """Deletes the documents past retention; returns how many (or would be, with ``dry_run``)."""
    expired = expired_documents(today)
    if dry_run:
        return expired.count()
    total = 0
    while True:
        with transaction.atomic():
            batch = list(expired.order_by("pk").select_for_update(skip_locked=True)[:BATCH])
            if not batch:
                break
            files = [f for d in batch for f in (d.pdf, d.rendered_pdf, d.original) if f]
            duplicates = Duplicate.objects.filter(document__in=batch)
            files += [d.file for d in duplicates if d.file]
            numbers = [d.number for d in batch]
            duplicates.delete()
            files += _print_files_drop(batch)
            PrintItem.objects.filter(document__in=batch).delete()  # an emptied print batch goes below
            Document.objects.filter(pk__in=[d.pk for d in batch]).delete()
            record(
                action="documents.retention_purged",
                target="documents",
                details={
                    "count": len(batch),
                    "limit": retention_limit(today).isoformat(),
                    "first": numbers[0],
                },
            )
            transaction.on_commit(lambda files=files: _delete_files(files))
        total += len(batch)
    _print_batches_purge()
    _expired_codes_wipe()
    return total


def _expired_codes_wipe() -> None:
    """An expired activation code can no longer be printed nor used: its encrypted copy goes (as
    when a code is used or revoked; review finding). Its HMAC stays, so typing it says "expired"."""
    ActivationCode.objects.filter(expires_at__lte=timezone.now()).exclude(code_encrypted="").update(
        code_encrypted=""
    )


def _print_files_drop(documents: list[Document]) -> list:
    """The ZIPs of the print batches that hold some of ``documents``: they hold those PDFs too, so
    they go now (long printed), not when the batch's last document passes retention (review
    finding). The batch and its other items stay: each document is still printed once."""
    touched = PrintItem.objects.filter(document__in=documents).values("batch_id")
    batches = list(PrintBatch.objects.filter(pk__in=touched).exclude(file="").select_for_update(of=("self",)))
    PrintBatch.objects.filter(pk__in=[b.pk for b in batches]).update(file="")
    return [b.file for b in batches]


def _print_batches_purge() -> None:
    """Print batches left without documents (all past retention) go, with their ZIP."""
    with transaction.atomic():
        empty = list(
            PrintBatch.objects.exclude(pk__in=PrintItem.objects.values("batch_id")).select_for_update(
                skip_locked=True, of=("self",)
            )
        )
        if not empty:
            return
        files = [b.file for b in empty if b.file]
        PrintBatch.objects.filter(pk__in=[b.pk for b in empty]).delete()
        transaction.on_commit(lambda: _delete_files(files))


def _delete_files(files: list) -> None:
    for field in files:
        try:
            field.storage.delete(field.name)
        except OSError:  # already gone, or the storage is away: the row is gone, log and go on
            log.warning("retention: could not delete the file %s", field.name)
