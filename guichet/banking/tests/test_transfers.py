"""Services of credit transfers and batches: preparing, editing, cancelling, validating, and every
refusal (which writes nothing)."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from guichet.audit.models import AuditEvent
from guichet.banking import transfers
from guichet.banking.models import Transfer, TransferStatus, Validation
from guichet.banking.tests.transfer_factories import (
    PAYEE_IBAN,
    make_team,
    payment,
    prepare,
    prepare_batch,
    snapshot,
    tomorrow,
    validate,
    validate_batch,
)
from guichet.banking.transfers import TransferError, TransferErrorCode
from guichet.entities.models import PersonStatus, Right
from guichet.entities.testing import make_member
from guichet.identity.testing import signed_proof

pytestmark = pytest.mark.django_db

Code = TransferErrorCode


def refused(code: TransferErrorCode, call, *args, **kwargs) -> TransferError:
    before = snapshot()
    with pytest.raises(TransferError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code
    assert str(caught.value.message)  # a translated sentence
    assert snapshot() == before
    return caught.value


# --- Preparing ---------------------------------------------------------------------------


def test_preparing_normalises_and_audits():
    team = make_team()

    transfer = prepare(team, beneficiary_bic="gkcc bebb")

    assert (transfer.beneficiary_iban, transfer.beneficiary_bic) == (PAYEE_IBAN, "GKCCBEBB")
    assert (transfer.status, transfer.version, transfer.amount) == ("prepared", 1, Decimal("1250.50"))
    assert transfer.prepared_by == transfer.last_edited_by == team.preparer
    assert transfer.entity == team.entity
    assert len(transfer.end_to_end_id) <= 35
    assert AuditEvent.objects.filter(action="banking.transfer_prepared", target_id=str(transfer.pk)).exists()


def test_end_to_end_ids_are_unique():
    team = make_team()
    ids = {prepare(team).end_to_end_id for _ in range(20)}
    assert len(ids) == 20
    assert all(len(i) <= 35 and i.isalnum() for i in ids)


@pytest.mark.parametrize(
    ("given", "stored", "shown"),
    [
        ("RF18 5390 0754 7034", "RF18539007547034", "RF18 5390 0754 7034"),
        ("rf18539007547034", "RF18539007547034", "RF18 5390 0754 7034"),
        ("+++010/8068/17183+++", "010806817183", "+++010/8068/17183+++"),
        ("010806817183", "010806817183", "+++010/8068/17183+++"),
    ],
)
def test_structured_references_are_stored_normalised(given, stored, shown):
    team = make_team()
    transfer = prepare(team, remittance_information="", structured_reference=given)
    assert transfer.structured_reference == stored
    assert transfer.remittance_information == ""
    assert transfers.reference_display(transfer.structured_reference) == shown


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"beneficiary_iban": "BE68539007547035"}, Code.INVALID_IBAN),
        ({"beneficiary_iban": "not an iban"}, Code.INVALID_IBAN),
        ({"beneficiary_iban": "BR1500000000000010932840814P2"}, Code.NOT_SEPA),
        ({"beneficiary_bic": "GKCCBEB"}, Code.INVALID_BIC),
        ({"beneficiary_name": ""}, Code.INVALID_NAME),
        ({"beneficiary_name": "x" * 71}, Code.INVALID_NAME),
        ({"amount": Decimal("0")}, Code.INVALID_AMOUNT),
        ({"amount": Decimal("-5.00")}, Code.INVALID_AMOUNT),
        ({"amount": Decimal("1.005")}, Code.INVALID_AMOUNT),
        ({"amount": "abc"}, Code.INVALID_AMOUNT),
        ({"amount": Decimal("NaN")}, Code.INVALID_AMOUNT),
        ({"amount": Decimal("1000000000.00")}, Code.AMOUNT_TOO_LARGE),
        ({"remittance_information": "x" * 141}, Code.INVALID_REMITTANCE),
        ({"remittance_information": "Facture n° 12"}, Code.INVALID_REMITTANCE),
        (
            {"remittance_information": "", "structured_reference": "RF19 5390 0754 7034"},
            Code.INVALID_REFERENCE,
        ),
        (
            {"remittance_information": "", "structured_reference": "+++010/8068/17184+++"},
            Code.INVALID_REFERENCE,
        ),
        ({"structured_reference": "RF18539007547034"}, Code.BOTH_REMITTANCES),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(overrides, code):
    team = make_team()
    error = refused(code, prepare, team, **overrides)
    assert error.field


def test_limits_are_accepted():
    team = make_team()
    top = prepare(team, amount=Decimal("999999999.99"), remittance_information="a" * 140)
    cent = prepare(team, amount="0.01")
    assert (top.amount, cent.amount) == (Decimal("999999999.99"), Decimal("0.01"))


def test_execution_date_today_up_to_the_setting(settings):
    settings.GUICHET_TRANSFER_MAX_DAYS_AHEAD = 30
    team = make_team()
    today = timezone.localdate()

    def on(day):
        return transfers.transfer_prepare(
            acting_user=team.preparer, debtor_account=team.account, execution_date=day, payment=payment()
        )

    assert on(today).execution_date == today
    assert on(today + datetime.timedelta(days=30)).execution_date == today + datetime.timedelta(days=30)
    refused(Code.DATE_PAST, on, today - datetime.timedelta(days=1))
    refused(Code.DATE_TOO_FAR, on, today + datetime.timedelta(days=31))
    refused(Code.DATE_PAST, on, None)


@pytest.mark.parametrize("who", ["accountant", "outsider", "validator_without_management"])
def test_preparing_needs_the_management_right(who):
    team = make_team()
    user = getattr(team, who, None) or make_member(team.entity, rights=(Right.CONSULTATION, Right.VALIDATION))
    refused(
        Code.NO_MANAGEMENT_RIGHT,
        transfers.transfer_prepare,
        acting_user=user,
        debtor_account=team.account,
        execution_date=tomorrow(),
        payment=payment(),
    )


def test_a_suspended_preparer_has_no_right_any_more():
    team = make_team()
    team.entity.persons.filter(user=team.preparer).update(status=PersonStatus.SUSPENDED)
    refused(Code.NO_MANAGEMENT_RIGHT, prepare, team)


# --- Editing and cancelling -------------------------------------------------------------------


def edit(transfer, user, **overrides):
    return transfers.transfer_edit(
        transfer=transfer,
        acting_user=user,
        debtor_account=transfer.debtor_account,
        execution_date=tomorrow(),
        payment=payment(**overrides),
    )


def test_edit_bumps_the_version_and_voids_validations():
    team = make_team()
    transfer = prepare(team)
    first = validate(transfer, team.validator)

    edited = edit(transfer, team.validator, amount=Decimal("99.00"))

    assert (edited.status, edited.version, edited.amount) == ("prepared", 2, Decimal("99.00"))
    assert edited.last_edited_by == team.validator
    assert edited.prepared_by == team.preparer
    first.refresh_from_db()
    assert first.voided_at is not None
    assert AuditEvent.objects.filter(action="banking.transfer_edited").count() == 1


def test_edit_refusals_write_nothing():
    team = make_team()
    transfer = prepare(team)
    refused(Code.NO_MANAGEMENT_RIGHT, edit, transfer, team.accountant)
    refused(Code.NOT_FOUND, edit, transfer, team.outsider)
    refused(Code.INVALID_IBAN, edit, transfer, team.preparer, beneficiary_iban="BE00")
    other_entity_account = team.outsider.entity_persons.get().entity.accounts.first()
    refused(
        Code.NO_MANAGEMENT_RIGHT,
        transfers.transfer_edit,
        transfer=transfer,
        acting_user=team.preparer,
        debtor_account=other_entity_account,
        execution_date=tomorrow(),
        payment=payment(),
    )
    Transfer.objects.filter(pk=transfer.pk).update(status=TransferStatus.EXPORTED)
    refused(Code.WRONG_STATUS, edit, transfer, team.preparer)


def test_cancel_a_validated_transfer():
    team = make_team()
    transfer = prepare(team)
    validation = validate(transfer, team.validator)

    cancelled = transfers.transfer_cancel(transfer=transfer, acting_user=team.preparer)

    assert cancelled.status == "cancelled"
    validation.refresh_from_db()
    assert validation.voided_at is not None
    refused(Code.WRONG_STATUS, transfers.transfer_cancel, transfer=transfer, acting_user=team.preparer)


def test_cancel_refusals_write_nothing():
    team = make_team()
    transfer = prepare(team)
    refused(
        Code.NO_MANAGEMENT_RIGHT, transfers.transfer_cancel, transfer=transfer, acting_user=team.accountant
    )
    refused(Code.NOT_FOUND, transfers.transfer_cancel, transfer=transfer, acting_user=team.outsider)
    refused(Code.NOT_FOUND, transfers.transfer_cancel, transfer=10**9, acting_user=team.preparer)


# --- Validating ----------------------------------------------------------------------------------


def test_validation_records_the_signature_and_enqueues_the_export():
    team = make_team()
    transfer = prepare(team)

    validation = validate(transfer, team.validator)

    transfer.refresh_from_db()
    assert transfer.status == "validated"
    assert (validation.user, validation.version, validation.voided_at) == (team.validator, 1, None)
    assert validation.digest == transfers.transfer_operation(transfer).digest()
    task = DBTaskResult.objects.get()
    assert task.task_path == "guichet.banking.tasks.export_validated"
    assert task.args_kwargs["kwargs"] == {"entity_id": team.entity.pk}
    assert AuditEvent.objects.filter(action="banking.transfer_validated").count() == 1


def test_the_signed_operation_shows_amount_and_payee():
    team = make_team()
    operation = transfers.transfer_operation(prepare(team))
    rows = dict(operation.describe())
    assert operation.kind == "transfer_validate"
    assert (operation.amount, operation.payee_iban, operation.payee_name) == (
        Decimal("1250.50"),
        PAYEE_IBAN,
        "Vandenbroucke SPRL",
    )
    assert "BE71 0961 2345 6769" in rows.values()


def proof_for(transfer, user):
    return signed_proof(user, transfers.transfer_operation(transfer))


def test_the_preparer_cannot_validate():
    team = make_team()
    make_member(team.entity, rights=(Right.VALIDATION,))
    director = team.validator
    transfer = transfers.transfer_prepare(
        acting_user=director, debtor_account=team.account, execution_date=tomorrow(), payment=payment()
    )
    proof = proof_for(transfer, director)
    refused(
        Code.FOUR_EYES,
        transfers.transfer_validate,
        transfer=transfer,
        acting_user=director,
        version=1,
        proof_id=proof,
    )


def test_the_last_editor_cannot_validate():
    team = make_team()
    transfer = prepare(team)
    edit(transfer, team.validator)
    proof = proof_for(transfer, team.validator)
    refused(
        Code.FOUR_EYES,
        transfers.transfer_validate,
        transfer=transfer,
        acting_user=team.validator,
        version=2,
        proof_id=proof,
    )


def test_self_validation_when_the_entity_allows_it():
    team = make_team(allow_self_validation=True)
    transfer = transfers.transfer_prepare(
        acting_user=team.validator, debtor_account=team.account, execution_date=tomorrow(), payment=payment()
    )
    assert validate(transfer, team.validator).user == team.validator


def test_validation_refusals_write_nothing():
    team = make_team()
    transfer = prepare(team)

    def attempt(user, version=1, proof=None, target=transfer):
        return transfers.transfer_validate(
            transfer=target, acting_user=user, version=version, proof_id=proof or proof_for(transfer, user)
        )

    for user, code in [
        (team.accountant, Code.NO_VALIDATION_RIGHT),
        (team.outsider, Code.NOT_FOUND),
        (team.preparer, Code.NO_VALIDATION_RIGHT),
    ]:
        proof = proof_for(transfer, user)
        refused(code, attempt, user, proof=proof)
    # A proof of another amount: the transfer changed after the signature.
    forged = signed_proof(
        team.validator, transfers.transfer_operation(Transfer(amount=Decimal("1.00"), **_payee(transfer)))
    )
    refused(Code.TAMPERED, attempt, team.validator, proof=forged)
    # The version reviewed is no longer the current one.
    proof = proof_for(transfer, team.validator)
    refused(Code.TAMPERED, attempt, team.validator, version=0, proof=proof)
    refused(Code.SIGNATURE, attempt, team.validator, proof="not-a-proof")
    # Another user's proof.
    refused(Code.SIGNATURE, attempt, team.validator, proof=proof_for(transfer, team.preparer))


def _payee(transfer):
    return {
        "currency": "EUR",
        "beneficiary_name": transfer.beneficiary_name,
        "beneficiary_iban": transfer.beneficiary_iban,
    }


def test_a_proof_counts_once_and_validated_cannot_be_validated_again():
    team = make_team()
    transfer = prepare(team)
    proof = proof_for(transfer, team.validator)
    transfers.transfer_validate(transfer=transfer, acting_user=team.validator, version=1, proof_id=proof)
    second = make_member(team.entity, rights=(Right.VALIDATION,))
    refused(
        Code.WRONG_STATUS,
        transfers.transfer_validate,
        transfer=transfer,
        acting_user=second,
        version=1,
        proof_id=proof_for(transfer, second),
    )


def test_an_edit_between_signature_and_validation_is_tampering():
    team = make_team()
    transfer = prepare(team)
    proof = proof_for(transfer, team.validator)
    edit(transfer, team.preparer, amount=Decimal("9999.00"))
    refused(
        Code.TAMPERED,
        transfers.transfer_validate,
        transfer=transfer,
        acting_user=team.validator,
        version=1,
        proof_id=proof,
    )


def test_a_validation_right_withdrawn_before_validating():
    team = make_team()
    transfer = prepare(team)
    proof = proof_for(transfer, team.validator)
    team.validator.entity_grants.filter(right=Right.VALIDATION).delete()
    refused(
        Code.NO_VALIDATION_RIGHT,
        transfers.transfer_validate,
        transfer=transfer,
        acting_user=team.validator,
        version=1,
        proof_id=proof,
    )


# --- Batches -----------------------------------------------------------------------------------------


def test_batch_prepare_validate_and_edit():
    team = make_team()
    batch = prepare_batch(team, lines=3)
    lines = list(batch.transfers.order_by("pk"))
    assert [line.amount for line in lines] == [Decimal("100.25"), Decimal("101.25"), Decimal("102.25")]
    assert all(line.status == "prepared" and line.debtor_account == team.account for line in lines)

    operation = transfers.batch_operation(batch)
    assert (operation.kind, operation.amount, len(operation.items)) == (
        "batch_validate",
        Decimal("303.75"),
        3,
    )

    validation = validate_batch(batch, team.validator)
    batch.refresh_from_db()
    assert batch.status == "validated"
    assert set(batch.transfers.values_list("status", flat=True)) == {"validated"}
    assert DBTaskResult.objects.count() == 1

    transfers.batch_edit(
        batch=batch,
        acting_user=team.preparer,
        debtor_account=team.account,
        label="Salaries May (corrected)",
        execution_date=tomorrow(),
        payments=[payment()],
    )
    batch.refresh_from_db()
    assert (batch.status, batch.version, batch.transfers.count()) == ("prepared", 2, 1)
    validation.refresh_from_db()
    assert validation.voided_at is not None


def test_batch_refusals_write_nothing():
    team = make_team()
    batch = prepare_batch(team)

    def prepare_with(payments, user=team.preparer, label="Batch"):
        return transfers.batch_prepare(
            acting_user=user,
            debtor_account=team.account,
            label=label,
            execution_date=tomorrow(),
            payments=payments,
        )

    refused(Code.EMPTY_BATCH, prepare_with, [])
    refused(Code.TOO_MANY_LINES, prepare_with, [payment()] * 201)
    refused(Code.INVALID_IBAN, prepare_with, [payment(), payment(beneficiary_iban="XX")])
    refused(Code.INVALID_LABEL, prepare_with, [payment()], label=" ")
    refused(Code.NO_MANAGEMENT_RIGHT, prepare_with, [payment()], user=team.accountant)
    proof = signed_proof(team.preparer, transfers.batch_operation(batch))
    refused(
        Code.NO_VALIDATION_RIGHT,
        transfers.batch_validate,
        batch=batch,
        acting_user=team.preparer,
        version=1,
        proof_id=proof,
    )
    refused(Code.NOT_FOUND, transfers.batch_cancel, batch=batch, acting_user=team.outsider)
    # A batch line is validated with its batch, never alone.
    line = batch.transfers.first()
    refused(
        Code.IN_BATCH,
        transfers.transfer_validate,
        transfer=line,
        acting_user=team.validator,
        version=1,
        proof_id=proof_for(line, team.validator),
    )
    # A payee added after the signature.
    proof = signed_proof(team.validator, transfers.batch_operation(batch))
    transfers.batch_edit(
        batch=batch,
        acting_user=team.preparer,
        debtor_account=team.account,
        label=batch.label,
        execution_date=batch.execution_date,
        payments=[payment(), payment()],
    )
    refused(
        Code.TAMPERED,
        transfers.batch_validate,
        batch=batch,
        acting_user=team.validator,
        version=2,
        proof_id=proof,
    )


def test_batch_cancel():
    team = make_team()
    batch = prepare_batch(team)
    transfers.batch_cancel(batch=batch, acting_user=team.preparer)
    batch.refresh_from_db()
    assert batch.status == "cancelled"
    assert set(batch.transfers.values_list("status", flat=True)) == {"cancelled"}


# --- Reading --------------------------------------------------------------------------------------------


def test_lists_and_waiting_for_validation():
    team = make_team()
    single = prepare(team)
    batch = prepare_batch(team, lines=2)
    other = make_team()
    prepare(other)

    rows = list(transfers.orders_list(user=team.accountant))
    assert [(r["kind"], r["pk"]) for r in rows] == [("batch", batch.pk), ("transfer", single.pk)]
    assert rows[0]["total"] == Decimal("201.50") and rows[0]["line_count"] == 2
    assert list(transfers.orders_list(user=team.preparer, waiting=True)) == []
    assert len(transfers.orders_list(user=team.validator, waiting=True)) == 2
    validate(single, team.validator)
    assert [r["kind"] for r in transfers.orders_list(user=team.validator, waiting=True)] == ["batch"]
    assert [r["pk"] for r in transfers.orders_list(user=team.preparer, status="validated")] == [single.pk]
    assert transfers.orders_list(user=team.outsider).count() == 0
    assert transfers.orders_count(user=team.outsider) == 0
    assert transfers.orders_count(user=team.validator, waiting=True) == 1
    assert transfers.orders_count(user=team.accountant) == len(rows)
    with pytest.raises(TransferError):
        transfers.transfer_get(user=team.outsider, transfer_id=single.pk)
    assert Validation.objects.count() == 1


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Société Générale", "Societe Generale"),
        ("Müller & Söhne GmbH", "Muller Sohne GmbH"),
        ("Иван", "Ivan"),
    ],
)
def test_payee_names_are_kept_as_the_bank_receives_them_so_the_signature_covers_them(typed, stored):
    """Review finding: sepaxml transliterates names; doing it first makes signed name == exported name."""
    team = make_team()

    transfer = prepare(team, beneficiary_name=typed)

    assert transfer.beneficiary_name == stored
    assert transfers.transfer_operation(transfer).payee_name == stored


def test_a_name_with_nothing_the_bank_accepts_is_refused_and_nothing_is_written():
    team = make_team()
    before = snapshot()

    with pytest.raises(TransferError) as raised:
        prepare(team, beneficiary_name="😀 ✓")

    assert raised.value.code == TransferErrorCode.INVALID_NAME
    assert snapshot() == before
