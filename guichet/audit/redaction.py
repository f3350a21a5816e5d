"""Keeps secrets out of the audit trail's details.

A key is sensitive when one of its words (split on ``_``, ``-``, ``.`` and
camelCase) names a secret: the value is replaced, whatever it is. A few
``*_code`` keys that are never secret are allowed by name. Floats become
strings: PostgreSQL's jsonb may write them back differently (``1e+20``
returns as ``100000000000000000000``), which would break the hash.
"""

import json
import re
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from guichet.web.logging import is_sensitive_key

REDACTED = "[redacted]"
SENSITIVE_WORDS = frozenset(
    {
        "password",
        "passwd",
        "passphrase",
        "secret",
        "token",
        "code",
        "otp",
        "totp",
        "pin",
        "hint",
        "cvc",
        "cvv",
        "pan",
        "credential",
        "credentials",
        "authorization",
        "cookie",
        "session",
    }
)
NOT_SECRET = frozenset({"error_code", "status_code", "country_code", "language_code", "currency_code"})
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def is_sensitive(key: str) -> bool:
    """Sensitive for the logs' policy, or by one of its words (stricter: ``hint``, ``pin``…)."""
    if key.lower() in NOT_SECRET:
        return False
    return is_sensitive_key(key) or any(word.lower() in SENSITIVE_WORDS for word in _WORD.findall(key))


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: REDACTED if is_sensitive(key) else _redact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact(item) for item in value]
    if isinstance(value, float):
        return repr(value)
    return value


def clean_details(details: dict[str, Any] | None) -> dict[str, Any]:
    """Plain JSON (as the database will give it back) with sensitive keys redacted."""
    if not details:
        return {}
    plain = json.loads(json.dumps(details, cls=DjangoJSONEncoder, allow_nan=False))
    return _redact(plain)
