"""Error codes of the notifications domain, each with its translated message."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class NotificationErrorCode(models.TextChoices):
    UNKNOWN_CHANNEL = "unknown_channel", _("This notification channel does not exist.")
    NO_CHANNEL = "no_channel", _("Choose at least one notification channel.")
    MISSING_EMAIL = "missing_email", _("There is no e-mail address to send this message to.")
    MISSING_PHONE = "missing_phone", _("There is no mobile phone number to send this message to.")
    INVALID_EMAIL = "invalid_email", _("This e-mail address is not valid.")
    INVALID_PHONE = "invalid_phone", _("This mobile phone number is not valid.")
    UNKNOWN_TEMPLATE = "unknown_template", _("This message template does not exist.")
    UNSUPPORTED_LANGUAGE = "unsupported_language", _("This language is not supported.")
    INVALID_IDEMPOTENCY_KEY = "invalid_idempotency_key", _("This idempotency key is not valid.")
