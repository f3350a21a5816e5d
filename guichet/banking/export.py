"""Exporting validated transfers to ISO 20022 pain.001.001.09 files, delivering the files to the
outbox folder of the bank's core system, reading them back, and rejecting transfers.

One export run of an entity, in ONE database transaction:

1. lock the entity's export slot (``FOR NO KEY UPDATE SKIP LOCKED`` on the entity row: a second worker
   skips the entity instead of waiting) and its validated transfers (``SKIP LOCKED``: a transfer being
   changed elsewhere waits for the next run; a batch is exported whole or not at all);
2. check the rights again: the last valid signature of each transfer (or of its batch) must come from a
   user who still holds the validation right on the debtor account (``entities.access``) and still
   satisfies the four-eyes rule. Otherwise the transfer (the whole batch) is rejected, with the reason;
3. build the file, validate it against the official XSD and check its consistency. A file with any
   problem is not stored: the transfers stay validated, the problem is logged and audited;
4. store the file (default storage, SHA-256), create the ``ExportFile`` row and mark the transfers
   exported, linked to it.

After commit, the file is copied into ``GUICHET_PAIN001_OUTBOX_DIR`` as ``<message ID>.xml.tmp`` then
renamed (atomic on one file system) and ``delivered_at`` is set. A failed copy is retried by every later
run for each file whose ``delivered_at`` is still empty: a crash never loses a file, and at worst the
same file (same name, same message ID) is dropped twice.
"""

import dataclasses
import datetime
import enum
import hashlib
import logging
import os
import secrets
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from guichet.audit.services import record
from guichet.banking import pain001
from guichet.banking.models import Batch, ExportFile, Transfer, TransferStatus, Validation
from guichet.banking.transfers import authors as order_authors
from guichet.entities import access
from guichet.entities.models import Entity, Right

log = logging.getLogger(__name__)

# Who may download a file: consultation or validation on EVERY debtor account in it.
DOWNLOAD_RIGHTS = (Right.CONSULTATION, Right.VALIDATION)
REASON_MAX = 280
# Before export the back office may reject an order; once exported, only because the bank rejected it.
REJECTABLE = (TransferStatus.PREPARED, TransferStatus.VALIDATED, TransferStatus.EXPORTED)


class ExportErrorCode(enum.StrEnum):
    NOT_FOUND = "not_found"
    NOT_ALLOWED = "not_allowed"
    WRONG_STATUS = "wrong_status"
    REASON_MISSING = "reason_missing"
    REASON_TOO_LONG = "reason_too_long"


MESSAGES = {
    ExportErrorCode.NOT_FOUND: _("This file does not exist."),
    ExportErrorCode.NOT_ALLOWED: _("Only the bank's back office may reject a transfer."),
    ExportErrorCode.WRONG_STATUS: _("This transfer can no longer be rejected in its current status."),
    ExportErrorCode.REASON_MISSING: _("Give the reason for the rejection."),
    ExportErrorCode.REASON_TOO_LONG: _("The reason may have at most 280 characters."),
}


class ExportError(Exception):
    """A refusal; nothing was written."""

    def __init__(self, code: ExportErrorCode) -> None:
        self.code = code
        super().__init__(str(code))

    @property
    def message(self) -> str:
        return str(MESSAGES[self.code])


# Reasons stored on transfers rejected at export (in the institution's language, see ``_reason``).
REASON_NO_RIGHT = _(
    "Rejected at export: the validator no longer has the validation right on the debtor account."
)
REASON_FOUR_EYES = _(
    "Rejected at export: the validator prepared or last changed the order, which the four-eyes rule forbids."
)
REASON_NO_VALIDATION = _("Rejected at export: no valid signature of the current version was found.")


@dataclasses.dataclass
class ExportResult:
    files: list[ExportFile] = dataclasses.field(default_factory=list)
    rejected: int = 0
    failed_entities: list[int] = dataclasses.field(default_factory=list)
    delivered: int = 0
    undelivered: int = 0

    def summary(self) -> str:
        return (
            f"files={len(self.files)} transfers={sum(f.transaction_count for f in self.files)} "
            f"rejected={self.rejected} failed={len(self.failed_entities)} "
            f"delivered={self.delivered} undelivered={self.undelivered}"
        )


# --- The export run -----------------------------------------------------------------------------------


def export_run(*, entity_id: int | None = None, acting_user: Any = None) -> ExportResult:
    """Exports the validated transfers of one entity (or of all), then delivers every undelivered file."""
    result = ExportResult()
    if entity_id is not None:
        entity_ids = [entity_id]
    else:
        entity_ids = list(
            Transfer.objects.filter(status=TransferStatus.VALIDATED)
            .order_by("entity_id")
            .values_list("entity_id", flat=True)
            .distinct()
        )
    for pk in entity_ids:
        entity_export(entity_id=pk, acting_user=acting_user, result=result, deliver=False)
    result.delivered, result.undelivered = exports_deliver_pending(entity_id=entity_id)
    return result


def entity_export(
    *, entity_id: int, acting_user: Any = None, result: ExportResult | None = None, deliver: bool = True
) -> ExportResult:
    """One export of one entity's validated transfers (see the module's docstring); delivered after commit."""
    result = result if result is not None else ExportResult()
    with transaction.atomic(durable=True):
        export_file = _export_locked(entity_id, acting_user, result)
    if export_file is not None:
        result.files.append(export_file)
        if deliver:
            if export_deliver(export_file_id=export_file.pk):
                result.delivered += 1
            else:
                result.undelivered += 1
    return result


def _export_locked(entity_id: int, acting_user: Any, result: ExportResult) -> ExportFile | None:
    entity = Entity.objects.select_for_update(no_key=True, skip_locked=True).filter(pk=entity_id).first()
    if entity is None:
        return None  # unknown, or another worker is exporting it right now
    transfers = _lock_validated(entity)
    transfers = _recheck_rights(entity, transfers, result)
    if not transfers:
        return None
    now = timezone.now()
    message_id = new_message_id(now)
    try:
        xml = pain001.build(
            initiating_party=entity.name,
            message_id=message_id,
            created_at=timezone.localtime(now),
            payments=[_payment(transfer) for transfer in transfers],
        )
        problems = pain001.problems(xml)
    except ValueError as error:
        problems = [f"could not build the file: {error}"]
    if problems:
        _export_failed(entity, transfers, problems, result)
        return None
    return _export_store(entity, transfers, xml, message_id, now, acting_user)


def _lock_validated(entity: Entity) -> list[Transfer]:
    """The entity's validated transfers we could lock; a batch only if all its validated lines and the
    batch row itself were locked (two workers never split a batch)."""
    transfers = list(
        Transfer.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(entity=entity, status=TransferStatus.VALIDATED)
        .select_related("debtor_account", "batch")
        .order_by("pk")
    )
    batch_ids = {t.batch_id for t in transfers if t.batch_id is not None}
    if not batch_ids:
        return transfers
    locked_batches = set(
        Batch.objects.select_for_update(skip_locked=True)
        .filter(pk__in=batch_ids, status=TransferStatus.VALIDATED)
        .values_list("pk", flat=True)
    )
    line_counts = dict(
        Transfer.objects.filter(batch_id__in=locked_batches, status=TransferStatus.VALIDATED)
        .values_list("batch_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    held: dict[int, int] = {}
    for t in transfers:
        if t.batch_id is not None:
            held[t.batch_id] = held.get(t.batch_id, 0) + 1
    whole = {pk for pk in locked_batches if held.get(pk) == line_counts.get(pk)}
    return [t for t in transfers if t.batch_id is None or t.batch_id in whole]


def _recheck_rights(entity: Entity, transfers: list[Transfer], result: ExportResult) -> list[Transfer]:
    """Keeps the transfers whose last valid signature still stands; rejects the others (whole batches)."""
    signatures = _last_validations(transfers)
    rights: dict[tuple[int, int], bool] = {}
    kept: list[Transfer] = []
    refused: dict[Transfer | Batch, Any] = {}
    for transfer in transfers:
        subject: Transfer | Batch = transfer.batch if transfer.batch_id is not None else transfer
        reason = _signature_fault(entity, subject, signatures.get(_key(subject)), rights)
        if reason is None:
            kept.append(transfer)
        else:
            refused.setdefault(subject, reason)
    for subject, reason in refused.items():
        validation = signatures.get(_key(subject))
        result.rejected += _reject(
            subject,
            reason_text(reason),
            acting_user=None,
            details={
                "at_export": True,
                "validator": validation.user_id if validation else None,
            },
        )
    return kept


def _key(subject: Transfer | Batch) -> tuple[str, int]:
    return ("batch" if isinstance(subject, Batch) else "transfer", subject.pk)


def _last_validations(transfers: Sequence[Transfer]) -> dict[tuple[str, int], Validation]:
    """The latest non-voided validation of each transfer, or of each batch for batch lines (one query)."""
    singles = [t.pk for t in transfers if t.batch_id is None]
    batches = {t.batch_id for t in transfers if t.batch_id is not None}
    found: dict[tuple[str, int], Validation] = {}
    rows = (
        Validation.objects.filter(
            Q(transfer_id__in=singles) | Q(batch_id__in=batches), voided_at__isnull=True
        )
        .select_related("user")
        .order_by("validated_at", "pk")
    )
    for validation in rows:  # ascending: the last one wins
        key = ("batch", validation.batch_id) if validation.batch_id else ("transfer", validation.transfer_id)
        found[key] = validation  # type: ignore[assignment]
    return found


def _signature_fault(
    entity: Entity,
    subject: Transfer | Batch,
    validation: Validation | None,
    rights: dict[tuple[int, int], bool],
) -> Any:
    """Why the signature no longer stands (a lazy reason), or None."""
    if validation is None or validation.version != subject.version:
        return REASON_NO_VALIDATION
    pair = (validation.user_id, subject.debtor_account_id)
    if pair not in rights:
        rights[pair] = access.may(validation.user, Right.VALIDATION, subject.debtor_account)
    if not rights[pair]:
        return REASON_NO_RIGHT
    if not entity.allow_self_validation and validation.user_id in order_authors(subject):
        return REASON_FOUR_EYES
    return None


def reason_text(lazy: Any) -> str:
    """A reason stored on the order, in the institution's language (workers have no user's language)."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(lazy)


def _payment(transfer: Transfer) -> pain001.Payment:
    account = transfer.debtor_account
    return pain001.Payment(
        end_to_end_id=transfer.end_to_end_id,
        debtor_iban=account.iban,
        debtor_bic=account.bic or settings.GUICHET_DEBTOR_BIC,
        execution_date=transfer.execution_date,
        amount=transfer.amount,
        currency=transfer.currency,
        creditor_name=transfer.beneficiary_name,
        creditor_iban=transfer.beneficiary_iban,
        creditor_bic=transfer.beneficiary_bic,
        remittance_information=transfer.remittance_information,
        structured_reference=transfer.structured_reference,
        in_batch=transfer.batch_id is not None,
    )


def new_message_id(now: Any = None) -> str:
    """``GCH20260302T093000-0A1B2C3D4E5F``: UTC time and 12 random hex digits, 31 characters (room for
    the ``-<n>`` of the payment-information IDs within 35); unique, and the column is too."""
    now = now or timezone.now()
    return f"GCH{now.astimezone(datetime.UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(6).upper()}"


def _export_failed(
    entity: Entity, transfers: Sequence[Transfer], problems: list[str], result: ExportResult
) -> None:
    log.error(
        "pain.001 export of entity %s refused, file not stored: %s", entity.pk, "; ".join(problems[:10])
    )
    record(
        action="banking.export_failed",
        target=entity,
        details={"transfers": [t.pk for t in transfers], "problems": problems[:20]},
    )
    result.failed_entities.append(entity.pk)


def _export_store(
    entity: Entity, transfers: Sequence[Transfer], xml: bytes, message_id: str, now: Any, acting_user: Any
) -> ExportFile:
    export_file = ExportFile(
        entity=entity,
        message_id=message_id,
        sha256=hashlib.sha256(xml).hexdigest(),
        transaction_count=len(transfers),
        control_sum=sum((t.amount for t in transfers), Decimal("0.00")),
        created_at=now,
        created_by=acting_user,
    )
    # Written before the row: if the transaction rolls back, an orphan file is left, never a row without file.
    export_file.file.save(f"{message_id}.xml", ContentFile(xml), save=False)
    export_file.save(force_insert=True)
    ids = [t.pk for t in transfers]
    Transfer.objects.filter(pk__in=ids).update(
        status=TransferStatus.EXPORTED, export_file=export_file, updated_at=now
    )
    batch_ids = {t.batch_id for t in transfers if t.batch_id is not None}
    Batch.objects.filter(pk__in=batch_ids).update(status=TransferStatus.EXPORTED, updated_at=now)
    record(
        action="banking.export_created",
        actor=acting_user,
        target=export_file,
        details={
            "entity": entity.pk,
            "message_id": message_id,
            "transfers": ids,
            "batches": sorted(batch_ids),
            "control_sum": str(export_file.control_sum),
            "sha256": export_file.sha256,
        },
    )
    return export_file


# --- Delivery to the outbox ---------------------------------------------------------------------------


def outbox_name(export_file: ExportFile) -> str:
    return f"{export_file.message_id}.xml"


def export_deliver(*, export_file_id: int) -> bool:
    """Copies the file into the outbox (``.tmp`` then rename) and sets ``delivered_at``; False if not done.

    The row is locked (``SKIP LOCKED``) so two workers never write the same file; a failure is logged and
    audited, and the next run tries again.
    """
    with transaction.atomic(durable=True):
        export_file = (
            ExportFile.objects.select_for_update(skip_locked=True)
            .filter(pk=export_file_id, delivered_at__isnull=True)
            .first()
        )
        if export_file is None:
            return False
        try:
            with export_file.file.open("rb") as stored:
                xml = stored.read()
            if hashlib.sha256(xml).hexdigest() != export_file.sha256:
                raise OSError(f"stored file {export_file.file.name} does not match its SHA-256")
            _drop(Path(settings.GUICHET_PAIN001_OUTBOX_DIR), outbox_name(export_file), xml)
        except OSError as error:
            log.error("pain.001 file %s not delivered to the outbox: %s", export_file.message_id, error)
            record(
                action="banking.export_delivery_failed",
                target=export_file,
                details={"message_id": export_file.message_id, "error": str(error)[:500]},
            )
            return False
        export_file.delivered_at = timezone.now()
        export_file.save(update_fields=["delivered_at"])
        record(
            action="banking.export_delivered",
            target=export_file,
            details={"message_id": export_file.message_id, "name": outbox_name(export_file)},
        )
    return True


def _drop(folder: Path, name: str, xml: bytes) -> None:
    """Atomic on one file system: the core system never sees a half-written ``.xml``."""
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f"{name}.tmp"
    with open(temporary, "wb") as out:
        out.write(xml)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, folder / name)


def exports_deliver_pending(*, entity_id: int | None = None) -> tuple[int, int]:
    """Delivers every file not yet in the outbox; (delivered, still undelivered)."""
    pending = ExportFile.objects.filter(delivered_at__isnull=True).order_by("pk")
    if entity_id is not None:
        pending = pending.filter(entity_id=entity_id)
    delivered = failed = 0
    for pk in pending.values_list("pk", flat=True):
        if export_deliver(export_file_id=pk):
            delivered += 1
        else:
            failed += 1
    return delivered, failed


# --- Reading (download) -----------------------------------------------------------------------------


def export_files_visible(*, user: Any) -> QuerySet[ExportFile]:
    """The files ``user`` may download: consultation or validation right on every debtor account in them.

    A file mixes the entity's accounts; someone who may not see one of them may not see the file
    (it would show that account's payments). One query, whatever the number of rights.
    """
    allowed = Q()
    for right in DOWNLOAD_RIGHTS:
        allowed |= Q(debtor_account__in=access.accounts(user, right).values("pk"))
    in_file = Transfer.objects.filter(export_file=OuterRef("pk"))
    return (
        ExportFile.objects.filter(Exists(in_file), ~Exists(in_file.exclude(allowed)))
        .select_related("entity")
        .order_by("-created_at", "-pk")
    )


def export_file_get(*, user: Any, export_file_id: int) -> ExportFile:
    found = export_files_visible(user=user).filter(pk=export_file_id).first()
    if found is None:
        raise ExportError(ExportErrorCode.NOT_FOUND)
    return found


def export_file_download(
    *, user: Any, export_file_id: int, request: HttpRequest | None = None
) -> tuple[ExportFile, bytes]:
    """The file's content for ``user`` (audited); another entity's file does not exist (``NOT_FOUND``)."""
    export_file = export_file_get(user=user, export_file_id=export_file_id)
    with export_file.file.open("rb") as stored:
        xml = stored.read()
    record(
        action="banking.export_downloaded",
        actor=user,
        target=export_file,
        request=request,
        details={"entity": export_file.entity_id, "message_id": export_file.message_id},
    )
    return export_file, xml


# --- Rejection ----------------------------------------------------------------------------------------


def transfer_reject(
    *, transfer: Transfer | int, reason: str, acting_user: Any, request: HttpRequest | None = None
) -> Transfer:
    """The back office rejects a transfer, with the reason shown to the customer.

    Before export (prepared or validated), a batch line rejects its whole batch: the validator signed
    the batch's total. An exported transfer may be rejected only because the bank rejected it (reported
    by the core system); then only that transfer. Rejected and cancelled ones are final.
    """
    if not (
        acting_user is not None
        and acting_user.is_active
        and acting_user.is_staff
        and acting_user.has_perm("banking.change_transfer")
    ):
        raise ExportError(ExportErrorCode.NOT_ALLOWED)
    text = " ".join((reason or "").split())
    if not text:
        raise ExportError(ExportErrorCode.REASON_MISSING)
    if len(text) > REASON_MAX:
        raise ExportError(ExportErrorCode.REASON_TOO_LONG)
    pk = transfer.pk if isinstance(transfer, Transfer) else transfer
    with transaction.atomic():
        locked = Transfer.objects.select_for_update().filter(pk=pk).first()
        if locked is None:
            raise ExportError(ExportErrorCode.NOT_FOUND)
        if locked.status not in REJECTABLE:
            raise ExportError(ExportErrorCode.WRONG_STATUS)
        if locked.batch_id is not None and locked.status != TransferStatus.EXPORTED:
            batch = Batch.objects.select_for_update().get(pk=locked.batch_id)
            _reject(batch, text, acting_user=acting_user, request=request, details={"by_bank": False})
        else:
            _reject(
                locked,
                text,
                acting_user=acting_user,
                request=request,
                details={"by_bank": locked.status == TransferStatus.EXPORTED},
            )
        locked.refresh_from_db()
    return locked


def _reject(
    subject: Transfer | Batch,
    reason: str,
    *,
    acting_user: Any,
    details: dict[str, Any],
    request: HttpRequest | None = None,
) -> int:
    """Marks ``subject`` rejected (a batch with its open lines), audited; returns the transfers rejected."""
    now = timezone.now()
    fields = {"status": TransferStatus.REJECTED, "rejection_reason": reason[:REASON_MAX], "updated_at": now}
    if isinstance(subject, Batch):
        Batch.objects.filter(pk=subject.pk).update(**fields)
        lines = Transfer.objects.filter(batch=subject, status__in=REJECTABLE)
        ids = list(lines.values_list("pk", flat=True))
        lines.update(**fields)
        action = "banking.batch_rejected"
    else:
        Transfer.objects.filter(pk=subject.pk).update(**fields)
        ids = [subject.pk]
        action = "banking.transfer_rejected"
    record(
        action=action,
        actor=acting_user,
        target=subject,
        request=request,
        details={"entity": subject.entity_id, "reason": reason, "transfers": ids, **details},
    )
    return len(ids)
