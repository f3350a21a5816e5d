"""The back office's own forms: provisioning a user, uploading a provisioning file."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from guichet.identity.models import User

# IdentityError.field → the form field it points at
ERROR_FIELDS = {"user_id": "user_id", "email": "email", "phones": "mobile_phone", "language": "language"}


class ProvisionForm(forms.Form):
    """What an advisor types to provision a user; the services check it (``IdentityError``)."""

    user_id = forms.CharField(
        label=_("User ID"),
        max_length=150,
        help_text=_("3 to 150 letters, digits or the characters . _ - (e.g. CC100042)."),
    )
    email = forms.EmailField(label=_("E-mail address"), help_text=_("The two e-mails are sent here."))
    mobile_phone = forms.CharField(
        label=_("Mobile number"),
        max_length=32,
        help_text=_("International format, e.g. +32 470 12 34 56. The SMS codes are sent here."),
    )
    alternate_mobile_phone = forms.CharField(
        label=_("Second mobile number (optional)"), max_length=32, required=False
    )
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    first_name = forms.CharField(
        label=_("First name (optional)"),
        max_length=User._meta.get_field("first_name").max_length,
        required=False,
    )
    last_name = forms.CharField(
        label=_("Surname (optional)"), max_length=User._meta.get_field("last_name").max_length, required=False
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user_id"].widget.attrs.update(autocomplete="off", spellcheck="false")
        self.fields["email"].widget.attrs.update(autocomplete="off")
        for name in ("mobile_phone", "alternate_mobile_phone"):
            self.fields[name].widget.input_type = "tel"
            self.fields[name].widget.attrs.update(autocomplete="off")


class ProvisioningUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "UTF-8, fields separated by “,” or “;”, first line: user_id, email, mobile_phone, "
            "alternate_mobile_phone, language, first_name, last_name. 5 MB at most."
        ),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].widget.attrs.update(accept=".csv,text/csv")
