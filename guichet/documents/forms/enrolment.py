"""Forms of the enrolment with an activation code: the code, the e-mail address to confirm, and the
code an existing account adds. The services check everything again; the password step reuses the
activation page's form (``forms.activation.ActivationForm``)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from guichet.documents.codes import CODE_LENGTH, GROUP


class ActivationCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Activation code"),
        # Room for the groups' dashes or spaces; the service normalises what is typed.
        max_length=CODE_LENGTH + 2 * (CODE_LENGTH // GROUP),
        help_text=_(
            "It is on the letter the issuer sent you: 16 letters and digits, like ABCD-EFGH-JKMN-PQRS."
        ),
        error_messages={"required": _("Enter the activation code from your letter.")},
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )


class EnrolmentEmailForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        help_text=_("We send the link to choose your password to this address. Correct it if needed."),
        error_messages={
            "required": _("Enter your e-mail address: we send the link to choose your password there."),
            "invalid": _("Enter a valid e-mail address, like name@example.com."),
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()
