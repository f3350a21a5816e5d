"""Business clients in the back office: entities with accounts and contracts, persons,
making an administrator, the rights shown read-only; who may do what; the audit trail."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.test import Client

from guichet.audit.models import AuditEvent
from guichet.backoffice.permissions import ADVISOR_GROUP, ADVISOR_PERMISSIONS
from guichet.backoffice.tests.factories import make_advisor, make_customer, make_superuser
from guichet.backoffice.tests.test_site import InlineCode
from guichet.entities.models import (
    BankAccount,
    Contract,
    Entity,
    GrantChange,
    Person,
    PersonStatus,
    Right,
)
from guichet.entities.services import rights_of
from guichet.entities.testing import ACCOUNTANT, make_entity, make_member, make_person
from guichet.identity.models import AccountKind, User
from guichet.notifications.sms import locmem
from guichet.notifications.testing import deliveries_run

pytestmark = pytest.mark.django_db

ENTITY_ADD = "/backoffice/entities/entity/add/"
PERSON_ADD = "/backoffice/entities/person/add/"


@pytest.fixture(autouse=True)
def empty_sms_outbox() -> None:
    locmem.outbox.clear()


def client_for(user: User | None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_login(user)
    return client


def entity_form(**overrides: str) -> dict[str, str]:
    """The add page's POST: the entity, one account, one contract (inline management forms)."""
    data = {
        "name": "Tilleul Transports SRL",
        "company_number_scheme": "be",
        "company_number": "BE 0403.170.701",
        "accounts-TOTAL_FORMS": "1",
        "accounts-INITIAL_FORMS": "0",
        "accounts-0-label": "Compte courant",
        "accounts-0-iban": "be68 5390 0754 7034",
        "accounts-0-bic": "",
        "accounts-0-currency": "EUR",
        "contracts-TOTAL_FORMS": "1",
        "contracts-INITIAL_FORMS": "0",
        "contracts-0-kind": "remote_banking",
        "contracts-0-reference": "BAD-0001",
        "contracts-0-label": "Banque à distance",
        "contracts-0-started_on": "2026-01-15",
        "contracts-0-details": "",
        "persons-TOTAL_FORMS": "0",
        "persons-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


def person_form(entity: Entity, **overrides: str) -> dict[str, str]:
    data = {
        "entity": str(entity.pk),
        "last_name": "Claes",
        "first_name": "Nora",
        "birth_date": "1990-06-02",
        "mobile_phone": "+32 470 55 66 77",
        "email": "Nora.Claes@example.com",
        "language": "nl",
    }
    data.update(overrides)
    return data


# --- Who may use the pages --------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/backoffice/entities/entity/",
        ENTITY_ADD,
        "/backoffice/entities/person/",
        PERSON_ADD,
        "/backoffice/entities/grantchange/",
    ],
)
def test_advisors_and_operators_open_the_pages_others_are_sent_to_the_login(url: str) -> None:
    make_entity()
    anonymous, customer = client_for(None), client_for(make_customer())

    assert client_for(make_advisor()).get(url).status_code == 200
    assert client_for(make_superuser()).get(url).status_code == 200
    assert anonymous.get(url).status_code == 302
    assert customer.get(url).status_code == 302


def test_a_staff_member_outside_the_advisor_group_sees_nothing_and_writes_nothing() -> None:
    staff = User.objects.create_user("clerk", "clerk@bank.example", kind=AccountKind.STAFF, is_staff=True)
    entity = make_entity()
    client = client_for(staff)

    responses = [
        client.get("/backoffice/entities/entity/"),
        client.post(ENTITY_ADD, entity_form()),
        client.post(PERSON_ADD, person_form(entity)),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403]
    assert "Business clients" not in client.get("/backoffice/").content.decode()
    assert Entity.objects.count() == 1 and not Person.objects.exists()


def test_the_advisor_group_has_the_business_client_permissions_and_no_rights_edition() -> None:
    group = Group.objects.get(name=ADVISOR_GROUP)
    held = {
        f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")
    }

    assert held == set(ADVISOR_PERMISSIONS)
    assert not {p for p in held if p.endswith("_grant")}  # rights are the administrators' (signed)
    assert "entities.change_grantchange" not in held and "entities.delete_entity" not in held


# --- Entities ---------------------------------------------------------------------------------


def test_an_advisor_adds_an_entity_with_an_account_and_a_contract_all_audited() -> None:
    advisor = make_advisor()

    response = client_for(advisor).post(ENTITY_ADD, entity_form())

    assert response.status_code == 302, response.context["adminform"].form.errors
    entity = Entity.objects.get()
    account, contract = BankAccount.objects.get(), Contract.objects.get()
    assert (entity.company_number_scheme, entity.company_number) == ("be", "0403170701")
    assert (account.entity, account.iban, account.bic, account.currency) == (
        entity,
        "BE68539007547034",
        "",
        "EUR",
    )
    assert (contract.reference, contract.started_on) == ("BAD-0001", datetime.date(2026, 1, 15))
    events = AuditEvent.objects.filter(actor_id=advisor.pk).order_by("seq")
    assert [e.action for e in events] == [
        "entities.entity_created",
        "entities.bankaccount_added",
        "entities.contract_added",
    ]


@pytest.mark.parametrize(
    ("scheme", "number", "error"),
    [
        ("be", "0403.170.702", "Enter a valid Belgian enterprise number of 10 digits"),
        ("be", "12", "Enter a valid Belgian enterprise number of 10 digits"),
        ("fr", "732 829 321", "Enter a valid French SIREN of 9 digits"),
        ("fr", "0403170701", "Enter a valid French SIREN of 9 digits"),
    ],
)
def test_an_invalid_company_number_is_refused_and_nothing_written(
    scheme: str, number: str, error: str
) -> None:
    response = client_for(make_advisor()).post(
        ENTITY_ADD, entity_form(company_number_scheme=scheme, company_number=number)
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert error in html
    assert "<title>Error:" in html or "errornote" in html
    assert not Entity.objects.exists() and not BankAccount.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="entities.").exists()


def test_a_french_siren_is_kept_compact() -> None:
    response = client_for(make_advisor()).post(
        ENTITY_ADD, entity_form(company_number_scheme="fr", company_number="732 829 320")
    )

    assert response.status_code == 302
    assert Entity.objects.get().company_number == "732829320"


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("accounts-0-iban", "BE68 5390 0754 7035", "Enter a valid IBAN"),
        ("accounts-0-iban", "hello", "Enter a valid IBAN"),
        ("accounts-0-bic", "GEBAXXBB", "Enter a valid BIC"),
    ],
)
def test_an_invalid_iban_or_bic_is_refused_and_nothing_written(field: str, value: str, error: str) -> None:
    response = client_for(make_advisor()).post(ENTITY_ADD, entity_form(**{field: value}))

    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Entity.objects.exists() and not BankAccount.objects.exists()


def test_a_company_number_already_registered_is_refused() -> None:
    make_entity(company_number="0403170701")

    response = client_for(make_advisor()).post(ENTITY_ADD, entity_form())

    assert response.status_code == 200
    assert "A business client with this company number already exists." in response.content.decode()
    assert Entity.objects.count() == 1


def test_the_entity_list_finds_a_company_number_typed_as_printed() -> None:
    make_entity(name="Aubépine Logistique SA", company_number="0403170701")
    make_entity(name="Autre SA", company_number="0202239951")

    html = (
        client_for(make_advisor())
        .get("/backoffice/entities/entity/", {"q": "BE 0403.170.701"})
        .content.decode()
    )

    assert "Aubépine Logistique SA" in html and "Autre SA" not in html
    assert "0403.170.701" in html


def test_the_entity_page_shows_accounts_with_read_only_balances_and_a_register_link() -> None:
    entity = make_entity()
    client = client_for(make_advisor())

    response = client.get(f"/backoffice/entities/entity/{entity.pk}/change/")

    html = response.content.decode()
    assert response.status_code == 200
    assert f'href="/backoffice/entities/person/add/?entity={entity.pk}"' in html
    assert 'name="accounts-0-iban"' in html and 'name="accounts-0-balance"' not in html
    assert "12500.00" in html or "12,500.00" in html
    assert "For one-person companies only" in html  # allow_self_validation's help text
    parser = InlineCode(response.wsgi_request.csp_nonce)
    parser.feed(html)
    assert parser.blocked == []


def test_changing_an_entity_records_the_changed_fields() -> None:
    entity = make_entity(company_number="0403170701")
    advisor = make_advisor()
    page = client_for(advisor).get(f"/backoffice/entities/entity/{entity.pk}/change/")
    data = {
        key: value
        for key, value in page.context["adminform"].form.initial.items()
        if key in ("name", "company_number_scheme", "company_number")
    }
    for prefix in ("accounts", "contracts"):
        data[f"{prefix}-TOTAL_FORMS"] = data[f"{prefix}-INITIAL_FORMS"] = "0"
    data.update({"persons-TOTAL_FORMS": "0", "persons-INITIAL_FORMS": "0"})
    data["allow_self_validation"] = "on"

    response = client_for(advisor).post(f"/backoffice/entities/entity/{entity.pk}/change/", data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    entity.refresh_from_db()
    assert entity.allow_self_validation and entity.company_number == "0403170701"
    event = AuditEvent.objects.get(action="entities.entity_changed")
    assert event.details == {"fields": ["allow_self_validation"]}


def test_switching_self_validation_is_e_mailed_to_the_entitys_administrators() -> None:
    """Review finding: self-validation turns four eyes off; the administrators must know."""
    from guichet.notifications.models import Message

    entity = make_entity(company_number="0403170701")
    administrator = make_member(entity, administrator=True, preferred_language="nl")
    make_member(entity, rights=ACCOUNTANT)  # not an administrator: not told
    advisor = make_advisor()
    page = client_for(advisor).get(f"/backoffice/entities/entity/{entity.pk}/change/")
    data = {
        key: value
        for key, value in page.context["adminform"].form.initial.items()
        if key in ("name", "company_number_scheme", "company_number")
    }
    for prefix in ("accounts", "contracts"):
        data[f"{prefix}-TOTAL_FORMS"] = data[f"{prefix}-INITIAL_FORMS"] = "0"
    data.update({"persons-TOTAL_FORMS": "0", "persons-INITIAL_FORMS": "0", "allow_self_validation": "on"})

    client_for(advisor).post(f"/backoffice/entities/entity/{entity.pk}/change/", data)

    [told] = Message.objects.filter(template="entities_self_validation_changed")
    assert (told.user, told.language) == (administrator, "nl")
    assert entity.name in told.body_text


# --- Persons ----------------------------------------------------------------------------------


def test_an_advisor_registers_a_person_through_the_service_with_its_audit_row() -> None:
    entity, advisor = make_entity(), make_advisor()

    response = client_for(advisor).post(PERSON_ADD, person_form(entity))

    person = Person.objects.get()
    assert response.status_code == 302
    assert (person.entity, person.full_name, person.email, str(person.mobile_phone)) == (
        entity,
        "Nora Claes",
        "nora.claes@example.com",
        "+32470556677",
    )
    assert (person.status, person.registered_by, person.language) == (PersonStatus.REGISTERED, advisor, "nl")
    event = AuditEvent.objects.get(action="entities.person_registered")
    assert (event.actor_id, event.details) == (advisor.pk, {"entity": entity.pk})


def test_the_register_page_is_prefilled_with_the_entity() -> None:
    entity = make_entity()

    response = client_for(make_advisor()).get(PERSON_ADD, {"entity": entity.pk})

    assert response.context["adminform"].form.initial["entity"] == str(entity.pk)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("mobile_phone", "0470 55 66 77"),
        ("mobile_phone", "+32 12"),
        ("birth_date", "1990-02-31"),
        ("birth_date", "2999-01-01"),
        ("email", "nora@"),
    ],
)
def test_bad_person_data_is_refused_and_nothing_written(field: str, value: str) -> None:
    entity = make_entity()

    response = client_for(make_advisor()).post(PERSON_ADD, person_form(entity, **{field: value}))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field]
    assert not Person.objects.exists()
    assert not AuditEvent.objects.filter(action="entities.person_registered").exists()


def test_a_registered_person_may_be_corrected_a_user_is_read_only_with_rights_and_history() -> None:
    entity = make_entity()
    registered = make_person(entity)
    member = make_member(entity, rights=ACCOUNTANT, first_name="Elise", last_name="Vermeulen")
    GrantChange.objects.create(
        entity=entity,
        user=member,
        action="granted",
        right=Right.CONSULTATION,
        resource_label="Compte courant",
    )
    client = client_for(make_advisor())

    registered_page = client.get(f"/backoffice/entities/person/{registered.pk}/change/")
    member_person = Person.objects.get(user=member)
    member_page = client.get(f"/backoffice/entities/person/{member_person.pk}/change/")
    refused = client.post(
        f"/backoffice/entities/person/{member_person.pk}/change/", person_form(entity, last_name="Changed")
    )

    assert 'name="last_name"' in registered_page.content.decode()
    html = member_page.content.decode()
    assert 'name="last_name"' not in html
    assert "managed by the entity's administrators in the customer space" in html
    assert member.user_id in html
    assert "Consultation" in html and "<caption>Rights of Elise Vermeulen</caption>" in html
    assert "<caption>Latest changes of rights</caption>" in html
    assert refused.status_code == 403
    member_person.refresh_from_db()
    assert member_person.last_name == "Vermeulen"


def test_correcting_a_registered_person_is_audited_with_the_field_names() -> None:
    entity = make_entity()
    person = make_person(entity)

    response = client_for(make_advisor()).post(
        f"/backoffice/entities/person/{person.pk}/change/",
        {
            "last_name": "Peeters",
            "first_name": "Jan",
            "birth_date": "1985-03-14",
            "mobile_phone": "+32470111222",
            "email": "jan@example.com",
            "language": "fr",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    person.refresh_from_db()
    assert person.email == "jan@example.com"
    assert AuditEvent.objects.get(action="entities.person_changed").details == {
        "entity": entity.pk,
        "fields": ["email"],
    }


def test_nobody_deletes_an_entity_or_a_person() -> None:
    entity = make_entity()
    person = make_person(entity)
    client = client_for(make_superuser())

    responses = [
        client.post(f"/backoffice/entities/entity/{entity.pk}/delete/", {"post": "yes"}),
        client.post(f"/backoffice/entities/person/{person.pk}/delete/", {"post": "yes"}),
    ]

    assert [r.status_code for r in responses] == [403, 403]
    assert Entity.objects.filter(pk=entity.pk).exists() and Person.objects.filter(pk=person.pk).exists()


# --- Making an administrator ------------------------------------------------------------------


def appoint_url(person: Person) -> str:
    return f"/backoffice/entities/person/{person.pk}/administrator/"


def test_making_a_registered_person_administrator_provisions_the_user_by_email_and_sms() -> None:
    entity, advisor = make_entity(), make_advisor()
    person = make_person(entity, email="nora.claes@example.com", phone="+32470556677")
    client = client_for(advisor)

    page = client.get(appoint_url(person))
    response = client.post(appoint_url(person), follow=True)

    assert "temporary password is sent by SMS to +324••••••77" in page.content.decode()
    person.refresh_from_db()
    user = person.user
    assert person.status == PersonStatus.ACTIVE
    assert rights_of(entity=entity, user=user).administration
    assert user.sca_required and user.password_is_temporary and user.email == "nora.claes@example.com"
    assert f"is now the administrator of {entity.name}, as user {user.user_id}" in response.content.decode()
    deliveries_run()
    bodies = [m.body for m in mail.outbox if "nora.claes@example.com" in m.to]
    assert any(user.user_id in body for body in bodies)
    assert any(entity.name in body and user.user_id not in body for body in bodies)  # the change is told
    assert [str(sms.to) for sms in locmem.outbox] == ["+32470556677"]
    assert [e.action for e in AuditEvent.objects.filter(actor_id=advisor.pk).order_by("seq")][-1] == (
        "entities.administrator_appointed"
    )
    assert GrantChange.objects.get(user=user).right == Right.ADMINISTRATION


def test_a_person_without_email_cannot_be_made_administrator_and_nothing_is_written() -> None:
    entity = make_entity()
    person = make_person(entity, email="")
    client = client_for(make_advisor())
    users = User.objects.count()

    page = client.get(appoint_url(person))
    response = client.post(appoint_url(person), follow=True)

    assert "has no e-mail address yet" in page.content.decode()
    assert 'type="submit"' not in page.content.decode().split("content-main")[1]
    assert "has no e-mail address: add one on this page first" in response.content.decode()
    person.refresh_from_db()
    assert (person.status, person.user) == (PersonStatus.REGISTERED, None)
    assert User.objects.count() == users
    deliveries_run()
    assert not mail.outbox and not locmem.outbox
    assert not AuditEvent.objects.filter(action="entities.administrator_appointed").exists()


def test_an_active_user_is_made_administrator_without_new_credentials() -> None:
    entity = make_entity()
    member = make_member(entity, rights=ACCOUNTANT)
    person = Person.objects.get(user=member)

    response = client_for(make_advisor()).post(appoint_url(person), follow=True)

    assert f"is now the administrator of {entity.name}." in response.content.decode()
    assert rights_of(entity=entity, user=member).administration
    deliveries_run()
    assert not locmem.outbox  # no new credentials
    [told] = mail.outbox  # but the change is told (issue: every change is e-mailed)
    assert told.to == [member.email] and entity.name in told.body


def test_an_administrator_has_no_button_and_the_url_refuses() -> None:
    entity = make_entity()
    admin_user = make_member(entity, administrator=True)
    person = Person.objects.get(user=admin_user)
    client = client_for(make_advisor())
    events = AuditEvent.objects.count()

    page = client.get(f"/backoffice/entities/person/{person.pk}/change/")
    response = client.post(appoint_url(person), follow=True)

    assert "Make administrator" not in page.content.decode()
    assert "cannot be made administrator in their current state" in response.content.decode()
    assert AuditEvent.objects.count() == events


def test_the_action_on_the_list_leads_to_the_confirmation_of_one_person() -> None:
    entity = make_entity()
    first, second = make_person(entity, email="a@example.com"), make_person(entity, first_name="Bo")
    client = client_for(make_advisor())

    one = client.post(
        "/backoffice/entities/person/", {"action": "appoint_administrator", "_selected_action": [first.pk]}
    )
    two = client.post(
        "/backoffice/entities/person/",
        {"action": "appoint_administrator", "_selected_action": [first.pk, second.pk]},
        follow=True,
    )

    assert one["Location"] == appoint_url(first)
    assert "Select one person to make administrator" in two.content.decode()
    assert not User.objects.filter(entity_persons__entity=entity).exists()


def test_a_staff_member_without_the_group_cannot_appoint() -> None:
    staff = User.objects.create_user("clerk", "clerk@bank.example", kind=AccountKind.STAFF, is_staff=True)
    person = make_person(make_entity(), email="a@example.com")

    response = client_for(staff).post(appoint_url(person))

    assert response.status_code == 403
    person.refresh_from_db()
    assert person.user is None


def test_the_history_of_rights_is_read_only() -> None:
    entity = make_entity()
    member = make_member(entity)
    change = GrantChange.objects.create(
        entity=entity,
        user=member,
        action="granted",
        right=Right.CONSULTATION,
        resource_label="Compte courant",
    )
    client = client_for(make_superuser())

    listing = client.get("/backoffice/entities/grantchange/", {"q": member.user_id})
    edit = client.post(f"/backoffice/entities/grantchange/{change.pk}/change/", {"right": "validation"})

    assert "Compte courant" in listing.content.decode()
    assert edit.status_code == 403
    change.refresh_from_db()
    assert change.right == Right.CONSULTATION


def test_the_person_pages_run_under_the_strict_csp() -> None:
    entity = make_entity()
    person = make_person(entity, email="a@example.com")
    member = Person.objects.get(user=make_member(entity))
    client = client_for(make_advisor())

    for url in (
        PERSON_ADD,
        f"/backoffice/entities/person/{person.pk}/change/",
        f"/backoffice/entities/person/{member.pk}/change/",
        appoint_url(person),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        parser = InlineCode(response.wsgi_request.csp_nonce)
        parser.feed(response.content.decode())
        assert parser.blocked == [], url


def test_an_accounts_iban_cannot_change_once_it_exists() -> None:
    """Review finding 3: rights, transfers and signatures name the account; a new IBAN is a new account."""
    from guichet.entities.forms_backoffice import BankAccountForm

    account = make_entity().accounts.first()
    data = {"label": account.label, "iban": "BE62 5100 0754 7061", "bic": "", "currency": "EUR"}

    form = BankAccountForm(data, instance=account)

    assert not form.is_valid()
    assert form.errors["iban"] == ["An account's IBAN cannot change. Add the new account instead."]
    assert BankAccountForm({**data, "iban": account.iban_display}, instance=account).is_valid()
