"""Password rules beyond Django's own (see AUTH_PASSWORD_VALIDATORS).

Each validator says exactly which rule failed, in the user's language, and
describes itself in ``get_help_text`` so forms can list the rules.
"""

import re
import string
from difflib import SequenceMatcher
from typing import Any

from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

SPECIAL = set(string.punctuation) | {" ", "€", "£", "§", "°"}

# Each class: a test, an error code, an error message, a help text.
CLASSES: dict[str, tuple[Any, str]] = {
    "upper": (lambda c: c.isupper(), "password_no_upper"),
    "lower": (lambda c: c.islower(), "password_no_lower"),
    "digit": (lambda c: c.isdigit(), "password_no_digit"),
    "special": (lambda c: not c.isalnum() or c in SPECIAL, "password_no_special"),
}


def _class_message(name: str) -> str:
    return {
        "upper": _("The password must contain an upper-case letter."),
        "lower": _("The password must contain a lower-case letter."),
        "digit": _("The password must contain a digit."),
        "special": _("The password must contain a special character (for example ! ? # @ %)."),
    }[name]


def _class_help(name: str) -> str:
    return {
        "upper": _("an upper-case letter"),
        "lower": _("a lower-case letter"),
        "digit": _("a digit"),
        "special": _("a special character"),
    }[name]


class CharacterClassValidator:
    """At least ``min_length`` characters and one of each configured class."""

    def __init__(self, min_length: int = 8, classes: list[str] | None = None) -> None:
        self.min_length = min_length
        self.classes = list(classes if classes is not None else CLASSES)
        if unknown := set(self.classes) - set(CLASSES):
            raise ValueError(f"unknown character classes: {sorted(unknown)}")

    def validate(self, password: str, user: Any = None) -> None:
        errors = []
        if len(password) < self.min_length:
            errors.append(
                ValidationError(
                    ngettext(
                        "The password must be at least %(min_length)d character long.",
                        "The password must be at least %(min_length)d characters long.",
                        self.min_length,
                    ),
                    code="password_too_short",
                    params={"min_length": self.min_length},
                )
            )
        for name in self.classes:
            test, code = CLASSES[name]
            if not any(test(c) for c in password):
                errors.append(ValidationError(_class_message(name), code=code))
        if errors:
            raise ValidationError(errors)

    def rules(self) -> list[dict[str, Any]]:
        """The rules a browser can check as the user types (see web/js)."""
        rules = [
            {
                "name": "length",
                "min": self.min_length,
                "label": ngettext(
                    "At least %(min_length)d character",
                    "At least %(min_length)d characters",
                    self.min_length,
                )
                % {"min_length": self.min_length},
            }
        ]
        rules += [{"name": name, "label": _class_help(name).capitalize()} for name in self.classes]
        return rules

    def get_help_text(self) -> str:
        parts = ", ".join(_class_help(name) for name in self.classes)
        return _("At least %(min_length)d characters, with %(parts)s.") % {
            "min_length": self.min_length,
            "parts": parts,
        }


def _personal_parts(user: Any) -> list[str]:
    values = [getattr(user, name, "") or "" for name in ("user_id", "first_name", "last_name")]
    email = getattr(user, "email", "") or ""
    values += [email, email.split("@")[0]]
    parts: list[str] = []
    for value in values:
        value = value.casefold()
        parts.append(value)
        parts += re.split(r"[\W_]+", value)
    return sorted({part for part in parts if len(part) >= 3}, key=len, reverse=True)


class PersonalDataValidator:
    """Nothing of the user ID, the names or the e-mail address inside the password."""

    def validate(self, password: str, user: Any = None) -> None:
        if user is None:
            return
        folded = password.casefold()
        if any(part in folded for part in _personal_parts(user)):
            raise ValidationError(
                _("The password may not contain your user ID, your name or your e-mail address."),
                code="password_contains_personal_data",
            )

    def get_help_text(self) -> str:
        return _("Nothing of your user ID, your name or your e-mail address.")


class HistoryValidator:
    """None of the last ``count`` passwords (the current one included)."""

    def __init__(self, count: int = 5) -> None:
        self.count = count

    def validate(self, password: str, user: Any = None) -> None:
        if not self.count or user is None or user.pk is None:
            return
        previous = list(user.password_history.values_list("password", flat=True)[: self.count])
        if user.has_usable_password() and not getattr(user, "password_is_temporary", False):
            previous.insert(0, user.password)
        if any(check_password(password, encoded) for encoded in previous[: self.count]):
            raise ValidationError(
                ngettext(
                    "You used this password recently: choose one that differs from your last password.",
                    "You used this password recently: choose one that differs from your last %(count)d.",
                    self.count,
                ),
                code="password_reused",
                params={"count": self.count},
            )

    def get_help_text(self) -> str:
        return ngettext(
            "Not your last password.",
            "None of your last %(count)d passwords.",
            self.count,
        ) % {"count": self.count}


def _alnum(value: str) -> str:
    return "".join(c for c in value.casefold() if c.isalnum())


def hint_validate(*, hint: str, password: str) -> None:
    """A hint may not give the password away: neither the password nor a large
    part of it, whatever the spacing, punctuation or case."""
    folded_hint, folded_password = _alnum(hint), _alnum(password)
    if not folded_password or not folded_hint:
        return
    match = SequenceMatcher(None, folded_hint, folded_password, autojunk=False).find_longest_match()
    if match.size >= max(5, -(-len(folded_password) * 3 // 5)):  # 60 % of it, rounded up
        raise ValidationError(_("The hint may not contain the password."), code="hint_contains_password")
