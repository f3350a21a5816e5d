"""The documents filter: a GET form, so that the filters live in the URL (bookmarkable, kept by the
sort and pagination links and by the CSV export)."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from guichet.documents.models import CustomerNumber, DocumentKind
from guichet.documents.selectors import DocumentFilter

MAX_AMOUNT = Decimal("999999999999.99")


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class DocumentFilterForm(forms.Form):
    date_from = forms.DateField(label=_("Issued from"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("Issued until"), required=False, widget=DateInput())
    number = forms.CharField(
        label=_("Document number"),
        required=False,
        max_length=64,
        help_text=_("The whole number or its beginning."),
    )
    kind = forms.ChoiceField(
        label=_("Type"),
        required=False,
        choices=[("", _("Invoices and credit notes")), *DocumentKind.choices],
    )
    amount_min = forms.DecimalField(
        label=_("Minimum amount incl. VAT"),
        required=False,
        min_value=0,
        max_value=MAX_AMOUNT,
        decimal_places=2,
        localize=True,
    )
    amount_max = forms.DecimalField(
        label=_("Maximum amount incl. VAT"),
        required=False,
        min_value=0,
        max_value=MAX_AMOUNT,
        decimal_places=2,
        localize=True,
    )
    customer = forms.ChoiceField(label=_("Customer number"), required=False)

    def __init__(self, *args, customer_numbers: list[CustomerNumber], list_url: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if list_url:
            # Above the list (the seed's drop-down over the amounts): with htmx it applies at once.
            self.fields["customer"].widget.attrs.update(
                {
                    "hx-get": list_url,
                    "hx-trigger": "change",
                    "hx-include": "closest form",
                    "hx-target": "#documents",
                    "hx-swap": "outerHTML",
                    "hx-push-url": "true",
                }
            )
        self.fields["customer"].choices = [
            ("", _("All customer numbers")),
            *((str(number.pk), number.code) for number in customer_numbers),
        ]

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date must be on or after the start date."))
        low, high = data.get("amount_min"), data.get("amount_max")
        if low is not None and high is not None and low > high:
            self.add_error("amount_max", _("The maximum amount must be at least the minimum amount."))
        return data

    def filters(self) -> DocumentFilter:
        """The filters of a valid form."""
        data = self.cleaned_data
        return DocumentFilter(
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            number=(data.get("number") or "").strip(),
            kind=data.get("kind") or "",
            amount_min=data.get("amount_min"),
            amount_max=data.get("amount_max"),
            customer_number=int(data["customer"]) if data.get("customer") else None,
        )
