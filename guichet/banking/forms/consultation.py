"""The transactions filter: a GET form, so that the filters live in the URL (bookmarkable, shareable,
kept by the pagination links and the CSV export)."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from guichet.banking.selectors import Direction, TransactionFilter

MAX_AMOUNT = Decimal("9999999999999999.99")


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class TransactionFilterForm(forms.Form):
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput())
    amount_min = forms.DecimalField(
        label=_("Minimum amount"),
        required=False,
        min_value=0,
        max_value=MAX_AMOUNT,
        decimal_places=2,
        localize=True,
        help_text=_("Without sign: debits and credits alike."),
    )
    amount_max = forms.DecimalField(
        label=_("Maximum amount"),
        required=False,
        min_value=0,
        max_value=MAX_AMOUNT,
        decimal_places=2,
        localize=True,
    )
    direction = forms.ChoiceField(
        label=_("Direction"),
        required=False,
        choices=[
            (Direction.ALL, _("Debits and credits")),
            (Direction.DEBITS, _("Debits only")),
            (Direction.CREDITS, _("Credits only")),
        ],
    )
    text = forms.CharField(
        label=_("Text"),
        required=False,
        max_length=100,
        help_text=_("Searches the counterparty, the description and the reference."),
    )

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date must be on or after the start date."))
        low, high = data.get("amount_min"), data.get("amount_max")
        if low is not None and high is not None and low > high:
            self.add_error("amount_max", _("The maximum amount must be at least the minimum amount."))
        return data

    def filters(self) -> TransactionFilter:
        """The filters of a valid form."""
        data = self.cleaned_data
        return TransactionFilter(
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            amount_min=data.get("amount_min"),
            amount_max=data.get("amount_max"),
            text=data.get("text") or "",
            direction=data.get("direction") or Direction.ALL,
        )
