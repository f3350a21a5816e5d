"""Re-enrolment after losing every authenticator: the advisor starts it, the user finishes it."""

import re
import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.conf import settings
from django.core import mail, signing
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from guichet.audit.models import AuditEvent
from guichet.backoffice.tests.factories import make_advisor
from guichet.identity import reenrol
from guichet.identity.models import AccountKind, User
from guichet.identity.testing import PASSWORD, last_email, last_sms_code, make_consumer, make_provisioned
from guichet.notifications.sms import locmem
from guichet.notifications.testing import deliveries_run

pytestmark = pytest.mark.django_db

USERS = "/backoffice/identity/user/"
LINK = re.compile(r"https?://\S+/reenrol/link/[^/\s]+/")


def url(name: str) -> str:
    with translation.override("fr"):
        return reverse(name)


def totp_now(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // settings.MFA_TOTP_PERIOD))


def advisor_client() -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(make_advisor())
    return client


def enrolled(user: User) -> list[Authenticator]:
    TOTP.activate(user, generate_totp_secret())
    passkey = Authenticator.objects.create(
        user=user, type=Authenticator.Type.WEBAUTHN, data={"name": "Lost phone", "credential": {}}
    )
    return [*Authenticator.objects.filter(user=user).exclude(pk=passkey.pk), passkey]


def link_sent_to(user: User) -> str:
    match = LINK.search(last_email(user.email).body)
    assert match, "no re-enrolment link in the e-mail"
    return match.group(0)


def steps(user: User) -> list[str]:
    return [
        event.details.get("step", event.action)
        for event in AuditEvent.objects.filter(
            target_id=str(user.pk), action__startswith="identity.reenrol_"
        ).order_by("seq")
    ]


@pytest.fixture
def lucie() -> User:
    user = make_provisioned(sca_required=True)
    enrolled(user)
    return user


def start(user: User) -> tuple[Client, str]:
    """The advisor's two clicks; returns their client and the link the user received."""
    client = advisor_client()
    client.post(f"{USERS}{user.pk}/reenrol/")
    return client, link_sent_to(user)


def through_password(link: str, user: User) -> Client:
    browser = Client()
    assert browser.get(link).status_code == 302
    browser.post(url("identity:reenrol_phone"), {"phone": 0})
    browser.post(url("identity:reenrol_code"), {"code": last_sms_code(str(user.mobile_phone))})
    response = browser.post(url("identity:reenrol_password"), {"current_password": PASSWORD})
    assert response["Location"] == url("identity:reenrol_enrol")
    return browser


def app_enrol(browser: Client) -> tuple[object, str]:
    browser.get(url("identity:reenrol_enrol_app"))
    secret = browser.session["mfa.totp.secret"]
    return browser.post(url("identity:reenrol_enrol_app"), {"code": totp_now(secret)}), secret


# --- The advisor ------------------------------------------------------------------------


def test_the_advisor_confirms_then_only_an_email_leaves(lucie: User) -> None:
    client = advisor_client()
    before = list(Authenticator.objects.filter(user=lucie).values_list("pk", flat=True))

    page = client.get(f"{USERS}{lucie.pk}/reenrol/")
    response = client.post(f"{USERS}{lucie.pk}/reenrol/", follow=True)

    assert "checking the person&#x27;s identity" in page.content.decode()
    link = link_sent_to(lucie)
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert token not in response.content.decode()
    assert list(Authenticator.objects.filter(user=lucie).values_list("pk", flat=True)) == before
    assert locmem.outbox == []  # no code before the user opens the link
    event = AuditEvent.objects.get(action="identity.reenrol_started")
    assert event.target_id == str(lucie.pk)
    assert token not in str(event.details)


def test_the_button_shows_only_for_an_enrolled_user() -> None:
    enrolled_user = make_provisioned(user_id="CC100010")
    enrolled(enrolled_user)
    bare = make_provisioned(user_id="CC100011", email="bare@example.com")
    client = advisor_client()

    shown = client.get(f"{USERS}{enrolled_user.pk}/change/").content.decode()
    hidden = client.get(f"{USERS}{bare.pk}/change/").content.decode()
    refused = client.post(f"{USERS}{bare.pk}/reenrol/")

    assert f"{USERS}{enrolled_user.pk}/reenrol/" in shown
    assert f"{USERS}{bare.pk}/reenrol/" not in hidden
    assert refused.status_code == 403
    deliveries_run()
    assert mail.outbox == []


def test_a_consumer_with_a_mobile_number_may_re_enrol_one_without_may_not() -> None:
    with_phone = make_consumer(email="with.phone@example.com", password=PASSWORD)
    with_phone.mobile_phone = "+32470555111"
    with_phone.save(update_fields=["mobile_phone"])
    without_phone = make_consumer(email="no.phone@example.com", password=PASSWORD)
    enrolled(with_phone)
    enrolled(without_phone)
    client = advisor_client()

    client.post(f"{USERS}{with_phone.pk}/reenrol/")
    refused = client.post(f"{USERS}{without_phone.pk}/reenrol/", follow=True)

    assert with_phone.kind == AccountKind.CONSUMER
    assert LINK.search(last_email(with_phone.email).body)
    assert "No mobile number is on file" in refused.content.decode()
    assert not any(without_phone.email in message.to for message in mail.outbox)


# --- The user's journey -----------------------------------------------------------------


def test_journey_replaces_the_authenticators_only_at_the_end(lucie: User) -> None:
    old = set(Authenticator.objects.filter(user=lucie).values_list("pk", flat=True))
    _advisor, link = start(lucie)

    browser = through_password(link, lucie)
    assert set(Authenticator.objects.filter(user=lucie).values_list("pk", flat=True)) == old
    mail.outbox.clear()
    response, secret = app_enrol(browser)

    assert response["Location"] == url("identity:reenrol_done")
    [new] = Authenticator.objects.filter(user=lucie)
    assert new.pk not in old
    assert new.type == Authenticator.Type.TOTP
    assert TOTP(new).validate_code(totp_now(secret)) is False  # the enrolment code cannot be reused
    assert steps(lucie) == [
        "identity.reenrol_started",
        "link_opened",
        "phone_checked",
        "password_checked",
        "identity.reenrol_completed",
    ]
    with translation.override(lucie.preferred_language):
        replaced = gettext(
            "Your earlier passkeys and authenticator apps were removed from your access with user ID "
            "%(user_id)s, and a new authenticator app replaces them."
        ) % {"user_id": lucie.user_id}
    assert replaced in last_email(lucie.email).body
    assert browser.get(url("identity:reenrol_done")).status_code == 200


def test_the_link_works_once(lucie: User) -> None:
    _advisor, link = start(lucie)
    app_enrol(through_password(link, lucie))

    again = Client().get(link)

    assert again.status_code == 410


def test_the_link_expires_after_24_hours(lucie: User, monkeypatch: pytest.MonkeyPatch) -> None:
    _advisor, link = start(lucie)
    later = time.time() + reenrol.LINK_MAX_AGE_SECONDS + 1
    monkeypatch.setattr(signing.time, "time", lambda: later)

    response = Client().get(link)

    assert response.status_code == 410


def test_a_change_of_authenticators_voids_the_link_midway(lucie: User) -> None:
    _advisor, link = start(lucie)
    browser = through_password(link, lucie)
    browser.get(url("identity:reenrol_enrol_app"))
    secret = browser.session["mfa.totp.secret"]
    Authenticator.objects.filter(user=lucie, type=Authenticator.Type.WEBAUTHN).delete()

    response = browser.post(url("identity:reenrol_enrol_app"), {"code": totp_now(secret)})

    assert response.status_code == 410
    assert Authenticator.objects.filter(user=lucie).count() == 1
    assert Authenticator.objects.get(user=lucie).type == Authenticator.Type.TOTP


def test_steps_cannot_be_skipped_and_a_wrong_code_does_not_advance(lucie: User) -> None:
    _advisor, link = start(lucie)
    browser = Client()
    browser.get(link)

    skip = browser.get(url("identity:reenrol_enrol_app"))
    browser.post(url("identity:reenrol_phone"), {"phone": 0})
    right = last_sms_code(str(lucie.mobile_phone))
    wrong = browser.post(url("identity:reenrol_code"), {"code": f"{(int(right) + 1) % 10**6:06d}"})
    password_page = browser.get(url("identity:reenrol_password"))

    assert skip["Location"] == url("identity:reenrol_phone")
    assert wrong.status_code == 200
    assert password_page["Location"] == url("identity:reenrol_code")
    assert "password_checked" not in steps(lucie)


def test_a_wrong_password_counts_and_does_not_advance(lucie: User) -> None:
    _advisor, link = start(lucie)
    browser = Client()
    browser.get(link)
    browser.post(url("identity:reenrol_phone"), {"phone": 0})
    browser.post(url("identity:reenrol_code"), {"code": last_sms_code(str(lucie.mobile_phone))})

    response = browser.post(url("identity:reenrol_password"), {"current_password": "not-it"})

    assert response.status_code == 200
    lucie.refresh_from_db()
    assert lucie.failed_login_count == 1
    assert browser.get(url("identity:reenrol_enrol"))["Location"] == url("identity:reenrol_password")


def test_the_sms_goes_to_the_number_on_file_only(lucie: User) -> None:
    _advisor, link = start(lucie)
    browser = Client()
    browser.get(link)

    page = browser.get(url("identity:reenrol_phone")).content.decode()
    browser.post(url("identity:reenrol_phone"), {"phone": 0})
    deliveries_run()

    assert str(lucie.mobile_phone) not in page
    assert [str(sms.to) for sms in locmem.outbox] == [str(lucie.mobile_phone)]
