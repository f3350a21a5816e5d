"""Strong authentication at login in Chromium: an entity user enrols an authenticator app during
the first login (code computed from the key shown on the page) and logs in with it; another enrols a
passkey in Chromium's virtual authenticator (a real WebAuthn ceremony) and logs in with it."""

import re
import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from guichet.audit.models import AuditEvent
from guichet.backoffice.tests.factories import away_from_the_next_time_step
from guichet.identity.models import User
from guichet.identity.testing import (
    PASSWORD,
    TEMPORARY_PASSWORD,
    agreement_publish,
    last_sms_code,
    make_provisioned,
    passkey_click,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]

NEW_PASSWORD = "Blue-Tulip-7319?"
PHONE = "+32470123412"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def t(msgid: str, language: str = "fr") -> str:
    with translation.override(language):
        return gettext(msgid)


def field(page, msgid: str):
    return page.get_by_label(re.compile(r"^\s*" + re.escape(t(msgid))))


def path(name: str) -> str:
    with translation.override("fr"):
        return reverse(name)


def at(page, name: str, timeout: float = 5_000) -> None:
    expect(page).to_have_url(re.compile(re.escape(path(name)) + "$"), timeout=timeout)


def expect_step(page, number: int) -> None:
    expect(
        page.get_by_text(t("Step %(current)s of %(total)s") % {"current": number, "total": 5})
    ).to_be_visible()


def totp_now(secret: str) -> str:
    """The app's code, typed well inside its 30 s step (one typed as the step ends is refused)."""
    away_from_the_next_time_step()
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def log_on(page, user_id: str, password: str, base: str = "") -> None:
    page.goto(base + path("account_login"))
    field(page, "User ID or e-mail address").fill(user_id)
    field(page, "Password").fill(password)
    page.get_by_role("button", name=t("Log on")).click()


def sms_check(page) -> None:
    """The SMS code that a login with a normal password needs before enrolling."""
    at(page, "identity:sca_enrol_sms")
    page.get_by_role("button", name=t("Send the code")).click()
    page.locator("#id_code").fill(last_sms_code(PHONE))
    page.get_by_role("button", name=t("Continue")).click()


def test_an_entity_user_enrols_an_authenticator_app_at_first_login_then_logs_in_with_it(
    axe_page, axe_check
) -> None:
    page = axe_page
    user = make_provisioned(temporary=True, sca_required=True)
    agreement_publish(version=1)

    log_on(page, "CC100001", TEMPORARY_PASSWORD)
    at(page, "identity:onboarding_phone")
    expect_step(page, 1)
    page.get_by_label("+32 4•• •• •• 12").check()
    page.get_by_role("button", name=t("Send the code")).click()
    expect_step(page, 2)
    field(page, "Code received").fill(last_sms_code(PHONE))
    page.get_by_role("button", name=t("Continue")).click()
    expect_step(page, 3)
    field(page, "New password").fill(NEW_PASSWORD)
    field(page, "Confirm the new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name=t("Save")).click()

    # Step 4: strong authentication, which cannot be skipped.
    at(page, "identity:sca_enrol")
    expect_step(page, 4)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        t("Protect your access with strong authentication")
    )
    axe_check(page)
    page.goto(path("identity:agreement"))
    at(page, "identity:sca_enrol")  # the agreement (and anything else) waits
    page.get_by_role("link", name=t("Set up an authenticator app")).click()
    at(page, "identity:sca_enrol_app")
    expect(
        page.get_by_role(
            "img",
            name=re.compile(
                re.escape(
                    t(
                        "QR code to scan with your authenticator app. "
                        "If you cannot scan it, type the key given below."
                    )[:10]
                )
            ),
        )
    ).to_be_visible()
    axe_check(page)
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    field(page, "Code shown by the app").fill(totp_now(secret))
    page.get_by_role("button", name=t("Check the code")).click()

    at(page, "identity:agreement")
    expect_step(page, 5)
    field(page, "I have read and accept the user agreement").check()
    page.get_by_role("button", name=t("Accept")).click()
    at(page, "home")
    assert Authenticator.objects.get(user=user).type == Authenticator.Type.TOTP

    page.get_by_role("button", name=t("Log out")).click()
    cache.clear()  # the enrolment's code may still be the current one; reuse has its own unit test
    log_on(page, "CC100001", NEW_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Confirm that it is you"))
    axe_check(page)
    field(page, "Code shown by the app").fill("000000" if totp_now(secret) != "000000" else "111111")
    page.get_by_role("button", name=t("Log on")).last.click()
    expect(page.get_by_role("alert")).to_contain_text(t("There is a problem"))
    axe_check(page)
    field(page, "Code shown by the app").fill(totp_now(secret))
    page.get_by_role("button", name=t("Log on")).last.click()

    at(page, "home")
    assert User.objects.get(pk=user.pk).failed_login_count == 0
    assert AuditEvent.objects.filter(action="identity.sca_succeeded").count() == 1


def test_a_user_enrols_a_passkey_and_logs_in_with_it(browser, live_server) -> None:
    # WebAuthn needs a domain as relying party: "localhost", not 127.0.0.1.
    base = live_server.url.replace("127.0.0.1", "localhost")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    user = make_provisioned(sca_required=True)
    try:
        log_on(page, "CC100001", PASSWORD, base)
        sms_check(page)
        at(page, "identity:sca_enrol")
        page.get_by_role("link", name=t("Set up a passkey")).click()
        at(page, "identity:sca_enrol_passkey")
        field(page, "Name of this passkey").fill("Laptop")
        page.wait_for_selector("form[data-webauthn-ready]", state="attached")  # the page script is ready
        page.get_by_role("button", name=t("Create the passkey")).click()
        at(page, "home")
        [passkey] = Authenticator.objects.filter(user=user)
        assert passkey.type == Authenticator.Type.WEBAUTHN
        assert passkey.wrap().name == "Laptop"
        assert AuditEvent.objects.get(action="identity.sca_enrolled").details["type"] == "webauthn"

        context.clear_cookies()
        log_on(page, "CC100001", PASSWORD, base)
        expect(page.get_by_role("heading", level=1)).to_have_text(t("Confirm that it is you"))
        passkey_click(page, t("Use my passkey"), error_id="webauthn-login-error")
        at(page, "home", timeout=15_000)  # the ceremony, then the login stages: slow on a loaded machine
        event = AuditEvent.objects.get(action="identity.sca_succeeded")
        assert event.details == {"purpose": "login", "method": "webauthn"}
        assert errors == []
    finally:
        context.close()
