"""Four-eyes invariants, property-based: random sequences of prepare / edit / validate / cancel by
random users with random rights, with or without self-validation.

After every step, for every transfer:
- it is validated only if its one live validation is of its current version, by a user who holds
  the validation right and is neither the preparer nor the last editor (unless the entity allows it);
- every validation older than the last edit is voided, and a prepared transfer has no live validation;
- a refused step changed nothing.
The users and the entity are built once per example inside a transaction rolled back at the end.
"""

import datetime
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guichet.banking import transfers
from guichet.banking.models import Transfer, TransferStatus, Validation
from guichet.banking.tests.transfer_factories import snapshot
from guichet.entities.models import Right
from guichet.entities.testing import make_entity, make_member
from guichet.identity.testing import signed_proof

pytestmark = pytest.mark.django_db

RIGHT_SETS = st.sets(st.sampled_from([Right.CONSULTATION, Right.MANAGEMENT, Right.VALIDATION]))
STEP = st.tuples(
    st.sampled_from(["prepare", "edit", "validate", "validate", "validate", "validate_stale", "cancel"]),
    st.integers(min_value=0, max_value=3),  # which user
    st.integers(min_value=0, max_value=5),  # which transfer
    st.integers(min_value=1, max_value=99999),  # an amount in cents
)


class Rollback(Exception):
    pass


def payment(cents: int) -> transfers.Payment:
    return transfers.Payment(
        beneficiary_name="Payee", beneficiary_iban="BE71096123456769", amount=Decimal(cents) / 100
    )


def run(step, users, account) -> None:
    action, who, which, cents = step
    user = users[who]
    existing = list(Transfer.objects.order_by("pk"))
    target = existing[which % len(existing)] if existing else None
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    if action == "prepare":
        transfers.transfer_prepare(
            acting_user=user, debtor_account=account, execution_date=tomorrow, payment=payment(cents)
        )
    elif target is None:
        return
    elif action == "edit":
        transfers.transfer_edit(
            transfer=target,
            acting_user=user,
            debtor_account=account,
            execution_date=tomorrow,
            payment=payment(cents),
        )
    elif action == "cancel":
        transfers.transfer_cancel(transfer=target, acting_user=user)
    else:
        proof = signed_proof(user, transfers.transfer_operation(target))
        version = target.version - 1 if action == "validate_stale" else target.version
        transfers.transfer_validate(transfer=target, acting_user=user, version=version, proof_id=proof)


def check_invariants(users_rights, allow_self: bool) -> None:
    for transfer in Transfer.objects.all():
        live = list(Validation.objects.filter(transfer=transfer, voided_at__isnull=True))
        voided = Validation.objects.filter(transfer=transfer, voided_at__isnull=False)
        assert all(v.version == transfer.version for v in live)
        assert all(v.voided_at >= v.validated_at for v in voided)
        assert not voided.filter(version=transfer.version).exists() or transfer.status == "cancelled"
        if transfer.status == TransferStatus.VALIDATED:
            assert len(live) == 1
            validator = live[0].user_id
            assert Right.VALIDATION in users_rights[validator]
            if not allow_self:
                assert validator not in (transfer.prepared_by_id, transfer.last_edited_by_id)
            assert live[0].digest == transfers.transfer_operation(transfer).digest()
        else:
            assert live == []
        if transfer.status == TransferStatus.PREPARED:
            assert Right.MANAGEMENT in users_rights[transfer.last_edited_by_id]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    # A preparer and a validator at least, then two users with any rights.
    rights=st.tuples(st.just({Right.MANAGEMENT}), st.just({Right.VALIDATION}), RIGHT_SETS, RIGHT_SETS).map(
        list
    ),
    allow_self=st.booleans(),
    steps=st.lists(STEP, min_size=2, max_size=14),
)
def test_four_eyes_invariants(rights, allow_self, steps):
    try:
        with transaction.atomic():
            entity = make_entity(accounts=1, contracts=0, allow_self_validation=allow_self)
            account = entity.accounts.get()
            users = [
                make_member(entity, rights=tuple(r) or (Right.CONSULTATION,), on_contracts=[]) for r in rights
            ]
            users_rights = {
                user.pk: set(r) or {Right.CONSULTATION} for user, r in zip(users, rights, strict=True)
            }
            for step in steps:
                before = snapshot()
                try:
                    with transaction.atomic():
                        run(step, users, account)
                except transfers.TransferError:
                    after = snapshot()
                    # A refused step wrote nothing but the proof the test itself asked for.
                    assert after["transfers"] == before["transfers"]
                    assert after["validations"] == before["validations"]
                    assert after["tasks"] == before["tasks"]
                    assert after["consumed"] == before["consumed"]
                check_invariants(users_rights, allow_self)
            raise Rollback
    except Rollback:
        pass


def test_an_edit_after_validation_always_voids_it():
    """The deterministic core of the property: validate, edit, and the validation is void."""
    entity = make_entity(accounts=1, contracts=0)
    account = entity.accounts.get()
    preparer = make_member(entity, rights=(Right.MANAGEMENT,))
    validator = make_member(entity, rights=(Right.VALIDATION, Right.MANAGEMENT))
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    transfer = transfers.transfer_prepare(
        acting_user=preparer, debtor_account=account, execution_date=tomorrow, payment=payment(100)
    )
    for round_ in range(3):
        transfer.refresh_from_db()
        proof = signed_proof(validator, transfers.transfer_operation(transfer))
        transfers.transfer_validate(
            transfer=transfer, acting_user=validator, version=transfer.version, proof_id=proof
        )
        transfers.transfer_edit(
            transfer=transfer,
            acting_user=preparer,
            debtor_account=account,
            execution_date=tomorrow,
            payment=payment(200 + round_),
        )
    assert Validation.objects.filter(voided_at__isnull=True).count() == 0
    assert Validation.objects.count() == 3


def test_an_intermediate_editor_may_not_validate_a_later_version():
    """Review finding: V edits the payee, P edits again, V validates his own payee — refused."""
    from guichet.banking.models import TransferStatus
    from guichet.banking.tests.transfer_factories import make_team, payment, prepare
    from guichet.banking.transfers import (
        TransferError,
        transfer_edit,
        transfer_operation,
        transfer_validate,
    )
    from guichet.identity.testing import signed_proof

    team = make_team()
    transfer = prepare(team)
    transfer_edit(
        transfer=transfer,
        acting_user=team.validator,
        debtor_account=transfer.debtor_account,
        execution_date=transfer.execution_date,
        payment=payment(beneficiary_name="Mallory BV"),
    )
    transfer.refresh_from_db()
    transfer_edit(
        transfer=transfer,
        acting_user=team.preparer,
        debtor_account=transfer.debtor_account,
        execution_date=transfer.execution_date,
        payment=payment(beneficiary_name="Mallory BV", remittance_information="Invoice 2"),
    )
    transfer.refresh_from_db()

    with pytest.raises(TransferError):
        transfer_validate(
            transfer=transfer,
            acting_user=team.validator,
            version=transfer.version,
            proof_id=signed_proof(team.validator, transfer_operation(transfer)),
        )
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.PREPARED
