"""Deployment checks (`manage.py check --deploy`) for Guichet's own settings."""

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register

DEVELOPMENT_EMAIL_BACKENDS = frozenset(
    {
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.locmem.EmailBackend",
        "django.core.mail.backends.filebased.EmailBackend",
        "guichet.notifications.email.OutboxEmailBackend",
    }
)
DEVELOPMENT_SMS_BACKENDS = frozenset(
    {
        "guichet.notifications.sms.console.SmsBackend",
        "guichet.notifications.sms.locmem.SmsBackend",
        "guichet.notifications.sms.outbox.SmsBackend",
    }
)
HTTP_SMS_BACKEND = "guichet.notifications.sms.http.SmsBackend"


@register(Tags.security, deploy=True)
def check_delivery_backends(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Development backends keep one-time codes in the clear: never in production."""
    if settings.GUICHET_DEV_OUTBOX:
        return []
    errors = []
    if settings.EMAIL_BACKEND in DEVELOPMENT_EMAIL_BACKENDS:
        errors.append(
            Error(
                f"GUICHET_EMAIL_BACKEND={settings.EMAIL_BACKEND} is a development backend.",
                hint="Use Django's SMTP backend in production.",
                id="guichet.E001",
            )
        )
    if settings.GUICHET_SMS_BACKEND in DEVELOPMENT_SMS_BACKENDS:
        errors.append(
            Error(
                f"GUICHET_SMS_BACKEND={settings.GUICHET_SMS_BACKEND} is a development backend.",
                hint=f"Use {HTTP_SMS_BACKEND} with your provider's URL and token.",
                id="guichet.E002",
            )
        )
    if settings.GUICHET_SMS_BACKEND == HTTP_SMS_BACKEND and not (
        settings.GUICHET_SMS_HTTP_URL and settings.GUICHET_SMS_HTTP_TOKEN
    ):
        errors.append(
            Error(
                "The HTTP SMS backend needs GUICHET_SMS_HTTP_URL and GUICHET_SMS_HTTP_TOKEN.",
                id="guichet.E003",
            )
        )
    return errors
