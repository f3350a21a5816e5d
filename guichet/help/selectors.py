"""Reads of the help app: what the contact page shows about each channel."""

from dataclasses import dataclass
from datetime import datetime

from django.utils.dates import WEEKDAYS
from django.utils.functional import Promise

from guichet.help.channels import ContactChannel, Opening, contact_channels


@dataclass(frozen=True)
class DayHours:
    name: Promise  # Django's own translated weekday name
    openings: tuple[Opening, ...]
    is_today: bool


@dataclass(frozen=True)
class ChannelStatus:
    channel: ContactChannel
    open_now: bool
    next_opening: datetime | None
    # "today", "tomorrow" or "later": picks the sentence that announces next_opening.
    next_opening_when: str
    days: tuple[DayHours, ...]


def _when(now: datetime, then: datetime | None) -> str:
    if then is None:
        return ""
    return {0: "today", 1: "tomorrow"}.get((then.date() - now.date()).days, "later")


def channel_status(*, channel: ContactChannel, now: datetime) -> ChannelStatus:
    open_now = channel.is_open(now)
    next_opening = None if open_now else channel.next_opening(now)
    days = tuple(
        DayHours(name=WEEKDAYS[day], openings=channel.openings_on(day), is_today=day == now.weekday())
        for day in range(7)
    )
    return ChannelStatus(
        channel=channel,
        open_now=open_now,
        next_opening=next_opening,
        next_opening_when=_when(now, next_opening),
        days=days,
    )


def contact_schedule(*, now: datetime) -> list[ChannelStatus]:
    """Every configured channel, in the configured order, with its state at ``now``."""
    return [channel_status(channel=channel, now=now) for channel in contact_channels()]
