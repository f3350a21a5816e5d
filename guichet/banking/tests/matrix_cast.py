"""The cast of the rights matrix (``test_rights_matrix.py``): the profiles, the three resources, and
what each operation needs before it is attempted (a transfer, an export file, a user to manage).

Everything is built per test and only when asked for, so one case of the matrix costs a few inserts:

- ``entity`` is the profiles' entity, with three accounts and three contracts: the first ones
  (``own_account``) carry the profiles' rights, the second ones (``unrighted_account``) nobody's
  among the profiles, the third ones the ``no_right`` profile's;
- ``other`` is another entity, whose account and contract are ``foreign_account``;
- ``home`` is the entity of which the ``outsider`` profile is a member (director and administrator).
"""

import dataclasses
import datetime
import itertools
from decimal import Decimal
from typing import Any

from guichet.audit.models import AuditEvent
from guichet.banking import export, transfers
from guichet.banking.models import Batch, Beneficiary, ExportFile, Transaction
from guichet.banking.tests import export_factories
from guichet.banking.tests.transfer_factories import payment, tomorrow
from guichet.banking.tests.transfer_factories import snapshot as transfer_snapshot
from guichet.entities.models import (
    BankAccount,
    CompanyNumberScheme,
    Contract,
    ContractKind,
    Entity,
    Grant,
    GrantChange,
    Person,
    PersonStatus,
)
from guichet.entities.testing import ACCOUNTANT, DIRECTOR, PREPARER, VALIDATOR, make_member
from guichet.identity.models import SignedProof, SigningChallenge, User
from guichet.notifications.models import Message

PROFILES = ("director", "accountant", "preparer", "validator", "no_right", "suspended", "outsider")
RESOURCES = ("own_account", "unrighted_account", "foreign_account")
_worlds = itertools.count(1)
BATCH_PAYMENTS = [
    payment(beneficiary_name="Employee One"),
    payment(beneficiary_name="Employee Two", amount="10.25"),
]


@dataclasses.dataclass
class World:
    entity: Entity
    other: Entity
    home: Entity
    accounts: dict[str, BankAccount]  # by resource name, plus "spare" (the no_right profile's)
    contracts: dict[str, Contract]
    helpers: dict[tuple[str, int], User] = dataclasses.field(default_factory=dict)

    # --- The profiles ----------------------------------------------------------------------------

    def profile(self, name: str) -> User:
        own, own_contract = [self.accounts["own_account"]], [self.contracts["own_account"]]
        spare, spare_contract = [self.accounts["spare"]], [self.contracts["spare"]]
        specs: dict[str, tuple[Entity, dict[str, Any]]] = {
            # The director is also the entity's administrator (the seed's persona).
            "director": (self.entity, {"rights": DIRECTOR, "administrator": True}),
            "accountant": (self.entity, {"rights": ACCOUNTANT}),
            "preparer": (self.entity, {"rights": PREPARER}),
            "validator": (self.entity, {"rights": VALIDATOR}),
            # Every right, but on another account and contract of the same entity only.
            "no_right": (
                self.entity,
                {"rights": DIRECTOR, "on_accounts": spare, "on_contracts": spare_contract},
            ),
            # The director's rights, while suspended.
            "suspended": (
                self.entity,
                {"rights": DIRECTOR, "administrator": True, "status": PersonStatus.SUSPENDED},
            ),
            # Director and administrator of another entity (None: on all of its accounts and contracts).
            "outsider": (
                self.home,
                {"rights": DIRECTOR, "administrator": True, "on_accounts": None, "on_contracts": None},
            ),
        }
        entity, options = specs[name]
        options.setdefault("on_accounts", own)
        options.setdefault("on_contracts", own_contract)
        return make_member(entity, first_name=name.replace("_", " ").title(), last_name="Matrix", **options)

    # --- What the operations need -------------------------------------------------------------------

    def _helper(self, role: str, entity_id: int, rights: tuple[str, ...]) -> User:
        key = (role, entity_id)
        if key not in self.helpers:
            entity = Entity.objects.get(pk=entity_id)
            self.helpers[key] = make_member(
                entity, rights=rights, on_contracts=[], first_name=role.title(), last_name="Matrix"
            )
        return self.helpers[key]

    def author(self, entity_id: int) -> User:
        """A preparer on every account of the entity: the author of the transfers to edit or validate."""
        return self._helper("author", entity_id, PREPARER)

    def checker(self, entity_id: int) -> User:
        """A validator on every account of the entity: the signer of the transfers in an export file."""
        return self._helper("checker", entity_id, VALIDATOR)

    def transfer_on(self, account: BankAccount) -> Any:
        """A single transfer prepared (by the service) on ``account`` by someone else than the profiles."""
        return transfers.transfer_prepare(
            acting_user=self.author(account.entity_id),
            debtor_account=account,
            execution_date=tomorrow(),
            payment=payment(),
        )

    def batch_on(self, account: BankAccount) -> Batch:
        """A batch of two transfers prepared (by the service) on ``account`` by someone else."""
        return transfers.batch_prepare(
            acting_user=self.author(account.entity_id),
            debtor_account=account,
            label="Salaries",
            execution_date=tomorrow(),
            payments=BATCH_PAYMENTS,
        )

    def export_file_on(self, account: BankAccount) -> ExportFile:
        """A pain.001 file (made by the export service) holding one validated transfer of ``account``."""
        team = export_factories.Team(
            entity=account.entity,
            accounts=[account],
            preparer=self.author(account.entity_id),
            validator=self.checker(account.entity_id),
        )
        export_factories.make_validated(team, account=account)
        [export_file] = export.export_run(entity_id=account.entity_id).files
        return export_file

    def target_on(self, entity: Entity) -> tuple[User, Person]:
        """A user of ``entity`` without rights, whose rights or status an administrator changes."""
        user = make_member(entity, rights=(), first_name="Target", last_name="Matrix")
        return user, Person.objects.get(entity=entity, user=user)


def make_world() -> World:
    """Three entities with valid IBANs (the export needs them) and two transactions per resource
    account, in a handful of queries."""
    n = next(_worlds) * 10
    entity, other, home = Entity.objects.bulk_create(
        Entity(
            name=name,
            company_number_scheme=CompanyNumberScheme.BE,
            company_number=f"{98_000_000 + n + i:010d}",
        )
        for i, name in enumerate(["Matrix Home SA", "Foreign Rival SPRL", "Outsider Holding NV"])
    )
    owners = [entity, entity, entity, other, home]
    accounts = BankAccount.objects.bulk_create(
        BankAccount(
            entity=owner,
            iban=export_factories.belgian_iban(n + i),
            label=f"{owner.name} account {i + 1}",
            balance=Decimal("12500.00"),
        )
        for i, owner in enumerate(owners)
    )
    contracts = Contract.objects.bulk_create(
        Contract(
            entity=owner,
            kind=ContractKind.REMOTE_BANKING,
            reference=f"MX-{n + i}",
            label=f"{owner.name} contract {i + 1}",
        )
        for i, owner in enumerate(owners)
    )
    names = ["own_account", "unrighted_account", "spare", "foreign_account"]
    world = World(
        entity=entity,
        other=other,
        home=home,
        accounts=dict(zip(names, accounts, strict=False)),
        contracts=dict(zip(names, contracts, strict=False)),
    )
    Transaction.objects.bulk_create(
        Transaction(
            account=world.accounts[name],
            booking_date=datetime.date(2026, 1, 1),
            value_date=datetime.date(2026, 1, 1),
            amount=Decimal(f"-{10 + i}.50"),
            counterparty_name=f"Counterparty {i}",
            description=f"Invoice {i}",
            reference=f"REF{i:05d}",
        )
        for name in RESOURCES
        for i in range(2)
    )
    return world


def snapshot() -> dict[str, Any]:
    """Everything a refused attempt must leave as it was (the transfer tests' snapshot, and more)."""
    return {
        **transfer_snapshot(),
        "audit": list(AuditEvent.objects.order_by("pk").values_list("pk", flat=True)),
        "beneficiaries": list(Beneficiary.objects.order_by("pk").values()),
        "grants": list(Grant.objects.order_by("pk").values_list("pk", "user_id", "account_id", "right")),
        "grant_changes": GrantChange.objects.count(),
        "export_files": list(ExportFile.objects.order_by("pk").values_list("pk", "delivered_at")),
        "persons": list(Person.objects.order_by("pk").values_list("pk", "status", "user_id")),
        "messages": list(Message.objects.order_by("pk").values_list("pk", flat=True)),
        "challenges": SigningChallenge.objects.count(),
        "proofs": list(SignedProof.objects.order_by("pk").values_list("pk", "consumed_at")),
    }
