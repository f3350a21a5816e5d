"""The "Strong authentication" section of the Security page: list, add an app, rename, remove.

Each change is signed first on the signing page (identity.signing): with a code
of the authenticator app computed here, or by SMS for a user without one.
"""

import time
from datetime import timedelta

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.conf import settings
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from guichet.audit.models import AuditEvent
from guichet.audit.services import record
from guichet.identity import signing
from guichet.identity.models import SignedProof, SigningChallenge, User
from guichet.identity.testing import last_email, last_sms_code, make_provisioned
from guichet.identity.views.authenticators import (
    add_operation,
    app_add_operation,
    authenticator_remove,
    sca_events_of,
)

pytestmark = pytest.mark.django_db


def url(name: str, *args: object) -> str:
    with translation.override("fr"):
        return reverse(name, args=args)


def t(msgid: str) -> str:
    with translation.override("fr"):
        return gettext(msgid)


def totp_now(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // settings.MFA_TOTP_PERIOD))


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def add_app(user: User) -> tuple[Authenticator, str]:
    secret = generate_totp_secret()
    return TOTP.activate(user, secret).instance, secret


def add_passkey(user: User, name: str = "Laptop") -> Authenticator:
    """A stored passkey row (its credential is never parsed by the views under test here)."""
    return Authenticator.objects.create(
        user=user, type=Authenticator.Type.WEBAUTHN, data={"name": name, "credential": {}}
    )


def wrong_code(secret: str) -> str:
    return f"{(int(totp_now(secret)) + 1) % 10**6:06d}"


def sign(client: Client, response, *, code: str | None = None, user: User | None = None) -> str:
    """Signs on the signing page ``response`` redirects to: with the app's ``code``, or else by SMS
    to ``user``'s mobile. Returns the way back (``...?proof=<id>``)."""
    assert response.status_code == 302, response
    sign_url = response["Location"]
    assert "/sign/" in sign_url
    if code is None:
        client.post(sign_url, {"action": "sms_send"})
        code = last_sms_code(str(user.mobile_phone))
        signed = client.post(sign_url, {"method": "sms", "code": code})
    else:
        signed = client.post(sign_url, {"method": "totp", "code": code})
    assert signed.status_code == 302, signed.context["form"].errors
    assert "proof=" in signed["Location"]
    return signed["Location"]


def signed_kinds(user: User) -> list[str]:
    return list(
        SigningChallenge.objects.filter(user=user, used_at__isnull=False)
        .order_by("created_at")
        .values_list("kind", flat=True)
    )


def actions(user: User) -> list[str]:
    return list(
        AuditEvent.objects.filter(target_id=str(user.pk), action__startswith="identity.mfa_")
        .order_by("seq")
        .values_list("action", flat=True)
    )


@pytest.fixture
def lucie() -> User:
    return make_provisioned()


@pytest.fixture
def marc() -> User:
    return make_provisioned(user_id="CC100002", email="marc.leroy@example.com", first_name="Marc")


# --- The list ---------------------------------------------------------------------------


def test_section_lists_only_own_authenticators(lucie: User, marc: User) -> None:
    add_app(lucie)
    add_passkey(lucie, "Lucie's laptop")
    add_passkey(marc, "Marc's key")

    response = logged_in(lucie).get(url("identity:security"))

    body = response.content.decode()
    assert response.status_code == 200
    assert "Lucie&#x27;s laptop" in body
    assert "Marc&#x27;s key" not in body
    assert t("Authenticator app") in body
    assert t("Strong authentication") in body


@pytest.mark.parametrize("name", ["identity:authenticator_remove", "identity:authenticator_rename"])
def test_another_users_authenticator_is_404(lucie: User, marc: User, name: str) -> None:
    other = add_passkey(marc)

    client = logged_in(lucie)
    get = client.get(url(name, other.pk))
    post = client.post(url(name, other.pk), {"name": "Mine now"})

    assert (get.status_code, post.status_code) == (404, 404)
    other.refresh_from_db()
    assert other.data["name"] == "Laptop"
    assert actions(marc) == []
    assert not SigningChallenge.objects.exists()


@pytest.mark.parametrize(
    "name",
    ["identity:authenticator_app_add", "identity:authenticator_passkey_add"],
)
def test_anonymous_is_sent_to_login(name: str) -> None:
    response = Client().get(url(name))

    assert response.status_code == 302
    assert url("account_login") in response["Location"]


# --- Adding an authenticator app ---------------------------------------------------------


def test_add_app_is_signed_first_then_set_up_with_the_code_it_shows(lucie: User) -> None:
    client = logged_in(lucie)
    intro = client.get(url("identity:authenticator_app_add"))
    assert "data:image/svg+xml;base64," not in intro.content.decode()  # no secret before the signature
    assert "mfa.totp.secret" not in client.session

    back = sign(client, client.post(url("identity:authenticator_app_add"), {"action": "sign"}), user=lucie)
    [challenge] = SigningChallenge.objects.filter(user=lucie)
    page = client.get(back)
    secret = client.session["mfa.totp.secret"]
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    proof_id = back.split("proof=")[1]
    mail.outbox.clear()

    response = client.post(
        url("identity:authenticator_app_add"), {"code": totp_now(secret), "proof": proof_id}
    )

    assert signing.challenge_operation(challenge) == app_add_operation()
    assert app_add_operation() == signing.Operation(kind="authenticator_add", target="TOTP [totp]")
    assert grouped in page.content.decode()
    assert "data:image/svg+xml;base64," in page.content.decode()
    assert f'name="proof" value="{proof_id}"' in page.content.decode()
    assert response.status_code == 302
    [authenticator] = Authenticator.objects.filter(user=lucie)
    assert authenticator.type == Authenticator.Type.TOTP
    assert actions(lucie) == ["identity.mfa_added"]
    assert SignedProof.objects.get(pk=proof_id).consumed_at is not None
    message = last_email(lucie.email)
    html = message.alternatives[0][0]
    with translation.override(lucie.preferred_language):
        added = gettext("An authenticator app was added to your access with user ID %(user_id)s.") % {
            "user_id": "CC100001"
        }
    assert added in message.body
    assert added in html.replace("&#x27;", "'")
    assert secret not in message.body and secret not in html
    assert "identity.mfa_added" in [e.action for e in sca_events_of(user=lucie)]
    assert "current_password" not in page.content.decode()


def test_add_app_refuses_a_wrong_code_and_keeps_the_proof(lucie: User) -> None:
    client = logged_in(lucie)
    back = sign(client, client.post(url("identity:authenticator_app_add"), {"action": "sign"}), user=lucie)
    client.get(back)
    secret = client.session["mfa.totp.secret"]
    proof_id = back.split("proof=")[1]

    response = client.post(
        url("identity:authenticator_app_add"), {"code": wrong_code(secret), "proof": proof_id}
    )

    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    assert not Authenticator.objects.filter(user=lucie).exists()
    assert actions(lucie) == []
    assert SignedProof.objects.get(pk=proof_id).consumed_at is None


def test_add_app_without_a_proof_or_with_another_operations_proof_adds_nothing(lucie: User) -> None:
    client = logged_in(lucie)
    client.get(url("identity:authenticator_app_add"))
    secret = generate_totp_secret()
    session = client.session
    session["mfa.totp.secret"] = secret
    session.save()
    # A proof signed for adding a passkey named "Laptop" is worth nothing for an app.
    back = sign(
        client,
        client.post(url("identity:authenticator_passkey_add"), {"action": "sign", "name": "Laptop"}),
        user=lucie,
    )
    other_proof = back.split("proof=")[1]

    unsigned = client.post(url("identity:authenticator_app_add"), {"code": totp_now(secret)})
    tampered = client.post(
        url("identity:authenticator_app_add"), {"code": totp_now(secret), "proof": other_proof}
    )

    assert (unsigned.status_code, tampered.status_code) == (200, 200)
    assert str(signing.MESSAGES[signing.SigningErrorCode.TAMPERED]) in tampered.content.decode()
    assert not Authenticator.objects.filter(user=lucie).exists()
    assert SignedProof.objects.get(pk=other_proof).consumed_at is None


def test_a_proof_adds_one_app_only(lucie: User) -> None:
    client = logged_in(lucie)
    back = sign(client, client.post(url("identity:authenticator_app_add"), {"action": "sign"}), user=lucie)
    client.get(back)
    secret = client.session["mfa.totp.secret"]
    proof_id = back.split("proof=")[1]
    client.post(url("identity:authenticator_app_add"), {"code": totp_now(secret), "proof": proof_id})
    Authenticator.objects.filter(user=lucie).delete()

    replay = client.get(back)

    assert str(signing.MESSAGES[signing.SigningErrorCode.USED]) in replay.content.decode()
    assert "data:image/svg+xml;base64," not in replay.content.decode()


def test_an_expired_proof_adds_nothing(lucie: User) -> None:
    client = logged_in(lucie)
    back = sign(client, client.post(url("identity:authenticator_app_add"), {"action": "sign"}), user=lucie)
    client.get(back)
    secret = client.session["mfa.totp.secret"]
    proof_id = back.split("proof=")[1]
    SignedProof.objects.filter(pk=proof_id).update(
        signed_at=timezone.now() - timedelta(seconds=settings.GUICHET_SIGNING_VALIDITY_SECONDS + 1)
    )

    response = client.post(
        url("identity:authenticator_app_add"), {"code": totp_now(secret), "proof": proof_id}
    )

    assert str(signing.MESSAGES[signing.SigningErrorCode.EXPIRED]) in response.content.decode()
    assert not Authenticator.objects.filter(user=lucie).exists()


def test_second_app_is_not_offered(lucie: User) -> None:
    add_app(lucie)

    response = logged_in(lucie).get(url("identity:authenticator_app_add"))

    assert response.status_code == 302
    assert Authenticator.objects.filter(user=lucie).count() == 1


# --- Adding a passkey --------------------------------------------------------------------


def test_add_passkey_signs_its_name_then_runs_the_ceremony(lucie: User) -> None:
    _, secret = add_app(lucie)
    client = logged_in(lucie)

    start = client.post(url("identity:authenticator_passkey_add"), {"action": "sign", "name": " Portable "})
    back = sign(client, start, code=totp_now(secret))
    page = client.get(back)
    tampered = client.get(back.replace("name=Portable", "name=Other"))

    [challenge] = SigningChallenge.objects.filter(user=lucie)
    assert signing.challenge_operation(challenge) == add_operation("Portable")
    assert add_operation("Portable").target == "Portable [webauthn]"
    body = page.content.decode()
    assert 'name="name" value="Portable"' in body
    assert t("Name of the passkey: %(name)s") % {"name": "Portable"} in body
    assert 'id="webauthn-options"' in body
    assert "current_password" not in body
    assert str(signing.MESSAGES[signing.SigningErrorCode.TAMPERED]) in tampered.content.decode()
    assert 'id="webauthn-options"' not in tampered.content.decode()


def test_add_passkey_without_a_name_signs_the_default_name(lucie: User) -> None:
    client = logged_in(lucie)

    sign(
        client,
        client.post(url("identity:authenticator_passkey_add"), {"action": "sign", "name": ""}),
        user=lucie,
    )

    [challenge] = SigningChallenge.objects.filter(user=lucie)
    assert signing.challenge_operation(challenge) == add_operation(t("Passkey"))


# --- Rename ----------------------------------------------------------------------------


def test_rename_a_passkey_once_signed(lucie: User) -> None:
    _, secret = add_app(lucie)
    passkey = add_passkey(lucie)
    client = logged_in(lucie)

    start = client.post(url("identity:authenticator_rename", passkey.pk), {"name": "Phone"})
    passkey.refresh_from_db()
    assert passkey.data["name"] == "Laptop"  # nothing before the signature
    response = client.get(sign(client, start, code=totp_now(secret)))

    assert response.status_code == 302
    passkey.refresh_from_db()
    assert passkey.data["name"] == "Phone"
    assert actions(lucie) == ["identity.mfa_renamed"]
    [challenge] = SigningChallenge.objects.filter(user=lucie)
    assert signing.challenge_operation(challenge) == signing.Operation(
        kind="authenticator_rename", target=f"#{passkey.pk}: 'Laptop' → 'Phone'"
    )


def test_rename_refuses_another_name_than_the_signed_one(lucie: User) -> None:
    _, secret = add_app(lucie)
    passkey = add_passkey(lucie)
    client = logged_in(lucie)

    back = sign(
        client,
        client.post(url("identity:authenticator_rename", passkey.pk), {"name": "Phone"}),
        code=totp_now(secret),
    )
    response = client.get(back.replace("name=Phone", "name=Stolen"), follow=True)

    passkey.refresh_from_db()
    assert passkey.data["name"] == "Laptop"
    assert actions(lucie) == []
    assert str(signing.MESSAGES[signing.SigningErrorCode.TAMPERED]) in response.content.decode()


# --- Remove ----------------------------------------------------------------------------


def test_remove_one_of_two_once_signed(lucie: User) -> None:
    _, secret = add_app(lucie)
    passkey = add_passkey(lucie)
    client = logged_in(lucie)
    mail.outbox.clear()

    page = client.get(url("identity:authenticator_remove", passkey.pk))
    start = client.post(url("identity:authenticator_remove", passkey.pk))
    assert Authenticator.objects.filter(pk=passkey.pk).exists()  # nothing before the signature
    response = client.get(sign(client, start, code=totp_now(secret)))

    assert "current_password" not in page.content.decode()
    assert response.status_code == 302
    assert list(Authenticator.objects.filter(user=lucie).values_list("type", flat=True)) == ["totp"]
    assert actions(lucie) == ["identity.mfa_removed"]
    assert signed_kinds(lucie) == ["authenticator_remove"]
    assert "Laptop" in last_email(lucie.email).body


def test_a_removal_proof_removes_that_authenticator_only(lucie: User) -> None:
    _, secret = add_app(lucie)
    laptop = add_passkey(lucie, "Laptop")
    phone = add_passkey(lucie, "Phone")
    client = logged_in(lucie)
    back = sign(client, client.post(url("identity:authenticator_remove", laptop.pk)), code=totp_now(secret))
    proof = back.split("proof=")[1]

    other = client.get(url("identity:authenticator_remove", phone.pk) + f"?proof={proof}", follow=True)
    client.get(back)
    replay = client.get(url("identity:authenticator_remove", phone.pk) + f"?proof={proof}", follow=True)

    assert str(signing.MESSAGES[signing.SigningErrorCode.TAMPERED]) in other.content.decode()
    assert str(signing.MESSAGES[signing.SigningErrorCode.USED]) in replay.content.decode()
    assert not Authenticator.objects.filter(pk=laptop.pk).exists()
    assert Authenticator.objects.filter(pk=phone.pk).exists()
    assert actions(lucie) == ["identity.mfa_removed"]


def test_last_one_refused_where_strong_authentication_is_required(lucie: User) -> None:
    lucie.sca_required = True
    lucie.save(update_fields=["sca_required"])
    authenticator, _secret = add_app(lucie)
    client = logged_in(lucie)

    page = client.get(url("identity:authenticator_remove", authenticator.pk))
    response = client.post(url("identity:authenticator_remove", authenticator.pk))

    assert page.status_code == 200
    assert f'action="{url("identity:authenticator_remove", authenticator.pk)}"' not in page.content.decode()
    assert response.status_code == 403
    assert not SigningChallenge.objects.filter(user=lucie).exists()
    assert Authenticator.objects.filter(pk=authenticator.pk).exists()
    assert actions(lucie) == []


def test_last_one_refused_again_by_the_removal_itself(lucie: User) -> None:
    """The policy is checked again under a lock, whatever the view checked before."""
    lucie.sca_required = True
    lucie.save(update_fields=["sca_required"])
    authenticator, _secret = add_app(lucie)

    with pytest.raises(PermissionDenied):
        authenticator_remove(user=lucie, authenticator=authenticator, proof_id="unused", request=None)

    assert Authenticator.objects.filter(pk=authenticator.pk).exists()
    assert actions(lucie) == []


def test_last_one_is_confirmed_by_signing_with_it(lucie: User) -> None:
    authenticator, secret = add_app(lucie)
    client = logged_in(lucie)

    start = client.post(url("identity:authenticator_remove", authenticator.pk))
    sign_url = start["Location"]
    page = client.get(sign_url)
    wrong = client.post(sign_url, {"method": "totp", "code": wrong_code(secret)})
    sms = client.post(sign_url, {"action": "sms_send"})
    assert Authenticator.objects.filter(pk=authenticator.pk).exists()
    response = client.get(sign(client, start, code=totp_now(secret)))

    assert t("With your authenticator app") in page.content.decode()
    assert t("With a code by SMS") not in page.content.decode()  # not weaker than what is removed
    assert wrong.status_code == 200
    assert str(signing.MESSAGES[signing.SigningErrorCode.METHOD_UNAVAILABLE]) in sms.content.decode()
    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=lucie).exists()
    assert actions(lucie) == ["identity.mfa_removed"]
    events = list(
        AuditEvent.objects.filter(target_id=str(lucie.pk), action__startswith="identity.sign")
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert events == ["identity.signing_started", "identity.signing_failed", "identity.signed"]
    lucie.refresh_from_db()
    assert lucie.failed_login_count == 0  # the signature resets the counter the wrong code raised


def test_events_are_the_users_own_strong_authentication_events(lucie: User, marc: User) -> None:
    record(action="identity.sca_succeeded", actor=lucie, target=lucie, details={"method": "totp"})
    record(action="identity.sca_failed", actor=marc, target=marc, details={"method": "totp"})
    record(action="identity.login", actor=lucie, target=lucie)

    events = [event.action for event in sca_events_of(user=lucie)]
    body = logged_in(lucie).get(url("identity:security")).content.decode()

    assert events == ["identity.sca_succeeded"]
    assert t("Strong authentication succeeded") in body
    assert t("Strong authentication failed") not in body
