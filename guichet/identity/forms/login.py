"""The login form: allauth's, with the bank's messages for a lock and the last attempt, and a business
account's company number (any usual spelling) or e-mail address turned into its user ID."""

from allauth.account.forms import LoginForm as AllauthLoginForm
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from guichet.identity import lockout
from guichet.identity.adapter import LOCKED_MESSAGE, login_identifier

LAST_ATTEMPT_MESSAGE = _(
    "The user ID or the password is not correct. One attempt is left before your access is locked."
)


class LoginForm(AllauthLoginForm):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["login"].label = _("User ID or e-mail address")
        self.fields["login"].widget.attrs.pop("placeholder", None)
        self.fields["login"].widget.attrs.update(
            {"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}
        )
        self.fields["password"].widget.attrs.pop("placeholder", None)
        self.fields["password"].help_text = ""
        self.fields["remember"] = forms.BooleanField(
            label=_("Remember my user ID on this device"), required=False, label_suffix=""
        )

    def clean_login(self) -> str:
        # Before allauth's checks, so that the look-up, the rate limits and the lockout all count
        # against the account's own user ID.
        return login_identifier(super().clean_login())

    def clean(self):
        try:
            return super().clean()
        except ValidationError as error:
            if getattr(error, "code", None) in {"locked", "too_many_login_attempts"}:
                raise
            state = lockout.failure_state(self.cleaned_data.get("login") or "")
            if state.locked:
                raise ValidationError(LOCKED_MESSAGE, code="locked") from None
            if state.warn:
                raise ValidationError(LAST_ATTEMPT_MESSAGE, code="last_attempt") from None
            raise
