"""Forms of the pay-later space: they only validate what the customer chose; the rules are the services'."""

from django import forms
from django.utils.translation import gettext_lazy as _

from guichet.paylater.regularisation import Option


class RegularisationForm(forms.Form):
    """ "Régulariser votre impayé": pay in 1, 2 or 3 payments (the counts the amount due allows)."""

    count = forms.TypedChoiceField(
        label=_("How do you want to pay?"),
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose how you want to pay."),
            "invalid_choice": _("Choose how you want to pay."),
        },
    )

    def __init__(self, *args, options: list[Option], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["count"].choices = [(str(option.count), str(option.count)) for option in options]
