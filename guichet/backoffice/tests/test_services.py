import pytest
from django.contrib.auth.models import Group

from guichet.audit.models import AuditEvent
from guichet.backoffice.permissions import ADVISOR_GROUP, ADVISOR_PERMISSIONS
from guichet.backoffice.services import advisor_create, advisor_group
from guichet.backoffice.tests.factories import make_superuser
from guichet.identity.models import AccountKind

pytestmark = pytest.mark.django_db


def permission_names(group: Group) -> list[str]:
    return sorted(f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all())


def test_the_migrations_created_the_advisor_group_with_the_minimum_permissions() -> None:
    group = Group.objects.get(name=ADVISOR_GROUP)

    assert permission_names(group) == [
        "audit.view_auditevent",
        "help.change_contactmessage",
        "help.view_contactmessage",
        "identity.add_user",
        "identity.change_user",
        "identity.view_user",
    ]
    assert advisor_group() == group


def test_the_advisor_group_is_recreated_when_missing() -> None:
    Group.objects.filter(name=ADVISOR_GROUP).delete()

    group = advisor_group()

    assert permission_names(group) == sorted(ADVISOR_PERMISSIONS)


def test_an_advisor_is_staff_in_the_group_and_recorded() -> None:
    operator = make_superuser()

    advisor = advisor_create(
        user_id="advisor7",
        email="a7@bank.example",
        first_name="Alex",
        last_name="Peeters",
        acting_user=operator,
    )

    assert (advisor.kind, advisor.is_staff, advisor.is_superuser) == (AccountKind.STAFF, True, False)
    assert list(advisor.groups.all()) == [advisor_group()]
    assert not advisor.has_usable_password()
    assert advisor.has_perms(["identity.view_user", "audit.view_auditevent"])
    assert not advisor.has_perm("identity.delete_user")
    event = AuditEvent.objects.get(action="advisor.created")
    assert (event.actor_label, event.target_label, event.details) == (
        "operator",
        "advisor7",
        {"awaits_onboarding": True},
    )
