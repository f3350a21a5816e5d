"""Structured (JSON) logs with the request id, and redaction of secrets.

Nothing secret is logged on purpose; the redacting filter is the safety net
for what slips through: values of sensitive keys, card numbers (PAN-like
digit runs) and one-time codes introduced by a keyword.
"""

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from guichet.web import request_id

REDACTED = "[redacted]"
_SENSITIVE_KEYS = re.compile(
    r"(pass(word|wd)?|secret|token|otp|code|pin|pan|card_?number|cvc|cvv|authorization|cookie|session)",
    re.IGNORECASE,
)
# 13 to 19 digits, optionally grouped by spaces or dashes: a payment card number.
_PAN = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
# key=value or key: value pairs whose key is sensitive.
_KEY_VALUE = re.compile(
    r"(?P<key>\b[\w-]*(?:password|passwd|secret|token|otp|code|pin|cvc|cvv)[\w-]*\b)"
    r"(?P<sep>\s*[=:]\s*|\"\s*:\s*\"?|'\s*:\s*'?)(?P<value>[^\s,;&\"'}]+)",
    re.IGNORECASE,
)


def redact_text(text: str) -> str:
    text = _KEY_VALUE.sub(lambda m: f"{m['key']}{m['sep']}{REDACTED}", text)
    return _PAN.sub(REDACTED, text)


def redact_value(key: str, value: Any) -> Any:
    if _SENSITIVE_KEYS.search(key):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(key, v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact_text(str(value))


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class RedactingFilter(logging.Filter):
    """Renders the message once, redacted, so formatters never see raw args."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = redact_value(key, value)
        if record.exc_text:
            entry["exception"] = record.exc_text
        elif record.exc_info:
            entry["exception"] = redact_text(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)
