"""Validated transfers and batches straight in the database, for the export tests (preparing and
validating through the services, with signatures, is tested in the transfers' own tests and once,
end to end, in ``test_export.py``)."""

import dataclasses
import datetime
import itertools
import uuid
from decimal import Decimal

from django.utils import timezone

from guichet.banking.models import Batch, Transfer, TransferStatus, Validation
from guichet.entities.models import BankAccount, Entity
from guichet.entities.testing import PREPARER, VALIDATOR, make_entity, make_member
from guichet.identity.models import User

CREDITOR_IBANS = ["NL91ABNA0417164300", "DE89370400440532013000", "FR1420041010050500013M02606"]
_n = itertools.count(1)


@dataclasses.dataclass
class Team:
    entity: Entity
    accounts: list[BankAccount]
    preparer: User
    validator: User


def belgian_iban(number: int) -> str:
    """A valid Belgian IBAN (bank code 539) for account ``number``: national and IBAN check digits right."""
    first = f"539{number % 10**7:07d}"
    bban = f"{first}{int(first) % 97 or 97:02d}"
    check = 98 - int(f"{bban}111400") % 97  # "BE00" moved to the end, B=11 E=14
    return f"BE{check:02d}{bban}"


def make_team(*, accounts: int = 3, allow_self_validation: bool = False) -> Team:
    """An entity whose accounts all have valid IBANs (the factory's spare ones are placeholders)."""
    entity = make_entity(accounts=accounts, allow_self_validation=allow_self_validation)
    for account in entity.accounts.filter(iban__startswith="XX"):
        BankAccount.objects.filter(pk=account.pk).update(iban=belgian_iban(100000 + account.pk))
    return Team(
        entity=entity,
        accounts=list(entity.accounts.order_by("pk")),
        preparer=make_member(entity, rights=PREPARER, first_name="Paul", last_name="Preparer"),
        validator=make_member(entity, rights=VALIDATOR, first_name="Vera", last_name="Validator"),
    )


def execution_day(days: int = 1) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=days)


def make_validated(
    team: Team,
    *,
    account: BankAccount | None = None,
    amount: str = "100.00",
    days: int = 1,
    validator: User | None = None,
    status: str = TransferStatus.VALIDATED,
    **fields: object,
) -> Transfer:
    """A single transfer prepared by the preparer and validated (signed) by the validator."""
    n = next(_n)
    values: dict[str, object] = {
        "beneficiary_name": f"Fournisseur {n}",
        "beneficiary_iban": CREDITOR_IBANS[n % len(CREDITOR_IBANS)],
        "remittance_information": f"Facture {n}",
        **fields,
    }
    transfer = Transfer.objects.create(
        entity=team.entity,
        debtor_account=account or team.accounts[0],
        amount=Decimal(amount),
        execution_date=execution_day(days),
        end_to_end_id=f"GT{uuid.uuid4().hex.upper()}",
        status=status,
        prepared_by=team.preparer,
        last_edited_by=team.preparer,
        **values,
    )
    if status != TransferStatus.PREPARED:
        Validation.objects.create(
            transfer=transfer, version=transfer.version, user=validator or team.validator, digest="0" * 64
        )
    return transfer


def make_validated_batch(
    team: Team,
    *,
    account: BankAccount | None = None,
    amounts: tuple[str, ...] = ("1500.00", "1750.50"),
    days: int = 1,
    validator: User | None = None,
) -> Batch:
    account = account or team.accounts[0]
    batch = Batch.objects.create(
        entity=team.entity,
        debtor_account=account,
        label=f"Salaires {next(_n)}",
        execution_date=execution_day(days),
        status=TransferStatus.VALIDATED,
        prepared_by=team.preparer,
        last_edited_by=team.preparer,
    )
    for i, amount in enumerate(amounts):
        Transfer.objects.create(
            entity=team.entity,
            debtor_account=account,
            batch=batch,
            beneficiary_name=f"Employé {i}",
            beneficiary_iban=CREDITOR_IBANS[i % len(CREDITOR_IBANS)],
            amount=Decimal(amount),
            execution_date=batch.execution_date,
            remittance_information="Salaire",
            end_to_end_id=f"GT{uuid.uuid4().hex.upper()}",
            status=TransferStatus.VALIDATED,
            prepared_by=team.preparer,
            last_edited_by=team.preparer,
        )
    Validation.objects.create(
        batch=batch, version=batch.version, user=validator or team.validator, digest="0" * 64
    )
    return batch
