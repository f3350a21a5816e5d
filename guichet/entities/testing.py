"""Factories for tests of business clients: an entity with accounts and contracts, its persons and
users with rights (by profile), straight into the database (the journeys are tested on their own)."""

import datetime
import itertools
from decimal import Decimal

from django.utils import timezone

from guichet.entities.models import (
    BankAccount,
    CompanyNumberScheme,
    Contract,
    ContractKind,
    Entity,
    Grant,
    Person,
    PersonStatus,
    Right,
)
from guichet.identity.models import User
from guichet.identity.testing import make_provisioned

# Valid IBANs (checksums right): Belgian, French, Dutch, German.
IBANS = [
    "BE68539007547034",
    "BE71096123456769",
    "BE62510007547061",
    "BE43068999999501",
    "FR1420041010050500013M02606",
    "NL91ABNA0417164300",
    "DE89370400440532013000",
]
# Valid Belgian enterprise numbers (mod 97) and a French SIREN.
COMPANY_NUMBERS = ["0403170701", "0202239951", "0417497106", "0899999949", "0404616494"]
SIREN = "732829320"

_counter = itertools.count(1)


def make_entity(
    *,
    name: str = "Aubépine Logistique SA",
    company_number: str | None = None,
    accounts: int = 3,
    contracts: int = 2,
    allow_self_validation: bool = False,
) -> Entity:
    n = next(_counter)
    entity = Entity.objects.create(
        name=name,
        company_number_scheme=CompanyNumberScheme.BE,
        company_number=company_number or f"{n:010d}",
        allow_self_validation=allow_self_validation,
    )
    for i in range(accounts):
        iban = IBANS[i] if i < len(IBANS) and not BankAccount.objects.filter(iban=IBANS[i]).exists() else None
        BankAccount.objects.create(
            entity=entity,
            iban=iban or f"XX{n:06d}{i:08d}",
            label=["Compte courant", "Compte épargne", "Compte salaires"][i % 3]
            + (f" {i // 3 + 1}" if i >= 3 else ""),
            currency="EUR",
            balance=Decimal("12500.00") + i,
        )
    for i in range(contracts):
        Contract.objects.create(
            entity=entity,
            kind=[ContractKind.REMOTE_BANKING, ContractKind.CARDS, ContractKind.LEASING][i % 3],
            reference=f"CT-{n:04d}-{i:03d}",
            label=["Banque à distance", "Cartes affaires", "Leasing véhicules"][i % 3],
        )
    return entity


def make_person(
    entity: Entity,
    *,
    first_name: str = "Jan",
    last_name: str = "Peeters",
    email: str = "",
    phone: str = "+32470111222",
    birth_date: datetime.date = datetime.date(1985, 3, 14),
) -> Person:
    return Person.objects.create(
        entity=entity,
        first_name=first_name,
        last_name=last_name,
        birth_date=birth_date,
        mobile_phone=phone,
        email=email,
    )


def make_member(
    entity: Entity,
    *,
    user_id: str | None = None,
    rights: tuple[str, ...] = (Right.CONSULTATION,),
    on_accounts: list[BankAccount] | None = None,
    on_contracts: list[Contract] | None = None,
    administrator: bool = False,
    status: str = PersonStatus.ACTIVE,
    first_name: str = "Pieter",
    last_name: str = "Janssens",
    **user_extra: object,
) -> User:
    """An active user of ``entity`` with ``rights`` on the given accounts and contracts (default: all)."""
    n = next(_counter)
    user = make_provisioned(
        user_id=user_id or f"E{n:07d}",
        email=f"user{n}@example.com",
        first_name=first_name,
        last_name=last_name,
        sca_required=True,
        **user_extra,
    )
    Person.objects.create(
        entity=entity,
        first_name=first_name,
        last_name=last_name,
        birth_date=datetime.date(1980, 1, 1),
        mobile_phone=str(user.mobile_phone),
        email=user.email,
        user=user,
        status=status,
    )
    accounts = list(entity.accounts.all()) if on_accounts is None else on_accounts
    contracts = list(entity.contracts.all()) if on_contracts is None else on_contracts
    now = timezone.now()
    grants = [
        Grant(entity=entity, user=user, account=a, right=r, granted_at=now) for a in accounts for r in rights
    ]
    grants += [
        Grant(entity=entity, user=user, contract=c, right=r, granted_at=now)
        for c in contracts
        for r in rights
    ]
    if administrator:
        grants.append(Grant(entity=entity, user=user, right=Right.ADMINISTRATION, granted_at=now))
    Grant.objects.bulk_create(grants)
    return user


DIRECTOR = (Right.CONSULTATION, Right.MANAGEMENT, Right.VALIDATION)
ACCOUNTANT = (Right.CONSULTATION,)
PREPARER = (Right.CONSULTATION, Right.MANAGEMENT)
VALIDATOR = (Right.CONSULTATION, Right.MANAGEMENT, Right.VALIDATION)
