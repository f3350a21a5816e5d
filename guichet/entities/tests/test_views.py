"""User management pages: every page for each role (administrator, member without the right,
another entity's administrator, anonymous), the add wizard step by step without skipping,
changing rights, suspending and removing, and the errors shown."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from guichet.entities.models import Grant, GrantChange, Person, PersonStatus, Right
from guichet.entities.testing import ACCOUNTANT, DIRECTOR, make_entity, make_member, make_person
from guichet.identity.models import SignedProof, SigningChallenge, SigningMethod, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    entity = make_entity()
    admin = make_member(entity, rights=DIRECTOR, administrator=True, first_name="Anne", last_name="Admin")
    member = make_member(entity, rights=ACCOUNTANT, first_name="Marc", last_name="Membre")
    person = make_person(entity, first_name="Jan", last_name="Peeters")
    other = make_entity(name="Autre SA")
    outsider = make_member(other, rights=DIRECTOR, administrator=True, first_name="Olga", last_name="Autre")
    return {"entity": entity, "admin": admin, "member": member, "person": person, "outsider": outsider}


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def u(name: str, *args) -> str:
    """URLs in English, so that the assertions read the English source strings."""
    with translation.override("en"):
        return reverse(f"entities:{name}", args=args)


def sign(response) -> str:
    """Plays the signing page: marks the challenge the view made as signed; returns the proof id."""
    assert response.status_code == 302
    challenge_id = re.search(r"/([0-9a-f-]{36})/", response["Location"]).group(1)
    challenge = SigningChallenge.objects.get(pk=challenge_id)
    SigningChallenge.objects.filter(pk=challenge.pk).update(used_at=timezone.now())
    proof = SignedProof.objects.create(challenge=challenge, method=SigningMethod.TOTP)
    return f"{challenge.next_url}?proof={proof.pk}"


def ticked(html: str, right: str) -> int:
    return len(re.findall(rf'value="{right}"[^>]*checked', html))


def snapshot():
    return (
        Grant.objects.count(),
        GrantChange.objects.count(),
        User.objects.count(),
        list(Person.objects.order_by("pk").values_list("status", flat=True)),
    )


# --- The overview ------------------------------------------------------------------


def test_the_overview_lists_users_persons_waiting_and_history(world):
    response = client_for(world["admin"]).get(u("users"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Membre Marc" in html and world["member"].user_id in html
    assert "Peeters Jan" in html  # waiting to be added
    assert "Consultation: 3 account(s), 2 contract(s)" in html
    assert u("add", world["entity"].pk) in html
    assert "Autre SA" not in html


def test_a_member_without_the_right_is_told_whom_to_contact(world):
    response = client_for(world["member"]).get(u("users"))
    assert response.status_code == 403
    assert "contact the main user" in response.content.decode()


def test_anonymous_is_sent_to_log_in(world):
    response = client_for(None).get(u("users"))
    assert response.status_code == 302 and "login" in response["Location"]


@pytest.mark.parametrize("role", ["member", "outsider"])
def test_entity_pages_answer_404_to_others(world, role):
    client = client_for(world[role])
    entity = world["entity"]
    admin_person = Person.objects.get(user=world["admin"])
    for url in (
        u("history", entity.pk),
        u("add", entity.pk),
        u("user", entity.pk, admin_person.pk),
        u("edit_rights", entity.pk, admin_person.pk),
        u("status_confirm", entity.pk, admin_person.pk, "suspend"),
    ):
        assert client.get(url).status_code == 404, url
    before = snapshot()
    assert client.post(u("add", entity.pk), {"person": world["person"].pk}).status_code == 404
    assert client.post(u("status_confirm", entity.pk, admin_person.pk, "remove")).status_code == 404
    assert snapshot() == before and not SigningChallenge.objects.exists()


def test_history_is_paginated(world):
    client = client_for(world["admin"])
    response = client.get(u("history", world["entity"].pk))
    assert response.status_code == 200


# --- Adding a user -----------------------------------------------------------------


def test_no_step_can_be_skipped(world):
    client = client_for(world["admin"])
    entity = world["entity"]
    for name in ("add_details", "add_method", "add_copy", "add_resources", "add_rights", "add_review"):
        response = client.get(u(name, entity.pk))
        assert response.status_code == 302 and response["Location"] == u("add", entity.pk), name
    assert client.get(u("add_complete", entity.pk) + "?proof=x")["Location"] == u("add", entity.pk)
    # Having chosen the person opens the next step only.
    client.post(u("add", entity.pk), {"person": world["person"].pk})
    assert client.get(u("add_details", entity.pk)).status_code == 200
    assert client.get(u("add_method", entity.pk)).status_code == 302
    assert client.get(u("add_review", entity.pk)).status_code == 302


def test_another_entitys_person_cannot_be_chosen(world):
    stranger = make_person(world["outsider"].entity_persons.get().entity, first_name="Zoé")
    client = client_for(world["admin"])
    response = client.post(u("add", world["entity"].pk), {"person": stranger.pk})
    assert response.status_code == 200
    assert "Choose one of the persons in the list." in response.content.decode()


def test_no_person_registered_says_to_contact_the_advisor(world):
    world["person"].delete()
    response = client_for(world["admin"]).get(u("add", world["entity"].pk))
    assert "must first be registered by your advisor" in response.content.decode()


def test_a_valid_email_is_mandatory(world):
    client = client_for(world["admin"])
    entity = world["entity"]
    client.post(u("add", entity.pk), {"person": world["person"].pk})
    response = client.post(u("add_details", entity.pk), {"email": "not-an-email"})
    html = response.content.decode()
    assert "Error:" in html and "Enter a valid e-mail address" in html
    response = client.post(u("add_details", entity.pk), {"email": ""})
    assert "they receive their user ID by e-mail" in response.content.decode()
    assert client.get(u("add_method", entity.pk)).status_code == 302


def _until_method(client, world, email="jan.peeters@example.com"):
    entity = world["entity"]
    client.post(u("add", entity.pk), {"person": world["person"].pk})
    response = client.post(u("add_details", entity.pk), {"email": email})
    assert response["Location"] == u("add_method", entity.pk)


def _complete(client, world):
    response = client.post(u("add_review", world["entity"].pk))
    return client.get(sign(response))


def test_add_with_the_director_profile(world):
    client = client_for(world["admin"])
    entity = world["entity"]
    _until_method(client, world)
    response = client.post(u("add_method", entity.pk), {"method": "director"})
    assert response["Location"] == u("add_review", entity.pk)
    html = client.get(u("add_review", entity.pk)).content.decode()
    assert "jan.peeters@example.com" in html and "Compte courant" in html

    response = _complete(client, world)

    person = Person.objects.get(pk=world["person"].pk)
    assert response["Location"] == u("user_added", entity.pk, person.pk)
    assert person.status == PersonStatus.ACTIVE and person.user.email == "jan.peeters@example.com"
    assert Grant.objects.filter(user=person.user).count() == 5 * 3
    page = client.get(response["Location"]).content.decode()
    assert "temporary password by SMS" in page
    assert f"entities.add.{entity.pk}" not in client.session


def test_add_by_copying_another_users_rights(world):
    client = client_for(world["admin"])
    entity = world["entity"]
    _until_method(client, world)
    assert client.post(u("add_method", entity.pk), {"method": "copy"})["Location"] == u("add_copy", entity.pk)
    member_person = Person.objects.get(user=world["member"])
    response = client.post(u("add_copy", entity.pk), {"source": member_person.pk})
    assert response["Location"] == u("add_review", entity.pk)
    assert "Rights copied from Marc Membre" in client.get(u("add_review", entity.pk)).content.decode()
    _complete(client, world)
    new_user = Person.objects.get(pk=world["person"].pk).user
    assert set(Grant.objects.filter(user=new_user).values_list("right", flat=True)) == {Right.CONSULTATION}
    assert Grant.objects.filter(user=new_user).count() == 5


def test_add_with_custom_rights(world):
    client = client_for(world["admin"])
    entity = world["entity"]
    account = entity.accounts.first()
    contract = entity.contracts.first()
    _until_method(client, world)
    client.post(u("add_method", entity.pk), {"method": "custom"})
    response = client.post(u("add_resources", entity.pk), {})
    assert "Choose at least one account or contract." in response.content.decode()
    response = client.post(
        u("add_resources", entity.pk), {"accounts": [account.pk], "contracts": [contract.pk]}
    )
    assert response["Location"] == u("add_rights", entity.pk)
    html = client.get(u("add_rights", entity.pk)).content.decode()
    assert html.count("<fieldset") == 2 and "<legend>" in html
    response = client.post(u("add_rights", entity.pk), {})
    assert "Tick at least one right." in response.content.decode()
    response = client.post(
        u("add_rights", entity.pk),
        {
            f"account_{account.pk}": ["consultation", "management"],
            f"contract_{contract.pk}": ["consultation"],
        },
    )
    assert response["Location"] == u("add_review", entity.pk)
    _complete(client, world)
    new_user = Person.objects.get(pk=world["person"].pk).user
    assert set(Grant.objects.filter(user=new_user).values_list("account_id", "contract_id", "right")) == {
        (account.pk, None, "consultation"),
        (account.pk, None, "management"),
        (None, contract.pk, "consultation"),
    }


def test_preparer_profile_is_pre_ticked_and_can_be_unticked(world):
    client = client_for(world["admin"])
    entity = world["entity"]
    _until_method(client, world)
    assert client.post(u("add_method", entity.pk), {"method": "preparer"})["Location"] == u(
        "add_rights", entity.pk
    )
    html = client.get(u("add_rights", entity.pk)).content.decode()
    assert ticked(html, "management") == 5 and ticked(html, "validation") == 0
    # The Validator button re-ticks the matrix without saving.
    html = client.post(u("add_rights", entity.pk), {"profile": "validator"}).content.decode()
    assert ticked(html, "validation") == 5


def test_a_foreign_account_in_the_matrix_is_ignored(world):
    client = client_for(world["admin"])
    entity = world["entity"]
    foreign = world["outsider"].entity_persons.get().entity.accounts.first()
    _until_method(client, world)
    client.post(u("add_method", entity.pk), {"method": "accountant"})
    client.post(u("add_rights", entity.pk), {f"account_{foreign.pk}": ["validation"], "administration": ""})
    _complete(client, world)
    new_user = Person.objects.get(pk=world["person"].pk).user
    assert not Grant.objects.filter(user=new_user, account=foreign).exists()


def test_a_wrong_proof_changes_nothing_and_says_why(world):
    client = client_for(world["admin"])
    entity = world["entity"]
    _until_method(client, world)
    client.post(u("add_method", entity.pk), {"method": "director"})
    client.post(u("add_review", entity.pk))
    before = snapshot()
    response = client.get(
        u("add_complete", entity.pk) + "?proof=00000000-0000-0000-0000-000000000000", follow=True
    )
    assert "This signing request does not exist." in response.content.decode()
    assert snapshot() == before


def test_the_person_added_meanwhile_is_refused_before_signing(world):
    client = client_for(world["admin"])
    entity = world["entity"]
    _until_method(client, world)
    client.post(u("add_method", entity.pk), {"method": "director"})
    someone = make_member(make_entity(name="Tierce SA"))
    Person.objects.filter(pk=world["person"].pk).update(status=PersonStatus.REMOVED, user=someone)
    response = client.post(u("add_review", entity.pk))
    assert response["Location"] == u("add", entity.pk)
    assert not SigningChallenge.objects.exists()


# --- Changing rights, suspending, removing ------------------------------------------


def test_change_a_users_rights(world):
    client = client_for(world["admin"])
    entity = world["entity"]
    member_person = Person.objects.get(user=world["member"])
    html = client.get(u("edit_rights", entity.pk, member_person.pk)).content.decode()
    assert ticked(html, "consultation") == 5
    account = entity.accounts.first()
    response = client.post(
        u("edit_rights", entity.pk, member_person.pk), {f"account_{account.pk}": ["validation"]}
    )
    assert response["Location"] == u("edit_review", entity.pk, member_person.pk)
    response = client.get(sign(client.post(u("edit_review", entity.pk, member_person.pk))))
    assert response["Location"] == u("user", entity.pk, member_person.pk)
    assert list(Grant.objects.filter(user=world["member"]).values_list("account_id", "right")) == [
        (account.pk, "validation")
    ]


def test_an_administrator_cannot_widen_their_own_rights(world):
    client = client_for(world["admin"])
    entity = world["entity"]
    Grant.objects.filter(user=world["admin"], right=Right.VALIDATION).delete()
    me = Person.objects.get(user=world["admin"])
    account = entity.accounts.first()
    before = snapshot()
    response = client.post(
        u("edit_rights", entity.pk, me.pk),
        {f"account_{account.pk}": ["consultation", "validation"], "administration": "on"},
    )
    assert "You cannot widen your own rights." in response.content.decode()
    assert snapshot() == before and not SigningChallenge.objects.exists()


def test_the_last_administrator_cannot_remove_themself(world):
    client = client_for(world["admin"])
    me = Person.objects.get(user=world["admin"])
    html = client.get(u("user", world["entity"].pk, me.pk)).content.decode()
    assert "the only administrator" in html
    before = snapshot()
    response = client.post(u("status_confirm", world["entity"].pk, me.pk, "remove"))
    assert "must keep at least one administrator" in response.content.decode()
    assert snapshot() == before and not SigningChallenge.objects.exists()


def test_suspend_then_reactivate_then_remove(world):
    client = client_for(world["admin"])
    entity = world["entity"]
    target = Person.objects.get(user=world["member"])
    assert client.get(u("status_confirm", entity.pk, target.pk, "reactivate")).status_code == 200
    client.get(sign(client.post(u("status_confirm", entity.pk, target.pk, "suspend"))))
    target.refresh_from_db()
    assert target.status == PersonStatus.SUSPENDED
    client.get(sign(client.post(u("status_confirm", entity.pk, target.pk, "reactivate"))))
    target.refresh_from_db()
    assert target.status == PersonStatus.ACTIVE
    response = client.get(sign(client.post(u("status_confirm", entity.pk, target.pk, "remove"))))
    assert response["Location"] == u("users")
    target.refresh_from_db()
    assert target.status == PersonStatus.REMOVED and not Grant.objects.filter(user=world["member"]).exists()
    assert client.get(u("user", entity.pk, target.pk)).status_code == 404


def test_an_unknown_action_is_404(world):
    target = Person.objects.get(user=world["member"])
    assert (
        client_for(world["admin"])
        .get(u("status_confirm", world["entity"].pk, target.pk, "promote"))
        .status_code
        == 404
    )
