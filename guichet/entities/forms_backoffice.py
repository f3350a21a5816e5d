"""The back office's forms for business clients: the company number, accounts (IBAN, BIC), the
persons an advisor registers, and the reason for rejecting a transfer.

Each form checks its input with the reference libraries (``python-stdnum`` for
company numbers, ``schwifty`` for IBANs and BICs) and keeps the compact form,
so that a number typed as ``BE 0403.170.701`` is stored as ``0403170701``.
"""

import datetime
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.formfields import PhoneNumberField
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from stdnum.be import vat as be_vat
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import siren as fr_siren

from guichet.entities.models import BankAccount, CompanyNumberScheme, Entity, Person

COMPANY_NUMBER_ERRORS = {
    CompanyNumberScheme.BE: _("Enter a valid Belgian enterprise number of 10 digits, such as 0403.170.701."),
    CompanyNumberScheme.FR: _("Enter a valid French SIREN of 9 digits, such as 732 829 320."),
}
BORN_AFTER = datetime.date(1900, 1, 1)
# The currencies an account may be held in (transfers are SEPA: in euro only).
CURRENCIES = [(code, code) for code in ("EUR", "USD", "GBP", "CHF")]


def company_number_clean(scheme: str, value: str) -> str:
    """The compact number (BE: 10 digits, FR: 9 digits); ``forms.ValidationError`` otherwise."""
    module = {CompanyNumberScheme.BE: be_vat, CompanyNumberScheme.FR: fr_siren}.get(scheme)
    if module is None:
        raise forms.ValidationError(_("Choose the type of company number."), code="scheme")
    try:
        return module.validate(value)
    except StdnumError:
        raise forms.ValidationError(COMPANY_NUMBER_ERRORS[scheme], code="company_number") from None


def company_number_display(scheme: str, number: str) -> str:
    if scheme == CompanyNumberScheme.BE and len(number) == 10:
        return f"{number[:4]}.{number[4:7]}.{number[7:]}"
    if scheme == CompanyNumberScheme.FR and len(number) == 9:
        return f"{number[:3]} {number[3:6]} {number[6:]}"
    return number


def iban_clean(value: str) -> str:
    try:
        return IBAN(value).compact
    except SchwiftyException:
        raise forms.ValidationError(
            _("Enter a valid IBAN, such as BE68 5390 0754 7034."), code="iban"
        ) from None


def bic_clean(value: str) -> str:
    if not value.strip():
        return ""
    try:
        return BIC(value).compact
    except SchwiftyException:
        raise forms.ValidationError(
            _("Enter a valid BIC (8 or 11 characters), or leave it empty."), code="bic"
        ) from None


class EntityForm(forms.ModelForm):
    class Meta:
        model = Entity
        fields = ("name", "company_number_scheme", "company_number", "allow_self_validation")
        help_texts = {
            "company_number": _(
                "Belgian enterprise number (10 digits) or French SIREN (9 digits); dots and spaces "
                "are allowed."
            )
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["company_number"] = company_number_display(
                self.instance.company_number_scheme, self.instance.company_number
            )
        self.fields["company_number"].widget.attrs.update(autocomplete="off", spellcheck="false")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        scheme, number = cleaned.get("company_number_scheme"), cleaned.get("company_number")
        if scheme and number:
            try:
                cleaned["company_number"] = company_number_clean(scheme, number)
            except forms.ValidationError as error:
                self.add_error("company_number", error)
        return cleaned


class BankAccountForm(forms.ModelForm):
    # Longer than the model's 34: the IBAN may be typed in groups of four.
    iban = forms.CharField(
        label=_("IBAN"), max_length=50, help_text=_("Spaces are allowed; kept in compact form.")
    )
    currency = forms.ChoiceField(label=_("currency"), choices=CURRENCIES, initial="EUR")

    class Meta:
        model = BankAccount
        fields = ("label", "iban", "bic", "currency")
        help_texts = {"bic": _("Optional.")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["iban"] = self.instance.iban_display
        for name in ("iban", "bic"):
            self.fields[name].widget.attrs.update(autocomplete="off", spellcheck="false")

    def clean_iban(self) -> str:
        iban = iban_clean(self.cleaned_data["iban"])
        if self.instance.pk and iban != self.instance.iban:
            # Rights, transfers and signatures name this account: another IBAN is another account.
            raise forms.ValidationError(
                _("An account's IBAN cannot change. Add the new account instead."), code="iban_fixed"
            )
        return iban

    def clean_bic(self) -> str:
        return bic_clean(self.cleaned_data.get("bic", ""))


class PersonForm(forms.ModelForm):
    """What the advisor types to register a person (or correct a person not yet a user)."""

    mobile_phone = PhoneNumberField(
        label=_("mobile phone"),
        region=None,
        help_text=_("International format, e.g. +32 470 12 34 56. The temporary password is sent here."),
    )
    language = forms.ChoiceField(label=_("language"), choices=settings.LANGUAGES)

    class Meta:
        model = Person
        fields = ("entity", "last_name", "first_name", "birth_date", "mobile_phone", "email", "language")
        help_texts = {
            "email": _(
                "Optional now; needed before the person becomes a user (the user ID is sent by e-mail)."
            ),
            "birth_date": _("Format: YYYY-MM-DD."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "mobile_phone" in self.fields:
            self.fields["mobile_phone"].widget.input_type = "tel"
            self.fields["mobile_phone"].widget.attrs.update(autocomplete="off")
        if "email" in self.fields:
            self.fields["email"].widget.attrs.update(autocomplete="off")

    def clean_email(self) -> str:
        return (self.cleaned_data.get("email") or "").strip().lower()

    def clean_birth_date(self) -> datetime.date:
        born = self.cleaned_data["birth_date"]
        if not BORN_AFTER <= born <= timezone.localdate():
            raise forms.ValidationError(_("Enter a date of birth in the past."), code="birth_date")
        return born


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for rejection"),
        max_length=280,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown to the entity's users with the transfer. At most 280 characters."),
    )

    def clean_reason(self) -> str:
        reason = " ".join(self.cleaned_data["reason"].split())
        if not reason:
            raise forms.ValidationError(_("Give the reason for the rejection."), code="required")
        return reason
