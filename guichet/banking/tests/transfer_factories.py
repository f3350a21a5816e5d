"""Shared set-up of the transfer tests: an entity with a preparer, a validator, an accountant, and
what each table holds (to assert that a refusal wrote nothing)."""

import dataclasses
import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from guichet.audit.models import AuditEvent
from guichet.banking import transfers
from guichet.banking.models import Batch, Transfer, Validation
from guichet.entities.models import Entity
from guichet.entities.testing import ACCOUNTANT, PREPARER, VALIDATOR, make_entity, make_member
from guichet.identity.models import SignedProof, User
from guichet.identity.testing import signed_proof

PAYEE_IBAN = "BE71096123456769"
PAYEE_NAME = "Vandenbroucke SPRL"


@dataclasses.dataclass
class Team:
    entity: Entity
    preparer: User
    validator: User
    accountant: User
    outsider: User  # director of another entity

    @property
    def account(self) -> Any:
        return self.entity.accounts.order_by("pk").first()


def make_team(*, allow_self_validation: bool = False) -> Team:
    entity = make_entity(allow_self_validation=allow_self_validation)
    other = make_entity(name="Autre SA")
    return Team(
        entity=entity,
        preparer=make_member(entity, rights=PREPARER, first_name="Paul", last_name="Preparer"),
        validator=make_member(entity, rights=VALIDATOR, first_name="Vera", last_name="Validator"),
        accountant=make_member(entity, rights=ACCOUNTANT, first_name="Anna", last_name="Accountant"),
        outsider=make_member(other, rights=VALIDATOR, first_name="Otto", last_name="Outsider"),
    )


def payment(**overrides: Any) -> transfers.Payment:
    values: dict[str, Any] = {
        "beneficiary_name": PAYEE_NAME,
        "beneficiary_iban": "be71 0961 2345 6769",
        "amount": Decimal("1250.50"),
        "remittance_information": "Invoice 2026-042",
    }
    values.update(overrides)
    return transfers.Payment(**values)


def tomorrow() -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=1)


def prepare(team: Team, **overrides: Any) -> Transfer:
    return transfers.transfer_prepare(
        acting_user=team.preparer,
        debtor_account=team.account,
        execution_date=tomorrow(),
        payment=payment(**overrides),
    )


def prepare_batch(team: Team, lines: int = 3) -> Batch:
    return transfers.batch_prepare(
        acting_user=team.preparer,
        debtor_account=team.account,
        label="Salaries May",
        execution_date=tomorrow(),
        payments=[
            payment(amount=Decimal(f"{100 + i}.25"), beneficiary_name=f"Employee {i}") for i in range(lines)
        ],
    )


def validate(transfer: Transfer, user: User) -> Any:
    transfer.refresh_from_db()
    proof = signed_proof(user, transfers.transfer_operation(transfer))
    return transfers.transfer_validate(
        transfer=transfer, acting_user=user, version=transfer.version, proof_id=proof
    )


def validate_batch(batch: Batch, user: User) -> Any:
    batch.refresh_from_db()
    proof = signed_proof(user, transfers.batch_operation(batch))
    return transfers.batch_validate(batch=batch, acting_user=user, version=batch.version, proof_id=proof)


def snapshot() -> dict[str, Any]:
    """What a refused operation must leave untouched."""
    return {
        "transfers": list(Transfer.objects.order_by("pk").values()),
        "batches": list(Batch.objects.order_by("pk").values()),
        "validations": list(Validation.objects.order_by("pk").values()),
        "audit": AuditEvent.objects.count(),
        "tasks": DBTaskResult.objects.count(),
        "consumed": SignedProof.objects.filter(consumed_at__isnull=False).count(),
    }
