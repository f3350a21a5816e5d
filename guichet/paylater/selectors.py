"""Who sees which schedule: a consumer sees the schedules of the orders placed with their e-mail.

``schedules_visible_to`` both filters lists and answers "may this user see it?": another customer's
schedule does not exist for them (404).
"""

from django.db.models import QuerySet
from django.http import Http404

from guichet.identity.models import User
from guichet.paylater.models import OPEN_STATUSES, CardSetup, Schedule


def schedules_visible_to(*, user: User) -> QuerySet[Schedule]:
    if not user.is_authenticated or not user.is_active:
        return Schedule.objects.none()
    return Schedule.objects.filter(order__customer=user).select_related("order", "order__merchant")


def open_schedules(*, user: User) -> QuerySet[Schedule]:
    return schedules_visible_to(user=user).filter(status__in=OPEN_STATUSES)


def finished_schedules(*, user: User) -> QuerySet[Schedule]:
    return schedules_visible_to(user=user).exclude(status__in=OPEN_STATUSES)


def schedule_of(*, user: User, schedule_id: object) -> Schedule:
    """The user's schedule, or 404 (another customer's looks exactly like a missing one)."""
    try:
        pk = int(str(schedule_id))
    except ValueError:
        raise Http404 from None
    schedule = schedules_visible_to(user=user).filter(pk=pk).first()
    if schedule is None:
        raise Http404
    return schedule


def card_setup_of(*, user: User, session: str = "", setup_id: object = None, purpose: str = "") -> CardSetup:
    """The user's own card entry at the provider, by its provider session or its id (and purpose), or
    404: another customer's looks exactly like a missing one."""
    setups = CardSetup.objects.filter(schedule__in=schedules_visible_to(user=user))
    if session:
        setups = setups.filter(provider_session=str(session)[:200])
    elif setup_id is not None:
        setups = setups.filter(pk=setup_id)
    else:
        raise Http404
    if purpose:
        setups = setups.filter(purpose=purpose)
    setup = setups.select_related("schedule__order").first()
    if setup is None:
        raise Http404
    return setup
