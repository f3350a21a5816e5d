"""Delegated administration of an entity's users (seed 001): adding a registered person as a
user, granting, changing and withdrawing rights, suspending and removing users.

Every change is signed by the administrator with strong authentication: the
view builds the ``signing.Operation`` with ``*_operation`` below, the user
signs it, and the service consumes the proof inside its own transaction, so
the rights applied are exactly the rights signed. Every service re-checks, under
a lock on the entity row, that the acting user still administers the entity,
that an administrator does not widen their own rights and that one active
administrator always remains. Each change is audited, kept in the rights
history (``GrantChange``) and e-mailed to the entity's administrators and to
the user concerned, each in their language.
"""

import dataclasses
import enum
import secrets
from collections.abc import Iterable
from typing import Any

from allauth.usersessions.models import UserSession
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Count
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guichet.audit.services import record
from guichet.entities import access
from guichet.entities.models import (
    RESOURCE_RIGHTS,
    BankAccount,
    Contract,
    Entity,
    Grant,
    GrantChange,
    Person,
    PersonStatus,
    Right,
)
from guichet.identity import services as identity_services
from guichet.identity import signing
from guichet.identity.error_codes import IdentityErrorCode
from guichet.identity.exceptions import IdentityError
from guichet.identity.models import User
from guichet.notifications.services import notify

ACCOUNT = "account"
CONTRACT = "contract"

# (resource type, resource pk, right); administration is a separate flag.
RightKey = tuple[str, int, str]


class Profile(enum.StrEnum):
    DIRECTOR = "director"
    ACCOUNTANT = "accountant"
    PREPARER = "preparer"
    VALIDATOR = "validator"


PROFILE_LABELS = {
    Profile.DIRECTOR: _("Director"),
    Profile.ACCOUNTANT: _("Accountant"),
    Profile.PREPARER: _("Preparer"),
    Profile.VALIDATOR: _("Validator"),
}
PROFILE_RIGHTS = {
    Profile.DIRECTOR: (Right.CONSULTATION, Right.MANAGEMENT, Right.VALIDATION),
    Profile.ACCOUNTANT: (Right.CONSULTATION,),
    Profile.PREPARER: (Right.CONSULTATION, Right.MANAGEMENT),
    Profile.VALIDATOR: (Right.CONSULTATION, Right.MANAGEMENT, Right.VALIDATION),
}


class EntitiesErrorCode(enum.StrEnum):
    NOT_ADMINISTRATOR = "not_administrator"
    NOT_REGISTERED = "not_registered"
    ALREADY_USER = "already_user"
    EMAIL_REQUIRED = "email_required"
    UNKNOWN_RESOURCE = "unknown_resource"
    SELF_WIDENING = "self_widening"
    LAST_ADMINISTRATOR = "last_administrator"
    NOT_MEMBER = "not_member"
    WRONG_STATUS = "wrong_status"


MESSAGES = {
    EntitiesErrorCode.NOT_ADMINISTRATOR: _("You do not have the right to manage this entity's users."),
    EntitiesErrorCode.NOT_REGISTERED: _(
        "This person is not registered for your entity. Ask your advisor to register them first."
    ),
    EntitiesErrorCode.ALREADY_USER: _("This person is already a user of your entity."),
    EntitiesErrorCode.EMAIL_REQUIRED: _(
        "A valid e-mail address is needed: the new user receives their user ID by e-mail."
    ),
    EntitiesErrorCode.UNKNOWN_RESOURCE: _(
        "One of the accounts or contracts chosen does not belong to your entity."
    ),
    EntitiesErrorCode.SELF_WIDENING: _("You cannot widen your own rights. Ask another administrator."),
    EntitiesErrorCode.LAST_ADMINISTRATOR: _(
        "Your entity must keep at least one administrator. Give the administration right to another "
        "user first."
    ),
    EntitiesErrorCode.NOT_MEMBER: _("This user is not a user of your entity."),
    EntitiesErrorCode.WRONG_STATUS: _("This change does not apply to this user in their current state."),
}


class EntitiesError(Exception):
    def __init__(self, code: EntitiesErrorCode) -> None:
        self.code = code
        super().__init__(str(code))

    @property
    def message(self) -> str:
        return str(MESSAGES[self.code])


@dataclasses.dataclass(frozen=True)
class Rights:
    """A user's rights in one entity: resource rights plus the administration right."""

    resources: frozenset[RightKey] = frozenset()
    administration: bool = False

    def __le__(self, other: "Rights") -> bool:
        return self.resources <= other.resources and (not self.administration or other.administration)

    def rights_on(self, kind: str, pk: int) -> list[str]:
        return [right for right in RESOURCE_RIGHTS if (kind, pk, right) in self.resources]


# --- Reading --------------------------------------------------------------------------


def entity_resources(entity: Entity) -> tuple[list[BankAccount], list[Contract]]:
    return list(entity.accounts.order_by("label", "pk")), list(entity.contracts.order_by("label", "pk"))


def rights_of(*, entity: Entity, user: User) -> Rights:
    grants = Grant.objects.filter(entity=entity, user=user).values_list("account_id", "contract_id", "right")
    resources: set[RightKey] = set()
    administration = False
    for account_id, contract_id, right in grants:
        if right == Right.ADMINISTRATION:
            administration = True
        elif account_id is not None:
            resources.add((ACCOUNT, account_id, right))
        else:
            resources.add((CONTRACT, contract_id, right))
    return Rights(frozenset(resources), administration)


def profile_rights(*, entity: Entity, profile: Profile | str) -> Rights:
    """The rights a profile ticks: on every account and contract of the entity."""
    rights = PROFILE_RIGHTS[Profile(profile)]
    accounts, contracts = entity_resources(entity)
    keys = {(ACCOUNT, a.pk, r) for a in accounts for r in rights}
    keys |= {(CONTRACT, c.pk, r) for c in contracts for r in rights}
    return Rights(frozenset(keys), False)


def registered_persons(entity: Entity) -> list[Person]:
    """The persons the advisor registered who are not users yet: those an administrator may add."""
    return list(entity.persons.filter(status=PersonStatus.REGISTERED).order_by("last_name", "first_name"))


def entity_users(entity: Entity) -> list[Person]:
    return list(
        entity.persons.filter(status__in=[PersonStatus.ACTIVE, PersonStatus.SUSPENDED])
        .select_related("user")
        .order_by("last_name", "first_name")
    )


def rights_summaries(entity: Entity) -> dict[int, dict[str, tuple[int, int]]]:
    """Per user: right code -> (accounts, contracts) it covers; one query for the whole entity."""
    summaries: dict[int, dict[str, tuple[int, int]]] = {}
    rows = (
        Grant.objects.filter(entity=entity)
        .values("user_id", "right")
        .annotate(accounts=Count("account"), contracts=Count("contract"))
        .order_by()
    )
    for row in rows:
        summaries.setdefault(row["user_id"], {})[row["right"]] = (row["accounts"], row["contracts"])
    return summaries


def rights_lines(*, entity: Entity, rights: Rights) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(resource, right codes) in the entity's order: what the signing page and the review show."""
    accounts, contracts = entity_resources(entity)
    lines: list[tuple[str, tuple[str, ...]]] = []
    for kind, resources in ((ACCOUNT, accounts), (CONTRACT, contracts)):
        for resource in resources:
            codes = tuple(str(r) for r in rights.rights_on(kind, resource.pk))
            if codes:
                lines.append((str(resource), codes))
    if rights.administration:
        lines.append((entity.name, (str(Right.ADMINISTRATION),)))
    return tuple(lines)


def _person_target(person: Person) -> str:
    birth = person.birth_date.isoformat() if person.birth_date else ""
    return f"{person.full_name} ({birth}) · {person.entity.name}"


def user_add_operation(*, entity: Entity, person: Person, email: str, rights: Rights) -> signing.Operation:
    return signing.Operation(
        kind="entity_user_add",
        target=f"{_person_target(person)} · {email.strip().lower()}",
        rights=rights_lines(entity=entity, rights=rights),
    )


def rights_change_operation(*, entity: Entity, person: Person, rights: Rights) -> signing.Operation:
    return signing.Operation(
        kind="entity_rights_change",
        target=_person_target(person),
        rights=rights_lines(entity=entity, rights=rights),
    )


def status_operation(*, kind: str, person: Person) -> signing.Operation:
    """``kind``: entity_user_suspend, entity_user_reactivate or entity_user_remove."""
    return signing.Operation(kind=kind, target=_person_target(person))


# --- Checks ---------------------------------------------------------------------------


def _lock_entity(entity: Entity, acting_user: User) -> Entity:
    """Serialises the entity's administration; the acting user must still administer it."""
    locked = Entity.objects.select_for_update().get(pk=entity.pk)
    _require_administrator(locked, acting_user)
    return locked


def _check_resources(entity: Entity, rights: Rights) -> None:
    accounts = {kind_pk[1] for kind_pk in rights.resources if kind_pk[0] == ACCOUNT}
    contracts = {kind_pk[1] for kind_pk in rights.resources if kind_pk[0] == CONTRACT}
    if any(key[2] not in RESOURCE_RIGHTS or key[0] not in (ACCOUNT, CONTRACT) for key in rights.resources):
        raise EntitiesError(EntitiesErrorCode.UNKNOWN_RESOURCE)
    if entity.accounts.filter(pk__in=accounts).count() != len(accounts):
        raise EntitiesError(EntitiesErrorCode.UNKNOWN_RESOURCE)
    if entity.contracts.filter(pk__in=contracts).count() != len(contracts):
        raise EntitiesError(EntitiesErrorCode.UNKNOWN_RESOURCE)


def administrators(entity: Entity) -> set[int]:
    """The ids of the users holding the administration right while active members."""
    return _administrators(entity)


def _administrators(entity: Entity) -> set[int]:
    """Users holding the administration right while active members."""
    active = Person.objects.filter(
        entity=entity, status=PersonStatus.ACTIVE, user__is_active=True, user__locked_at__isnull=True
    ).values("user_id")
    return set(
        Grant.objects.filter(entity=entity, right=Right.ADMINISTRATION, user_id__in=active).values_list(
            "user_id", flat=True
        )
    )


def _check_administrators_remain(entity: Entity, *, losing: int) -> None:
    if not (_administrators(entity) - {losing}):
        raise EntitiesError(EntitiesErrorCode.LAST_ADMINISTRATOR)


def _member(entity: Entity, user: User, statuses: Iterable[str], *, lock: bool = True) -> Person:
    persons = Person.objects.filter(entity=entity, user=user)
    person = (persons.select_for_update() if lock else persons).first()
    if person is None or person.status == PersonStatus.REMOVED:
        raise EntitiesError(EntitiesErrorCode.NOT_MEMBER)
    if person.status not in statuses:
        raise EntitiesError(EntitiesErrorCode.WRONG_STATUS)
    return person


def _check_addable(entity: Entity, person: Person | None, email: str, rights: Rights) -> Person:
    if person is None or person.entity_id != entity.pk:
        raise EntitiesError(EntitiesErrorCode.NOT_REGISTERED)
    if person.status != PersonStatus.REGISTERED:
        raise EntitiesError(EntitiesErrorCode.ALREADY_USER)
    try:
        validate_email(email)
    except ValidationError:
        raise EntitiesError(EntitiesErrorCode.EMAIL_REQUIRED) from None
    _check_resources(entity, rights)
    return person


def _check_rights_change(entity: Entity, user: User, rights: Rights, acting_user: User) -> None:
    _check_resources(entity, rights)
    if user.pk == acting_user.pk and not rights <= rights_of(entity=entity, user=user):
        raise EntitiesError(EntitiesErrorCode.SELF_WIDENING)
    if not rights.administration:
        _check_administrators_remain(entity, losing=user.pk)


def _check_status_change(entity: Entity, user: User, after: str) -> None:
    if after != PersonStatus.ACTIVE:
        _check_administrators_remain(entity, losing=user.pk)


# --- Checks before signing: the page explains a refusal before the user signs; nothing written.


def _require_administrator(entity: Entity, acting_user: User) -> None:
    if not access.may(acting_user, Right.ADMINISTRATION, entity):
        raise EntitiesError(EntitiesErrorCode.NOT_ADMINISTRATOR)


def user_add_check(*, entity: Entity, person: Person, email: str, rights: Rights, acting_user: User) -> None:
    _require_administrator(entity, acting_user)
    fresh = Person.objects.filter(pk=person.pk, entity=entity).first()
    _check_addable(entity, fresh, (email or "").strip().lower(), rights)


def rights_change_check(*, entity: Entity, user: User, rights: Rights, acting_user: User) -> None:
    _require_administrator(entity, acting_user)
    _member(entity, user, [PersonStatus.ACTIVE, PersonStatus.SUSPENDED], lock=False)
    _check_rights_change(entity, user, rights, acting_user)


def user_status_check(*, kind: str, entity: Entity, user: User, acting_user: User) -> None:
    statuses, after = STATUS_CHANGES[kind]
    _require_administrator(entity, acting_user)
    _member(entity, user, statuses, lock=False)
    _check_status_change(entity, user, after)


# --- Writing --------------------------------------------------------------------------


def _resource_label(entity: Entity, kind: str | None, pk: int | None) -> str:
    if kind == ACCOUNT:
        return str(BankAccount.objects.get(pk=pk))
    if kind == CONTRACT:
        return str(Contract.objects.get(pk=pk))
    return entity.name


def _rights_apply(*, entity: Entity, user: User, rights: Rights, acting_user: User | None) -> tuple[int, int]:
    """Makes the rows equal ``rights``; writes the history. Returns (granted, withdrawn)."""
    before = rights_of(entity=entity, user=user)
    now = timezone.now()
    wanted = {(k, pk, r) for k, pk, r in rights.resources}
    held = set(before.resources)
    if rights.administration:
        wanted.add((None, None, Right.ADMINISTRATION))  # type: ignore[arg-type]
    if before.administration:
        held.add((None, None, Right.ADMINISTRATION))  # type: ignore[arg-type]
    added, removed = wanted - held, held - wanted
    for kind, pk, right in removed:
        filters: dict[str, Any] = {"entity": entity, "user": user, "right": right}
        if kind == ACCOUNT:
            filters["account_id"] = pk
        elif kind == CONTRACT:
            filters["contract_id"] = pk
        Grant.objects.filter(**filters).delete()
    Grant.objects.bulk_create(
        [
            Grant(
                entity=entity,
                user=user,
                account_id=pk if kind == ACCOUNT else None,
                contract_id=pk if kind == CONTRACT else None,
                right=right,
                granted_by=acting_user,
                granted_at=now,
            )
            for kind, pk, right in added
        ]
    )
    GrantChange.objects.bulk_create(
        [
            GrantChange(
                entity=entity,
                user=user,
                action=action,
                right=right,
                account_id=pk if kind == ACCOUNT else None,
                contract_id=pk if kind == CONTRACT else None,
                resource_label=_resource_label(entity, kind, pk)[:200],
                actor=acting_user,
                actor_label=acting_user.get_username()[:150] if acting_user else "",
                occurred_at=now,
            )
            for action, keys in ((GrantChange.Action.REVOKED, removed), (GrantChange.Action.GRANTED, added))
            for kind, pk, right in sorted(keys, key=lambda key: (str(key[0]), key[1] or 0, key[2]))
        ]
    )
    return len(added), len(removed)


def _tell(*, entity: Entity, person: Person, change: str, acting_user: User) -> None:
    """E-mails the entity's administrators and the user concerned, each in their language."""
    recipients = {person.user_id} | _administrators(entity)
    at = timezone.now()
    for user in User.objects.filter(pk__in=recipients, is_active=True).exclude(email=""):
        notify(
            template="entities_user_changed",
            context={
                "entity": entity.name,
                "person": person.full_name,
                "change": change,
                "actor": acting_user.get_full_name(),
                "at": at,
                "is_concerned": user.pk == person.user_id,
            },
            user=user,
        )


def _generate_user_id() -> str:
    while True:
        candidate = f"E{secrets.randbelow(10**7):07d}"
        if not User.objects.filter(user_id__iexact=candidate).exists():
            return candidate


def user_add(
    *,
    entity: Entity,
    person: Person,
    email: str,
    rights: Rights,
    acting_user: User,
    proof_id: Any,
    request: HttpRequest | None = None,
) -> User:
    """Makes a registered person a user with ``rights``: user ID by e-mail, temporary password by SMS,
    strong authentication required from the first login."""
    email = (email or "").strip().lower()
    with transaction.atomic():
        entity = _lock_entity(entity, acting_user)
        locked = Person.objects.select_for_update().filter(pk=person.pk, entity=entity).first()
        person = _check_addable(entity, locked, email, rights)
        operation = user_add_operation(entity=entity, person=person, email=email, rights=rights)
        signing.signing_proof_consume(proof_id=proof_id, user=acting_user, operation=operation)
        try:
            user = identity_services.user_provision(
                user_id=_generate_user_id(),
                email=email,
                phones=[str(person.mobile_phone)],
                language=person.language,
                first_name=person.first_name,
                last_name=person.last_name,
                acting_user=acting_user,
                request=request,
                password_by_sms=True,
                sca_required=True,
            )
        except IdentityError as error:
            if error.code == IdentityErrorCode.INVALID_EMAIL:
                raise EntitiesError(EntitiesErrorCode.EMAIL_REQUIRED) from error
            raise
        person.user = user
        person.email = email
        person.status = PersonStatus.ACTIVE
        person.save(update_fields=["user", "email", "status"])
        granted, _withdrawn = _rights_apply(entity=entity, user=user, rights=rights, acting_user=acting_user)
        record(
            action="entities.user_added",
            actor=acting_user,
            target=user,
            request=request,
            details={
                "entity": entity.pk,
                "person": person.pk,
                "granted": granted,
                "digest": operation.digest(),
            },
        )
        _tell(entity=entity, person=person, change="added", acting_user=acting_user)
    return user


def rights_change(
    *,
    entity: Entity,
    user: User,
    rights: Rights,
    acting_user: User,
    proof_id: Any,
    request: HttpRequest | None = None,
) -> None:
    with transaction.atomic():
        entity = _lock_entity(entity, acting_user)
        person = _member(entity, user, [PersonStatus.ACTIVE, PersonStatus.SUSPENDED])
        _check_rights_change(entity, user, rights, acting_user)
        operation = rights_change_operation(entity=entity, person=person, rights=rights)
        signing.signing_proof_consume(proof_id=proof_id, user=acting_user, operation=operation)
        granted, withdrawn = _rights_apply(entity=entity, user=user, rights=rights, acting_user=acting_user)
        record(
            action="entities.rights_changed",
            actor=acting_user,
            target=user,
            request=request,
            details={
                "entity": entity.pk,
                "granted": granted,
                "withdrawn": withdrawn,
                "digest": operation.digest(),
            },
        )
        _tell(entity=entity, person=person, change="rights", acting_user=acting_user)


STATUS_CHANGES = {
    # kind: (statuses it applies to, status after)
    "entity_user_suspend": ((PersonStatus.ACTIVE,), PersonStatus.SUSPENDED),
    "entity_user_reactivate": ((PersonStatus.SUSPENDED,), PersonStatus.ACTIVE),
    "entity_user_remove": ((PersonStatus.ACTIVE, PersonStatus.SUSPENDED), PersonStatus.REMOVED),
}


def user_status_change(
    *,
    kind: str,
    entity: Entity,
    user: User,
    acting_user: User,
    proof_id: Any,
    request: HttpRequest | None = None,
) -> None:
    """Suspends, reactivates or removes a user of the entity (removal also withdraws every right)."""
    statuses, after = STATUS_CHANGES[kind]
    with transaction.atomic():
        entity = _lock_entity(entity, acting_user)
        person = _member(entity, user, statuses)
        operation = status_operation(kind=kind, person=person)
        _check_status_change(entity, user, after)
        signing.signing_proof_consume(proof_id=proof_id, user=acting_user, operation=operation)
        person.status = after
        person.save(update_fields=["status"])
        if after == PersonStatus.REMOVED:
            _rights_apply(entity=entity, user=user, rights=Rights(), acting_user=acting_user)
        if after != PersonStatus.ACTIVE:
            _sessions_end(user, deactivate=after == PersonStatus.REMOVED)
        record(
            action=f"entities.{kind.removeprefix('entity_')}",
            actor=acting_user,
            target=user,
            request=request,
            details={"entity": entity.pk, "digest": operation.digest()},
        )
        _tell(entity=entity, person=person, change=kind.removeprefix("entity_user_"), acting_user=acting_user)


def _sessions_end(user: User, *, deactivate: bool) -> None:
    """Ends the user's open sessions at once; a user removed from their last entity can no longer log on."""
    for session in UserSession.objects.filter(user=user):
        session.end()
    still_member = Person.objects.filter(user=user).exclude(status=PersonStatus.REMOVED).exists()
    if deactivate and not still_member and not user.is_staff:
        User.objects.filter(pk=user.pk).update(is_active=False)


# --- The advisor's side (back office) -------------------------------------------------


def self_validation_told(*, entity: Entity) -> None:
    """Tells the entity's administrators that self-validation was switched on or off: it turns the
    four-eyes rule off for their transfers, so they must know (call it in the change's transaction)."""
    at = timezone.now()
    for user in User.objects.filter(pk__in=_administrators(entity), is_active=True).exclude(email=""):
        notify(
            template="entities_self_validation_changed",
            context={"entity": entity.name, "allowed": entity.allow_self_validation, "at": at},
            user=user,
        )


def person_register(
    *,
    entity: Entity,
    last_name: str,
    first_name: str,
    birth_date: Any,
    mobile_phone: str,
    email: str = "",
    language: str = "fr",
    acting_user: User | None = None,
    request: HttpRequest | None = None,
) -> Person:
    with transaction.atomic():
        person = Person.objects.create(
            entity=entity,
            last_name=last_name.strip(),
            first_name=first_name.strip(),
            birth_date=birth_date,
            mobile_phone=mobile_phone,
            email=(email or "").strip().lower(),
            language=language,
            registered_by=acting_user,
        )
        record(
            action="entities.person_registered",
            actor=acting_user,
            target=person,
            request=request,
            details={"entity": entity.pk},
        )
    return person


def administrator_appoint(
    *,
    entity: Entity,
    person: Person,
    acting_user: User | None = None,
    request: HttpRequest | None = None,
) -> User:
    """The advisor makes a person the entity's administrator (a user first, if they are not one yet).

    The advisor acts after checking the client's identity and mandate; the
    user's first login still requires strong authentication.
    """
    with transaction.atomic():
        entity = Entity.objects.select_for_update().get(pk=entity.pk)
        person = Person.objects.select_for_update().get(pk=person.pk, entity=entity)
        if person.status in (PersonStatus.REMOVED, PersonStatus.SUSPENDED):
            raise EntitiesError(EntitiesErrorCode.WRONG_STATUS)
        if person.user is None:
            if not person.email:
                raise EntitiesError(EntitiesErrorCode.EMAIL_REQUIRED)
            person.user = identity_services.user_provision(
                user_id=_generate_user_id(),
                email=person.email,
                phones=[str(person.mobile_phone)],
                language=person.language,
                first_name=person.first_name,
                last_name=person.last_name,
                acting_user=acting_user,
                request=request,
                password_by_sms=True,
                sca_required=True,
            )
        person.status = PersonStatus.ACTIVE
        person.save(update_fields=["user", "status"])
        current = rights_of(entity=entity, user=person.user)
        if not current.administration:
            _rights_apply(
                entity=entity,
                user=person.user,
                rights=dataclasses.replace(current, administration=True),
                acting_user=acting_user,
            )
        record(
            action="entities.administrator_appointed",
            actor=acting_user,
            target=person.user,
            request=request,
            details={"entity": entity.pk},
        )
        if acting_user is not None:
            _tell(entity=entity, person=person, change="rights", acting_user=acting_user)
    return person.user
