"""Forms of the "Shared users" page: who (name, e-mail, language) and which of the primary
contact's customer numbers they see. The services check it all again."""

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from guichet.documents.models import CustomerNumber
from guichet.documents.sharing import NAME_MAX


def number_label(number: CustomerNumber) -> str:
    return f"{number.code} · {number.customer.name} ({number.issuer.name})"


class SharedUserForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=NAME_MAX,
        error_messages={"required": _("Enter the shared user's name.")},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        help_text=_("They receive an invitation at this address; it becomes their user ID."),
        error_messages={
            "required": _("Enter the shared user's e-mail address: they receive their invitation there."),
            "invalid": _("Enter a valid e-mail address, like name@example.com."),
        },
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    language = forms.ChoiceField(
        label=_("Their language"),
        choices=settings.LANGUAGES,
        help_text=_("The language of their e-mails."),
        error_messages={"invalid_choice": _("Choose one of the languages in the list.")},
    )
    customer_numbers = forms.TypedMultipleChoiceField(
        label=_("Customer numbers they see"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": _("Choose among your customer numbers.")},
    )

    def __init__(self, *args: Any, numbers: list[CustomerNumber], edit: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer_numbers"].choices = [(n.pk, number_label(n)) for n in numbers]
        if edit:
            del self.fields["email"]

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()
