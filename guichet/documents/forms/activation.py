"""Forms of the activation page: a new password twice (identity's policy), or the password of the
account the invited address already has."""

from django import forms
from django.utils.translation import gettext_lazy as _

from guichet.identity.forms.onboarding import NewPasswordForm
from guichet.identity.models import User


class ActivationForm(NewPasswordForm):
    """Identity's new-password form, checked against the account being created (``user``, unsaved)."""

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, user=user, **kwargs)
        self.fields["password1"].label = _("Password")
        self.fields["password1"].error_messages["required"] = _("Choose a password.")
        self.fields["password2"].label = _("Confirm the password")
        self.fields["password2"].error_messages["required"] = _("Type the password again.")


class AccountPasswordForm(forms.Form):
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": _("Enter the password of your account.")},
    )
