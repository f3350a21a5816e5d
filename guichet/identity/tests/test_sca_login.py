"""Strong authentication at login: who must use it, enrolment that cannot be skipped, TOTP
as the second factor, and one failure counter across password and second factor."""

import json
import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from fido2.utils import websafe_encode

from guichet.audit.models import AuditEvent
from guichet.identity import sca
from guichet.identity.adapter import LOCKED_MESSAGE
from guichet.identity.mfa_adapter import LAST_ATTEMPT_MESSAGE, WRONG_SECOND_FACTOR
from guichet.identity.models import AccountKind, User
from guichet.identity.testing import (
    PASSWORD,
    agreement_publish,
    last_sms_code,
    make_consumer,
    make_provisioned,
)

pytestmark = pytest.mark.django_db

LOGIN = "/en/accounts/login/"
AUTHENTICATE = "/en/accounts/2fa/authenticate/"
ENROL = "/en/accounts/sca/enrol/"
ENROL_SMS = "/en/accounts/sca/enrol/sms/"
ENROL_APP = "/en/accounts/sca/enrol/app/"
ENROL_PASSKEY = "/en/accounts/sca/enrol/passkey/"
HOME = "/en/"


def make_user(*, kind: str = AccountKind.PROVISIONED, **extra) -> User:
    user = make_provisioned(**extra)
    User.objects.filter(pk=user.pk).update(kind=kind)
    user.kind = kind
    return user


def totp_now(secret: str, *, offset: int = 0) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 + offset))


def with_app(user: User) -> str:
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def log_in(client: Client, user_id: str = "CC100001", password: str = PASSWORD):
    return client.post(LOGIN, {"login": user_id, "password": password})


def sms_check(client: Client) -> None:
    """The SMS code that a login with a normal password needs before enrolling."""
    assert client.post(ENROL_SMS, {"send": "1"}).status_code == 200
    assert client.post(ENROL_SMS, {"code": last_sms_code()})["Location"] == ENROL


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def english(message) -> str:
    with translation.override("en"):
        return str(message)


@pytest.fixture(autouse=True)
def _agreement_accepted_by_nobody():
    """No agreement published: the agreement stage is out of the way unless a test publishes one."""


# --- Policy ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "flag", "required"),
    [
        (AccountKind.PROVISIONED, False, False),
        (AccountKind.PROVISIONED, True, True),
        (AccountKind.CONSUMER, False, False),
        (AccountKind.BUSINESS, False, True),
        (AccountKind.STAFF, False, True),
    ],
)
def test_the_policy_follows_the_account_kind_and_the_entity_flag(kind, flag, required):
    user = make_user(kind=kind, sca_required=flag)

    assert sca.sca_required(user) is required


def test_required_kinds_are_configurable(settings):
    settings.GUICHET_SCA_REQUIRED_KINDS = ["consumer"]

    assert sca.sca_required(make_consumer())
    assert not sca.sca_required(make_user(kind=AccountKind.BUSINESS, user_id="BE0123456749"))


# --- Enrolment ------------------------------------------------------------------------


def test_a_required_user_without_authenticator_must_enrol_and_cannot_skip_it():
    make_provisioned(sca_required=True)
    client = Client()

    response = log_in(client)

    assert response["Location"] == ENROL
    assert not logged_in(client)
    for url in (HOME, "/en/accounts/security/", "/en/accounts/onboarding/agreement/"):
        client.get(url)
        assert not logged_in(client)
    assert client.get(ENROL)["Location"] == ENROL_SMS
    sms_check(client)
    page = client.get(ENROL)
    assert page.status_code == 200
    assert english("Protect your access with strong authentication") in page.content.decode()


def test_enrolment_pages_refuse_anyone_without_a_pending_login():
    for url in (ENROL, ENROL_SMS, ENROL_APP, ENROL_PASSKEY):
        assert Client().get(url)["Location"] == LOGIN


def test_a_password_alone_cannot_reach_the_enrolment_without_the_sms_code():
    user = make_provisioned(sca_required=True)
    client = Client()
    log_in(client)

    for url in (ENROL, ENROL_APP, ENROL_PASSKEY):
        assert client.get(url)["Location"] == ENROL_SMS
    assert client.post(ENROL_APP, {"code": "123456"})["Location"] == ENROL_SMS
    assert client.post(ENROL_PASSKEY, {"name": "x", "credential": "{}"})["Location"] == ENROL_SMS

    client.post(ENROL_SMS, {"send": "1"})
    right = last_sms_code()
    wrong = client.post(ENROL_SMS, {"code": "000000" if right != "000000" else "111111"})
    assert wrong.status_code == 200
    assert User.objects.get(pk=user.pk).failed_login_count == 1
    assert client.get(ENROL_APP)["Location"] == ENROL_SMS

    assert client.post(ENROL_SMS, {"code": right})["Location"] == ENROL
    assert client.get(ENROL_APP).status_code == 200
    assert client.get(ENROL_PASSKEY).status_code == 200
    assert not logged_in(client)
    assert not Authenticator.objects.filter(user=user).exists()


def test_a_user_not_required_logs_in_without_second_factor():
    make_provisioned()
    client = Client()

    response = log_in(client)

    assert response["Location"] == HOME
    assert logged_in(client)


def test_enrolling_an_app_with_a_right_code_finishes_the_login_and_is_audited():
    user = make_provisioned(sca_required=True)
    client = Client()
    log_in(client)
    sms_check(client)

    page = client.get(ENROL_APP)
    html = page.content.decode()
    assert 'src="data:image/svg+xml;base64,' in html
    secret = client.session["mfa.totp.secret"]
    assert " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)) in html

    wrong = client.post(ENROL_APP, {"code": "000000" if totp_now(secret) != "000000" else "111111"})
    assert wrong.status_code == 200 and not logged_in(client)
    assert 'role="alert"' in wrong.content.decode()
    assert User.objects.get(pk=user.pk).failed_login_count == 0  # checking a new app is no failed login

    code = totp_now(secret)
    response = client.post(ENROL_APP, {"code": code})

    assert response["Location"] == HOME
    assert logged_in(client)
    authenticator = Authenticator.objects.get(user=user)
    assert authenticator.type == Authenticator.Type.TOTP
    event = AuditEvent.objects.get(action="identity.sca_enrolled")
    assert event.details == {"type": "totp", "purpose": "login"}
    assert secret not in str(event.details) and code not in str(event.details)
    # The enrolment's code cannot be used again to log in.
    client.logout()
    log_in(client)
    assert client.post(AUTHENTICATE, {"code": code}).status_code == 200
    assert not logged_in(client)


def test_the_enrolment_comes_before_the_agreement():
    agreement_publish()
    make_provisioned(sca_required=True)
    client = Client()
    log_in(client)
    sms_check(client)
    client.get(ENROL_APP)
    secret = client.session["mfa.totp.secret"]

    response = client.post(ENROL_APP, {"code": totp_now(secret)})

    assert response["Location"] == "/en/accounts/onboarding/agreement/"
    assert not logged_in(client)


def test_staff_enrol_but_are_not_asked_to_accept_the_customers_agreement():
    agreement_publish()
    make_user(user_id="advisor9", kind=AccountKind.STAFF, is_staff=True)
    client = Client()
    log_in(client, "advisor9")
    sms_check(client)
    client.get(ENROL_APP)

    response = client.post(ENROL_APP, {"code": totp_now(client.session["mfa.totp.secret"])})

    assert response["Location"] == HOME
    assert logged_in(client)


# --- Login with TOTP ------------------------------------------------------------------


@pytest.mark.parametrize("kind", [AccountKind.BUSINESS, AccountKind.CONSUMER])
def test_whoever_has_an_app_is_asked_for_a_code_at_every_login(kind):
    user = make_user(kind=kind, user_id="u100001")
    secret = with_app(user)
    client = Client()

    response = log_in(client, "u100001")
    assert response["Location"] == AUTHENTICATE
    assert not logged_in(client)
    page = client.get(AUTHENTICATE).content.decode()
    assert english("Confirm that it is you") in page
    assert 'autocomplete="one-time-code"' in page
    assert "webauthn-login-button" not in page  # no passkey: no passkey button

    response = client.post(AUTHENTICATE, {"code": totp_now(secret)})

    assert response["Location"] == HOME
    assert logged_in(client)
    event = AuditEvent.objects.get(action="identity.sca_succeeded")
    assert event.details == {"purpose": "login", "method": "totp"}


def test_a_code_cannot_be_used_twice():
    user = make_provisioned(sca_required=True)
    secret = with_app(user)
    code = totp_now(secret)
    first = Client()
    log_in(first)
    assert first.post(AUTHENTICATE, {"code": code})["Location"] == HOME

    second = Client()
    log_in(second)
    response = second.post(AUTHENTICATE, {"code": code})

    assert response.status_code == 200
    assert not logged_in(second)
    assert english(WRONG_SECOND_FACTOR) in response.content.decode()


def test_a_code_of_another_period_is_refused():
    user = make_provisioned(sca_required=True)
    secret = with_app(user)
    client = Client()
    log_in(client)

    response = client.post(AUTHENTICATE, {"code": totp_now(secret, offset=-2)})

    assert response.status_code == 200
    assert not logged_in(client)


# --- One failure counter --------------------------------------------------------------


def test_password_and_code_failures_share_one_counter_warn_and_lock_at_five():
    user = make_provisioned(sca_required=True)
    secret = with_app(user)
    wrong_code = totp_now(secret, offset=5)
    client = Client()

    for _ in range(2):  # failures 1 and 2: the password
        assert log_in(client, password="Wrong-Password-1!").status_code == 200
    assert log_in(client)["Location"] == AUTHENTICATE
    assert User.objects.get(pk=user.pk).failed_login_count == 2  # a right password alone resets nothing

    third = client.post(AUTHENTICATE, {"code": wrong_code})
    assert english(WRONG_SECOND_FACTOR) in third.content.decode()
    fourth = client.post(AUTHENTICATE, {"code": wrong_code})
    assert english(LAST_ATTEMPT_MESSAGE) in fourth.content.decode()
    fifth = client.post(AUTHENTICATE, {"code": wrong_code})

    assert english(LOCKED_MESSAGE) in fifth.content.decode()
    user.refresh_from_db()
    assert user.is_locked and user.failed_login_count == 5
    # The pending login is gone: even the right code does not open the session now.
    assert client.post(AUTHENTICATE, {"code": totp_now(secret)})["Location"] == LOGIN
    assert not logged_in(client)
    assert log_in(client).status_code == 200  # and the password is refused while locked
    assert not logged_in(client)
    assert AuditEvent.objects.filter(action="identity.sca_failed").count() == 3
    assert AuditEvent.objects.filter(action="identity.locked").count() == 1


def test_the_counter_is_reset_only_when_the_whole_login_succeeds():
    user = make_provisioned(sca_required=True)
    secret = with_app(user)
    client = Client()
    log_in(client)
    client.post(AUTHENTICATE, {"code": totp_now(secret, offset=5)})
    log_in(client)  # the password again does not wipe the wrong code
    assert User.objects.get(pk=user.pk).failed_login_count == 1

    client.post(AUTHENTICATE, {"code": totp_now(secret)})

    assert logged_in(client)
    assert User.objects.get(pk=user.pk).failed_login_count == 0


def test_a_lock_reached_elsewhere_stops_a_login_at_its_second_factor():
    user = make_provisioned(sca_required=True)
    secret = with_app(user)
    client = Client()
    log_in(client)
    User.objects.filter(pk=user.pk).update(failed_login_count=5, locked_at="2026-01-01T00:00:00Z")

    response = client.post(AUTHENTICATE, {"code": totp_now(secret)})

    assert response["Location"] == LOGIN
    assert not logged_in(client)


def test_a_failed_passkey_counts_as_a_failure():
    user = make_provisioned(sca_required=True)
    with_app(user)
    client = Client()
    log_in(client)
    client.get(AUTHENTICATE)  # a WebAuthn challenge is issued

    forged = {
        "id": websafe_encode(b"forged-credential"),
        "rawId": websafe_encode(b"forged-credential"),
        "type": "public-key",
        "response": {
            "clientDataJSON": websafe_encode(b'{"type":"webauthn.get","challenge":"x","origin":"x"}'),
            "authenticatorData": websafe_encode(b"\0" * 37),
            "signature": websafe_encode(b"forged"),
        },
    }

    response = client.post(AUTHENTICATE, {"credential": json.dumps(forged)})

    assert response.status_code == 200
    assert not logged_in(client)
    assert User.objects.get(pk=user.pk).failed_login_count == 1
    with translation.override("en"):
        assert gettext(str(WRONG_SECOND_FACTOR)) in response.content.decode()


def test_the_step_indicator_has_five_steps_when_enrolment_applies():
    make_provisioned(sca_required=True, temporary=True)
    client = Client()

    log_in(client, password="Tmp-Pass-4821!")
    page = client.get(reverse("identity:onboarding_phone")).content.decode()

    assert "Step 1 of 5" in page
    assert english("Strong authentication") in page


@pytest.mark.parametrize("payload", [{"type": "public-key"}, {"id": "x", "response": {}}, []])
def test_a_malformed_passkey_answer_is_a_failure_not_a_server_error(payload):
    user = make_provisioned(sca_required=True)
    with_app(user)
    client = Client()
    log_in(client)
    client.get(AUTHENTICATE)

    response = client.post(AUTHENTICATE, {"credential": json.dumps(payload)})

    assert response.status_code == 200
    assert not logged_in(client)


def test_authenticator_app_secrets_are_encrypted_at_rest():
    user = make_provisioned(sca_required=True)
    secret = with_app(user)

    stored = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP).data["secret"]

    assert secret not in stored
    from guichet.identity import crypto

    assert crypto.decrypt(stored) == secret
