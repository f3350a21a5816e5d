"""The two steps every SMS-code flow shares: pick a masked number, type the code."""

from django import forms
from django.utils.translation import gettext_lazy as _


class PhoneChoiceForm(forms.Form):
    """``choices`` are (index, masked number): the full number never reaches the page."""

    phone = forms.TypedChoiceField(
        label=_("Send the code to"),
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose the mobile number to send the code to.")},
    )

    def __init__(self, *args, masked_numbers: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["phone"].choices = list(enumerate(masked_numbers))
        if len(masked_numbers) == 1:
            self.fields["phone"].initial = 0


class CodeForm(forms.Form):
    code = forms.RegexField(
        label=_("Code received"),
        regex=r"^\s*\d{6}\s*$",
        max_length=12,
        help_text=_("6 digits"),
        error_messages={
            "required": _("Enter the 6-digit code you received."),
            "invalid": _("The code has 6 digits."),
        },
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": r"\s*\d{6}\s*"}
        ),
    )
