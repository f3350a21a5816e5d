"""Deployment checks (``manage.py check --deploy``) of the payment provider's settings.

In production (``GUICHET_DEV_OUTBOX`` off, as in ``web.checks``) the sandbox provider must be neither
mounted nor used: its card page accepts test numbers and "charges" nothing real. The notifications
secret must be set, or no notification could be verified (and all would be refused).
"""

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register

SANDBOX_GATEWAY = "guichet.paylater.sandbox.provider.SandboxGateway"


@register(Tags.security, deploy=True)
def check_payment_provider(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    if settings.GUICHET_DEV_OUTBOX:
        return []
    errors = []
    if settings.GUICHET_PAYMENT_SANDBOX:
        errors.append(
            Error(
                "GUICHET_PAYMENT_SANDBOX is on: the sandbox payment provider's card page is mounted.",
                hint="Turn it off in production (demo and tests only).",
                id="paylater.E001",
            )
        )
    if settings.GUICHET_PAYMENT_GATEWAY == SANDBOX_GATEWAY:
        errors.append(
            Error(
                "GUICHET_PAYMENT_GATEWAY is the sandbox payment provider.",
                hint="Set it to your payment provider's gateway class (docs/payments.md).",
                id="paylater.E002",
            )
        )
    if not settings.GUICHET_PAYMENT_NOTIFICATION_SECRET:
        errors.append(
            Error(
                "GUICHET_PAYMENT_NOTIFICATION_SECRET is empty: no provider notification can be verified.",
                hint="Set the secret shared with the payment provider for its signed notifications.",
                id="paylater.E003",
            )
        )
    return errors
