"""The payment provider, seen from Guichet: a small interface and the configured implementation.

Guichet never sees a card number. To register a card it creates a *card-setup session* with a
return URL and sends the customer there (a full redirect); the provider answers a token with the
brand, last 4 digits and expiry, which Guichet fetches server to server with ``setup_result``.
It then charges (or refunds) the token with an idempotency key: the same key asked twice is charged
once, and the second answer is the first one. The provider also sends signed notifications, which
``notification_verify`` checks.

``GUICHET_PAYMENT_GATEWAY`` names the class (default: the sandbox shipped with Guichet,
``guichet.paylater.sandbox.provider.SandboxGateway``). A real provider plugs in as a class with these
methods; see ``docs/payments.md``.
"""

import dataclasses
from decimal import Decimal
from functools import cache
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string


class ProviderUnavailable(Exception):
    """No answer (timeout, connection refused, 5xx): the outcome is unknown, ask again with the same key."""


class NotificationInvalid(Exception):
    """The notification's signature or format is wrong: ignore it."""


@dataclasses.dataclass(frozen=True)
class SetupSession:
    id: str
    redirect_url: str


@dataclasses.dataclass(frozen=True)
class SetupResult:
    """The outcome of a card-setup session. ``status``: "open", "completed" or "cancelled"."""

    session_id: str
    status: str
    token: str = ""
    brand: str = ""  # visa, mastercard, amex, other (paylater.models.CardBrand)
    last4: str = ""
    expiry_month: int | None = None
    expiry_year: int | None = None


@dataclasses.dataclass(frozen=True)
class ChargeRequest:
    token: str
    amount: Decimal
    currency: str
    idempotency_key: str
    description: str = ""


@dataclasses.dataclass(frozen=True)
class ChargeResult:
    """``succeeded`` or not; ``reason`` is the provider's code for a refusal."""

    idempotency_key: str
    succeeded: bool
    reference: str
    reason: str = ""  # declined, insufficient_funds, expired_card, brand_not_accepted, …


@dataclasses.dataclass(frozen=True)
class Notification:
    """A verified notification: ``kind`` is "setup.completed", "setup.cancelled" or "charge.settled"."""

    id: str
    kind: str
    session_id: str = ""
    idempotency_key: str = ""


class PaymentGateway(Protocol):
    def setup_session_create(self, *, reference: str, return_url: str, language: str) -> SetupSession: ...

    def setup_result(self, *, session_id: str) -> SetupResult: ...

    def charge(self, request: ChargeRequest) -> ChargeResult: ...

    def charge_many(self, requests: list[ChargeRequest]) -> list[ChargeResult]:
        """Several charges in one call, results in the same order (a provider without batches loops)."""
        ...

    def refund(self, request: ChargeRequest) -> ChargeResult: ...

    def notification_verify(self, *, body: bytes, signature: str) -> Notification: ...


@cache
def _gateway_class(path: str) -> type:
    return import_string(path)


def gateway() -> PaymentGateway:
    if not settings.GUICHET_PAYMENT_GATEWAY:
        raise ImproperlyConfigured(
            "GUICHET_PAYMENT_GATEWAY is not set: no payment provider (docs/payments.md)"
        )
    return _gateway_class(settings.GUICHET_PAYMENT_GATEWAY)()
