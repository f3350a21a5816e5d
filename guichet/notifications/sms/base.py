from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Sms:
    to: str  # E.164
    text: str
    sender: str
    idempotency_key: str


class BaseSmsBackend:
    """Sends one SMS; raises ``DeliveryError`` (permanent or temporary) when it cannot."""

    def __init__(self, **kwargs: Any) -> None:
        pass

    def send(self, sms: Sms) -> str:
        """Sends ``sms`` and returns the provider's reference for it."""
        raise NotImplementedError
