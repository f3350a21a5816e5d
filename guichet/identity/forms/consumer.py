"""Consumers' password reset by code (allauth): only consumer accounts are looked up."""

from allauth.account.forms import ResetPasswordForm, ResetPasswordKeyForm
from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from guichet.identity.forms.onboarding import password_rules
from guichet.identity.models import AccountKind

# Set by "First login" (views.consumer) so the shared code and password pages
# speak of a first password; "Forgot password" clears it.
FIRST_LOGIN_SESSION_KEY = "guichet_consumer_first_login"


class ConsumerResetPasswordForm(ResetPasswordForm):
    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        error_messages={
            "required": _("Enter your e-mail address."),
            "invalid": _("Enter an e-mail address like name@example.com."),
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def clean_email(self) -> str:
        email = super().clean_email()
        self.users = [user for user in self.users if user.kind == AccountKind.CONSUMER]
        # One access per address: the consumer whose identifier is this address first.
        self.users.sort(key=lambda user: user.user_id != email.strip().lower())
        return email

    def save(self, request: HttpRequest, *, first_login: bool = False, **kwargs) -> str:
        request.session[FIRST_LOGIN_SESSION_KEY] = first_login
        return super().save(request, **kwargs)


class ConsumerResetPasswordKeyForm(ResetPasswordKeyForm):
    """allauth's new-password form with the live rules checklist (``password_rules``)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["password1"].password_rules = password_rules()
        self.fields["password1"].label = _("New password")
        self.fields["password2"].label = _("Confirm the new password")
        for name in ("password1", "password2"):
            self.fields[name].widget.attrs.pop("placeholder", None)
            self.fields[name].help_text = ""
