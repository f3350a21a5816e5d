"""The id of the request being served, for logs and the X-Request-ID header."""

import re
import uuid
from contextvars import ContextVar

_current: ContextVar[str] = ContextVar("request_id", default="-")
_ACCEPTABLE = re.compile(r"[A-Za-z0-9._-]{8,64}")


def get() -> str:
    return _current.get()


def start(incoming: str | None) -> object:
    """Use the proxy's id when it looks sane, else make one; returns a reset token."""
    value = incoming if incoming and _ACCEPTABLE.fullmatch(incoming) else uuid.uuid4().hex
    return _current.set(value)


def reset(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]
