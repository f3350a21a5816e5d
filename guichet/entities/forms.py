"""Forms of delegated administration: the steps of "Add a user" and the rights matrix.

The forms only read what the administrator chose among the entity's own persons,
users, accounts and contracts (passed in by the view); the services check it all
again when the signed change is applied.
"""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from guichet.entities import services
from guichet.entities.models import RESOURCE_RIGHTS, BankAccount, Contract, Person, Right


def _person_label(person: Person) -> str:
    born = formats.date_format(person.birth_date, "SHORT_DATE_FORMAT")
    return _("%(name)s, born on %(date)s") % {"name": f"{person.last_name} {person.first_name}", "date": born}


class PersonChoiceForm(forms.Form):
    person = forms.TypedChoiceField(
        label=_("New user"),
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose the person to add."),
            "invalid_choice": _("Choose one of the persons in the list."),
        },
    )

    def __init__(self, *args: Any, persons: list[Person], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].choices = [(p.pk, _person_label(p)) for p in persons]


class EmailForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        help_text=_("The new user receives their user ID at this address."),
        error_messages={
            "required": _("Enter the new user's e-mail address: they receive their user ID by e-mail."),
            "invalid": _("Enter a valid e-mail address, like name@example.com."),
        },
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()


class SourceUserForm(forms.Form):
    """Copy the rights of an existing user: which one."""

    source = forms.TypedChoiceField(
        label=_("Copy the rights of"),
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose the user whose rights you want to copy."),
            "invalid_choice": _("Choose one of the users in the list."),
        },
    )

    def __init__(self, *args: Any, users: list[Person], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["source"].choices = [
            (p.pk, f"{p.last_name} {p.first_name} ({p.user.user_id})") for p in users
        ]


class ResourcesForm(forms.Form):
    """Custom rights, first part: the accounts and contracts concerned."""

    accounts = forms.TypedMultipleChoiceField(
        label=_("Accounts"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    contracts = forms.TypedMultipleChoiceField(
        label=_("Contracts"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(
        self, *args: Any, accounts: list[BankAccount], contracts: list[Contract], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["accounts"].choices = [(a.pk, str(a)) for a in accounts]
        self.fields["contracts"].choices = [(c.pk, str(c)) for c in contracts]
        if not contracts:
            del self.fields["contracts"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not cleaned.get("accounts") and not cleaned.get("contracts"):
            raise ValidationError(_("Choose at least one account or contract."), code="empty")
        return cleaned

    def resources(self) -> list[list[Any]]:
        return [[services.ACCOUNT, pk] for pk in self.cleaned_data.get("accounts", [])] + [
            [services.CONTRACT, pk] for pk in self.cleaned_data.get("contracts", [])
        ]


RIGHT_CHOICES = [(str(right), right.label) for right in RESOURCE_RIGHTS]


class RightsForm(forms.Form):
    """The rights matrix: one group of three checkboxes (consultation, management, validation)
    per account and contract, plus the administration of users."""

    administration = forms.BooleanField(
        label=_("Administration of users (add users, change their rights, suspend and remove them)"),
        required=False,
    )

    def __init__(
        self,
        *args: Any,
        accounts: list[BankAccount],
        contracts: list[Contract],
        rights: services.Rights | None = None,
        require_one: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.require_one = require_one
        self.resources: list[tuple[str, Any, str]] = []
        rights = rights or services.Rights()
        for kind, items in ((services.ACCOUNT, accounts), (services.CONTRACT, contracts)):
            for item in items:
                name = f"{kind}_{item.pk}"
                self.fields[name] = forms.MultipleChoiceField(
                    label=str(item),
                    choices=RIGHT_CHOICES,
                    required=False,
                    widget=forms.CheckboxSelectMultiple,
                    initial=rights.rights_on(kind, item.pk),
                )
                self.resources.append((kind, item, name))
        self.fields["administration"].initial = rights.administration

    def resource_fields(self) -> list[tuple[str, Any, forms.BoundField]]:
        return [(kind, item, self[name]) for kind, item, name in self.resources]

    def account_fields(self) -> list[forms.BoundField]:
        return [self[name] for kind, _item, name in self.resources if kind == services.ACCOUNT]

    def contract_fields(self) -> list[forms.BoundField]:
        return [self[name] for kind, _item, name in self.resources if kind == services.CONTRACT]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.require_one and not self.rights().resources and not cleaned.get("administration"):
            raise ValidationError(_("Tick at least one right."), code="empty")
        return cleaned

    def rights(self) -> services.Rights:
        keys = {
            (kind, item.pk, Right(code))
            for kind, item, name in self.resources
            for code in self.cleaned_data.get(name, [])
        }
        return services.Rights(frozenset(keys), bool(self.cleaned_data.get("administration")))
