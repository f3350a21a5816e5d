"""Delegated administration services: adding a user, changing rights, suspending, reactivating and
removing, each signed; every refusal writes nothing."""

import dataclasses

import pytest
from django.core import mail

from guichet.audit.models import AuditEvent
from guichet.entities import services
from guichet.entities.models import Grant, GrantChange, Person, PersonStatus, Right
from guichet.entities.services import ACCOUNT, CONTRACT, EntitiesError, EntitiesErrorCode, Rights
from guichet.entities.testing import ACCOUNTANT, DIRECTOR, make_entity, make_member, make_person
from guichet.identity.models import User
from guichet.identity.signing import SigningError, SigningErrorCode
from guichet.identity.testing import signed_proof
from guichet.notifications.sms import locmem
from guichet.notifications.testing import deliveries_run

pytestmark = pytest.mark.django_db

EMAIL = "jan.peeters@example.com"


@pytest.fixture
def world():
    entity = make_entity()
    admin = make_member(entity, rights=DIRECTOR, administrator=True, first_name="Anne", last_name="Admin")
    member = make_member(entity, rights=ACCOUNTANT, first_name="Marc", last_name="Membre")
    person = make_person(entity)
    Person.objects.filter(pk=person.pk).update(language="nl")
    person.refresh_from_db()
    other = make_entity(name="Autre SA")
    outsider = make_member(other, rights=DIRECTOR, administrator=True, first_name="Olga", last_name="Autre")
    locmem.outbox.clear()
    return {
        "entity": entity,
        "other": other,
        "admin": admin,
        "member": member,
        "person": person,
        "outsider": outsider,
    }


def snapshot():
    return (
        Grant.objects.count(),
        GrantChange.objects.count(),
        User.objects.count(),
        AuditEvent.objects.filter(action__startswith="entities.").count(),
        list(Person.objects.order_by("pk").values_list("status", flat=True)),
    )


def accounting(entity) -> Rights:
    return services.profile_rights(entity=entity, profile=services.Profile.ACCOUNTANT)


def add(world, *, rights=None, acting_user=None, person=None, email=EMAIL, proof=None):
    entity, person = world["entity"], person or world["person"]
    rights = rights if rights is not None else accounting(entity)
    acting_user = acting_user or world["admin"]
    operation = services.user_add_operation(entity=entity, person=person, email=email, rights=rights)
    return services.user_add(
        entity=entity,
        person=person,
        email=email,
        rights=rights,
        acting_user=acting_user,
        proof_id=proof or signed_proof(acting_user, operation),
    )


# --- Adding -------------------------------------------------------------------------


def test_user_add_provisions_the_user_grants_and_tells_everyone(world):
    user = add(world)

    person = Person.objects.get(pk=world["person"].pk)
    assert person.user == user and person.status == PersonStatus.ACTIVE and person.email == EMAIL
    assert user.sca_required and user.preferred_language == "nl" and user.user_id.startswith("E")
    assert services.rights_of(entity=world["entity"], user=user) == accounting(world["entity"])
    history = GrantChange.objects.filter(user=user)
    assert history.count() == 5 and set(history.values_list("action", "actor")) == {
        ("granted", world["admin"].pk)
    }
    assert AuditEvent.objects.filter(action="entities.user_added", actor=world["admin"]).count() == 1

    deliveries_run()
    to_user = [m for m in mail.outbox if m.to == [EMAIL]]
    assert any(user.user_id in m.body for m in to_user)  # the user ID by e-mail
    assert [s for s in locmem.outbox if str(s.to) == "+32470111222"]  # the temporary password by SMS
    changed = [m for m in mail.outbox if "Jan Peeters" in m.subject]
    assert {tuple(m.to) for m in changed} == {(EMAIL,), (world["admin"].email,)}
    for message in changed:
        assert message.alternatives  # text and HTML


def test_the_user_concerned_is_told_in_their_language(world):
    add(world)
    deliveries_run()
    to_user = [m for m in mail.outbox if m.to == [EMAIL] and "Jan Peeters" in m.subject]
    to_admin = [m for m in mail.outbox if m.to == [world["admin"].email] and "Jan Peeters" in m.subject]
    assert to_user[0].body != to_admin[0].body  # Dutch for Jan, the administrator's language for Anne


@pytest.mark.parametrize(
    "case",
    ["not_administrator", "foreign_person", "foreign_account", "already_user", "no_email", "bad_email"],
)
def test_user_add_refusals_write_nothing(world, case):
    entity, other = world["entity"], world["other"]
    kwargs = {}
    expected = {
        "not_administrator": EntitiesErrorCode.NOT_ADMINISTRATOR,
        "foreign_person": EntitiesErrorCode.NOT_REGISTERED,
        "foreign_account": EntitiesErrorCode.UNKNOWN_RESOURCE,
        "already_user": EntitiesErrorCode.ALREADY_USER,
        "no_email": EntitiesErrorCode.EMAIL_REQUIRED,
        "bad_email": EntitiesErrorCode.EMAIL_REQUIRED,
    }[case]
    if case == "not_administrator":
        kwargs["acting_user"] = world["member"]
    elif case == "foreign_person":
        kwargs["person"] = make_person(other, first_name="Zoé")
    elif case == "foreign_account":
        kwargs["rights"] = Rights(frozenset({(ACCOUNT, other.accounts.first().pk, "consultation")}))
    elif case == "already_user":
        kwargs["person"] = Person.objects.get(user=world["member"])
    elif case == "no_email":
        kwargs["email"] = ""
    else:
        kwargs["email"] = "jan@"
    before = snapshot()
    with pytest.raises(EntitiesError) as error:
        add(world, **kwargs)
    assert error.value.code == expected
    assert snapshot() == before
    if case != "foreign_person":
        assert error.value.message  # translated text for the page
    # The check before signing says the same.
    with pytest.raises(EntitiesError):
        services.user_add_check(
            entity=entity,
            person=kwargs.get("person", world["person"]),
            email=kwargs.get("email", EMAIL),
            rights=kwargs.get("rights", accounting(entity)),
            acting_user=kwargs.get("acting_user", world["admin"]),
        )


def test_another_entitys_administrator_cannot_add(world):
    before = snapshot()
    with pytest.raises(EntitiesError) as error:
        add(world, acting_user=world["outsider"])
    assert error.value.code == EntitiesErrorCode.NOT_ADMINISTRATOR and snapshot() == before


def test_rights_differing_from_the_signed_ones_are_refused(world):
    entity = world["entity"]
    signed = services.user_add_operation(
        entity=entity, person=world["person"], email=EMAIL, rights=accounting(entity)
    )
    proof = signed_proof(world["admin"], signed)
    director = services.profile_rights(entity=entity, profile=services.Profile.DIRECTOR)
    before = snapshot()
    with pytest.raises(SigningError) as error:
        add(world, rights=director, proof=proof)
    assert error.value.code == SigningErrorCode.TAMPERED and snapshot() == before


def test_a_proof_counts_once(world):
    entity = world["entity"]
    operation = services.user_add_operation(
        entity=entity, person=world["person"], email=EMAIL, rights=accounting(entity)
    )
    proof = signed_proof(world["admin"], operation)
    add(world, proof=proof)
    second = make_person(entity, first_name="Eva", last_name="Smet", phone="+32470999888")
    with pytest.raises(SigningError):
        add(world, person=second, proof=proof)
    assert Person.objects.get(pk=second.pk).status == PersonStatus.REGISTERED


def test_another_users_proof_is_refused(world):
    entity = world["entity"]
    operation = services.user_add_operation(
        entity=entity, person=world["person"], email=EMAIL, rights=accounting(entity)
    )
    proof = signed_proof(world["member"], operation)
    before = snapshot()
    with pytest.raises(SigningError) as error:
        add(world, proof=proof)
    assert error.value.code == SigningErrorCode.NOT_FOUND and snapshot() == before


# --- Changing rights ----------------------------------------------------------------


def change(world, user, rights, acting_user=None):
    entity, acting_user = world["entity"], acting_user or world["admin"]
    person = Person.objects.get(entity=entity, user=user)
    operation = services.rights_change_operation(entity=entity, person=person, rights=rights)
    services.rights_change(
        entity=entity,
        user=user,
        rights=rights,
        acting_user=acting_user,
        proof_id=signed_proof(acting_user, operation),
    )


def test_rights_change_writes_the_history_and_tells(world):
    entity, member = world["entity"], world["member"]
    account = entity.accounts.first()
    rights = Rights(frozenset({(ACCOUNT, account.pk, "validation")}), administration=True)
    change(world, member, rights)
    assert services.rights_of(entity=entity, user=member) == rights
    changes = list(GrantChange.objects.filter(user=member).values_list("action", "right"))
    assert changes.count(("revoked", "consultation")) == 5
    assert ("granted", "validation") in changes and ("granted", "administration") in changes
    assert AuditEvent.objects.filter(action="entities.rights_changed").count() == 1
    deliveries_run()
    assert {tuple(m.to) for m in mail.outbox} >= {(member.email,), (world["admin"].email,)}


def test_an_administrator_cannot_widen_their_own_rights(world):
    entity, admin = world["entity"], world["admin"]
    Grant.objects.filter(user=admin, contract__isnull=False).delete()
    current = services.rights_of(entity=entity, user=admin)
    wider = dataclasses.replace(
        current, resources=current.resources | {(CONTRACT, entity.contracts.first().pk, "consultation")}
    )
    before = snapshot()
    with pytest.raises(EntitiesError) as error:
        change(world, admin, wider)
    assert error.value.code == EntitiesErrorCode.SELF_WIDENING and snapshot() == before
    # Narrowing is allowed.
    narrower = dataclasses.replace(current, resources=frozenset())
    change(world, admin, narrower)
    assert services.rights_of(entity=entity, user=admin) == narrower


def test_the_last_administrator_cannot_drop_the_right(world):
    before = snapshot()
    with pytest.raises(EntitiesError) as error:
        change(world, world["admin"], Rights())
    assert error.value.code == EntitiesErrorCode.LAST_ADMINISTRATOR and snapshot() == before


def test_rights_of_another_entitys_user_cannot_change(world):
    before = snapshot()
    with pytest.raises(EntitiesError) as error:
        services.rights_change(
            entity=world["entity"],
            user=world["outsider"],
            rights=Rights(),
            acting_user=world["admin"],
            proof_id="x",
        )
    assert error.value.code == EntitiesErrorCode.NOT_MEMBER and snapshot() == before


# --- Suspending, reactivating, removing --------------------------------------------


def status(world, kind, user, acting_user=None):
    entity, acting_user = world["entity"], acting_user or world["admin"]
    person = Person.objects.get(entity=entity, user=user)
    operation = services.status_operation(kind=kind, person=person)
    services.user_status_change(
        kind=kind,
        entity=entity,
        user=user,
        acting_user=acting_user,
        proof_id=signed_proof(acting_user, operation),
    )


def test_suspend_reactivate_remove(world):
    member, entity = world["member"], world["entity"]
    status(world, "entity_user_suspend", member)
    assert Person.objects.get(user=member).status == PersonStatus.SUSPENDED
    with pytest.raises(EntitiesError) as error:
        status(world, "entity_user_suspend", member)
    assert error.value.code == EntitiesErrorCode.WRONG_STATUS
    status(world, "entity_user_reactivate", member)
    status(world, "entity_user_remove", member)
    assert Person.objects.get(user=member).status == PersonStatus.REMOVED
    assert not Grant.objects.filter(user=member).exists()
    assert GrantChange.objects.filter(user=member, action="revoked").count() == 5
    actions = set(
        AuditEvent.objects.filter(action__startswith="entities.user_").values_list("action", flat=True)
    )
    assert actions == {"entities.user_suspend", "entities.user_reactivate", "entities.user_remove"}
    with pytest.raises(EntitiesError) as error:
        status(world, "entity_user_reactivate", member)
    assert error.value.code == EntitiesErrorCode.NOT_MEMBER
    assert entity.pk  # the entity stays


@pytest.mark.parametrize("kind", ["entity_user_suspend", "entity_user_remove"])
def test_the_last_administrator_cannot_suspend_or_remove_themself(world, kind):
    before = snapshot()
    with pytest.raises(EntitiesError) as error:
        status(world, kind, world["admin"])
    assert error.value.code == EntitiesErrorCode.LAST_ADMINISTRATOR and snapshot() == before
    with pytest.raises(EntitiesError):
        services.user_status_check(
            kind=kind, entity=world["entity"], user=world["admin"], acting_user=world["admin"]
        )


def test_with_a_second_administrator_one_may_leave(world):
    entity = world["entity"]
    make_member(entity, administrator=True, first_name="Bob", last_name="Second")
    status(world, "entity_user_remove", world["admin"])
    assert services.administrators(entity) and world["admin"].pk not in services.administrators(entity)


def test_a_suspended_administrator_is_not_counted(world):
    entity = world["entity"]
    second = make_member(entity, administrator=True, first_name="Bob", last_name="Second")
    status(world, "entity_user_suspend", second)
    with pytest.raises(EntitiesError) as error:
        status(world, "entity_user_suspend", world["admin"])
    assert error.value.code == EntitiesErrorCode.LAST_ADMINISTRATOR


def test_a_member_cannot_change_statuses(world):
    before = snapshot()
    with pytest.raises(EntitiesError) as error:
        status(world, "entity_user_suspend", world["admin"], acting_user=world["member"])
    assert error.value.code == EntitiesErrorCode.NOT_ADMINISTRATOR and snapshot() == before


# --- Reading ------------------------------------------------------------------------


def test_summaries_and_lists(world):
    entity = world["entity"]
    summaries = services.rights_summaries(entity)
    assert summaries[world["member"].pk] == {"consultation": (3, 2)}
    assert summaries[world["admin"].pk]["administration"] == (0, 0)
    assert [p.pk for p in services.registered_persons(entity)] == [world["person"].pk]
    assert {p.user_id for p in services.entity_users(entity)} == {world["admin"].pk, world["member"].pk}


def test_the_operation_lists_the_person_and_the_rights(world):
    entity = world["entity"]
    operation = services.user_add_operation(
        entity=entity, person=world["person"], email=EMAIL.upper(), rights=accounting(entity)
    )
    assert "Jan Peeters" in operation.target and EMAIL in operation.target
    assert len(operation.rights) == 5 and all(codes == ("consultation",) for _r, codes in operation.rights)
    assert Right.CONSULTATION == "consultation"


def test_review_fixes_suspension_ends_sessions_and_removal_from_the_last_entity_deactivates():
    """Review findings 5-6: a removed user keeps no session nor login; a disabled admin does not count."""
    from allauth.usersessions.models import UserSession
    from django.test import Client

    from guichet.entities import services as entity_services
    from guichet.entities.models import Right
    from guichet.entities.testing import make_entity, make_member
    from guichet.identity.testing import signed_proof

    entity = make_entity()
    admin = make_member(entity, administrator=True, rights=(Right.CONSULTATION,))
    other_admin = make_member(entity, administrator=True, rights=(Right.CONSULTATION,))
    member = make_member(entity)
    client = Client()
    client.force_login(member)
    client.get("/fr/")
    assert UserSession.objects.filter(user=member).exists()
    person = member.entity_persons.get()

    operation = entity_services.status_operation(kind="entity_user_remove", person=person)
    entity_services.user_status_change(
        kind="entity_user_remove",
        entity=entity,
        user=member,
        acting_user=admin,
        proof_id=signed_proof(admin, operation),
    )

    member.refresh_from_db()
    assert not member.is_active
    assert not UserSession.objects.filter(user=member).exists()
    other_admin.is_active = False
    other_admin.save(update_fields=["is_active"])
    assert entity_services.administrators(entity) == {admin.pk}
