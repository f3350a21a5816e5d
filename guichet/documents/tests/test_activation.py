"""Activation from an invitation link: a new account with all the customer numbers of its address,
an existing account proved by its password, shared users, and refusals that write nothing."""

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from guichet.audit.models import AuditEvent
from guichet.documents import access, invitations
from guichet.documents.invitations import InvitationError, InvitationErrorCode
from guichet.documents.models import CustomerNumber, Invitation, SharedUser
from guichet.documents.testing import make_customer_number, make_issuer, make_recipient, make_shared_user
from guichet.identity import services as identity_services
from guichet.identity.models import AccountKind, User
from guichet.identity.testing import PASSWORD, agreement_publish, make_provisioned
from guichet.notifications.models import Message

pytestmark = pytest.mark.django_db

EMAIL = "anna.schmidt@example.com"
NEW_PASSWORD = "Blue-Lagoon-2026!"


def url(name: str, language: str = "de", **kwargs) -> str:
    with translation.override(language):
        return reverse(name, kwargs=kwargs or None)


def t(msgid: str, language: str = "de") -> str:
    with translation.override(language):
        return gettext(msgid)


@pytest.fixture
def number():
    return make_customer_number(email="Anna.Schmidt@Example.com", language="de")


@pytest.fixture
def token(number):
    return invitations.invitation_issue(customer_number=number)[1]


def open_link(client, token: str, language: str = "de"):
    response = client.get(url("documents:activate", language, token=token))
    assert response.status_code == 302
    assert response["Location"] == url("documents:activate_form", language)
    return client.get(response["Location"])


def snapshot() -> tuple:
    return (
        User.objects.count(),
        list(CustomerNumber.objects.order_by("pk").values_list("account", flat=True)),
        list(SharedUser.objects.order_by("pk").values_list("user", flat=True)),
        Invitation.objects.filter(used_at__isnull=False).count(),
        AuditEvent.objects.count(),
    )


# --- The link -------------------------------------------------------------------------------------


def test_the_link_moves_the_token_into_the_session_and_shows_the_customer_numbers(client, number, token):
    other_issuer = make_customer_number(
        issuer=make_issuer(prefix="DL5", name="Aubépine Lease Belgium"), email="ANNA.schmidt@example.com"
    )
    someone_else = make_customer_number(email="kim@example.com")

    page = open_link(client, token)

    assert page.status_code == 200
    content = page.content.decode()
    assert token not in content
    assert number.code in content and other_issuer.code in content
    assert someone_else.code not in content
    assert EMAIL in content


@pytest.mark.parametrize("bad", ["unknown-token", "used", "expired"])
def test_a_link_that_no_longer_works_says_so_and_writes_nothing(client, number, token, bad):
    if bad == "used":
        invitations.account_activate(token=token, password=NEW_PASSWORD)
        client.logout()
    if bad == "expired":
        Invitation.objects.update(expires_at=timezone.now())
    before = snapshot()

    response = client.get(url("documents:activate", token=token if bad != "unknown-token" else bad))

    assert response.status_code == 200
    assert t("This link no longer works") in response.content.decode()
    assert "guichet_invitation" not in client.session
    assert snapshot() == before


def test_the_form_without_a_link_in_the_session_says_the_link_no_longer_works(client, token):
    response = client.get(url("documents:activate_form"))

    assert t("This link no longer works") in response.content.decode()


def test_opening_a_link_asks_whoever_is_logged_on_before_logging_them_out(client, token):
    """Review finding: a link opened from another site must not log anybody out by itself."""
    someone = make_provisioned()
    client.force_login(someone)

    page = client.get(reverse("documents:activate", args=[token]), follow=True)

    assert client.session["_auth_user_id"] == str(someone.pk)
    assert reverse("documents:activate_switch") in page.content.decode()
    switched = client.post(reverse("documents:activate_switch"), follow=True)
    assert "_auth_user_id" not in client.session
    assert switched.status_code == 200 and 'name="password1"' in switched.content.decode()


# --- A new account --------------------------------------------------------------------------------


def test_activation_creates_one_account_with_every_customer_number_of_the_address(client, number, token):
    second = make_customer_number(email="ANNA.SCHMIDT@example.com")
    other_issuer = make_customer_number(issuer=make_issuer(prefix="DL5", name="Aubépine Lease Belgium"))
    someone_else = make_customer_number(email="kim@example.com")
    open_link(client, token)

    response = client.post(
        url("documents:activate_form"), {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )

    assert response.status_code == 302
    assert response["Location"] == url("documents:list")
    user = User.objects.get()
    assert (user.user_id, user.email, user.kind, user.preferred_language, user.sca_required) == (
        EMAIL,
        EMAIL,
        AccountKind.CONSUMER,
        "de",
        False,
    )
    assert user.check_password(NEW_PASSWORD)
    assert set(access.customer_numbers(user)) == {number, second, other_issuer}
    someone_else.refresh_from_db()
    assert someone_else.account is None
    assert Invitation.objects.get().used_at is not None
    assert int(client.session["_auth_user_id"]) == user.pk
    assert "guichet_invitation" not in client.session
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"documents.account_activated", "documents.customer_number_attached", "identity.login"} <= actions
    assert AuditEvent.objects.filter(action="documents.customer_number_attached").count() == 3


def test_the_user_agreement_comes_before_the_documents(client, token):
    agreement_publish()
    open_link(client, token)

    response = client.post(
        url("documents:activate_form"), {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )

    assert response["Location"] == url("identity:agreement")
    assert "_auth_user_id" not in client.session
    assert User.objects.get().customer_numbers.count() == 1  # activated; logged on after the agreement


@pytest.mark.parametrize(
    ("password1", "password2", "field", "msgid"),
    [
        ("short1!A", "other", "password2", "The two passwords differ."),
        ("", "", "password1", "Choose a password."),
        ("alllowercase", "alllowercase", "password1", None),
        (f"{EMAIL}X1!", f"{EMAIL}X1!", "password1", None),
    ],
)
def test_a_password_the_policy_refuses_is_explained_and_nothing_is_written(
    client, token, password1, password2, field, msgid
):
    open_link(client, token)
    before = snapshot()

    response = client.post(url("documents:activate_form"), {"password1": password1, "password2": password2})

    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors[field]
    if msgid:
        assert t(msgid) in form.errors[field]
    content = response.content.decode()
    assert f"<title>{t('Error:')} " in content
    assert snapshot() == before
    assert "_auth_user_id" not in client.session


def test_policy_errors_are_in_the_invitations_language(client, number):
    number.contact_language = "nl"
    number.save()
    token = invitations.invitation_issue(customer_number=number)[1]
    open_link(client, token, "nl")

    response = client.post(url("documents:activate_form", "nl"), {"password1": "kort", "password2": "kort"})

    with translation.override("nl"), pytest.raises(ValidationError) as caught:
        validate_password("kort", User(user_id=EMAIL, email=EMAIL))
    messages = caught.value.messages  # the policy's own messages, in Dutch
    assert response.context["form"].errors["password1"] == messages


def test_a_consumer_record_without_a_password_is_activated_not_duplicated(client, number, token):
    record = identity_services.consumer_ensure(email=EMAIL)
    open_link(client, token)

    client.post(url("documents:activate_form"), {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    record.refresh_from_db()
    assert User.objects.count() == 1
    assert record.check_password(NEW_PASSWORD)
    assert list(access.customer_numbers(record)) == [number]


def test_account_activate_refuses_a_weak_password_and_writes_nothing(token):
    before = snapshot()

    with pytest.raises(ValidationError):
        invitations.account_activate(token=token, password="weak")

    assert snapshot() == before


# --- An address that already has an account -------------------------------------------------------


def test_a_second_invitation_after_activation_asks_for_the_password_and_adds_to_the_same_account(
    client, number, token
):
    invitations.account_activate(token=token, password=NEW_PASSWORD)
    user = User.objects.get()
    later = make_customer_number(email=EMAIL, issuer=make_issuer(prefix="DL5", name="Aubépine Lease Belgium"))
    second_token = invitations.invitation_issue(customer_number=later)[1]

    page = open_link(client, second_token)

    assert t("You already have an account") in page.content.decode()
    assert later.code in page.content.decode()
    response = client.post(url("documents:activate_form"), {"password": NEW_PASSWORD})
    assert response["Location"] == url("documents:list")
    assert User.objects.count() == 1
    assert set(access.customer_numbers(user)) == {number, later}
    assert int(client.session["_auth_user_id"]) == user.pk


def test_a_wrong_password_for_the_existing_account_attaches_nothing(client, token):
    user = make_recipient(email=EMAIL)
    open_link(client, token)
    before = snapshot()

    response = client.post(url("documents:activate_form"), {"password": "Not-The-Password-1!"})

    assert response.status_code == 200
    assert t("The password is not correct.") in response.context["form"].errors["password"]
    assert snapshot()[:4] == before[:4]  # the failure itself is audited by the lockout
    assert not access.customer_numbers(user).exists()
    assert "_auth_user_id" not in client.session


def test_account_activate_refuses_an_address_that_has_an_account(token):
    make_recipient(email=EMAIL)
    before = snapshot()

    with pytest.raises(InvitationError) as caught:
        invitations.account_activate(token=token, password=NEW_PASSWORD)

    assert caught.value.code == InvitationErrorCode.ACCOUNT_EXISTS
    assert snapshot() == before


def test_invitation_accept_refuses_another_account(token):
    make_recipient(email=EMAIL)
    other = make_recipient(email="kim@example.com")
    before = snapshot()

    with pytest.raises(InvitationError) as caught:
        invitations.invitation_accept(token=token, user=other)

    assert caught.value.code == InvitationErrorCode.WRONG_ACCOUNT
    assert snapshot() == before


def test_the_existing_account_is_logged_on_with_its_password(client, number, token):
    # A consumer account (identified by its e-mail address): business accounts also enrol strong
    # authentication at login (identity's GUICHET_SCA_REQUIRED_KINDS).
    user = make_recipient(email=EMAIL, kind=AccountKind.CONSUMER)
    open_link(client, token)

    response = client.post(url("documents:activate_form"), {"password": PASSWORD})

    assert response["Location"] == url("documents:list")
    assert list(access.customer_numbers(user)) == [number]
    assert Invitation.objects.get().used_at is not None


# --- Shared users ---------------------------------------------------------------------------------


def test_a_shared_user_activates_and_sees_only_what_is_shared(client):
    owner = make_recipient(email=EMAIL)
    shared_number = make_customer_number(account=owner)
    make_customer_number(account=owner)
    shared = make_shared_user(owner, email="kim@example.com", language="nl", shares=[shared_number])
    invitations.shared_user_invite(shared_user=shared)

    token = Message.objects.get().body_text.split("/documents/activate/")[1].split("/")[0]
    page = open_link(client, token, "nl")
    assert shared_number.code in page.content.decode()

    client.post(url("documents:activate_form", "nl"), {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    shared.refresh_from_db()
    user = User.objects.get(user_id="kim@example.com")
    assert shared.user == user
    assert user.preferred_language == "nl"
    assert list(access.customer_numbers(user)) == [shared_number]
    assert AuditEvent.objects.filter(action="documents.shared_user_activated").count() == 1
