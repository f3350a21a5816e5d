"""Typed readers for settings taken from the environment.

Every reader fails loudly with ``ImproperlyConfigured`` naming the variable,
so a bad value stops the server at start instead of surfacing later.
"""

import json
import os
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _raw(name: str) -> str | None:
    return os.environ.get(name)


def without_password(url: str) -> str:
    """A URL fit for an error message: its password, if any, replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def bad(name: str, value: object, expected: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"Setting {name}={value!r} is invalid: expected {expected}.")


def string(name: str, default: str | None = None) -> str:
    value = _raw(name)
    if value is None or value == "":
        if default is None:
            raise ImproperlyConfigured(f"Setting {name} is required and was not set.")
        return default
    return value


def optional(name: str) -> str:
    """A string that may be left empty (e.g. SMTP credentials)."""
    return _raw(name) or ""


def boolean(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise bad(name, value, "one of 1/0, true/false, yes/no, on/off")


def integer(name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise bad(name, value, "a whole number") from None
    if number < minimum or (maximum is not None and number > maximum):
        raise bad(name, value, f"a number between {minimum} and {maximum or 'any'}")
    return number


def string_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def choice(name: str, default: str, choices: set[str]) -> str:
    value = string(name, default)
    if value not in choices:
        raise bad(name, value, "one of " + ", ".join(sorted(choices)))
    return value


def timezone(name: str, default: str) -> str:
    value = string(name, default)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise bad(name, value, "an IANA time zone such as Europe/Brussels") from None
    return value


def colour(name: str, default: str) -> str:
    value = string(name, default)
    if not _COLOUR.match(value):
        raise bad(name, value, "a colour in #rrggbb form")
    if contrast_ratio(value, "#ffffff") < 4.5:
        raise bad(name, value, "a colour dark enough for white text (WCAG contrast 4.5:1)")
    return value.lower()


def json_value(name: str, default: Any) -> Any:
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise bad(name, value, f"valid JSON ({exc.msg})") from None


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(first: str, second: str) -> float:
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)
