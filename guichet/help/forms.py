import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from guichet.help.models import MESSAGE_MAX_LENGTH, Topic

# 13 to 19 digits, optionally grouped by spaces or dashes, as people type card numbers.
_CARD_NUMBER = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def contains_card_number(text: str) -> bool:
    return any(_luhn_valid(re.sub(r"\D", "", m.group())) for m in _CARD_NUMBER.finditer(text))


class ContactForm(forms.Form):
    name = forms.CharField(
        label=_("Your name"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label=_("Your e-mail address"),
        help_text=_("We send our acknowledgement and our answer to this address."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    reference = forms.CharField(
        label=_("Customer reference (optional)"),
        help_text=_("Your user ID, customer number or order number, if you have one."),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    topic = forms.ChoiceField(
        label=_("Topic"),
        choices=[("", _("Choose a topic")), *Topic.choices],
    )
    message = forms.CharField(
        label=_("Your message"),
        help_text=_(
            "At most 2,000 characters. Never write a password, a one-time code or a card number: "
            "we will never ask you for them."
        ),
        max_length=MESSAGE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    # Honeypot: hidden by the stylesheet, so people never fill it in and naive bots do.
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")  # labels name their fields; no trailing colon
        super().__init__(*args, **kwargs)

    def clean_name(self) -> str:
        return " ".join(self.cleaned_data["name"].split())

    def clean_reference(self) -> str:
        return self.cleaned_data["reference"].strip()

    def clean_message(self) -> str:
        message: str = self.cleaned_data["message"]
        if contains_card_number(message):
            raise ValidationError(
                _("Please remove the card number from your message: we never need it."),
                code="card_number",
            )
        return message

    @property
    def is_bot(self) -> bool:
        return bool(self.cleaned_data.get("website"))
