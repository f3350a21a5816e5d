"""Forms of credit transfers and batches. They shape the input and check each field with the same
functions as the services (``banking.transfers``), so a field's error sits next to it; the services
check everything again, with the rights, inside their transaction."""

import re
from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.utils import ErrorDict
from django.utils import timezone
from django.utils.formats import get_format
from django.utils.translation import gettext_lazy as _

from guichet.banking import transfers
from guichet.banking.models import Beneficiary
from guichet.entities import access
from guichet.entities.models import BankAccount, Right

CODE_ATTRS = {"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}
ROWS_ADDED = 5


def managed_accounts(user: Any) -> QuerySet[BankAccount]:
    return (
        access.accounts(user, Right.MANAGEMENT)
        .select_related("entity")
        .order_by("entity__name", "label", "pk")
    )


def saved_beneficiaries(user: Any) -> QuerySet[Beneficiary]:
    """The beneficiaries of the entities on whose accounts the user holds the management right."""
    entities = access.accounts(user, Right.MANAGEMENT).values("entity_id")
    return Beneficiary.objects.filter(entity_id__in=entities).select_related("entity").order_by("name", "pk")


def amount_parse(text: str) -> str:
    """The amount as typed in the page's language (1 234,56 · 1.234,56 · 1,234.56 · 1234.56) in the
    form ``Decimal`` reads; a lone other separator followed by 1 or 2 digits is taken as decimal."""
    compact = re.sub(r"[\s'\u00a0\u202f]", "", text or "")
    decimal = get_format("DECIMAL_SEPARATOR")
    other = "." if decimal == "," else ","
    if decimal not in compact and re.fullmatch(rf"-?\d+{re.escape(other)}\d{{1,2}}", compact):
        compact = compact.replace(other, decimal)
    return compact.replace(other, "").replace(decimal, ".")


class AccountChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: BankAccount) -> str:
        return f"{obj.label} · {obj.iban_display} ({obj.entity.name})"


class BeneficiaryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Beneficiary) -> str:
        iban = " ".join(obj.iban[i : i + 4] for i in range(0, len(obj.iban), 4))
        return f"{obj.name} · {iban}"


def _checked(check: Callable[..., Any], value: Any) -> Any:
    """Runs one of the services' checks; its refusal becomes the field's error."""
    try:
        return check(value)
    except transfers.TransferError as error:
        raise ValidationError(error.message, code=str(error.code)) from None


def _text(label: Any, *, max_length: int, help_text: Any = "", attrs: dict[str, str] | None = None) -> Any:
    return forms.CharField(
        label=label,
        required=False,
        max_length=max_length,
        help_text=help_text,
        widget=forms.TextInput(attrs=attrs or {"autocomplete": "off"}),
    )


class PaymentFields(forms.Form):
    """The payee and the amount: what a single transfer and a batch line have in common."""

    beneficiary_name = _text(_("Beneficiary's name"), max_length=70)
    beneficiary_iban = _text(
        _("Beneficiary's IBAN"), max_length=50, help_text=_("Spaces do not matter."), attrs=CODE_ATTRS
    )
    beneficiary_bic = _text(_("BIC (optional)"), max_length=15, attrs=CODE_ATTRS)
    amount = _text(_("Amount in euro"), max_length=30, attrs={"inputmode": "decimal", "autocomplete": "off"})
    remittance_information = _text(
        _("Communication (optional)"),
        max_length=140,
        help_text=_("Free text, at most 140 characters. Leave empty when you give a structured reference."),
    )
    structured_reference = _text(
        _("Structured reference (optional)"),
        max_length=40,
        help_text=_("For example +++010/8068/17183+++ or RF18 5390 0754 7034."),
        attrs=CODE_ATTRS,
    )

    def clean_beneficiary_iban(self) -> str:
        value = self.cleaned_data["beneficiary_iban"]
        return _checked(transfers.iban_clean, value) if value.strip() else ""

    def clean_beneficiary_bic(self) -> str:
        return _checked(transfers.bic_clean, self.cleaned_data["beneficiary_bic"])

    def clean_beneficiary_name(self) -> str:
        value = self.cleaned_data["beneficiary_name"]
        return _checked(transfers.name_clean, value) if value.strip() else ""

    def clean_amount(self) -> Any:
        return _checked(transfers.amount_clean, amount_parse(self.cleaned_data["amount"]))

    def clean_remittance_information(self) -> str:
        return _checked(transfers.remittance_clean, self.cleaned_data["remittance_information"])

    def clean_structured_reference(self) -> str:
        return _checked(transfers.reference_clean, self.cleaned_data["structured_reference"])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("remittance_information") and cleaned.get("structured_reference"):
            self.add_error(
                "structured_reference", transfers.MESSAGES[transfers.TransferErrorCode.BOTH_REMITTANCES]
            )
        self._require_payee(cleaned)
        return cleaned

    def _require_payee(self, cleaned: dict[str, Any]) -> None:
        codes = transfers.TransferErrorCode
        if not cleaned.get("beneficiary_name") and "beneficiary_name" not in self.errors:
            self.add_error("beneficiary_name", transfers.MESSAGES[codes.INVALID_NAME])
        if not cleaned.get("beneficiary_iban") and "beneficiary_iban" not in self.errors:
            self.add_error("beneficiary_iban", transfers.MESSAGES[codes.INVALID_IBAN])

    def payment(self) -> transfers.Payment:
        data = self.cleaned_data
        return transfers.Payment(
            beneficiary_name=data["beneficiary_name"],
            beneficiary_iban=data["beneficiary_iban"],
            beneficiary_bic=data.get("beneficiary_bic", ""),
            amount=data["amount"],
            remittance_information=data.get("remittance_information", ""),
            structured_reference=data.get("structured_reference", ""),
        )


class OrderFields(forms.Form):
    """The debtor account and the execution date."""

    debtor_account = AccountChoiceField(
        label=_("Account to debit"), queryset=BankAccount.objects.none(), empty_label=_("Choose an account")
    )
    execution_date = forms.DateField(
        label=_("Execution date"),
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": _("Enter a date such as 2026-05-31."), "required": _("Enter a date.")},
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        accounts = managed_accounts(user)
        self.fields["debtor_account"].queryset = accounts
        if not self.is_bound and "debtor_account" not in self.initial and len(accounts) == 1:
            self.initial["debtor_account"] = accounts[0].pk
        self.fields["execution_date"].widget.attrs.update(
            min=timezone.localdate().isoformat(), max=transfers.latest_execution_date().isoformat()
        )
        if not self.is_bound and "execution_date" not in self.initial:
            self.initial["execution_date"] = timezone.localdate()

    def clean_execution_date(self) -> Any:
        return _checked(transfers.execution_date_clean, self.cleaned_data["execution_date"])


class TransferForm(OrderFields, PaymentFields):
    """A single transfer; the payee typed in or chosen among the saved beneficiaries."""

    field_order = [
        "debtor_account",
        "beneficiary",
        "beneficiary_name",
        "beneficiary_iban",
        "beneficiary_bic",
        "amount",
        "execution_date",
        "remittance_information",
        "structured_reference",
    ]
    beneficiary = BeneficiaryChoiceField(
        label=_("Saved beneficiary (optional)"),
        required=False,
        queryset=Beneficiary.objects.none(),
        empty_label=_("None: I type the beneficiary below"),
        help_text=_("Choose a saved beneficiary, or leave this and type the name and IBAN below."),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        self.fields["beneficiary"].queryset = saved_beneficiaries(user)
        if not self.fields["beneficiary"].queryset.exists():
            del self.fields["beneficiary"]

    def _require_payee(self, cleaned: dict[str, Any]) -> None:
        saved = cleaned.get("beneficiary")
        if saved is None:
            super()._require_payee(cleaned)
            return
        typed = [
            name for name in ("beneficiary_name", "beneficiary_iban", "beneficiary_bic") if cleaned.get(name)
        ]
        account = cleaned.get("debtor_account")
        if typed:
            self.add_error(
                "beneficiary", _("Either choose a saved beneficiary or type a beneficiary, not both.")
            )
        elif account is not None and saved.entity_id != account.entity_id:
            self.add_error("beneficiary", _("This beneficiary belongs to another business client."))
        else:
            cleaned.update(
                beneficiary_name=saved.name, beneficiary_iban=saved.iban, beneficiary_bic=saved.bic
            )


class BatchForm(OrderFields):
    label = forms.CharField(
        label=_("Label of the batch"),
        max_length=70,
        help_text=_("For your own use, for example “Salaries May”."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    field_order = ["label", "debtor_account", "execution_date"]


class BatchLineForm(PaymentFields):
    """One line of a batch; a line left entirely empty is ignored."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.use_required_attribute = False

    def full_clean(self) -> None:
        if self.is_bound and not any(
            str(self.data.get(self.add_prefix(name), "")).strip() for name in self.fields
        ):
            self._errors = ErrorDict()
            self.cleaned_data = {}
            return
        super().full_clean()


BatchLineFormSet = forms.formset_factory(
    BatchLineForm,
    extra=0,
    max_num=transfers.MAX_BATCH_LINES,
    absolute_max=transfers.MAX_BATCH_LINES + ROWS_ADDED,
)


def batch_lines_formset(
    *, data: Any = None, initial: list[dict[str, Any]] | None = None, empty_rows: int = 5
) -> Any:
    """The lines: ``initial`` ones and ``empty_rows`` blank rows (no JavaScript needed to add more)."""
    initial = list(initial or [])
    rows = initial + [{} for _ in range(empty_rows)]
    return BatchLineFormSet(data=data, initial=rows, prefix="lines")


def batch_lines_more(data: Any) -> Any:
    """The formset re-shown with the rows typed so far and ``ROWS_ADDED`` more blank rows (unbound:
    no error is shown for rows not yet finished)."""
    bound = BatchLineFormSet(data=data, prefix="lines")
    typed = []
    for index in range(min(bound.total_form_count(), transfers.MAX_BATCH_LINES)):
        prefix = f"lines-{index}-"
        row = {name: data.get(prefix + name, "") for name in PaymentFields.base_fields}
        if any(str(value).strip() for value in row.values()):
            typed.append(row)
    return batch_lines_formset(initial=typed, empty_rows=ROWS_ADDED)


def batch_payments(formset: Any) -> list[transfers.Payment]:
    return [form.payment() for form in formset.forms if form.cleaned_data]
