"""First login: mobile number → SMS code → new password and hint → (agreement); no step skippable."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from guichet.audit.models import AuditEvent
from guichet.identity import crypto
from guichet.identity.models import CodePurpose, OneTimeCode
from guichet.identity.testing import (
    TEMPORARY_PASSWORD,
    agreement_publish,
    last_email,
    last_sms_code,
    make_provisioned,
)
from guichet.notifications.sms import locmem

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Blue-Tulip-7319?"
PHONE = "+32470123412"
ALTERNATE = "+32499887766"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def url(name: str) -> str:
    with translation.override("fr"):
        return reverse(name)


def t(msgid: str) -> str:
    with translation.override("fr"):
        return gettext(msgid)


@pytest.fixture
def user():
    return make_provisioned(temporary=True, alternate_phone=ALTERNATE)


@pytest.fixture
def onboarding(client, user):
    """A client that has entered the user ID and the temporary password."""
    response = client.post(
        url("account_login"), {"login": user.user_id, "password": TEMPORARY_PASSWORD}, secure=True
    )
    assert response.url == url("identity:onboarding_phone")
    return client


def get(client, name: str):
    return client.get(url(name), secure=True)


def post(client, name: str, data: dict | None = None):
    return client.post(url(name), data or {}, secure=True)


def at_code_step(client, phone_index: int = 0) -> None:
    assert post(client, "identity:onboarding_phone", {"phone": phone_index}).url == url(
        "identity:onboarding_code"
    )


def at_password_step(client, phone: str = PHONE) -> None:
    at_code_step(client)
    assert post(client, "identity:onboarding_code", {"code": last_sms_code(phone)}).url == url(
        "identity:onboarding_password"
    )


# --- Step 1 ----------------------------------------------------------------------------


def test_the_numbers_are_shown_masked_only(onboarding):
    page = get(onboarding, "identity:onboarding_phone")

    html = page.content.decode()
    assert "+32 4•• •• •• 12" in html and "+32 4•• •• •• 66" in html
    assert "123412" not in html and "887766" not in html
    assert t("Step %(current)s of %(total)s") % {"current": 1, "total": 4} in html
    assert 'aria-current="step"' in html


def test_the_code_goes_by_sms_to_the_chosen_number(onboarding, user):
    at_code_step(onboarding, phone_index=1)

    code = last_sms_code(ALTERNATE)
    assert str(locmem.outbox[-1].to) == ALTERNATE
    otc = OneTimeCode.objects.get(user=user)
    assert otc.purpose == CodePurpose.ONBOARDING and otc.destination == ALTERNATE
    assert code not in otc.code_hash
    assert code not in str(onboarding.session.items())


def test_choosing_no_number_is_an_error(onboarding):
    response = post(onboarding, "identity:onboarding_phone", {})

    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    assert not OneTimeCode.objects.exists()


# --- Step 2 ----------------------------------------------------------------------------


def test_a_wrong_code_says_how_many_tries_are_left(onboarding):
    at_code_step(onboarding)
    code = last_sms_code(PHONE)
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    response = post(onboarding, "identity:onboarding_code", {"code": wrong})

    left = settings.GUICHET_CODE_MAX_ATTEMPTS - 1
    with translation.override("fr"):
        expected = ngettext(
            "The code is not correct. You have %(count)d more try.",
            "The code is not correct. You have %(count)d more tries.",
            left,
        ) % {"count": left}
    assert response.context["form"].errors["code"] == [expected]


@override_settings(GUICHET_CODE_MAX_ATTEMPTS=3)  # below the lock threshold (5), see the test below
def test_too_many_wrong_codes_and_even_the_right_one_no_longer_works(onboarding):
    at_code_step(onboarding)
    code = last_sms_code(PHONE)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(settings.GUICHET_CODE_MAX_ATTEMPTS):
        response = post(onboarding, "identity:onboarding_code", {"code": wrong})

    after = post(onboarding, "identity:onboarding_code", {"code": code})

    exhausted = t("Too many wrong codes: this code no longer works. Ask for a new code below.")
    assert response.context["form"].errors["code"] == [exhausted]
    assert after.status_code == 200 and after.context["form"].errors["code"] == [exhausted]
    assert t("Send a new code") in after.content.decode()


def test_an_expired_code_is_refused_and_a_new_one_works(onboarding, user):
    at_code_step(onboarding)
    code = last_sms_code(PHONE)
    OneTimeCode.objects.filter(user=user).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = post(onboarding, "identity:onboarding_code", {"code": code})
    assert response.context["form"].errors["code"] == [t("This code has expired. Ask for a new code below.")]

    assert post(onboarding, "identity:onboarding_resend").url == url("identity:onboarding_code")
    new_code = last_sms_code(PHONE)
    assert post(onboarding, "identity:onboarding_code", {"code": new_code}).url == url(
        "identity:onboarding_password"
    )


def test_only_the_latest_code_works_after_a_resend(onboarding):
    at_code_step(onboarding)
    first = last_sms_code(PHONE)
    post(onboarding, "identity:onboarding_resend")
    second = last_sms_code(PHONE)

    if first != second:
        response = post(onboarding, "identity:onboarding_code", {"code": first})
        assert response.status_code == 200
    assert post(onboarding, "identity:onboarding_code", {"code": second}).status_code == 302


def test_resends_are_limited(onboarding):
    at_code_step(onboarding)
    for _ in range(settings.GUICHET_CODE_MAX_RESENDS):
        post(onboarding, "identity:onboarding_resend")
    sent = OneTimeCode.objects.count()

    response = onboarding.post(url("identity:onboarding_resend"), secure=True, follow=True)

    assert OneTimeCode.objects.count() == sent == 1 + settings.GUICHET_CODE_MAX_RESENDS
    html = response.content.decode()
    assert t("No more codes can be sent for now. Please try again later, or contact us.") in html
    assert f'action="{url("identity:onboarding_resend")}"' not in html


def test_the_code_send_rate_limit_is_per_user_too(onboarding, user, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "guichet_code_send": "1/h/key"}
    at_code_step(onboarding)

    post(onboarding, "identity:onboarding_resend")

    assert OneTimeCode.objects.filter(user=user).count() == 1


def test_resend_is_post_only(onboarding):
    at_code_step(onboarding)

    assert get(onboarding, "identity:onboarding_resend").status_code == 405


# --- Step 3 ----------------------------------------------------------------------------


def test_the_password_page_lists_the_rules(onboarding):
    at_password_step(onboarding)

    html = get(onboarding, "identity:onboarding_password").content.decode()

    assert 'data-rule="length"' in html and 'data-rule="special"' in html
    assert "identity/password-rules" in html


@pytest.mark.parametrize(
    ("password", "msgid"),
    [
        ("Sh1!a", None),
        ("lowercase-only-1!", "The password must contain an upper-case letter."),
        ("NoDigits-here!", "The password must contain a digit."),
        ("NoSpecial1234x", "The password must contain a special character (for example ! ? # @ %)."),
        (
            "Lucie-Dubois-2026!",
            "The password may not contain your user ID, your name or your e-mail address.",
        ),
    ],
)
def test_the_form_says_which_rule_failed(onboarding, password, msgid):
    at_password_step(onboarding)

    response = post(
        onboarding, "identity:onboarding_password", {"password1": password, "password2": password, "hint": ""}
    )

    errors = response.context["form"].errors["password1"]
    if msgid:
        assert t(msgid) in errors
    else:
        with translation.override("fr"):
            too_short = ngettext(
                "The password must be at least %(min_length)d character long.",
                "The password must be at least %(min_length)d characters long.",
                8,
            ) % {"min_length": 8}
        assert too_short in errors


def test_the_two_passwords_must_match(onboarding):
    at_password_step(onboarding)

    response = post(
        onboarding,
        "identity:onboarding_password",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD + "x", "hint": ""},
    )

    assert response.context["form"].errors["password2"] == [t("The two passwords differ.")]


def test_a_hint_containing_the_password_is_refused(onboarding, user):
    at_password_step(onboarding)

    response = post(
        onboarding,
        "identity:onboarding_password",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "hint": f"it is {NEW_PASSWORD.lower()}"},
    )

    assert response.context["form"].errors["hint"] == [t("The hint may not contain the password.")]
    user.refresh_from_db()
    assert user.password_is_temporary


def test_the_new_password_and_hint_are_saved_and_the_user_is_logged_in(onboarding, user):
    at_password_step(onboarding)

    response = post(
        onboarding,
        "identity:onboarding_password",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "hint": "flower and a colour"},
    )

    assert response.url == url("home")
    user.refresh_from_db()
    assert not user.password_is_temporary and user.check_password(NEW_PASSWORD)
    assert crypto.decrypt(user.password_hint_encrypted) == "flower and a colour"
    assert onboarding.session["_auth_user_id"] == str(user.pk)
    assert get(onboarding, "home").wsgi_request.user == user  # the session survives the new hash
    assert AuditEvent.objects.filter(action="identity.password_changed").count() == 1
    email = last_email(user.email)
    with translation.override(user.preferred_language):
        assert email.subject == gettext("Your %(name)s password was changed") % {
            "name": settings.GUICHET_INSTITUTION_NAME
        }


def test_after_onboarding_the_new_password_logs_in_directly(client, onboarding, user):
    at_password_step(onboarding)
    post(onboarding, "identity:onboarding_password", {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    onboarding.post(url("account_logout"), secure=True)

    old = client.post(
        url("account_login"), {"login": user.user_id, "password": TEMPORARY_PASSWORD}, secure=True
    )
    new = client.post(url("account_login"), {"login": user.user_id, "password": NEW_PASSWORD}, secure=True)

    assert old.status_code == 200
    assert new.url == url("home")


def test_with_an_agreement_in_force_step_4_follows(onboarding, user):
    agreement_publish(version=1)
    at_password_step(onboarding)

    response = post(
        onboarding, "identity:onboarding_password", {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )

    assert response.url == url("identity:agreement")
    page = get(onboarding, "identity:agreement")
    assert t("Step %(current)s of %(total)s") % {"current": 4, "total": 4} in page.content.decode()
    assert "_auth_user_id" not in onboarding.session


# --- No step can be skipped --------------------------------------------------------


LATER_STEPS = ["identity:onboarding_code", "identity:onboarding_password", "identity:agreement"]


@pytest.mark.parametrize("name", [*LATER_STEPS, "identity:onboarding_phone", "identity:onboarding_resend"])
def test_anonymous_visitors_go_to_the_login_page(client, name):
    if name != "identity:onboarding_resend":
        assert get(client, name).url == url("account_login")
    assert post(client, name, {"code": "123456", "password1": NEW_PASSWORD}).url == url("account_login")


@pytest.mark.parametrize("name", LATER_STEPS)
def test_later_steps_redirect_to_the_current_one(onboarding, user, name):
    agreement_publish(version=1)

    response_get = get(onboarding, name)
    response_post = post(
        onboarding, name, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "accept": "on"}
    )

    assert response_get.status_code == response_post.status_code == 302
    assert response_post.url in {url("identity:onboarding_phone"), url("account_login")}
    user.refresh_from_db()
    assert user.password_is_temporary
    assert not user.agreement_acceptances.exists()


def test_the_password_step_needs_the_code(onboarding, user):
    at_code_step(onboarding)

    response = post(
        onboarding, "identity:onboarding_password", {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )

    assert response.url == url("identity:onboarding_code")
    user.refresh_from_db()
    assert user.password_is_temporary


def test_going_back_to_an_earlier_step_does_not_send_again(onboarding):
    at_password_step(onboarding)

    response = post(onboarding, "identity:onboarding_phone", {"phone": 0})

    assert response.url == url("identity:onboarding_password")
    assert OneTimeCode.objects.count() == 1


@pytest.mark.parametrize("name", ["account_change_password", "account_reauthenticate"])
def test_the_temporary_password_opens_no_portal_page(onboarding, name):
    response = get(onboarding, name)

    assert response.status_code == 302
    assert response.url.startswith(url("account_login"))
    assert "_auth_user_id" not in onboarding.session


def test_wrong_sms_codes_count_in_the_one_failure_counter_and_lock_at_five(client):
    """PSD2 RTS art. 4: one counter across password, SMS codes and second factors."""
    from guichet.identity.lockout import login_failure_record
    from guichet.identity.models import User
    from guichet.identity.testing import TEMPORARY_PASSWORD, last_sms_code, make_provisioned

    user = make_provisioned(temporary=True)
    client.post("/fr/accounts/login/", {"login": user.user_id, "password": TEMPORARY_PASSWORD})
    client.post("/fr/accounts/onboarding/phone/", {"phone": "0"})
    code = last_sms_code()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(3):  # earlier failed passwords
        login_failure_record(identifier=user.user_id)
    client.post("/fr/accounts/onboarding/code/", {"code": wrong})
    assert not User.objects.get(pk=user.pk).is_locked

    response = client.post("/fr/accounts/onboarding/code/", {"code": wrong})

    assert User.objects.get(pk=user.pk).is_locked
    assert response.status_code == 302
    assert client.get("/fr/accounts/onboarding/code/").status_code == 302  # the login was dropped
