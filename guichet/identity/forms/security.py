"""Forms of the Security page: password change (with the hint), new e-mail address, new mobile number.

Each asks for the current password: a session left open on a shared computer
must not be enough to take over the access.
"""

from typing import Any

import phonenumbers
from allauth.account.forms import ChangePasswordForm as AllauthChangePasswordForm
from allauth.core import context
from django import forms
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from phonenumber_field.phonenumber import PhoneNumber

from guichet.identity import lockout, services, signing
from guichet.identity.forms.onboarding import NewPasswordField
from guichet.identity.models import AccountKind, User
from guichet.identity.password_validation import hint_validate
from guichet.identity.phones import mask_phone

WRONG_PASSWORD = _("The password is not correct.")
TOO_MANY = _("Too many attempts. Please wait an hour and try again, or contact us.")
PASSWORD_OPERATION = signing.Operation(kind="password_change")
NOT_SIGNED = _("Confirm the change with your passkey, authenticator app or SMS code first.")
MOBILE_TYPES = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}


class CurrentPasswordField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Current password"))
        kwargs.setdefault("strip", False)
        kwargs.setdefault("widget", forms.PasswordInput(attrs={"autocomplete": "current-password"}))
        kwargs.setdefault("error_messages", {"required": _("Enter your current password.")})
        super().__init__(**kwargs)


class ChangePasswordForm(AllauthChangePasswordForm):
    """allauth's password change with the live rules and the hint, saved through ``services.password_set``.

    Register it as ``ACCOUNT_FORMS["change_password"]``. The change is signed first
    (``identity:password_change_sign``): the signing page comes back here with
    ``?proof=``, carried in a hidden field and consumed when the password is saved.
    """

    proof = forms.CharField(required=False, widget=forms.HiddenInput)

    password1 = NewPasswordField()
    hint = forms.CharField(
        label=_("New password hint (optional)"),
        required=False,
        max_length=100,
        help_text=_("Leave empty to keep your current hint. It may not contain the password."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["oldpassword"].label = _("Current password")
        self.fields["oldpassword"].widget.attrs.pop("placeholder", None)
        self.fields["oldpassword"].help_text = ""
        self.fields["oldpassword"].error_messages["required"] = _("Enter your current password.")
        self.fields["password2"].label = _("Confirm the new password")
        self.fields["password2"].widget.attrs.pop("placeholder", None)
        self.fields["password2"].error_messages["required"] = _("Type the new password again.")
        self.fields["password1"].error_messages["required"] = _("Choose a new password.")
        request = context.request
        proof_id = self.data.get("proof") or (request.GET.get("proof", "") if request is not None else "")
        self.fields["proof"].initial = proof_id
        self.proof_error = ""
        try:
            signing.signing_proof_check(proof_id=proof_id, user=self.user, operation=PASSWORD_OPERATION)
        except signing.SigningError as error:
            self.proof_error = error.message if proof_id else str(NOT_SIGNED)

    @property
    def signed(self) -> bool:
        """A fresh proof for a password change is at hand: the form may be filled in."""
        return not self.proof_error

    def clean_oldpassword(self) -> str:
        """A wrong current password counts towards the lock, like a failed login."""
        try:
            return super().clean_oldpassword()
        except ValidationError:
            lockout.login_failure_record(identifier=self.user.user_id, request=context.request)
            raise

    def clean_hint(self) -> str:
        return (self.cleaned_data.get("hint") or "").strip()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.proof_error:
            raise ValidationError(self.proof_error, code="not_signed")
        hint, password = cleaned.get("hint"), cleaned.get("password1")
        if hint and password:
            try:
                hint_validate(hint=hint, password=password)
            except ValidationError as error:
                self.add_error("hint", error)
        return cleaned

    def save(self) -> None:
        assert self.user is not None  # noqa: S101 (allauth's view always passes it)
        with transaction.atomic():
            signing.signing_proof_consume(
                proof_id=self.cleaned_data["proof"], user=self.user, operation=PASSWORD_OPERATION
            )
            services.password_set(
                user=self.user,
                password=self.cleaned_data["password1"],
                hint=self.cleaned_data.get("hint") or None,  # empty: keep the current hint
                request=context.request,
                reason="changed",
            )
        # password_set saves a fresh copy: the request's user must carry the new
        # hash, or the session would be signed with the old one and end at once.
        self.user.refresh_from_db()


class PasswordCheckedForm(forms.Form):
    """``rate_limited`` set by the view: the password is then not checked at all, so that
    the answer over the limit says nothing about it."""

    current_password = CurrentPasswordField()

    def __init__(self, *args: Any, user: User, rate_limited: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.rate_limited = rate_limited

    def clean_current_password(self) -> str:
        password = self.cleaned_data["current_password"]
        if not self.rate_limited and not self.user.check_password(password):
            raise ValidationError(WRONG_PASSWORD, code="wrong_password")
        return password

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.rate_limited:
            raise ValidationError(TOO_MANY, code="rate_limited")
        return cleaned

    @property
    def password_failed(self) -> bool:
        return self.has_error("current_password", "wrong_password")

    @property
    def limit_reached(self) -> bool:
        return self.has_error(NON_FIELD_ERRORS, "rate_limited")


class EmailChangeForm(PasswordCheckedForm):
    email = forms.EmailField(
        label=_("New e-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={
            "required": _("Enter the new e-mail address."),
            "invalid": _("Enter an e-mail address like name@example.com."),
        },
    )

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip()
        if email.casefold() == (self.user.email or "").casefold():
            raise ValidationError(_("This is already your e-mail address."), code="unchanged")
        if self.user.kind == AccountKind.CONSUMER:
            # A consumer logs on with the address: it becomes the new identifier,
            # and one address has one access only.
            email = email.lower()
            if User.objects.filter(user_id__iexact=email).exclude(pk=self.user.pk).exists():
                raise ValidationError(
                    _("This address already has its own access: log on with it, or choose another one."),
                    code="taken",
                )
        return email


def phone_parse(raw: str) -> PhoneNumber:
    """A mobile number in international form (E.164), or ``ValidationError``."""
    region = getattr(settings, "GUICHET_PHONE_REGION", "BE")
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        raise ValidationError(_("Enter a valid mobile number, like +32 470 12 34 56."), code="invalid")
    if phonenumbers.number_type(parsed) not in MOBILE_TYPES:
        raise ValidationError(_("Enter a mobile number: codes are sent by SMS."), code="not_mobile")
    return PhoneNumber.from_string(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


class MobileChangeForm(PasswordCheckedForm):
    """``slot`` 0 or 1: which registered number to replace, or 1 to add a second one."""

    slot = forms.TypedChoiceField(
        label=_("Number to change"),
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose the number to change.")},
    )
    phone = forms.CharField(
        label=_("New mobile number"),
        max_length=32,
        help_text=_("With the country code, for example +32 470 12 34 56."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
        error_messages={"required": _("Enter the new mobile number.")},
    )
    field_order = ["slot", "phone", "current_password"]

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        choices: list[tuple[int, str]] = []
        if user.mobile_phone:
            choices.append((0, _("Replace %(number)s") % {"number": mask_phone(user.mobile_phone)}))
        if user.alternate_mobile_phone:
            choices.append((1, _("Replace %(number)s") % {"number": mask_phone(user.alternate_mobile_phone)}))
        elif user.mobile_phone:
            choices.append((1, _("Add a second number")))
        else:
            choices.append((0, _("Add a mobile number")))
        self.fields["slot"].choices = choices
        if len(choices) == 1:
            self.fields["slot"].initial = choices[0][0]

    def clean_phone(self) -> PhoneNumber:
        number = phone_parse(self.cleaned_data["phone"])
        if number in self.user.mobile_phones:
            raise ValidationError(_("This number is already registered."), code="unchanged")
        return number
