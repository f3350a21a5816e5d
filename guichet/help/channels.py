"""Contact channels and their opening hours, read from ``GUICHET_CONTACT_CHANNELS``.

The setting is a list of items such as::

    {"kind": "chat", "hours": {"mon": "09:00-20:00", "sat": "09:00-18:00"}}
    {"kind": "faq", "hours": "24/7"}

``parse_contact_channels`` turns it into ``ContactChannel`` objects or raises
``ImproperlyConfigured`` naming the setting and the bad item; the help app
calls it at start so that a typo stops the server instead of a page.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

SETTING = "GUICHET_CONTACT_CHANNELS"
ALWAYS = "24/7"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = date.weekday()
KIND_NAMES: dict[str, Promise] = {
    "phone": _("Telephone"),
    "email": _("E-mail"),
    "chat": _("Chat with an advisor"),
    "whatsapp": _("WhatsApp"),
    "contact_form": _("Contact form"),
    "chatbot": _("Chatbot"),
    "faq": _("Frequently asked questions"),
}
HANDLED = {"same_day", "next_business_day"}
_KEYS = {"kind", "hours", "handled", "url"}
_RANGE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class Opening:
    start: time
    end: time


@dataclass(frozen=True)
class ContactChannel:
    kind: str
    # Weekday (0 = Monday) to the day's openings; None means always open.
    hours: dict[int, tuple[Opening, ...]] | None
    handled: str = ""
    url: str = ""

    @property
    def name(self) -> Promise:
        return KIND_NAMES[self.kind]

    @property
    def always_open(self) -> bool:
        return self.hours is None

    def openings_on(self, weekday: int) -> tuple[Opening, ...]:
        if self.hours is None:
            return (Opening(time.min, time.max),)
        return self.hours.get(weekday, ())

    def is_open(self, at: datetime) -> bool:
        if self.hours is None:
            return True
        return any(o.start <= at.time() < o.end for o in self.openings_on(at.weekday()))

    def next_opening(self, at: datetime) -> datetime | None:
        """The next time the channel opens after ``at`` (aware, same zone), if ever."""
        for offset in range(8):
            day: date = at.date() + timedelta(days=offset)
            for opening in self.openings_on(day.weekday()):
                start = datetime.combine(day, opening.start, tzinfo=at.tzinfo)
                if start > at:
                    return start
        return None


def _bad(index: int, item: object, problem: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"Setting {SETTING} item {index} ({item!r}) is invalid: {problem}.")


def _parse_range(text: object) -> Opening | None:
    match = _RANGE.match(text) if isinstance(text, str) else None
    if not match:
        return None
    start = time(int(match[1]), int(match[2]))
    end = time(int(match[3]), int(match[4]))
    return Opening(start, end) if start < end else None


def _parse_hours(index: int, item: dict[str, Any]) -> dict[int, tuple[Opening, ...]] | None:
    hours = item.get("hours")
    if hours == ALWAYS:
        return None
    if not isinstance(hours, dict) or not hours:
        raise _bad(
            index, item, f'"hours" must be "{ALWAYS}" or an object of days such as {{"mon": "09:00-17:00"}}'
        )
    parsed: dict[int, tuple[Opening, ...]] = {}
    for day, ranges in hours.items():
        if day not in DAYS:
            raise _bad(index, item, f"unknown day {day!r} (expected one of {', '.join(DAYS)})")
        openings = []
        for text in ranges if isinstance(ranges, list) else [ranges]:
            opening = _parse_range(text)
            if opening is None:
                raise _bad(
                    index, item, f'bad range {text!r} for {day} (expected "HH:MM-HH:MM", start before end)'
                )
            openings.append(opening)
        openings.sort(key=lambda o: o.start)
        if not openings or any(a.end > b.start for a, b in pairwise(openings)):
            raise _bad(index, item, f"empty or overlapping ranges for {day}")
        parsed[DAYS.index(day)] = tuple(openings)
    return parsed


def _parse_item(index: int, item: object) -> ContactChannel:
    if not isinstance(item, dict):
        raise _bad(index, item, 'expected an object with "kind" and "hours"')
    unknown = set(item) - _KEYS
    if unknown:
        raise _bad(index, item, f"unknown key(s) {', '.join(sorted(unknown))}")
    kind = item.get("kind")
    if kind not in KIND_NAMES:
        raise _bad(index, item, f"unknown kind {kind!r} (expected one of {', '.join(KIND_NAMES)})")
    handled = item.get("handled", "")
    if handled and handled not in HANDLED:
        raise _bad(index, item, f'"handled" must be one of {", ".join(sorted(HANDLED))}')
    url = item.get("url", "")
    if url and not (isinstance(url, str) and url.startswith("https://")):
        raise _bad(index, item, '"url" must be an https:// address')
    return ContactChannel(kind=kind, hours=_parse_hours(index, item), handled=handled, url=url)


def parse_contact_channels(value: object) -> list[ContactChannel]:
    if not isinstance(value, list):
        raise ImproperlyConfigured(f"Setting {SETTING} is invalid: expected a list of channels.")
    channels = [_parse_item(index, item) for index, item in enumerate(value)]
    kinds = [channel.kind for channel in channels]
    for index, kind in enumerate(kinds):
        if kind in kinds[:index]:
            raise _bad(index, value[index], f"kind {kind!r} appears more than once")
    return channels


def contact_channels() -> list[ContactChannel]:
    """The configured channels (already validated at start, so this cannot fail)."""
    return parse_contact_channels(settings.GUICHET_CONTACT_CHANNELS)


def institution_now() -> datetime:
    """Now, in the institution's time zone (opening hours are local times)."""
    return datetime.now(tz=ZoneInfo(settings.TIME_ZONE))
