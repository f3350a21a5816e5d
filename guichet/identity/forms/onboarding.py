"""Forms of the first-login steps and the user agreement; the new-password field other pages reuse.

``NewPasswordField`` carries the policy's live rules (``password_rules``) that
``identity/includes/password_rules.html`` renders as a checklist.
"""

from typing import Any

from allauth.account.fields import SetPasswordField
from django import forms
from django.contrib.auth.password_validation import get_default_password_validators
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from guichet.identity.models import User
from guichet.identity.password_validation import CharacterClassValidator, hint_validate


def password_rules() -> list[dict[str, Any]]:
    """The rules of the configured policy a browser can check as the user types."""
    return [
        rule
        for validator in get_default_password_validators()
        if isinstance(validator, CharacterClassValidator)
        for rule in validator.rules()
    ]


class NewPasswordField(SetPasswordField):
    """allauth's new-password field (policy checked on clean when ``user`` is set),
    with the live rules for the checklist include."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label", _("New password"))
        kwargs.setdefault("help_text", "")
        super().__init__(*args, **kwargs)
        self.widget.attrs.pop("placeholder", None)

    @property
    def password_rules(self) -> list[dict[str, Any]]:
        return password_rules()


class NewPasswordForm(forms.Form):
    """New password twice and an optional hint; the policy is checked against ``user``."""

    password1 = NewPasswordField()
    password2 = forms.CharField(
        label=_("Confirm the new password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": _("Type the new password again.")},
    )
    hint = forms.CharField(
        label=_("Password hint (optional)"),
        required=False,
        max_length=100,
        help_text=_(
            "A few words that remind you of your password, without giving it away. "
            "We send it to you only after checking your identity."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["password1"].user = user  # SetPasswordField checks the whole policy against it
        self.fields["password1"].error_messages["required"] = _("Choose a new password.")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        password, again = cleaned.get("password1"), cleaned.get("password2")
        if password and again is not None and password != again:
            self.add_error("password2", ValidationError(_("The two passwords differ."), code="mismatch"))
        hint = (cleaned.get("hint") or "").strip()
        if hint and password:
            try:
                hint_validate(hint=hint, password=password)
            except ValidationError as error:
                self.add_error("hint", error)
        cleaned["hint"] = hint
        return cleaned


class AgreementForm(forms.Form):
    """``version`` is the version the page showed: a newer one published meanwhile is shown first."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    accept = forms.BooleanField(
        label=_("I have read and accept the user agreement"),
        label_suffix="",
        error_messages={"required": _("Tick the box to accept the user agreement, or decline it.")},
    )
