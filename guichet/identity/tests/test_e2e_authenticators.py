"""Adding an authenticator app and a passkey from the Security page, in Chromium under the site's CSP.

Each change is signed first on the signing page: by SMS for a user without an
authenticator, then with the passkey or a computed authenticator-app code.
The passkey is a real WebAuthn ceremony with Chromium's DevTools virtual
authenticator, checked by allauth's WebAuthn internals (fido2). WebAuthn needs
a domain name as the relying party: these pages are opened at localhost, not
127.0.0.1, in a context of their own (the shared ``page`` fixture expects
127.0.0.1), with the same checks: first-party requests only, no CSP error.
"""

import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from guichet.backoffice.tests.factories import away_from_the_next_time_step, make_advisor
from guichet.identity import reenrol, signing
from guichet.identity.models import User
from guichet.identity.phones import mask_phone
from guichet.identity.testing import PASSWORD, last_email, last_sms_code, make_provisioned, passkey_click
from guichet.identity.views.authenticators import app_add_operation

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]

VIRTUAL_AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
}


def t(msgid: str) -> str:
    with translation.override("fr"):
        return gettext(msgid)


def url(name: str, *args: object) -> str:
    with translation.override("fr"):
        return reverse(name, args=args)


def totp_now(secret: str) -> str:
    """The app's code, typed well inside its 30 s step (one typed as the step ends is refused)."""
    away_from_the_next_time_step()
    return format_hotp_value(hotp_value(secret, int(time.time()) // settings.MFA_TOTP_PERIOD))


def log_in(page: Any, base_url: str, user: User) -> None:
    client = Client()
    client.force_login(user)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": key, "url": base_url}])


def sign_by_sms(page: Any, user: User) -> None:
    """On the signing page: asks for a code by SMS and enters it."""
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Confirm the operation"))
    number = mask_phone(user.mobile_phone)
    page.get_by_role("button", name=t("Send me a code by SMS to %(number)s") % {"number": number}).click()
    page.get_by_label(t("6-digit code")).fill(last_sms_code(str(user.mobile_phone)))
    page.get_by_role("button", name=t("Confirm")).click()


def proof_for(user: User, operation: signing.Operation) -> str:
    """A proof signed by SMS outside the browser, for pages after the signature."""
    challenge = signing.signing_start(user=user, operation=operation, request=None)
    signing.signing_sms_send(challenge=challenge, request=None)
    proof = signing.signing_verify(
        challenge_id=challenge.pk,
        user=user,
        operation=operation,
        method="sms",
        code=last_sms_code(str(user.mobile_phone)),
        request=None,
    )
    return str(proof.pk)


@pytest.fixture
def local_page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A page of the live server at http://localhost:<port>, watched like the shared ``page``."""
    base = live_server.url.replace("127.0.0.1", "localhost")
    context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    page.base = base
    yield page
    context.close()
    origin = urlsplit(base).netloc
    assert [
        u for u in requests if urlsplit(u).scheme in ("http", "https") and urlsplit(u).netloc != origin
    ] == []
    assert errors == []


def test_add_an_authenticator_app_from_the_security_page(page, live_server):
    lucie = make_provisioned()
    log_in(page, live_server.url, lucie)

    page.goto(url("identity:security"))
    page.get_by_role("link", name=t("Add an authenticator app")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Add an authenticator app"))
    page.get_by_role("button", name=t("Continue")).click()
    expect(page.locator("dl")).to_contain_text(t("Adding an authenticator"))
    expect(page.locator("dl")).to_contain_text(app_add_operation().target)
    sign_by_sms(page, lucie)

    expect(page.get_by_role("heading", level=1)).to_have_text(t("Add an authenticator app"))
    qr_code = page.locator("img[src^='data:image/svg+xml;base64,']")
    expect(qr_code).to_be_visible()
    expect(qr_code).to_have_attribute(
        "alt",
        t("QR code to scan with your authenticator app. If you cannot scan it, type the key given below."),
    )
    expect(page.get_by_label(t("Current password"))).to_have_count(0)
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_label(t("Code shown by the app")).fill(totp_now(secret))
    page.get_by_role("button", name=t("Add the app")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(t("Security"))
    table = page.get_by_role("table", name=t("Your passkeys and authenticator apps"))
    expect(table.get_by_role("row")).to_have_count(2)
    expect(table.get_by_text(t("Authenticator app")).first).to_be_visible()
    assert Authenticator.objects.filter(user=lucie, type=Authenticator.Type.TOTP).count() == 1


def test_add_then_remove_a_passkey_with_a_virtual_authenticator(local_page, live_server, settings):
    settings.MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True  # http://localhost in tests
    lucie = make_provisioned()
    page = local_page
    log_in(page, page.base, lucie)
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": VIRTUAL_AUTHENTICATOR})

    page.goto(url("identity:security"))
    page.get_by_role("link", name=t("Add a passkey")).click()
    page.get_by_label(t("Name of the passkey")).fill("Portable")
    page.get_by_role("button", name=t("Continue")).click()
    expect(page.locator("dl")).to_contain_text("Portable")  # what is signed: this passkey
    sign_by_sms(page, lucie)  # no authenticator yet: the SMS fallback
    page.wait_for_url(re.compile(r"proof="))
    page.wait_for_selector("form[data-webauthn-ready]", state="attached")  # the page script is ready
    page.get_by_role("button", name=t("Create the passkey")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(t("Security"))
    table = page.get_by_role("table", name=t("Your passkeys and authenticator apps"))
    expect(table.get_by_role("rowheader", name="Portable")).to_be_visible()
    [passkey] = Authenticator.objects.filter(user=lucie)
    assert passkey.type == Authenticator.Type.WEBAUTHN
    assert passkey.wrap().authenticator_data.credential_data is not None

    # The last one: removing it is signed with the passkey itself.
    table.locator(f"a[href='{url('identity:authenticator_remove', passkey.pk)}']").click()
    page.get_by_role("button", name=t("Remove")).click()
    expect(page.locator("dl")).to_contain_text(t("Removing an authenticator"))
    expect(page.get_by_label(t("6-digit code"))).to_have_count(0)  # no SMS: not weaker than what goes
    passkey_click(page, t("Confirm with my passkey"), error_id="sign-webauthn-error")

    expect(page.get_by_role("heading", level=1)).to_have_text(t("Security"), timeout=15_000)
    expect(page.get_by_text(t("You have no passkey or authenticator app yet."))).to_be_visible()
    assert not Authenticator.objects.filter(user=lucie).exists()


def test_remove_an_app_signed_with_a_computed_code(page, live_server):
    lucie = make_provisioned()
    secret = generate_totp_secret()
    app = TOTP.activate(lucie, secret).instance
    log_in(page, live_server.url, lucie)

    page.goto(url("identity:authenticator_remove", app.pk))
    page.get_by_role("button", name=t("Remove")).click()
    expect(page.locator("dl")).to_contain_text(t("Authenticator app"))
    page.get_by_label(t("6-digit code")).fill(totp_now(secret))
    page.get_by_role("button", name=t("Confirm")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(t("Security"))
    expect(page.get_by_role("status")).to_have_text(t("The authenticator is removed."))
    assert not Authenticator.objects.filter(user=lucie).exists()


def test_authenticator_pages_pass_axe(axe_page, axe_check, live_server):
    lucie = make_provisioned()
    app = TOTP.activate(lucie, generate_totp_secret()).instance
    log_in(axe_page, live_server.url, lucie)
    axe_page.goto(url("identity:security"))
    axe_check(axe_page)
    axe_page.goto(url("identity:authenticator_remove", app.pk))
    axe_check(axe_page)
    app.delete()

    for name in ("identity:authenticator_app_add", "identity:authenticator_passkey_add"):
        axe_page.goto(url(name))
        axe_check(axe_page)
    proof = proof_for(lucie, app_add_operation())
    axe_page.goto(f"{url('identity:authenticator_app_add')}?proof={proof}")
    axe_check(axe_page)
    axe_page.get_by_role("button", name=t("Add the app")).click()
    expect(axe_page.get_by_role("alert").first).to_be_visible()
    axe_check(axe_page)
    axe_page.goto(f"{url('identity:authenticator_passkey_add')}?proof={proof}")  # not signed for this
    expect(axe_page.get_by_role("alert").first).to_be_visible()
    axe_check(axe_page)


def test_re_enrolment_with_a_new_passkey(local_page, axe_page, axe_check, live_server, settings):
    settings.MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True
    lucie = make_provisioned(sca_required=True)
    old = TOTP.activate(lucie, generate_totp_secret()).instance
    reenrol.reenrolment_start(user=lucie, acting_user=make_advisor(), request=None)
    token = re.search(r"/reenrol/link/([^/\s]+)/", last_email(lucie.email).body).group(1)
    with translation.override("fr"):
        link = reverse("identity:reenrol_link", kwargs={"token": token})
    page = local_page
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": VIRTUAL_AUTHENTICATOR})

    axe_page.goto(link)  # a second browser: checks the first page, then the link is still unused
    axe_check(axe_page)
    page.goto(link)
    expect(page).to_have_url(re.compile(r"/reenrol/phone/$"))
    page.get_by_role("button", name=t("Send the code")).click()
    page.get_by_label(t("Code received")).fill(last_sms_code(str(lucie.mobile_phone)))
    page.get_by_role("button", name=t("Continue")).click()
    page.get_by_label(t("Current password")).fill(PASSWORD)
    page.get_by_role("button", name=t("Continue")).click()
    assert Authenticator.objects.filter(pk=old.pk).exists()
    page.get_by_role("link", name=t("A passkey on this device or a security key")).click()
    page.get_by_label(t("Name of the passkey")).fill("New phone")
    page.wait_for_selector("form[data-webauthn-ready]", state="attached")  # the page script is ready
    page.get_by_role("button", name=t("Create the passkey")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(t("Your new authenticator is set up"))
    [new] = Authenticator.objects.filter(user=lucie)
    assert (new.type, new.wrap().name) == (Authenticator.Type.WEBAUTHN, "New phone")


def test_no_horizontal_scroll_at_320_px(new_page, live_server):
    """Wide tables scroll inside their box; nothing in them may stick out (e.g. an absolute span)."""
    lucie = make_provisioned()
    TOTP.activate(lucie, generate_totp_secret())
    page = new_page(viewport={"width": 320, "height": 640})
    log_in(page, live_server.url, lucie)

    for name in ("identity:security", "identity:authenticator_passkey_add"):
        page.goto(url(name))
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), name
