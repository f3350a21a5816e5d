"""Helpers for tests of any app that needs customers in a given identity state."""

import re
from typing import TYPE_CHECKING

from django.conf import settings
from django.core import mail

from guichet.identity.models import AccountKind, User, UserAgreement
from guichet.notifications.sms import locmem
from guichet.notifications.testing import deliveries_run

if TYPE_CHECKING:
    from guichet.identity import signing

PASSWORD = "Correct-Horse-2026!"  # noqa: S105 (test data)
TEMPORARY_PASSWORD = "Tmp-Pass-4821!"  # noqa: S105 (test data)


def make_provisioned(
    *,
    user_id: str = "CC100001",
    email: str = "lucie.dubois@example.com",
    phone: str = "+32470123412",
    alternate_phone: str = "",
    temporary: bool = False,
    password: str | None = None,
    **extra: object,
) -> User:
    """A provisioned user, set up (``PASSWORD``) or with ``TEMPORARY_PASSWORD`` to onboard."""
    from django.utils import timezone

    extra.setdefault("first_name", "Lucie")
    extra.setdefault("last_name", "Dubois")
    user = User.objects.create_user(
        user_id,
        email,
        password=password or (TEMPORARY_PASSWORD if temporary else PASSWORD),
        mobile_phone=phone,
        alternate_mobile_phone=alternate_phone,
        kind=AccountKind.PROVISIONED,
        **extra,
    )
    if temporary:
        from datetime import timedelta

        user.password_is_temporary = True
        user.password_expires_at = timezone.now() + timedelta(days=settings.GUICHET_TEMPORARY_PASSWORD_DAYS)
        user.save(update_fields=["password_is_temporary", "password_expires_at"])
    return user


def make_consumer(*, email: str = "camille.martin@example.com", password: str | None = None) -> User:
    """A consumer record as the lender's intake creates it; ``password`` set means already onboarded."""
    address = email.lower()
    return User.objects.create_user(address, address, password=password, kind=AccountKind.CONSUMER)


def agreement_publish(*, version: int = 1) -> list[UserAgreement]:
    """One version of the user agreement in every language."""
    return [
        UserAgreement.objects.create(
            version=version,
            language=code,
            title=f"User agreement v{version} ({code})",
            text=f"Article 1 ({code}, v{version}). You keep your credentials secret.",
        )
        for code, _name in settings.LANGUAGES
    ]


def last_sms_code(phone: str | None = None) -> str:
    """Delivers what is queued, then returns the 6-digit code of the last SMS (to ``phone``)."""
    deliveries_run()
    for sms in reversed(locmem.outbox):
        match = re.search(r"\b(\d{6})\b", sms.text)
        if match and (phone is None or str(sms.to) == str(phone)):
            return match.group(1)
    raise AssertionError(f"no SMS code sent to {phone or 'anyone'}")


def last_email(to: str | None = None) -> mail.EmailMessage:
    """Delivers what is queued, then returns the last e-mail (to ``to``)."""
    deliveries_run()
    for message in reversed(mail.outbox):
        if to is None or to in message.to:
            return message
    raise AssertionError(f"no e-mail sent to {to or 'anyone'}")


def signed_proof(user: User, operation: "signing.Operation") -> str:
    """A fresh proof that ``user`` signed ``operation`` (for service tests; the browser tests sign for real).

    Goes through ``signing_start`` so the challenge is the real one, then
    records the signature as ``signing_verify`` would after a right answer.
    """
    from django.utils import timezone

    from guichet.identity import signing
    from guichet.identity.models import SignedProof, SigningChallenge, SigningMethod

    challenge = signing.signing_start(user=user, operation=operation, request=None)
    SigningChallenge.objects.filter(pk=challenge.pk).update(used_at=timezone.now())
    return str(SignedProof.objects.create(challenge=challenge, method=SigningMethod.TOTP).pk)


def passkey_click(page, button_name: str, *, error_id: str, attempts: int = 2) -> None:
    """Clicks a passkey button in a browser test once its script is bound, as a user would.

    The page's script marks its form ``data-webauthn-ready`` after binding the
    button. On a heavily loaded machine Chromium's virtual authenticator can
    reject a ceremony (the page then shows its "Try again" message): the user
    path is to click again, which is what this does, once.
    """
    from playwright.sync_api import expect

    page.wait_for_selector("form[data-webauthn-ready]", state="attached")
    error = page.locator(f"#{error_id}")
    for attempt in range(attempts):
        page.get_by_role("button", name=button_name).click()
        try:
            page.wait_for_function(
                f"() => !document.getElementById({error_id!r}) "
                f"|| !document.getElementById({error_id!r}).hidden",
                timeout=15_000,
            )
        except Exception:
            return
        if attempt + 1 < attempts and error.count() and error.is_visible():
            expect(page.get_by_role("button", name=button_name)).to_be_enabled()
            continue
        return
