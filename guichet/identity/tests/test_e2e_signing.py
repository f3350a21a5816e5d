"""Signing in Chromium: an authenticator app, the SMS fallback and a passkey (a real WebAuthn
ceremony with Chromium's DevTools virtual authenticator, verified by fido2 on the server).

The user is logged in with a session cookie made by Django's test client:
these journeys start after the logon, which has its own tests.
"""

import json
import re
import time

import pytest
from allauth.core import context as allauth_context
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from allauth.mfa.webauthn.internal import auth as webauthn_auth
from django.conf import settings
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from guichet.backoffice.tests.factories import away_from_the_next_time_step
from guichet.identity import signing
from guichet.identity.models import SignedProof, User
from guichet.identity.testing import PASSWORD, last_email, last_sms_code, make_provisioned, passkey_click

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]

NEW_EMAIL = "lucie.d@example.org"
NEW_PASSWORD = "Blue-Harbour-7731?"
LUCIE_PHONE = "+32470123412"


def t(msgid: str, language: str = "fr") -> str:
    with translation.override(language):
        return gettext(msgid)


def url(name: str, language: str = "fr", **kwargs) -> str:
    with translation.override(language):
        return reverse(name, kwargs=kwargs or None)


def log_in(page, live_server, user: User) -> None:
    client = Client()
    client.force_login(user)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": key, "url": live_server.url}])


def totp_now(secret: str) -> str:
    """The app's code, typed well inside its 30 s step (one typed as the step ends is refused)."""
    away_from_the_next_time_step()
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def email_change_until_signing(page, new_email: str = NEW_EMAIL) -> None:
    """Security → e-mail change: password, then the code sent to the new address; lands on signing."""
    page.goto(url("identity:contact_email"))
    page.get_by_label(t("New e-mail address")).fill(new_email)
    page.get_by_label(t("Current password")).fill(PASSWORD)
    page.get_by_role("button", name=t("Send the code")).click()
    code = last_email(to=new_email).body
    page.get_by_label(t("Code received")).fill(re.search(r"\b(\d{6})\b", code).group(1))
    page.get_by_role("button", name=t("Confirm")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Confirm the operation"))


def test_change_email_signed_with_an_authenticator_app(page, axe_page, axe_check, live_server):
    lucie = make_provisioned()
    secret = generate_totp_secret()
    TOTP.activate(lucie, secret)
    log_in(page, live_server, lucie)

    email_change_until_signing(page)

    summary = page.locator("dl")
    expect(summary).to_contain_text(t("Change of your e-mail address"))
    expect(summary).to_contain_text(NEW_EMAIL)
    expect(page.locator('[name="action"][value="sms_send"]')).to_have_count(0)
    page.get_by_label(t("6-digit code")).fill("000000")
    page.get_by_role("button", name=t("Confirm")).click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_label(t("6-digit code"))).to_have_attribute("aria-invalid", "true")
    page.get_by_label(t("6-digit code")).fill(totp_now(secret))
    page.get_by_role("button", name=t("Confirm")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(t("Security"))
    expect(page.get_by_role("status")).to_have_text(t("Your e-mail address was changed."))
    lucie.refresh_from_db()
    assert lucie.email == NEW_EMAIL
    assert SignedProof.objects.get().consumed_at is not None

    # The signing page, with an error announced, passes axe.
    challenge = signing.signing_start(
        user=lucie, operation=signing.Operation(kind="email_change", target="x@example.com"), request=None
    )
    log_in(axe_page, live_server, lucie)
    axe_page.goto(url("identity:sign", challenge_id=challenge.pk))
    axe_page.get_by_role("button", name=t("Confirm")).click()
    expect(axe_page.get_by_role("alert")).to_be_visible()
    axe_check(axe_page)


def test_change_password_signed_with_an_sms_code(page, live_server):
    lucie = make_provisioned()
    log_in(page, live_server, lucie)
    page.goto(url("account_change_password"))

    page.get_by_role("button", name=t("Continue")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Confirm the operation"))
    expect(page.locator("dl")).to_contain_text(t("Change of your password"))
    page.get_by_role(
        "button", name=t("Send me a code by SMS to %(number)s") % {"number": "+32 4•• •• •• 12"}
    ).click()
    expect(page.get_by_role("status")).to_contain_text("+32 4•• •• •• 12")
    page.get_by_label(t("6-digit code")).fill(last_sms_code(LUCIE_PHONE))
    page.get_by_role("button", name=t("Confirm")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(t("Change your password"))
    page.get_by_label(t("Current password")).fill(PASSWORD)
    page.locator("#id_password1").fill(NEW_PASSWORD)
    page.get_by_label(t("Confirm the new password")).fill(NEW_PASSWORD)
    page.get_by_role("button", name=t("Change password")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(t("Security"))
    lucie.refresh_from_db()
    assert lucie.check_password(NEW_PASSWORD)


# --- Passkey ---------------------------------------------------------------------------


def virtual_authenticator(page) -> tuple[object, str]:
    """Chromium's virtual platform authenticator (CTAP2, user verification done)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    result = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, result["authenticatorId"]


def passkey_register(page, live_server, user: User) -> None:
    """A real registration ceremony: allauth's server side (fido2) and the browser's virtual authenticator.

    allauth's own "add passkey" page loads its scripts without the CSP nonce, so the
    browser part is driven here; what is stored is exactly what allauth stores.
    """
    host = live_server.url.split("//", 1)[1]
    request = RequestFactory().get("/", HTTP_HOST=host)
    request.session = {}
    request.user = user
    with allauth_context.request_context(request):
        options = webauthn_auth.begin_registration(user, False)
        credential = page.evaluate(
            """async (options) => {
                const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options.publicKey)
                const credential = await navigator.credentials.create({publicKey})
                return credential.toJSON()
            }""",
            json.loads(json.dumps(options)),
        )
        webauthn_auth.complete_registration(credential)
        webauthn_auth.WebAuthn.add(user, "Laptop", credential)


def test_change_email_signed_with_a_passkey(page, live_server):
    lucie = make_provisioned()
    log_in(page, live_server, lucie)
    page.goto(url("identity:security"))
    cdp, authenticator_id = virtual_authenticator(page)
    passkey_register(page, live_server, lucie)
    assert signing.signing_methods(lucie) == ["webauthn"]

    email_change_until_signing(page)
    expect(page.get_by_label(t("6-digit code"))).to_have_count(0)
    passkey_click(page, t("Confirm with my passkey"), error_id="sign-webauthn-error")

    # The ceremony, then two redirects: more than the default wait on a busy machine.
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Security"), timeout=15_000)
    expect(page.get_by_role("status")).to_have_text(t("Your e-mail address was changed."))
    lucie.refresh_from_db()
    assert lucie.email == NEW_EMAIL
    proof = SignedProof.objects.get()
    assert (proof.method, proof.challenge.kind) == ("webauthn", "email_change")
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})["credentials"]
    assert credentials[0]["signCount"] >= 2  # registration and the signature


def test_signing_page_fits_a_320_pixel_screen(new_page, live_server):
    lucie = make_provisioned()
    operation = signing.Operation(
        kind="transfer",
        amount=signing.Decimal("1234567.89"),
        currency="EUR",
        payee_name="Établissements Vandenbroucke-Van Der Straeten SPRL",
        payee_iban="BE68539007547034",
    )
    challenge = signing.signing_start(user=lucie, operation=operation, request=None)
    page = new_page(viewport={"width": 320, "height": 640})
    log_in(page, live_server, lucie)

    page.goto(url("identity:sign", challenge_id=challenge.pk))

    expect(page.locator("dl")).to_contain_text("BE68 5390 0754 7034")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
