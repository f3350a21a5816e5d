"""The notification setting of each customer number a user sees (one select per number)."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from guichet.documents.models import CustomerNumber, Frequency

COLUMN_ID = "notifications-column"


def field_name(number: CustomerNumber) -> str:
    return f"frequency_{number.pk}"


class PreferencesForm(forms.Form):
    def __init__(self, *args: Any, numbers: list[CustomerNumber], current: dict[int, str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        for number in numbers:
            self.fields[field_name(number)] = forms.ChoiceField(
                label=_("Notifications for %(code)s") % {"code": number.code},
                choices=Frequency.choices,
                initial=current[number.pk],
                # Named by its row and column headers: "DL2 123456 Notifications".
                widget=forms.Select(attrs={"aria-labelledby": f"number-{number.pk} {COLUMN_ID}"}),
                error_messages={
                    "required": _("Choose how often you want to hear of new documents."),
                    "invalid_choice": _("Choose one of the settings in the list."),
                },
            )
        self.numbers = numbers

    def choices(self) -> dict[int, str]:
        return {number.pk: self.cleaned_data[field_name(number)] for number in self.numbers}

    def rows(self) -> list[tuple[CustomerNumber, forms.BoundField]]:
        return [(number, self[field_name(number)]) for number in self.numbers]
