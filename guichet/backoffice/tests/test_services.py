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
        "banking.change_transfer",
        "banking.view_batch",
        "banking.view_exportfile",
        "banking.view_transaction",
        "banking.view_transfer",
        "documents.add_activationcode",
        "documents.add_customer",
        "documents.add_customernumber",
        "documents.add_issuer",
        "documents.add_issueridentifier",
        "documents.add_printbatch",
        "documents.change_customer",
        "documents.change_customernumber",
        "documents.change_issuer",
        "documents.change_issueridentifier",
        "documents.change_shareduser",
        "documents.delete_issueridentifier",
        "documents.view_activationcode",
        "documents.view_customer",
        "documents.view_customernumber",
        "documents.view_document",
        "documents.view_invitation",
        "documents.view_issuer",
        "documents.view_issueridentifier",
        "documents.view_printbatch",
        "entities.add_bankaccount",
        "entities.add_contract",
        "entities.add_entity",
        "entities.add_person",
        "entities.change_bankaccount",
        "entities.change_contract",
        "entities.change_entity",
        "entities.change_person",
        "entities.view_bankaccount",
        "entities.view_contract",
        "entities.view_entity",
        "entities.view_grantchange",
        "entities.view_person",
        "help.change_contactmessage",
        "help.view_contactmessage",
        "identity.add_provisioningimport",
        "identity.add_user",
        "identity.change_user",
        "identity.view_agreementacceptance",
        "identity.view_provisioningimport",
        "identity.view_user",
        "identity.view_useragreement",
        "paylater.add_merchant",
        "paylater.change_merchant",
        "paylater.change_order",
        "paylater.view_card",
        "paylater.view_instalment",
        "paylater.view_merchant",
        "paylater.view_order",
        "paylater.view_payment",
        "paylater.view_regularisationplan",
        "paylater.view_schedule",
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
