"""The one authorisation function: ``may`` and the list filters agree, for each right, and a
right counts only for an active user who is an active member of the resource's entity."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from guichet.entities import access
from guichet.entities.models import Grant, Person, PersonStatus, Right
from guichet.entities.testing import ACCOUNTANT, DIRECTOR, PREPARER, make_entity, make_member

pytestmark = pytest.mark.django_db

RESOURCE_RIGHTS = [Right.CONSULTATION, Right.MANAGEMENT, Right.VALIDATION]


@pytest.fixture
def entity():
    return make_entity()


@pytest.mark.parametrize(
    ("profile", "held"),
    [
        (ACCOUNTANT, {Right.CONSULTATION}),
        (PREPARER, {Right.CONSULTATION, Right.MANAGEMENT}),
        (DIRECTOR, {Right.CONSULTATION, Right.MANAGEMENT, Right.VALIDATION}),
    ],
)
def test_each_right_on_each_resource(entity, profile, held):
    user = make_member(entity, rights=profile)
    account, contract = entity.accounts.first(), entity.contracts.first()
    for right in RESOURCE_RIGHTS:
        assert access.may(user, right, account) is (right in held)
        assert access.may(user, right, contract) is (right in held)
        assert access.accounts(user, right).count() == (3 if right in held else 0)
        assert access.contracts(user, right).count() == (2 if right in held else 0)
    assert not access.may(user, Right.ADMINISTRATION, entity)
    assert not access.administered_entities(user).exists()
    assert list(access.member_entities(user)) == [entity]


def test_rights_on_some_resources_only(entity):
    account = entity.accounts.first()
    user = make_member(entity, rights=ACCOUNTANT, on_accounts=[account], on_contracts=[])
    assert list(access.accounts(user, Right.CONSULTATION)) == [account]
    assert not access.contracts(user, Right.CONSULTATION).exists()
    assert not access.may(user, Right.CONSULTATION, entity.accounts.exclude(pk=account.pk).first())


def test_administration(entity):
    admin = make_member(entity, rights=(), administrator=True)
    assert access.may(admin, Right.ADMINISTRATION, entity)
    assert list(access.administered_entities(admin)) == [entity]
    assert not access.may(admin, Right.ADMINISTRATION, entity.accounts.first())
    assert not access.may(admin, Right.CONSULTATION, entity)  # only administration applies to an entity
    assert access.rights_summary(admin) == {
        "consult_accounts": False,
        "consult_contracts": False,
        "manage": False,
        "validate": False,
        "administer": True,
    }


def test_another_entitys_resources(entity):
    other = make_entity(name="Autre SA")
    user = make_member(entity, rights=DIRECTOR, administrator=True)
    assert not access.may(user, Right.CONSULTATION, other.accounts.first())
    assert not access.may(user, Right.CONSULTATION, other.contracts.first())
    assert not access.may(user, Right.ADMINISTRATION, other)
    assert not access.accounts(user, Right.CONSULTATION).filter(entity=other).exists()


def test_a_stray_grant_on_another_entitys_account_counts_for_nothing(entity):
    """Even a grant row pointing at another entity's account gives nothing without membership there."""
    other = make_entity(name="Autre SA")
    user = make_member(entity, rights=ACCOUNTANT)
    foreign = other.accounts.first()
    Grant.objects.create(
        entity=other, user=user, account=foreign, right=Right.CONSULTATION, granted_at=timezone.now()
    )
    assert not access.may(user, Right.CONSULTATION, foreign)


@pytest.mark.parametrize("status", [PersonStatus.SUSPENDED, PersonStatus.REMOVED])
def test_suspended_or_removed_persons_have_no_right(entity, status):
    user = make_member(entity, rights=DIRECTOR, administrator=True)
    Person.objects.filter(user=user).update(status=status)
    for right in RESOURCE_RIGHTS:
        assert not access.may(user, right, entity.accounts.first())
        assert not access.accounts(user, right).exists()
        assert not access.contracts(user, right).exists()
    assert not access.may(user, Right.ADMINISTRATION, entity)
    assert not access.member_entities(user).exists()


def test_an_inactive_user_or_anonymous_has_no_right(entity):
    user = make_member(entity, rights=DIRECTOR, administrator=True)
    user.is_active = False
    user.save(update_fields=["is_active"])
    anonymous = AnonymousUser()
    for who in (user, anonymous, None):
        assert not access.may(who, Right.CONSULTATION, entity.accounts.first())
        assert not access.accounts(who, Right.CONSULTATION).exists()
        assert not access.administered_entities(who).exists()


def test_an_unknown_right_is_refused(entity):
    user = make_member(entity, rights=DIRECTOR)
    assert not access.may(user, "delete", entity.accounts.first())
    assert not access.accounts(user, "delete").exists()
    with pytest.raises(access.AccessDenied):
        access.require(user, "delete", entity.accounts.first())


@pytest.mark.parametrize("count", [5, 50])
def test_the_account_filter_costs_one_query_whatever_the_number_of_rights(count, django_assert_num_queries):
    entity = make_entity(accounts=count, contracts=count)
    user = make_member(entity, rights=ACCOUNTANT)
    assert Grant.objects.filter(user=user).count() == 2 * count
    with django_assert_num_queries(1):
        assert len(list(access.accounts(user, Right.CONSULTATION))) == count
    with django_assert_num_queries(1):
        assert len(list(access.contracts(user, Right.CONSULTATION))) == count
    last = entity.accounts.last()
    with django_assert_num_queries(1):
        assert access.may(user, Right.CONSULTATION, last) is True
