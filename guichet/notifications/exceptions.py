"""The domain error that notify() raises; its code says what was wrong."""

from guichet.notifications.error_codes import NotificationErrorCode


class NotificationError(Exception):
    """Raised by the services for bad input; views show ``code.label`` to the user."""

    def __init__(self, code: NotificationErrorCode, detail: str = "") -> None:
        self.code = code
        self.detail = detail  # for developers and logs; never contains a message body
        super().__init__(f"{code.value}: {detail}" if detail else code.value)


class DeliveryError(Exception):
    """A transport could not deliver; ``permanent`` says whether retrying is pointless.

    ``reason`` is short and safe to store and show to operators: a status code
    and the provider's or server's reply, never the message itself.
    """

    def __init__(self, reason: str, *, permanent: bool) -> None:
        self.reason = reason[:500]
        self.permanent = permanent
        super().__init__(self.reason)
