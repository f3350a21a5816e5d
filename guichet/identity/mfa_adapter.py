"""allauth.mfa's adapter: our labels, and the second factor of a login in the one failure counter.

A wrong authenticator code or a failed passkey at the login's second step
(allauth's ``AuthenticateView``, login stage ``mfa_authenticate``) counts as a
failed login on the same counter as a wrong password (``lockout``, PSD2 RTS
art. 4). allauth raises exactly one ``validation_error("incorrect_code")`` per
failed attempt there, for both methods, so that is where it is counted: the
one hook both of allauth's login forms share. The last attempt before the lock
is announced; at the lock the pending login is dropped, so the next post goes
back to the login page, where the lock is explained again.

Failures elsewhere (the enrolment's check of a new app, the Security page,
signing) are not counted here: those views count their own.
"""

from allauth.account.internal.stagekit import clear_login
from allauth.core import context
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.internal.constants import LoginStageKey
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from guichet.audit.services import record
from guichet.identity import crypto, lockout

WRONG_SECOND_FACTOR = _("The code is not correct, or your passkey could not be checked.")
LAST_ATTEMPT_MESSAGE = _(
    "The code is not correct, or your passkey could not be checked. "
    "One attempt is left before your access is locked."
)


def _login_stage_user(request) -> AbstractBaseUser | None:
    """The user of a pending login at its strong-authentication step, else None."""
    stage = getattr(request, "_login_stage", None) if request is not None else None
    if stage is None or stage.key != LoginStageKey.MFA_AUTHENTICATE.value:
        return None
    return stage.login.user


class MFAAdapter(DefaultMFAAdapter):
    # Authenticator-app secrets are encrypted at rest like password hints
    # (identity.crypto: Fernet, rotatable keys).
    def encrypt(self, text: str) -> str:
        return crypto.encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return crypto.decrypt(encrypted_text)

    error_messages = {
        **DefaultMFAAdapter.error_messages,
        "incorrect_code": WRONG_SECOND_FACTOR,
    }

    def _get_user_identifier(self, user: AbstractBaseUser) -> str:
        # What authenticator apps and passkey managers show: the user ID, never the e-mail.
        return user.get_username()

    def validation_error(self, code, *args) -> ValidationError:
        request = context.request
        user = _login_stage_user(request) if code == "incorrect_code" else None
        if user is None:
            return super().validation_error(code, *args)
        return self._login_second_factor_failed(request, user)

    def _login_second_factor_failed(self, request, user: AbstractBaseUser) -> ValidationError:
        from guichet.identity.adapter import LOCKED_MESSAGE

        state = lockout.login_failure_record(identifier=user.user_id, request=request)
        with transaction.atomic():
            record(
                action="identity.sca_failed",
                actor=user,
                target=user,
                request=request,
                details={"purpose": "login", "failures": state.failures},
            )
        if state.locked:
            clear_login(request)
            return ValidationError(LOCKED_MESSAGE, code="locked")
        if state.warn:
            return ValidationError(LAST_ATTEMPT_MESSAGE, code="last_attempt")
        return ValidationError(WRONG_SECOND_FACTOR, code="incorrect_code")
