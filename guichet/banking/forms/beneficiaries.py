"""Adding a beneficiary. The form only shapes the input; the checks (IBAN, BIC, duplicates, rights)
are the service's (``banking.beneficiaries``), whose errors the view attaches to the fields."""

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from guichet.entities.models import Entity


class BeneficiaryForm(forms.Form):
    entity = forms.ModelChoiceField(
        label=_("Business client"), queryset=Entity.objects.none(), empty_label=None
    )
    name = forms.CharField(
        label=_("Name"), max_length=70, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    iban = forms.CharField(
        label=_("IBAN"),
        max_length=50,
        help_text=_("For example BE68 5390 0754 7034. Spaces do not matter."),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}
        ),
    )
    bic = forms.CharField(
        label=_("BIC (optional)"),
        required=False,
        max_length=15,
        help_text=_("Filled in from the IBAN's bank when left empty."),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}
        ),
    )

    def __init__(self, *args: object, entities: QuerySet[Entity], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["entity"]
        field.queryset = entities
        if len(entities) == 1:
            # One entity: no choice to make; the field stays for the service but is not shown.
            field.initial = entities[0].pk
            field.widget = forms.HiddenInput()
