"""Template helpers of the pay-later space: amounts as the seed prints them, and status badges.

A status is always written out in words; the badge's class only adds a colour (WCAG 1.4.1).
"""

from decimal import Decimal

from django import template

from guichet.paylater.models import InstalmentStatus, ScheduleStatus
from guichet.paylater.money import money_display

register = template.Library()

_SCHEDULE_TONES = {
    ScheduleStatus.IN_PROGRESS: "info",
    ScheduleStatus.REGULARISING: "warning",
    ScheduleStatus.COMPLETED: "success",
    ScheduleStatus.UNPAID: "error",
    ScheduleStatus.CANCELLED: "neutral",
}
_INSTALMENT_TONES = {
    InstalmentStatus.IN_PROGRESS: "info",
    InstalmentStatus.PAID: "success",
    InstalmentStatus.UNPAID: "error",
    InstalmentStatus.DELETED: "neutral",
}


@register.filter
def money(amount: Decimal | None, currency: str = "EUR") -> str:
    """``{{ amount|money:order.currency }}`` → "42,66 €" in French, "€ 42.66"… in the active language."""
    if amount is None or amount == "":
        return ""
    return money_display(Decimal(amount), currency or "EUR")


@register.filter
def schedule_tone(status: str) -> str:
    """The badge class of a schedule status: ``status-pl status-pl-<tone>``."""
    return f"status-pl status-pl-{_SCHEDULE_TONES.get(status, 'neutral')}"


@register.filter
def instalment_tone(status: str) -> str:
    """The badge class of an instalment (or regularisation payment) status."""
    return f"status-pl status-pl-{_INSTALMENT_TONES.get(status, 'neutral')}"
