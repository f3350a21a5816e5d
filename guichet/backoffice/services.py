"""The back office's writes: the advisor group and advisors."""

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q

from guichet.audit.services import record
from guichet.backoffice.permissions import ADVISOR_GROUP, ADVISOR_PERMISSIONS
from guichet.identity.models import AccountKind, User


def advisor_group() -> Group:
    """The advisors' group, created by migration ``backoffice.0001``.

    Recreated with ``ADVISOR_PERMISSIONS`` if missing, as after a test
    runner's flush, which empties the tables that data migrations filled.
    """
    group, created = Group.objects.get_or_create(name=ADVISOR_GROUP)
    if created:
        group.permissions.set(_permissions(ADVISOR_PERMISSIONS))
    return group


@transaction.atomic
def advisor_create(
    *,
    user_id: str,
    email: str,
    first_name: str = "",
    last_name: str = "",
    password: str | None = None,
    acting_user: User | None = None,
) -> User:
    """A staff user in the advisor group; without a password it is left unusable for onboarding.

    The caller validates the password against the password policy.
    """
    advisor = User.objects.create_user(
        user_id,
        email,
        password,
        first_name=first_name,
        last_name=last_name,
        kind=AccountKind.STAFF,
        is_staff=True,
    )
    advisor.groups.add(advisor_group())
    record(
        action="advisor.created",
        actor=acting_user,
        target=advisor,
        details={"awaits_onboarding": password is None},
    )
    return advisor


def _permissions(names: tuple[str, ...]) -> list[Permission]:
    query = Q()
    for name in names:
        app_label, codename = name.split(".")
        query |= Q(content_type__app_label=app_label, codename=codename)
    return list(Permission.objects.filter(query))
