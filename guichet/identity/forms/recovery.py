"""The first step of each recovery flow; the later steps reuse forms.codes and forms.onboarding."""

from django import forms
from django.utils.translation import gettext_lazy as _


def _email_field() -> forms.EmailField:
    return forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        help_text=_("The address at which you receive our e-mails."),
        error_messages={
            "required": _("Enter your e-mail address."),
            "invalid": _("Enter an e-mail address like name@example.com."),
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class UserIdRequestForm(forms.Form):
    """Forgot your User ID?"""

    email = _email_field()


class CredentialsResetRequestForm(forms.Form):
    """Reset logon credentials?"""

    user_id = forms.CharField(
        label=_("User ID"),
        max_length=150,
        error_messages={"required": _("Enter your user ID.")},
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )
    email = _email_field()
