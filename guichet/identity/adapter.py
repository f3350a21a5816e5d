"""Guichet's bank-specific rules plugged into django-allauth's extension points.

- lockout: a locked access is refused before any password check, failures are
  counted (``lockout``; a wrong second factor too, see ``mfa_adapter``), and
  only a complete login ends the run of failures: a right password alone does
  not, or password + wrong code could be tried forever;
- login stages: allauth's second factor for users with a passkey or an
  authenticator app, onboarding with a temporary password (code by SMS, new
  password and hint), enrolment of strong authentication where the policy
  requires it, then the user agreement (``stages``);
- e-mails go through the durable notifications outbox, in the recipient's language;
- passwords are set through ``services.password_set`` (history, hint, e-mail);
- no self-service sign-up: accounts are provisioned or come from the lender;
- a business account logs on with its company number in any usual spelling, or its e-mail address
  (``login_identifier``, called by the login form).
"""

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from stdnum.be import vat as belgian_vat

from guichet.audit.services import record
from guichet.identity import lockout, services
from guichet.identity.models import AccountKind, User
from guichet.notifications.services import notify


def company_user_id(value: str) -> str | None:
    """The user ID of a business account for a Belgian company number in any usual spelling
    ("0403.170.701", "BE 0403 170 701", "be0403170701", "403170701"): ``BE0403170701``. None when
    ``value`` is not a valid Belgian enterprise number (a wrong check digit included)."""
    text = (value or "").strip()
    if not text or len(text) > 20 or not belgian_vat.is_valid(text):
        return None
    return "BE" + belgian_vat.compact(text)


def login_identifier(value: str) -> str:
    """What the login form looks up: a Belgian company number becomes the business account's user ID,
    and the e-mail address of exactly one business account becomes that account's user ID.

    Anything else, and any identifier that is itself some account's user ID, is left as typed: a
    wrong check digit is then an unknown user ID, answered like a wrong password (no enumeration).
    """
    text = (value or "").strip()
    if not text or User.objects.filter(user_id__iexact=text).exists():
        return text
    if (company := company_user_id(text)) is not None:
        return company
    if "@" in text:
        business = list(
            User.objects.filter(kind=AccountKind.BUSINESS, email__iexact=text).values_list(
                "user_id", flat=True
            )[:2]
        )
        if len(business) == 1:
            return business[0]
    return text


LOCKED_MESSAGE = _(
    "Your access is locked after too many failed attempts. "
    "Use “Reset logon credentials” to unlock it, or contact us."
)


class AccountAdapter(DefaultAccountAdapter):
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "username_password_mismatch": _("The user ID or the password is not correct."),
        "too_many_login_attempts": _("Too many attempts from this connection. Please wait a few minutes."),
    }

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def get_login_stages(self) -> list[str]:
        return [
            *super().get_login_stages(),
            "guichet.identity.stages.OnboardingStage",
            "guichet.identity.stages.ScaEnrolStage",
            "guichet.identity.stages.AgreementStage",
        ]

    # --- Lockout -----------------------------------------------------------

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        if lockout.failure_state(credentials.get("username") or "").locked:
            raise ValidationError(LOCKED_MESSAGE, code="locked")
        super().pre_authenticate(request, **credentials)

    def authentication_failed(self, request: HttpRequest, **credentials: Any) -> None:
        lockout.login_failure_record(identifier=credentials.get("username") or "", request=request)

    def login(self, request: HttpRequest, user: User) -> None:
        # One commit for last_login and the audit event.
        # Every step passed (password, second factor, onboarding): the run of failures ends.
        with transaction.atomic():
            super().login(request, user)
            lockout.login_failures_reset(user=user)
            record(action="identity.login", actor=user, target=user, request=request)

    def logout(self, request: HttpRequest) -> None:
        user = request.user if request.user.is_authenticated else None
        if user is not None:
            record(action="identity.logout", actor=user, target=user, request=request)
        super().logout(request)

    # --- Passwords ---------------------------------------------------------

    def set_password(self, user: User, password: str) -> None:
        services.password_set(user=user, password=password, request=context.request, reason="allauth")

    # --- E-mail ------------------------------------------------------------

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """allauth's e-mails (the password-reset code) through our outbox, as
        ``notifications/account_<name>/`` templates in the recipient's language."""
        name = "account_" + template_prefix.rsplit("/", 1)[-1]
        user = context.get("user")
        if user is None:
            # Consumers (allauth's password reset by code) are found by their
            # identifier, which is the address; then any account with it.
            user = (
                User.objects.filter(user_id__iexact=email).first()
                or User.objects.filter(email__iexact=email).order_by("pk").first()
            )
        safe_context = {"code": context.get("code", ""), "user_id": getattr(user, "user_id", "")}
        notify(template=name, context=safe_context, user=user, email=email, sensitive="code" in context)
