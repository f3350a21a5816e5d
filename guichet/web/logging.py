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
# Short words (otp, code, pin, pan) count only as a whole part of a key, so
# that "company" or "shipping" stay readable; a few "*_code" keys are not secret.
_SENSITIVE_KEY = re.compile(
    r"pass(?:word|wd|phrase)?|secret|token|authorization|cookie|session|card_?num|cvc|cvv"
    r"|(?:^|[_-])(?:otp|code|pin|pan)(?:$|[_-])",
    re.IGNORECASE,
)
_NOT_SECRET_KEYS = {"status_code", "error_code", "language_code", "country_code", "currency_code"}
# 13 to 19 digits, optionally grouped by spaces, dashes, or spaces as they are
# URL-encoded ("+", "%20"): a payment card number.
_PAN = re.compile(r"(?<!\d)(?:\d(?:[ +-]|%20)?){12,18}\d(?!\d)")
# key=value, key: value, "key": "value", 'key': ['value'] (a QueryDict's repr)
# whose key is sensitive.
_KEY_VALUE = re.compile(
    r"(?P<key>\b[\w-]*(?:password|passwd|secret|token|cvc|cvv|card_?num(?:ber)?)[\w-]*\b"
    r"|\b(?:[\w-]*[_-])?(?:otp|code|pin)(?:[_-][\w-]*)?\b)"
    r"(?P<sep>[\"']?\s*[=:]\s*[\[(]?\s*[\"']?)(?P<value>[^\s,;&\"'\])}]+)",
    re.IGNORECASE,
)


def is_sensitive_key(key: str) -> bool:
    return key.lower() not in _NOT_SECRET_KEYS and bool(_SENSITIVE_KEY.search(key))


# Secrets carried in a URL path: the single-use links of "Reset logon credentials" and of the
# document portal's activation.
_PATH_SECRET = re.compile(r"(?P<prefix>/link/)[^/\s?#\"']+/[^/\s?#\"']+|(?P<activate>/activate/)[^/\s?#\"']+")


def redact_text(text: str) -> str:
    text = _KEY_VALUE.sub(lambda m: f"{m['key']}{m['sep']}{REDACTED}", text)
    text = _PATH_SECRET.sub(lambda m: f"{m['prefix'] or m['activate']}{REDACTED}", text)
    return _PAN.sub(REDACTED, text)


def redact_value(key: str, value: Any) -> Any:
    if is_sensitive_key(key):
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
    """Tags the record with the id of its request.

    Django logs 4xx/5xx responses ("Not Found: /x") after the whole middleware
    chain has returned, when RequestIdMiddleware has already reset the current
    id; those records carry the request itself, which remembers its id.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        record.request_id = getattr(request, "request_id", None) or request_id.get()
        return True


class RedactingFilter(logging.Filter):
    """Renders the message once, redacted, so formatters never see raw args."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            # A logging call whose arguments do not fit its message must not
            # break the caller, nor print the raw arguments (logging's own
            # error report would): keep the template only.
            message = f"{record.msg} [arguments did not fit the message]"
        record.msg = redact_text(message)
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
