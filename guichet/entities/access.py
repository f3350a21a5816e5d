"""The one authorisation function of business clients: "may this user do X on Y", and the
list filters that answer the same question for many resources at once.

Every view, export, task and API endpoint that touches an entity's accounts,
contracts, transfers or users asks here; nothing else reads ``Grant`` rows to
decide. A right counts only while the user is an *active* member of the
resource's entity (a suspended or removed person has none) and the account
itself is active. The filters are single queries whose count does not depend
on how many rights the user holds.
"""

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef, Q, QuerySet

from guichet.entities.models import BankAccount, Contract, Entity, Grant, Person, PersonStatus, Right


class AccessDenied(Exception):
    """Raised by ``require``; views turn it into a 404 (another customer's ID does not exist)."""


def _active_user(user: Any) -> bool:
    return (
        user is not None and not isinstance(user, AnonymousUser) and user.is_authenticated and user.is_active
    )


def _membership(user: Any, entity_ref: Any) -> Exists:
    return Exists(Person.objects.filter(entity=entity_ref, user=user, status=PersonStatus.ACTIVE))


def may(user: Any, right: Right | str, resource: BankAccount | Contract | Entity) -> bool:
    """Whether ``user`` holds ``right`` on ``resource`` (administration: on an ``Entity``)."""
    if not _active_user(user) or right not in Right.values:
        return False
    if isinstance(resource, Entity):
        if right != Right.ADMINISTRATION:
            return False
        return administered_entities(user).filter(pk=resource.pk).exists()
    if right == Right.ADMINISTRATION:
        return False
    if isinstance(resource, BankAccount):
        return accounts(user, right).filter(pk=resource.pk).exists()
    if isinstance(resource, Contract):
        return contracts(user, right).filter(pk=resource.pk).exists()
    return False


def require(user: Any, right: Right | str, resource: BankAccount | Contract | Entity) -> None:
    if not may(user, right, resource):
        raise AccessDenied(right)


def accounts(user: Any, right: Right | str) -> QuerySet[BankAccount]:
    """The accounts on which ``user`` holds ``right``."""
    if not _active_user(user) or right not in (Right.CONSULTATION, Right.MANAGEMENT, Right.VALIDATION):
        return BankAccount.objects.none()
    held = Grant.objects.filter(account=OuterRef("pk"), user=user, right=right)
    return BankAccount.objects.filter(Exists(held), _membership(user, OuterRef("entity")))


def accounts_with_any(user: Any, rights: Iterable[Right | str]) -> QuerySet[BankAccount]:
    """The accounts on which ``user`` holds at least one of ``rights`` (one subquery)."""
    wanted = [right for right in rights if right in (Right.CONSULTATION, Right.MANAGEMENT, Right.VALIDATION)]
    if not _active_user(user) or not wanted:
        return BankAccount.objects.none()
    held = Grant.objects.filter(account=OuterRef("pk"), user=user, right__in=wanted)
    return BankAccount.objects.filter(Exists(held), _membership(user, OuterRef("entity")))


def contracts(user: Any, right: Right | str) -> QuerySet[Contract]:
    """The contracts on which ``user`` holds ``right``."""
    if not _active_user(user) or right not in (Right.CONSULTATION, Right.MANAGEMENT, Right.VALIDATION):
        return Contract.objects.none()
    held = Grant.objects.filter(contract=OuterRef("pk"), user=user, right=right)
    return Contract.objects.filter(Exists(held), _membership(user, OuterRef("entity")))


def administered_entities(user: Any) -> QuerySet[Entity]:
    """The entities whose users ``user`` may manage."""
    if not _active_user(user):
        return Entity.objects.none()
    held = Grant.objects.filter(entity=OuterRef("pk"), user=user, right=Right.ADMINISTRATION)
    return Entity.objects.filter(Exists(held), _membership(user, OuterRef("pk")))


def member_entities(user: Any) -> QuerySet[Entity]:
    """The entities of which ``user`` is an active member."""
    if not _active_user(user):
        return Entity.objects.none()
    return Entity.objects.filter(_membership(user, OuterRef("pk")))


SUMMARY_KEYS = ("consult_accounts", "consult_contracts", "manage", "validate", "administer")
ACCOUNT_KEYS = {
    Right.CONSULTATION: "consult_accounts",
    Right.MANAGEMENT: "manage",
    Right.VALIDATION: "validate",
}


def rights_summary(user: Any) -> dict[str, bool]:
    """What the menu offers, in one small query whatever the number of rights: the kinds of rights
    the user holds while an active member (the same conditions as the filters above)."""
    summary = dict.fromkeys(SUMMARY_KEYS, False)
    if not _active_user(user):
        return summary
    held = (
        Grant.objects.filter(user=user)
        .filter(_membership(user, OuterRef("entity")))
        .annotate(on_account=Q(account__isnull=False), on_contract=Q(contract__isnull=False))
        .values_list("right", "on_account", "on_contract")
        .order_by()
        .distinct()
    )
    for right, on_account, on_contract in held:
        if right == Right.ADMINISTRATION:
            summary["administer"] = True
        elif on_contract and right == Right.CONSULTATION:
            summary["consult_contracts"] = True
        elif on_account:
            summary[ACCOUNT_KEYS[right]] = True
    return summary
