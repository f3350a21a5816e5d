"""What every page of the pay-later space shows: a schedule as the seed lays it out, and the contact block.

Schedules are read only through ``paylater.selectors`` (another customer's schedule is a 404), with
their instalments, current card, earlier versions and open regularisation prefetched, so a list of
schedules costs a fixed number of queries.
"""

import dataclasses
from datetime import date, time
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest
from django.shortcuts import redirect
from django.utils.functional import Promise

from guichet.help.channels import institution_now
from guichet.help.selectors import ChannelStatus, contact_schedule
from guichet.identity import signing
from guichet.paylater.models import (
    Card,
    Instalment,
    InstalmentStatus,
    RegularisationPart,
    RegularisationPlan,
    RegularisationStatus,
    Schedule,
    ScheduleStatus,
    ScheduleVersion,
)
from guichet.paylater.selectors import schedules_visible_to

ZERO = Decimal("0.00")


@dataclasses.dataclass(frozen=True)
class VersionView:
    number: int
    reason: str
    created_at: Any
    cancelled_amount: Decimal
    card_refund: Decimal
    instalments: list[dict[str, Any]]


@dataclasses.dataclass(frozen=True)
class ScheduleView:
    """One schedule, everything its block shows, computed once from prefetched rows."""

    schedule: Schedule
    instalments: list[Instalment]
    card: Card | None
    versions: list[VersionView]
    plan: RegularisationPlan | None  # the regularisation being paid (or waiting for its first payment)
    plan_parts: list[RegularisationPart]
    regularised: Decimal  # paid by that regularisation so far
    due: Decimal  # unpaid, less what regularisation already paid

    @property
    def order(self) -> Any:
        return self.schedule.order

    @property
    def currency(self) -> str:
        return self.schedule.order.currency

    @property
    def unpaid(self) -> bool:
        return self.schedule.status == ScheduleStatus.UNPAID

    @property
    def regularising(self) -> bool:
        return self.schedule.status == ScheduleStatus.REGULARISING

    @property
    def card_changeable(self) -> bool:
        """The "Change" button: offered while debits are still to come, also during a regularisation
        (its payments are debited from the card); the cut-off is checked on click."""
        return (
            self.schedule.status in (ScheduleStatus.IN_PROGRESS, ScheduleStatus.REGULARISING)
            and self.card is not None
        )

    @property
    def open(self) -> bool:
        return self.schedule.status in (
            ScheduleStatus.IN_PROGRESS,
            ScheduleStatus.REGULARISING,
            ScheduleStatus.UNPAID,
        )


def _with_rows(queryset: QuerySet[Schedule]) -> QuerySet[Schedule]:
    open_plans = RegularisationPlan.objects.filter(
        status__in=(RegularisationStatus.PENDING, RegularisationStatus.ACTIVE)
    ).prefetch_related(Prefetch("parts", queryset=RegularisationPart.objects.order_by("number")))
    return queryset.prefetch_related(
        Prefetch("instalments", queryset=Instalment.objects.order_by("number")),
        Prefetch("cards", queryset=Card.objects.filter(replaced_at__isnull=True), to_attr="current_cards"),
        Prefetch("versions", queryset=ScheduleVersion.objects.order_by("-number")),
        Prefetch("regularisations", queryset=open_plans, to_attr="open_plans"),
    )


def _version_view(version: ScheduleVersion) -> VersionView:
    rows = [
        {
            "number": row["number"],
            "due_date": date.fromisoformat(row["due_date"]),
            "amount": Decimal(row["amount"]),
            "status": row["status"],
            "status_label": InstalmentStatus(row["status"]).label,
        }
        for row in version.instalments
    ]
    return VersionView(
        number=version.number,
        reason=version.get_reason_display(),
        created_at=version.created_at,
        cancelled_amount=version.cancelled_amount,
        card_refund=version.card_refund,
        instalments=rows,
    )


def schedule_view(schedule: Schedule) -> ScheduleView:
    instalments = list(schedule.instalments.all())
    plans = schedule.open_plans
    plan = plans[0] if plans else None
    parts = list(plan.parts.all()) if plan is not None else []
    regularised = (
        sum((p.amount for p in parts if p.status == InstalmentStatus.PAID), ZERO)
        if plan is not None and plan.status == RegularisationStatus.ACTIVE
        else ZERO
    )
    unpaid = sum((i.amount for i in instalments if i.status == InstalmentStatus.UNPAID), ZERO)
    return ScheduleView(
        schedule=schedule,
        instalments=instalments,
        card=schedule.current_cards[0] if schedule.current_cards else None,
        versions=[_version_view(v) for v in schedule.versions.all()],
        plan=plan,
        plan_parts=parts,
        regularised=regularised,
        due=max(unpaid - schedule.regularisation_credit, ZERO),
    )


def schedule_views(*, user: Any) -> list[ScheduleView]:
    """All the user's schedules (newest purchase first); 404 for a user without any: the pay-later
    space does not exist for them (staff, business users, another kind of customer)."""
    views = [schedule_view(s) for s in _with_rows(schedules_visible_to(user=user))]
    if not views:
        raise Http404
    return views


def schedule_view_of(*, user: Any, pk: object) -> ScheduleView:
    """The user's schedule, or 404 (another customer's looks exactly like a missing one)."""
    try:
        schedule_id = int(str(pk))
    except ValueError:
        raise Http404 from None
    schedule = _with_rows(schedules_visible_to(user=user)).filter(pk=schedule_id).first()
    if schedule is None:
        raise Http404
    return schedule_view(schedule)


# --- The contact block -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DayRange:
    """Consecutive days with the same hours ("Monday to Friday, 09:00 to 20:00")."""

    first: Promise
    last: Promise | None  # None: a single day
    openings: tuple[tuple[time, time], ...]


@dataclasses.dataclass(frozen=True)
class ContactLine:
    name: Promise
    kind: str
    always_open: bool
    open_now: bool
    ranges: tuple[DayRange, ...]


def _ranges(status: ChannelStatus) -> tuple[DayRange, ...]:
    ranges: list[DayRange] = []
    run: list[Any] = []

    def close() -> None:
        if run and run[0].openings:
            openings = tuple((o.start, o.end) for o in run[0].openings)
            ranges.append(
                DayRange(first=run[0].name, last=run[-1].name if len(run) > 1 else None, openings=openings)
            )

    for day in status.days:
        if run and day.openings == run[0].openings:
            run.append(day)
            continue
        close()
        run = [day]
    close()
    return tuple(ranges)


def contact_lines() -> list[ContactLine]:
    """The help app's channels and their hours, grouped by days, at the institution's time."""
    return [
        ContactLine(
            name=status.channel.name,
            kind=status.channel.kind,
            always_open=status.channel.always_open,
            open_now=status.open_now,
            ranges=() if status.channel.always_open else _ranges(status),
        )
        for status in contact_schedule(now=institution_now())
    ]


def space_context(**context: Any) -> dict[str, Any]:
    """The context every page of the space has: the contact block."""
    return {
        "contact_lines": contact_lines(),
        "cutoff_days": settings.GUICHET_PAYLATER_CARD_CHANGE_CUTOFF_DAYS,
        **context,
    }


def sign(request: HttpRequest, operation: signing.Operation, next_url: str) -> Any:
    """Sends the customer to sign ``operation``; the signing page returns to ``next_url`` with ``?proof=``."""
    challenge = signing.signing_start(
        user=request.user, operation=operation, request=request, next_url=next_url
    )
    return redirect("identity:sign", challenge_id=challenge.pk)
