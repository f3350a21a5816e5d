"""Forms to add, rename and remove a passkey or an authenticator app, on the Security page
and in the re-enrolment that an advisor starts.

On the Security page, adding, renaming and removing are signed first with the
signing service (identity.signing, views/authenticators.py): no password is
asked there. The re-enrolment asks for the password (``PasswordConfirmForm``).
A wrong password counts as one failed attempt on the account
(``lockout.login_failure_record``): one counter across every method.
"""

from typing import Any

from allauth.core import context
from allauth.mfa.totp.internal import auth as totp_auth
from allauth.mfa.webauthn.internal import auth as webauthn_auth
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from guichet.identity import lockout
from guichet.identity.forms.codes import CodeForm
from guichet.identity.forms.security import WRONG_PASSWORD, CurrentPasswordField
from guichet.identity.models import User

NAME_MAX_LENGTH = 60
WRONG_APP_CODE = _("The code is not correct. Enter the code your authenticator app shows now.")
PASSKEY_NOT_CREATED = _("The passkey was not created. Try again, or use another device.")


def _failure(user: User) -> None:
    lockout.login_failure_record(identifier=user.user_id, request=context.request)


def app_code_field() -> forms.RegexField:
    field = CodeForm.base_fields["code"]
    return forms.RegexField(
        label=_("Code shown by the app"),
        regex=field.regex,
        max_length=12,
        help_text=_("6 digits, changing every 30 seconds"),
        error_messages={
            "required": _("Enter the 6-digit code your authenticator app shows."),
            "invalid": _("The code has 6 digits."),
        },
        widget=forms.TextInput(attrs=dict(field.widget.attrs)),
    )


class PasswordConfirmForm(forms.Form):
    """The current password; skipped (``password_required=False``) where the step is proven otherwise."""

    current_password = CurrentPasswordField()

    def __init__(self, *args: Any, user: User, password_required: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        if not password_required:
            del self.fields["current_password"]

    def clean_current_password(self) -> str:
        password = self.cleaned_data["current_password"]
        if not self.user.check_password(password):
            _failure(self.user)
            raise ValidationError(WRONG_PASSWORD, code="wrong_password")
        return password

    def password_ok(self) -> bool:
        return "current_password" not in self.fields or "current_password" in self.cleaned_data


class AppAddForm(PasswordConfirmForm):
    """The code the new app shows for ``secret``: proves the app holds it before it is saved.

    No password by default (the Security page signs the addition first).
    """

    code = app_code_field()
    field_order = ["code", "current_password"]

    def __init__(self, *args: Any, secret: str, password_required: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, password_required=password_required, **kwargs)
        self.secret = secret

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        code = (cleaned.get("code") or "").strip()
        if code and self.password_ok() and not totp_auth.validate_totp_code(self.secret, code):
            self.add_error("code", ValidationError(WRONG_APP_CODE, code="wrong_code"))
        return cleaned


def passkey_name_field() -> forms.CharField:
    return forms.CharField(
        label=_("Name of the passkey"),
        max_length=NAME_MAX_LENGTH,
        required=False,
        help_text=_("To recognise it in the list, for example “Work laptop” or “Security key”."),
    )


def passkey_name(name: str) -> str:
    """The name given, or "Passkey" (in the active language)."""
    return (name or "").strip() or str(_("Passkey"))


class PasskeyNameForm(forms.Form):
    """The Security page's first step of adding a passkey: its name, which the user then signs."""

    name = passkey_name_field()

    def clean_name(self) -> str:
        return passkey_name(self.cleaned_data.get("name", ""))


class PasskeyAddForm(PasswordConfirmForm):
    """The browser's answer to the registration ceremony, checked against the challenge in the session.

    No password by default (the Security page signs the addition first).
    """

    name = passkey_name_field()
    credential = forms.JSONField(required=False, widget=forms.HiddenInput)
    field_order = ["name", "current_password"]

    def __init__(self, *args: Any, password_required: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, password_required=password_required, **kwargs)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        credential = cleaned.get("credential")
        if not self.password_ok():
            return cleaned
        if not credential:
            raise ValidationError(PASSKEY_NOT_CREATED, code="no_credential")
        try:
            webauthn_auth.parse_registration_response(credential)
            webauthn_auth.complete_registration(credential)
        except (ValidationError, ValueError, TypeError, KeyError) as error:
            raise ValidationError(PASSKEY_NOT_CREATED, code="passkey_refused") from error
        cleaned["name"] = passkey_name(cleaned.get("name") or "")
        return cleaned


class RenameForm(forms.Form):
    name = forms.CharField(
        label=_("New name"),
        max_length=NAME_MAX_LENGTH,
        error_messages={"required": _("Enter a name.")},
    )

    def clean_name(self) -> str:
        return self.cleaned_data["name"].strip()
