"""Enrolment of strong authentication during the login (views.sca_enrol).

A wrong code here only shows that the app is not set up yet: it is not a
failed login and does not count towards the lock (the user has already proven
their password and, in onboarding, their phone). allauth's rate limit on
codes applies.
"""

from typing import Any

from allauth.mfa.adapter import get_adapter as get_mfa_adapter
from allauth.mfa.base.internal.flows import check_rate_limit
from allauth.mfa.totp.internal import auth as totp_auth
from allauth.mfa.webauthn import forms as allauth_webauthn_forms
from allauth.mfa.webauthn.internal import auth as webauthn_auth
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from guichet.identity.forms.codes import CodeForm
from guichet.identity.models import User

NAME_MAX_LENGTH = 60
WRONG_APP_CODE = _(
    "The code is not correct. Check that the app shows the account just added, then try again."
)
PASSKEY_NOT_CREATED = _("The passkey was not created. Try again, or choose an authenticator app.")


class AppEnrolForm(forms.Form):
    """The code the authenticator app shows for the secret it just read."""

    code = forms.RegexField(
        label=_("Code shown by the app"),
        regex=CodeForm.base_fields["code"].regex,
        max_length=12,
        help_text=_("6 digits, changing every 30 seconds"),
        error_messages={
            "required": _("Enter the 6-digit code your authenticator app shows."),
            "invalid": _("The code has 6 digits."),
        },
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": r"\s*\d{6}\s*"}
        ),
    )

    def __init__(self, *args: Any, user: User, secret: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.secret = secret

    def clean_code(self) -> str:
        clear_rate_limit = check_rate_limit(self.user)
        code = self.cleaned_data["code"].strip()
        if not totp_auth.validate_totp_code(self.secret, code):
            raise ValidationError(WRONG_APP_CODE, code="incorrect_code")
        clear_rate_limit()
        return code


class PasskeyEnrolForm(forms.Form):
    """The passkey's name and the browser's answer to the registration ceremony (a hidden field)."""

    name = forms.CharField(
        label=_("Name of this passkey"),
        max_length=NAME_MAX_LENGTH,
        required=False,
        help_text=_("To recognise it later, for example “Work laptop”."),
    )
    # Errors of a hidden field would not reach the error summary: they are the form's own.
    credential = forms.JSONField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["name"].widget.attrs.update(autocomplete="off")

    def clean_name(self) -> str:
        return self.cleaned_data["name"].strip() or str(_("Passkey"))

    def clean(self) -> dict[str, Any]:
        cleaned_data = super().clean()
        credential = cleaned_data.get("credential")
        if "credential" in self.errors or not credential:
            self.errors.pop("credential", None)
            raise ValidationError(PASSKEY_NOT_CREATED, code="passkey_not_created")
        try:
            webauthn_auth.parse_registration_response(credential)
            webauthn_auth.complete_registration(credential)
        except ValidationError:
            raise ValidationError(PASSKEY_NOT_CREATED, code="passkey_not_created") from None
        return cleaned_data


class AuthenticateWebAuthnForm(allauth_webauthn_forms.AuthenticateWebAuthnForm):
    """allauth's passkey step, answering a malformed assertion like a wrong one
    (allauth lets a missing field through as a KeyError, a server error)."""

    def clean_credential(self):
        try:
            return super().clean_credential()
        except (KeyError, AttributeError, IndexError):
            raise get_mfa_adapter().validation_error("incorrect_code") from None
