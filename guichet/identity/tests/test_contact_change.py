"""Changing the e-mail address or a mobile number: password, then a code sent to the new address or number."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext

from guichet.audit.models import AuditEvent
from guichet.identity.models import CodePurpose, OneTimeCode, User
from guichet.identity.testing import PASSWORD, last_email, last_sms_code, make_provisioned
from guichet.identity.views.security import EMAIL_PENDING, MOBILE_PENDING
from guichet.notifications.models import Message
from guichet.notifications.rendering import render_notification
from guichet.notifications.testing import deliveries_run

pytestmark = pytest.mark.django_db

OLD_EMAIL = "lucie.dubois@example.com"
NEW_EMAIL = "lucie.d@example.org"
NEW_PHONE = "+32 471 55 66 77"
NEW_PHONE_E164 = "+32471556677"
LUCIE_PHONE = "+32470123412"


def url(name: str, language: str = "fr") -> str:
    with translation.override(language):
        return reverse(name)


def t(msgid: str) -> str:
    with translation.override("fr"):
        return gettext(msgid)


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def lucie() -> User:
    return make_provisioned()


@pytest.fixture
def browser(lucie) -> Client:
    client = Client()
    client.force_login(lucie)
    return client


def code_in(message: mail.EmailMessage) -> str:
    return re.search(r"\b(\d{6})\b", message.body).group(1)


def sign(browser: Client, response):
    """Signs the pending change on the signing page with an SMS code (Lucie has no authenticator),
    then follows the way back, where the change is applied."""
    assert response.status_code == 302
    sign_url = response["Location"]
    assert sign_url.startswith("/fr/accounts/sign/") or "/sign/" in sign_url
    browser.post(sign_url, {"action": "sms_send"}, follow=True)
    signed = browser.post(sign_url, {"method": "sms", "code": last_sms_code(LUCIE_PHONE)})
    assert signed.status_code == 302, signed.context["form"].errors
    return browser.get(signed["Location"], follow=True)


def request_email_change(browser: Client, email: str = NEW_EMAIL, password: str = PASSWORD):
    return browser.post(url("identity:contact_email"), {"email": email, "current_password": password})


# --- E-mail -----------------------------------------------------------------------------


def test_email_change_sends_a_code_to_the_new_address_then_changes_it(browser, lucie):
    response = request_email_change(browser)

    assert response.status_code == 302
    assert response["Location"] == url("identity:contact_email_confirm")
    code_mail = last_email()
    assert code_mail.to == [NEW_EMAIL]
    otc = OneTimeCode.objects.get(user=lucie)
    assert (otc.purpose, otc.channel, otc.destination) == (CodePurpose.CHANGE_EMAIL, "email", NEW_EMAIL)
    assert browser.session[EMAIL_PENDING] == {"email": NEW_EMAIL, "code_id": str(otc.pk)}
    page = browser.get(url("identity:contact_email_confirm"))
    assert NEW_EMAIL in page.text
    mail.outbox.clear()

    response = browser.post(url("identity:contact_email_confirm"), {"code": code_in(code_mail)})
    lucie.refresh_from_db()
    assert lucie.email == OLD_EMAIL  # not before it is signed
    response = sign(browser, response)

    assert response.redirect_chain == [(url("identity:security"), 302)]
    assert [str(m) for m in response.context["messages"]] == [t("Your e-mail address was changed.")]
    lucie.refresh_from_db()
    assert lucie.email == NEW_EMAIL
    assert EMAIL_PENDING not in browser.session
    deliveries_run()
    assert sorted(message.to[0] for message in mail.outbox) == sorted([OLD_EMAIL, NEW_EMAIL])
    assert AuditEvent.objects.filter(action="identity.email_changed", target_id=str(lucie.pk)).count() == 1


def test_email_change_refuses_a_wrong_password_and_sends_nothing(browser, lucie):
    response = request_email_change(browser, password="not-my-password")

    assert response.status_code == 200
    assert response.context["form"].has_error("current_password", "wrong_password")
    assert 'role="alert"' in response.text
    assert OneTimeCode.objects.count() == 0
    assert Message.objects.count() == 0
    assert EMAIL_PENDING not in browser.session


@pytest.mark.parametrize("email", ["", "not-an-address", OLD_EMAIL, OLD_EMAIL.upper()])
def test_email_change_refuses_a_bad_or_unchanged_address(browser, email):
    response = request_email_change(browser, email=email)

    assert response.status_code == 200
    assert "email" in response.context["form"].errors
    assert OneTimeCode.objects.count() == 0


def test_confirm_without_a_pending_change_goes_back_to_the_first_step(browser):
    response = browser.get(url("identity:contact_email_confirm"))

    assert response.status_code == 302
    assert response["Location"] == url("identity:contact_email")


def test_wrong_codes_count_and_the_fifth_ends_the_change(browser, lucie, settings):
    request_email_change(browser)
    code = code_in(last_email())
    wrong = "000000" if code != "000000" else "111111"

    for tries_left in range(settings.GUICHET_CODE_MAX_ATTEMPTS - 1, 0, -1):
        response = browser.post(url("identity:contact_email_confirm"), {"code": wrong})
        assert response.status_code == 200
        assert str(tries_left) in response.context["form"].errors["code"][0]
    response = browser.post(url("identity:contact_email_confirm"), {"code": wrong})

    assert response.context["needs_new_code"] is True
    assert EMAIL_PENDING not in browser.session
    assert browser.post(url("identity:contact_email_confirm"), {"code": code}).status_code == 302
    lucie.refresh_from_db()
    assert lucie.email == OLD_EMAIL
    assert OneTimeCode.objects.get().failed_attempts == settings.GUICHET_CODE_MAX_ATTEMPTS


def test_an_expired_code_ends_the_change(browser, lucie):
    request_email_change(browser)
    code = code_in(last_email())
    OneTimeCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = browser.post(url("identity:contact_email_confirm"), {"code": code})

    assert response.status_code == 200
    assert response.context["needs_new_code"] is True
    assert t("This code has expired. Start again to receive a new one.") in response.text
    lucie.refresh_from_db()
    assert lucie.email == OLD_EMAIL


def test_a_code_of_another_user_never_confirms(browser, lucie):
    other = make_provisioned(user_id="CC100002", email="marc@example.com")
    other_client = Client()
    other_client.force_login(other)
    request_email_change(other_client, email="marc.new@example.com", password=PASSWORD)
    other_code = code_in(last_email())
    other_code_id = other_client.session[EMAIL_PENDING]["code_id"]
    session = browser.session
    session[EMAIL_PENDING] = {"email": "attacker@example.com", "code_id": other_code_id}
    session.save()

    response = browser.post(url("identity:contact_email_confirm"), {"code": other_code})

    assert response.context["needs_new_code"] is True
    lucie.refresh_from_db()
    other.refresh_from_db()
    assert lucie.email == OLD_EMAIL
    assert other.email == "marc@example.com"
    assert OneTimeCode.objects.get(pk=other_code_id).used_at is None


def test_wrong_passwords_and_codes_sent_share_the_rate_limit(browser, lucie):
    for _ in range(5):
        assert request_email_change(browser, password="wrong").status_code == 200

    response = request_email_change(browser)  # the right password, over the limit

    assert response.status_code == 429
    form = response.context["form"]
    assert form.limit_reached
    assert "current_password" not in form.errors  # over the limit the password is not checked
    assert OneTimeCode.objects.count() == 0
    assert request_email_change(browser, password="wrong").context["form"].errors.keys() == {"__all__"}


def test_other_users_have_their_own_limit(browser):
    for _ in range(5):
        request_email_change(browser, password="wrong")
    other = Client()
    other.force_login(make_provisioned(user_id="CC100002", email="marc@example.com"))

    assert request_email_change(other, password=PASSWORD).status_code == 302


# --- Mobile -----------------------------------------------------------------------------


def request_mobile_change(browser: Client, **data):
    data = {"slot": "0", "phone": NEW_PHONE, "current_password": PASSWORD, **data}
    return browser.post(url("identity:contact_mobile"), data)


def test_mobile_change_sends_an_sms_to_the_new_number_then_changes_it(browser, lucie):
    response = request_mobile_change(browser)

    assert response.status_code == 302
    code = last_sms_code(NEW_PHONE_E164)
    assert list(Message.objects.values_list("channel", "recipient")) == [("sms", NEW_PHONE_E164)]
    assert browser.session[MOBILE_PENDING]["phone"] == NEW_PHONE_E164
    mail.outbox.clear()

    response = sign(browser, browser.post(url("identity:contact_mobile_confirm"), {"code": code}))

    assert response.status_code == 200
    lucie.refresh_from_db()
    assert str(lucie.mobile_phone) == NEW_PHONE_E164
    assert last_email().to == [OLD_EMAIL]
    assert AuditEvent.objects.get(action="identity.mobile_changed").details == {"slot": 0}


def test_a_user_with_two_numbers_chooses_which_one(lucie):
    lucie.alternate_mobile_phone = "+32470987654"
    lucie.save()
    client = Client()
    client.force_login(lucie)

    form = client.get(url("identity:contact_mobile")).context["form"]
    replace = t("Replace %(number)s")
    assert [str(label) for _value, label in form.fields["slot"].choices] == [
        replace % {"number": "+32 4•• •• •• 12"},
        replace % {"number": "+32 4•• •• •• 54"},
    ]
    request_mobile_change(client, slot="1")
    sign(client, client.post(url("identity:contact_mobile_confirm"), {"code": last_sms_code(NEW_PHONE_E164)}))

    lucie.refresh_from_db()
    assert (str(lucie.mobile_phone), str(lucie.alternate_mobile_phone)) == ("+32470123412", NEW_PHONE_E164)


def test_a_user_with_one_number_may_add_a_second(browser, lucie):
    request_mobile_change(browser, slot="1")
    sign(
        browser, browser.post(url("identity:contact_mobile_confirm"), {"code": last_sms_code(NEW_PHONE_E164)})
    )

    lucie.refresh_from_db()
    assert lucie.mobile_phones == ["+32470123412", NEW_PHONE_E164]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"phone": "12"}, "phone"),
        ({"phone": "+32 2 555 01 00"}, "phone"),  # a landline cannot receive SMS
        ({"phone": "+32 470 12 34 12"}, "phone"),  # already registered
        ({"slot": "7"}, "slot"),
        ({"current_password": "wrong"}, "current_password"),
    ],
)
def test_mobile_change_refuses_bad_input_and_sends_nothing(browser, lucie, data, field):
    response = request_mobile_change(browser, **data)

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert OneTimeCode.objects.count() == 0
    assert Message.objects.count() == 0


def test_wrong_code_for_the_mobile_keeps_the_old_number(browser, lucie):
    request_mobile_change(browser)
    code = last_sms_code(NEW_PHONE_E164)

    response = browser.post(
        url("identity:contact_mobile_confirm"), {"code": "999999" if code != "999999" else "0"}
    )

    assert response.status_code == 200
    lucie.refresh_from_db()
    assert str(lucie.mobile_phone) == "+32470123412"


# --- The notification ---------------------------------------------------------------


@pytest.mark.parametrize("language", ["fr", "nl", "en", "de"])
@pytest.mark.parametrize("what", ["email", "mobile"])
def test_contact_changed_message_renders_in_each_language(language, what):
    rendered = render_notification(
        template="identity_contact_changed", context={"what": what}, language=language, channels=("email",)
    )

    with translation.override(language):
        if_not_you = gettext(
            "If it was not you, contact %(name)s at once: someone may know your logon credentials."
        ) % {"name": settings.GUICHET_INSTITUTION_NAME}
        changed = gettext(
            "The e-mail address of your %(name)s access was changed. From now on we write to the new address."
            if what == "email"
            else "A mobile number of your %(name)s access was changed. "
            "From now on codes are sent to the new number."
        ) % {"name": settings.GUICHET_INSTITUTION_NAME}
    assert rendered.subject
    assert changed in rendered.text
    assert if_not_you in rendered.text
    assert escape(changed) in rendered.html or changed in rendered.html


def test_coming_back_without_a_valid_proof_changes_nothing(browser, lucie):
    request_email_change(browser)
    response = browser.post(url("identity:contact_email_confirm"), {"code": code_in(last_email())})
    assert "/sign/" in response["Location"]

    back = browser.get(url("identity:contact_email_complete") + "?proof=00000000-0000-0000-0000-000000000000")

    assert back["Location"] == url("identity:contact_email")
    lucie.refresh_from_db()
    assert lucie.email == OLD_EMAIL
    assert AuditEvent.objects.filter(action="identity.email_changed").count() == 0
