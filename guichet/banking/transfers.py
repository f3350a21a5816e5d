"""SEPA credit transfers and batches, prepared and validated under the four-eyes rule.

Who may do what comes from ``entities.access`` only, checked again inside each
service under a row lock: the management right on the debtor account to
prepare, edit and cancel; the validation right to validate. The validator
differs from the preparer and from the last editor unless the entity allows
self-validation. A validation is a signature (dynamic linking): the validator
signs the amount and payee (for a batch: the total and every payee), and the
service consumes the proof in its own transaction, for the very version shown.
Any edit bumps the version, voids earlier validations and puts the status
back to prepared. A validated transfer or batch is exported to pain.001 by
``banking.tasks.export_validated``, enqueued in the same transaction.

Every refusal raises ``TransferError`` before anything is written.
"""

import dataclasses
import datetime
import enum
import re
import uuid
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import (
    CharField,
    Count,
    DecimalField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from schwifty import BIC, IBAN
from stdnum import iso11649
from stdnum.be import ogm_vcs
from stdnum.exceptions import ValidationError as StdnumError
from text_unidecode import unidecode

from guichet.audit.services import record
from guichet.banking.models import Author, Batch, Transfer, TransferStatus, Validation
from guichet.entities import access
from guichet.entities.models import BankAccount, Right
from guichet.identity import signing
from guichet.identity.models import User

CURRENCY = "EUR"
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999.99")
MAX_BATCH_LINES = 200
NAME_MAX = 70
LABEL_MAX = 70
REMITTANCE_MAX = 140
# The SEPA basic Latin character set (EPC guidance on the use of the UNICODE character set).
SEPA_TEXT = re.compile(r"[A-Za-z0-9/\-?:().,'+ ]*")
PRINTABLE = re.compile(r"[^\x00-\x1f\x7f-\x9f]*")
SEPA_DROPPED = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")
EDITABLE = (TransferStatus.PREPARED, TransferStatus.VALIDATED)
VISIBLE_RIGHTS = (Right.CONSULTATION, Right.MANAGEMENT, Right.VALIDATION)


class TransferErrorCode(enum.StrEnum):
    NOT_FOUND = "not_found"
    NO_MANAGEMENT_RIGHT = "no_management_right"
    NO_VALIDATION_RIGHT = "no_validation_right"
    FOUR_EYES = "four_eyes"
    WRONG_STATUS = "wrong_status"
    IN_BATCH = "in_batch"
    TAMPERED = "tampered"
    SIGNATURE = "signature"
    INVALID_NAME = "invalid_name"
    INVALID_LABEL = "invalid_label"
    INVALID_IBAN = "invalid_iban"
    NOT_SEPA = "not_sepa"
    INVALID_BIC = "invalid_bic"
    INVALID_AMOUNT = "invalid_amount"
    AMOUNT_TOO_LARGE = "amount_too_large"
    DATE_PAST = "date_past"
    DATE_TOO_FAR = "date_too_far"
    INVALID_REMITTANCE = "invalid_remittance"
    INVALID_REFERENCE = "invalid_reference"
    BOTH_REMITTANCES = "both_remittances"
    EMPTY_BATCH = "empty_batch"
    TOO_MANY_LINES = "too_many_lines"


MESSAGES = {
    TransferErrorCode.NOT_FOUND: _("This transfer does not exist."),
    TransferErrorCode.NO_MANAGEMENT_RIGHT: _(
        "You do not have the management right on this account: you cannot prepare or change its transfers."
    ),
    TransferErrorCode.NO_VALIDATION_RIGHT: _(
        "You do not have the validation right on this account: you cannot validate its transfers."
    ),
    TransferErrorCode.FOUR_EYES: _(
        "You prepared or last changed this order: another user with the validation right must validate it."
    ),
    TransferErrorCode.WRONG_STATUS: _("This order can no longer be changed in its current status."),
    TransferErrorCode.IN_BATCH: _("This transfer is part of a batch: change or validate the batch."),
    TransferErrorCode.TAMPERED: _(
        "The order changed after you reviewed or signed it. Review it again before validating."
    ),
    TransferErrorCode.SIGNATURE: _("The signature could not be used. Start the validation again."),
    TransferErrorCode.INVALID_NAME: _(
        "Enter the beneficiary's name: at most 70 letters, digits, spaces or / - ? : ( ) . , ' + "
        "(accents are written without them, as the bank receives them)."
    ),
    TransferErrorCode.INVALID_LABEL: _("Enter a label of at most 70 characters."),
    TransferErrorCode.INVALID_IBAN: _("Enter a valid IBAN, such as BE68 5390 0754 7034."),
    TransferErrorCode.NOT_SEPA: _("This account is outside the SEPA area: a SEPA transfer cannot reach it."),
    TransferErrorCode.INVALID_BIC: _("Enter a valid BIC (8 or 11 characters), or leave it empty."),
    TransferErrorCode.INVALID_AMOUNT: _(
        "Enter an amount in euro greater than zero, with at most 2 decimals."
    ),
    TransferErrorCode.AMOUNT_TOO_LARGE: _("The amount may not exceed 999,999,999.99 EUR."),
    TransferErrorCode.DATE_PAST: _("The execution date cannot be in the past."),
    TransferErrorCode.DATE_TOO_FAR: _("The execution date is too far ahead."),
    TransferErrorCode.INVALID_REMITTANCE: _(
        "The communication may have at most 140 characters: letters without accents, digits, spaces "
        "and / - ? : ( ) . , ' +"
    ),
    TransferErrorCode.INVALID_REFERENCE: _(
        "Enter a valid structured reference: RF followed by its digits and letters (ISO 11649), or a "
        "Belgian structured communication such as +++010/8068/17183+++."
    ),
    TransferErrorCode.BOTH_REMITTANCES: _(
        "Give either a free communication or a structured reference, not both."
    ),
    TransferErrorCode.EMPTY_BATCH: _("Add at least one transfer to the batch."),
    TransferErrorCode.TOO_MANY_LINES: _("A batch may hold at most 200 transfers."),
}


class TransferError(Exception):
    """A refusal; ``field`` names the input at fault, if any. Nothing was written."""

    def __init__(self, code: TransferErrorCode, *, field: str = "", detail: str = "") -> None:
        self.code = code
        self.field = field
        self.detail = detail
        super().__init__(str(code))

    @property
    def message(self) -> str:
        return self.detail or str(MESSAGES[self.code])


# --- Input --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Payment:
    """One payee: what a single transfer or a batch line pays, before checks."""

    beneficiary_name: str
    beneficiary_iban: str
    amount: Any
    beneficiary_bic: str = ""
    remittance_information: str = ""
    structured_reference: str = ""


def name_clean(value: str, *, field: str = "beneficiary_name") -> str:
    """The name as the bank will receive it: accents transliterated to the SEPA character set
    (Société → Societe), other characters dropped. That is what is stored, shown and signed, so the
    signature covers exactly what the pain.001 file carries."""
    typed = " ".join((value or "").split())
    if not typed or not PRINTABLE.fullmatch(typed):
        raise TransferError(TransferErrorCode.INVALID_NAME, field=field)
    name = " ".join(SEPA_DROPPED.sub("", unidecode(typed)).split())
    if not name or len(name) > NAME_MAX:
        raise TransferError(TransferErrorCode.INVALID_NAME, field=field)
    return name


def label_clean(value: str) -> str:
    label = " ".join((value or "").split())
    if not label or len(label) > LABEL_MAX or not PRINTABLE.fullmatch(label):
        raise TransferError(TransferErrorCode.INVALID_LABEL, field="label")
    return label


def iban_clean(value: str, *, field: str = "beneficiary_iban") -> str:
    """The compact, upper-case IBAN; refused if invalid or outside the SEPA area."""
    try:
        iban = IBAN(value or "")
    except ValueError:
        raise TransferError(TransferErrorCode.INVALID_IBAN, field=field) from None
    if not iban.in_sepa_zone:
        raise TransferError(TransferErrorCode.NOT_SEPA, field=field)
    return iban.compact


def bic_clean(value: str, *, field: str = "beneficiary_bic") -> str:
    if not (value or "").strip():
        return ""
    try:
        return BIC(value).compact
    except ValueError:
        raise TransferError(TransferErrorCode.INVALID_BIC, field=field) from None


def amount_clean(value: Any, *, field: str = "amount") -> Decimal:
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise TransferError(TransferErrorCode.INVALID_AMOUNT, field=field) from None
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(CENT):
        raise TransferError(TransferErrorCode.INVALID_AMOUNT, field=field)
    if amount > MAX_AMOUNT:
        raise TransferError(TransferErrorCode.AMOUNT_TOO_LARGE, field=field)
    return amount.quantize(CENT)


def latest_execution_date() -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=settings.GUICHET_TRANSFER_MAX_DAYS_AHEAD)


def execution_date_clean(value: datetime.date | None) -> datetime.date:
    """Today (in the institution's time zone) up to ``GUICHET_TRANSFER_MAX_DAYS_AHEAD`` days ahead."""
    if value is None or value < timezone.localdate():
        raise TransferError(TransferErrorCode.DATE_PAST, field="execution_date")
    if value > latest_execution_date():
        raise TransferError(TransferErrorCode.DATE_TOO_FAR, field="execution_date")
    return value


def remittance_clean(value: str, *, field: str = "remittance_information") -> str:
    text = " ".join((value or "").split())
    if len(text) > REMITTANCE_MAX or not SEPA_TEXT.fullmatch(text):
        raise TransferError(TransferErrorCode.INVALID_REMITTANCE, field=field)
    return text


def reference_clean(value: str, *, field: str = "structured_reference") -> str:
    """An ISO 11649 reference (stored compact: ``RF18539007547034``) or a Belgian structured
    communication (stored as its 12 digits: ``010806817183``); "" when empty."""
    text = (value or "").strip()
    if not text:
        return ""
    try:
        if text.upper().startswith("RF"):
            return iso11649.validate(text)
        return ogm_vcs.validate(text)
    except StdnumError:
        raise TransferError(TransferErrorCode.INVALID_REFERENCE, field=field) from None


def reference_display(reference: str) -> str:
    """``RF18 5390 0754 7034`` or ``+++010/8068/17183+++``."""
    if not reference:
        return ""
    if reference.startswith("RF"):
        return iso11649.format(reference)
    return f"+++{ogm_vcs.format(reference)}+++"


def payment_clean(payment: Payment) -> Payment:
    """The payment normalised (compact IBAN and BIC, amount to the cent); raises on the first fault."""
    remittance = remittance_clean(payment.remittance_information)
    reference = reference_clean(payment.structured_reference)
    if remittance and reference:
        raise TransferError(TransferErrorCode.BOTH_REMITTANCES, field="structured_reference")
    return Payment(
        beneficiary_name=name_clean(payment.beneficiary_name),
        beneficiary_iban=iban_clean(payment.beneficiary_iban),
        beneficiary_bic=bic_clean(payment.beneficiary_bic),
        amount=amount_clean(payment.amount),
        remittance_information=remittance,
        structured_reference=reference,
    )


def end_to_end_id() -> str:
    """Unique, 34 characters of the SEPA set (the column is unique too)."""
    return f"GT{uuid.uuid4().hex.upper()}"


# --- Reading --------------------------------------------------------------------------------------


def visible_accounts(user: Any) -> QuerySet[BankAccount]:
    """Accounts on which ``user`` holds any of the three rights: one subquery."""
    return access.accounts_with_any(user, VISIBLE_RIGHTS)


def transfers_visible(*, user: Any) -> QuerySet[Transfer]:
    """Single transfers (not batch lines) whose debtor account the user may see."""
    return Transfer.objects.filter(
        batch__isnull=True, debtor_account__in=visible_accounts(user).values("pk")
    ).select_related("entity", "debtor_account", "prepared_by", "last_edited_by")


def _batches(user: Any) -> QuerySet[Batch]:
    return Batch.objects.filter(debtor_account__in=visible_accounts(user).values("pk"))


def batches_visible(*, user: Any) -> QuerySet[Batch]:
    return (
        _batches(user)
        .select_related("entity", "debtor_account", "prepared_by", "last_edited_by")
        .annotate(
            line_count=Count("transfers"),
            total=Coalesce(Sum("transfers__amount"), Value(Decimal("0.00")), output_field=DecimalField()),
        )
    )


def transfer_get(*, user: Any, transfer_id: int) -> Transfer:
    found = transfers_visible(user=user).filter(pk=transfer_id).first()
    if found is None:
        raise TransferError(TransferErrorCode.NOT_FOUND)
    return found


def batch_get(*, user: Any, batch_id: int) -> Batch:
    found = batches_visible(user=user).filter(pk=batch_id).first()
    if found is None:
        raise TransferError(TransferErrorCode.NOT_FOUND)
    return found


def batch_lines(batch: Batch) -> list[Transfer]:
    return list(batch.transfers.order_by("pk"))


def validations_of(subject: Transfer | Batch) -> list[Validation]:
    """The history of signatures, newest first (voided ones included)."""
    return list(subject.validations.select_related("user").order_by("-validated_at", "-pk"))


def _validator_filter(user: Any) -> Q:
    """Orders ``user`` may validate now: validation right, prepared, four-eyes respected."""
    own = (
        Q(prepared_by=user)
        | Q(last_edited_by=user)
        | Exists(Author.objects.filter(transfer=OuterRef("pk"), user=user))
        | Exists(Author.objects.filter(batch=OuterRef("pk"), user=user))
    )
    return (
        Q(status=TransferStatus.PREPARED)
        & Q(debtor_account__in=access.accounts(user, Right.VALIDATION).values("pk"))
        & (Q(entity__allow_self_validation=True) | ~own)
    )


def waiting_for(*, user: Any) -> tuple[QuerySet[Transfer], QuerySet[Batch]]:
    """What waits for this user's validation."""
    return (
        transfers_visible(user=user).filter(_validator_filter(user)),
        batches_visible(user=user).filter(_validator_filter(user)),
    )


def may_validate(user: Any, subject: Transfer | Batch) -> bool:
    return (
        subject.status == TransferStatus.PREPARED
        and access.may(user, Right.VALIDATION, subject.debtor_account)
        and (subject.entity.allow_self_validation or user.pk not in _authors(subject))
    )


def may_manage(user: Any, subject: Transfer | Batch) -> bool:
    return subject.status in EDITABLE and access.may(user, Right.MANAGEMENT, subject.debtor_account)


def _authors(subject: Transfer | Batch) -> set[int]:
    """The preparer and every editor of every version (four eyes)."""
    recorded = (
        Author.objects.filter(batch=subject)
        if isinstance(subject, Batch)
        else Author.objects.filter(transfer=subject)
    )
    return {subject.prepared_by_id, subject.last_edited_by_id, *recorded.values_list("user_id", flat=True)}


authors = _authors  # public: the export re-checks four eyes with it


def _author_add(subject: Transfer | Batch, user: User) -> None:
    field = "batch" if isinstance(subject, Batch) else "transfer"
    Author.objects.bulk_create([Author(user=user, **{field: subject})], ignore_conflicts=True)


# --- What the validator signs ------------------------------------------------------------------


def transfer_operation(transfer: Transfer) -> signing.Operation:
    return signing.Operation(
        kind="transfer_validate",
        amount=transfer.amount,
        currency=transfer.currency,
        payee_name=transfer.beneficiary_name,
        payee_iban=transfer.beneficiary_iban,
    )


def batch_operation(batch: Batch, lines: Sequence[Transfer] | None = None) -> signing.Operation:
    lines = batch_lines(batch) if lines is None else lines
    items = tuple(
        signing.OperationItem(
            payee_name=line.beneficiary_name, amount=line.amount, payee_iban=line.beneficiary_iban
        )
        for line in lines
    )
    return signing.Operation(
        kind="batch_validate",
        amount=sum((item.amount for item in items), Decimal("0.00")),
        currency=CURRENCY,
        items=items,
    )


# --- Checks (inside the services' transactions) -------------------------------------------------


def _require_management(user: User, account: BankAccount) -> None:
    if not access.may(user, Right.MANAGEMENT, account):
        raise TransferError(TransferErrorCode.NO_MANAGEMENT_RIGHT, field="debtor_account")


def _debtor_account(user: User, account: BankAccount | int, entity_id: int | None = None) -> BankAccount:
    """The account, if the user manages it (and it belongs to ``entity_id`` when given)."""
    pk = account.pk if isinstance(account, BankAccount) else account
    found = access.accounts(user, Right.MANAGEMENT).select_related("entity").filter(pk=pk).first()
    if found is None or (entity_id is not None and found.entity_id != entity_id):
        raise TransferError(TransferErrorCode.NO_MANAGEMENT_RIGHT, field="debtor_account")
    return found


def _lock_transfer(transfer: Transfer | int) -> Transfer:
    pk = transfer.pk if isinstance(transfer, Transfer) else transfer
    found = Transfer.objects.select_for_update().filter(pk=pk).first()
    if found is None:
        raise TransferError(TransferErrorCode.NOT_FOUND)
    if found.batch_id is not None:
        raise TransferError(TransferErrorCode.IN_BATCH)
    return found


def _lock_batch(batch: Batch | int) -> Batch:
    pk = batch.pk if isinstance(batch, Batch) else batch
    found = Batch.objects.select_for_update().filter(pk=pk).first()
    if found is None:
        raise TransferError(TransferErrorCode.NOT_FOUND)
    return found


def _require_visible(user: User, subject: Transfer | Batch) -> None:
    """Another entity's order does not exist for the user."""
    if not visible_accounts(user).filter(pk=subject.debtor_account_id).exists():
        raise TransferError(TransferErrorCode.NOT_FOUND)


def _require_status(subject: Transfer | Batch, statuses: Sequence[str]) -> None:
    if subject.status not in statuses:
        raise TransferError(TransferErrorCode.WRONG_STATUS)


def _void_validations(subject: Transfer | Batch, now: datetime.datetime) -> int:
    return subject.validations.filter(voided_at__isnull=True).update(voided_at=now)


def _consume(*, proof_id: Any, user: User, operation: signing.Operation) -> Any:
    try:
        return signing.signing_proof_consume(proof_id=proof_id, user=user, operation=operation)
    except signing.SigningError as error:
        if error.code == signing.SigningErrorCode.TAMPERED:
            raise TransferError(TransferErrorCode.TAMPERED) from error
        raise TransferError(TransferErrorCode.SIGNATURE, detail=error.message) from error


def _enqueue_export(entity_id: int) -> None:
    from guichet.banking.tasks import export_validated

    export_validated.enqueue(entity_id=entity_id)


def _payment_fields(payment: Payment) -> dict[str, Any]:
    return {
        "beneficiary_name": payment.beneficiary_name,
        "beneficiary_iban": payment.beneficiary_iban,
        "beneficiary_bic": payment.beneficiary_bic,
        "amount": payment.amount,
        "remittance_information": payment.remittance_information,
        "structured_reference": payment.structured_reference,
    }


# --- Single transfers ---------------------------------------------------------------------------


def transfer_prepare(
    *,
    acting_user: User,
    debtor_account: BankAccount | int,
    execution_date: datetime.date | None,
    payment: Payment,
    request: HttpRequest | None = None,
) -> Transfer:
    payment = payment_clean(payment)
    execution_date = execution_date_clean(execution_date)
    with transaction.atomic():
        account = _debtor_account(acting_user, debtor_account)
        now = timezone.now()
        created = Transfer.objects.create(
            entity=account.entity,
            debtor_account=account,
            currency=CURRENCY,
            execution_date=execution_date,
            end_to_end_id=end_to_end_id(),
            prepared_by=acting_user,
            last_edited_by=acting_user,
            created_at=now,
            updated_at=now,
            **_payment_fields(payment),
        )
        _author_add(created, acting_user)
        record(
            action="banking.transfer_prepared",
            actor=acting_user,
            target=created,
            request=request,
            details={"entity": account.entity_id, "account": account.pk, "amount": str(payment.amount)},
        )
    return created


def transfer_edit(
    *,
    transfer: Transfer | int,
    acting_user: User,
    debtor_account: BankAccount | int,
    execution_date: datetime.date | None,
    payment: Payment,
    request: HttpRequest | None = None,
) -> Transfer:
    """Changes a transfer not yet exported: new version, earlier validations voided, back to prepared."""
    payment = payment_clean(payment)
    execution_date = execution_date_clean(execution_date)
    with transaction.atomic():
        locked = _lock_transfer(transfer)
        _require_visible(acting_user, locked)
        _require_management(acting_user, locked.debtor_account)
        _require_status(locked, EDITABLE)
        account = _debtor_account(acting_user, debtor_account, entity_id=locked.entity_id)
        now = timezone.now()
        for name, value in _payment_fields(payment).items():
            setattr(locked, name, value)
        locked.debtor_account = account
        locked.execution_date = execution_date
        locked.version += 1
        locked.last_edited_by = acting_user
        locked.status = TransferStatus.PREPARED
        locked.updated_at = now
        locked.save()
        _author_add(locked, acting_user)
        voided = _void_validations(locked, now)
        record(
            action="banking.transfer_edited",
            actor=acting_user,
            target=locked,
            request=request,
            details={"entity": locked.entity_id, "version": locked.version, "voided": voided},
        )
    return locked


def transfer_cancel(
    *, transfer: Transfer | int, acting_user: User, request: HttpRequest | None = None
) -> Transfer:
    with transaction.atomic():
        locked = _lock_transfer(transfer)
        _require_visible(acting_user, locked)
        _require_management(acting_user, locked.debtor_account)
        _require_status(locked, EDITABLE)
        now = timezone.now()
        locked.status = TransferStatus.CANCELLED
        locked.last_edited_by = acting_user
        locked.updated_at = now
        locked.save(update_fields=["status", "last_edited_by", "updated_at"])
        voided = _void_validations(locked, now)
        record(
            action="banking.transfer_cancelled",
            actor=acting_user,
            target=locked,
            request=request,
            details={"entity": locked.entity_id, "version": locked.version, "voided": voided},
        )
    return locked


def _check_validator(user: User, subject: Transfer | Batch, version: int) -> None:
    _require_visible(user, subject)
    if not access.may(user, Right.VALIDATION, subject.debtor_account):
        raise TransferError(TransferErrorCode.NO_VALIDATION_RIGHT)
    _require_status(subject, (TransferStatus.PREPARED,))
    if not subject.entity.allow_self_validation and user.pk in _authors(subject):
        raise TransferError(TransferErrorCode.FOUR_EYES)
    if subject.version != version:
        raise TransferError(TransferErrorCode.TAMPERED)


def transfer_validate(
    *,
    transfer: Transfer | int,
    acting_user: User,
    version: int,
    proof_id: Any,
    request: HttpRequest | None = None,
) -> Validation:
    """Validates ``version`` of a prepared transfer with the validator's signed proof."""
    with transaction.atomic():
        locked = _lock_transfer(transfer)
        _check_validator(acting_user, locked, version)
        operation = transfer_operation(locked)
        proof = _consume(proof_id=proof_id, user=acting_user, operation=operation)
        now = timezone.now()
        validation = Validation.objects.create(
            transfer=locked,
            version=locked.version,
            user=acting_user,
            digest=operation.digest(),
            proof_id=proof.pk,
            validated_at=now,
        )
        locked.status = TransferStatus.VALIDATED
        locked.updated_at = now
        locked.save(update_fields=["status", "updated_at"])
        record(
            action="banking.transfer_validated",
            actor=acting_user,
            target=locked,
            request=request,
            details={"entity": locked.entity_id, "version": locked.version, "digest": validation.digest},
        )
        _enqueue_export(locked.entity_id)
    return validation


# --- Batches ----------------------------------------------------------------------------------------


def _batch_payments(payments: Sequence[Payment]) -> list[Payment]:
    if not payments:
        raise TransferError(TransferErrorCode.EMPTY_BATCH)
    if len(payments) > MAX_BATCH_LINES:
        raise TransferError(TransferErrorCode.TOO_MANY_LINES)
    return [payment_clean(payment) for payment in payments]


def _lines_create(batch: Batch, payments: Sequence[Payment], user: User, now: datetime.datetime) -> None:
    Transfer.objects.bulk_create(
        [
            Transfer(
                entity_id=batch.entity_id,
                debtor_account_id=batch.debtor_account_id,
                batch=batch,
                currency=CURRENCY,
                execution_date=batch.execution_date,
                end_to_end_id=end_to_end_id(),
                status=batch.status,
                prepared_by=user,
                last_edited_by=user,
                created_at=now,
                updated_at=now,
                **_payment_fields(payment),
            )
            for payment in payments
        ]
    )


def _lines_status(batch: Batch, now: datetime.datetime) -> None:
    batch.transfers.update(status=batch.status, updated_at=now)


def batch_prepare(
    *,
    acting_user: User,
    debtor_account: BankAccount | int,
    label: str,
    execution_date: datetime.date | None,
    payments: Sequence[Payment],
    request: HttpRequest | None = None,
) -> Batch:
    label = label_clean(label)
    execution_date = execution_date_clean(execution_date)
    cleaned = _batch_payments(payments)
    with transaction.atomic():
        account = _debtor_account(acting_user, debtor_account)
        now = timezone.now()
        batch = Batch.objects.create(
            entity=account.entity,
            debtor_account=account,
            label=label,
            execution_date=execution_date,
            prepared_by=acting_user,
            last_edited_by=acting_user,
            created_at=now,
            updated_at=now,
        )
        _lines_create(batch, cleaned, acting_user, now)
        _author_add(batch, acting_user)
        record(
            action="banking.batch_prepared",
            actor=acting_user,
            target=batch,
            request=request,
            details={"entity": account.entity_id, "account": account.pk, "lines": len(cleaned)},
        )
    return batch


def batch_edit(
    *,
    batch: Batch | int,
    acting_user: User,
    debtor_account: BankAccount | int,
    label: str,
    execution_date: datetime.date | None,
    payments: Sequence[Payment],
    request: HttpRequest | None = None,
) -> Batch:
    """Replaces the batch's lines (new end-to-end IDs): new version, validations voided, prepared."""
    label = label_clean(label)
    execution_date = execution_date_clean(execution_date)
    cleaned = _batch_payments(payments)
    with transaction.atomic():
        locked = _lock_batch(batch)
        _require_visible(acting_user, locked)
        _require_management(acting_user, locked.debtor_account)
        _require_status(locked, EDITABLE)
        account = _debtor_account(acting_user, debtor_account, entity_id=locked.entity_id)
        now = timezone.now()
        locked.debtor_account = account
        locked.label = label
        locked.execution_date = execution_date
        locked.version += 1
        locked.last_edited_by = acting_user
        locked.status = TransferStatus.PREPARED
        locked.updated_at = now
        locked.save()
        locked.transfers.all().delete()
        _lines_create(locked, cleaned, acting_user, now)
        _author_add(locked, acting_user)
        voided = _void_validations(locked, now)
        record(
            action="banking.batch_edited",
            actor=acting_user,
            target=locked,
            request=request,
            details={"entity": locked.entity_id, "version": locked.version, "voided": voided},
        )
    return locked


def batch_cancel(*, batch: Batch | int, acting_user: User, request: HttpRequest | None = None) -> Batch:
    with transaction.atomic():
        locked = _lock_batch(batch)
        _require_visible(acting_user, locked)
        _require_management(acting_user, locked.debtor_account)
        _require_status(locked, EDITABLE)
        now = timezone.now()
        locked.status = TransferStatus.CANCELLED
        locked.last_edited_by = acting_user
        locked.updated_at = now
        locked.save(update_fields=["status", "last_edited_by", "updated_at"])
        _lines_status(locked, now)
        voided = _void_validations(locked, now)
        record(
            action="banking.batch_cancelled",
            actor=acting_user,
            target=locked,
            request=request,
            details={"entity": locked.entity_id, "version": locked.version, "voided": voided},
        )
    return locked


def batch_validate(
    *,
    batch: Batch | int,
    acting_user: User,
    version: int,
    proof_id: Any,
    request: HttpRequest | None = None,
) -> Validation:
    """Validates ``version`` of a prepared batch: the validator signed its total and every payee."""
    with transaction.atomic():
        locked = _lock_batch(batch)
        _check_validator(acting_user, locked, version)
        lines = list(locked.transfers.select_for_update().order_by("pk"))
        operation = batch_operation(locked, lines)
        proof = _consume(proof_id=proof_id, user=acting_user, operation=operation)
        now = timezone.now()
        validation = Validation.objects.create(
            batch=locked,
            version=locked.version,
            user=acting_user,
            digest=operation.digest(),
            proof_id=proof.pk,
            validated_at=now,
        )
        locked.status = TransferStatus.VALIDATED
        locked.updated_at = now
        locked.save(update_fields=["status", "updated_at"])
        _lines_status(locked, now)
        record(
            action="banking.batch_validated",
            actor=acting_user,
            target=locked,
            request=request,
            details={"entity": locked.entity_id, "version": locked.version, "digest": validation.digest},
        )
        _enqueue_export(locked.entity_id)
    return validation


# --- The list -----------------------------------------------------------------------------------------


class Kind:
    TRANSFER = "transfer"
    BATCH = "batch"


LIST_COLUMNS = (
    "kind",
    "pk",
    "created_at",
    "status",
    "execution_date",
    "payee",
    "line_count",
    "total",
    "account_label",
    "account_iban",
    "preparer_first",
    "preparer_last",
)


def _orders(*, user: Any, status: str, waiting: bool) -> tuple[QuerySet[Transfer], QuerySet[Batch]]:
    transfers, batches = transfers_visible(user=user), _batches(user)
    if waiting:
        transfers, batches = (
            transfers.filter(_validator_filter(user)),
            batches.filter(_validator_filter(user)),
        )
    if status:
        transfers, batches = transfers.filter(status=status), batches.filter(status=status)
    return transfers, batches


def orders_count(*, user: Any, status: str = "", waiting: bool = False) -> int:
    """How many rows ``orders_list`` has: two plain counts, cheaper than counting the union."""
    transfers, batches = _orders(user=user, status=status, waiting=waiting)
    return transfers.order_by().count() + batches.order_by().count()


class CountedOrders:
    """``orders_list`` for a ``Paginator``, counted by ``orders_count``: one query per page, one count."""

    ordered = True

    def __init__(self, *, user: Any, status: str = "", waiting: bool = False) -> None:
        self.rows = orders_list(user=user, status=status, waiting=waiting)
        self._args = {"user": user, "status": status, "waiting": waiting}

    def count(self) -> int:
        return orders_count(**self._args)

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, key: Any) -> Any:
        return self.rows[key]


def orders_list(*, user: Any, status: str = "", waiting: bool = False) -> QuerySet:
    """Single transfers and batches in one list (rows as dicts, newest first): one query for a
    page, whatever the number of rights or rows (count it with ``orders_count``)."""
    transfers, batches = _orders(user=user, status=status, waiting=waiting)
    line_total = (
        Transfer.objects.filter(batch=OuterRef("pk"))
        .values("batch")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    line_count = (
        Transfer.objects.filter(batch=OuterRef("pk")).values("batch").annotate(n=Count("pk")).values("n")
    )
    money = DecimalField(max_digits=18, decimal_places=2)
    common = {
        "account_label": "debtor_account__label",
        "account_iban": "debtor_account__iban",
        "preparer_first": "prepared_by__first_name",
        "preparer_last": "prepared_by__last_name",
    }
    single = transfers.order_by().annotate(
        kind=Value(Kind.TRANSFER, output_field=CharField()),
        payee=F("beneficiary_name"),
        line_count=Value(1, output_field=IntegerField()),
        total=Cast("amount", money),
        **{key: F(path) for key, path in common.items()},
    )
    grouped = batches.order_by().annotate(
        kind=Value(Kind.BATCH, output_field=CharField()),
        payee=F("label"),
        line_count=Coalesce(Subquery(line_count), Value(0), output_field=IntegerField()),
        total=Coalesce(Subquery(line_total), Value(Decimal("0.00")), output_field=money),
        **{key: F(path) for key, path in common.items()},
    )
    return (
        single.values(*LIST_COLUMNS)
        .union(grouped.values(*LIST_COLUMNS), all=True)
        .order_by("-created_at", "-pk")
    )
