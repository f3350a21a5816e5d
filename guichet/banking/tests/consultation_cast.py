"""The cast of the consultation tests: one entity with a holder of each role, and outsiders."""

import dataclasses
import datetime
from decimal import Decimal

from guichet.banking.models import Transaction
from guichet.entities.models import BankAccount, Entity, PersonStatus, Right
from guichet.entities.testing import ACCOUNTANT, DIRECTOR, PREPARER, make_entity, make_member
from guichet.identity.models import User


@dataclasses.dataclass
class Cast:
    entity: Entity
    other: Entity
    consultant: User  # consultation only (Accountant)
    manager: User  # consultation and management (Preparer)
    validator: User  # all three rights (Director)
    no_right: User  # a member without any right
    management_only: User  # management without consultation
    suspended: User  # rights, but suspended
    outsider: User  # all rights, on another entity only

    @property
    def account(self) -> BankAccount:
        return self.entity.accounts.order_by("pk").first()


def make_cast() -> Cast:
    entity = make_entity(accounts=3, contracts=2)
    other = make_entity(name="Autre Entreprise SPRL", accounts=1, contracts=1)
    return Cast(
        entity=entity,
        other=other,
        consultant=make_member(entity, rights=ACCOUNTANT),
        manager=make_member(entity, rights=PREPARER),
        validator=make_member(entity, rights=DIRECTOR),
        no_right=make_member(entity, rights=()),
        management_only=make_member(entity, rights=(Right.MANAGEMENT,)),
        suspended=make_member(entity, rights=DIRECTOR, status=PersonStatus.SUSPENDED),
        outsider=make_member(other, rights=DIRECTOR),
    )


def make_transactions(
    account: BankAccount, count: int, *, start: datetime.date = datetime.date(2026, 1, 1)
) -> list[Transaction]:
    """``count`` transactions, two per day from ``start``, alternately a debit and a credit."""
    return Transaction.objects.bulk_create(
        Transaction(
            account=account,
            booking_date=start + datetime.timedelta(days=i // 2),
            value_date=start + datetime.timedelta(days=i // 2),
            amount=Decimal(f"{(i + 1) * 10}.50") * (-1 if i % 2 == 0 else 1),
            counterparty_name=f"Counterparty {i}",
            description=f"Invoice {i}",
            reference=f"REF{i:05d}",
        )
        for i in range(count)
    )
