from django.utils.translation import gettext_lazy as _

from guichet.identity.error_codes import IdentityErrorCode

MESSAGES = {
    IdentityErrorCode.USER_ID_TAKEN: _("A user with this user ID already exists."),
    IdentityErrorCode.INVALID_USER_ID: _(
        "A user ID has 3 to 150 letters, digits or the characters . _ - and no spaces."
    ),
    IdentityErrorCode.INVALID_EMAIL: _("Enter a valid e-mail address."),
    IdentityErrorCode.INVALID_PHONE: _(
        "Enter a valid mobile number in international format, e.g. +32 470 12 34 56."
    ),
    IdentityErrorCode.NO_PHONE: _("At least one mobile number is needed to receive the codes."),
    IdentityErrorCode.INVALID_LANGUAGE: _("Choose one of the offered languages."),
    IdentityErrorCode.NOT_PROVISIONED: _(
        "Credentials can only be issued to users provisioned by the institution."
    ),
    IdentityErrorCode.CONSUMER_CREDENTIALS: _(
        "Consumers set their password themselves (First login or Forgot password); "
        "advisors cannot set it or unlock the access."
    ),
}


class IdentityError(Exception):
    """A domain error with a code; ``message`` is translated for the user."""

    def __init__(self, code: IdentityErrorCode, field: str | None = None) -> None:
        self.code = code
        self.field = field
        super().__init__(str(code))

    @property
    def message(self) -> str:
        return str(MESSAGES[self.code])
