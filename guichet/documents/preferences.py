"""How often each user hears of new documents, per customer number (immediately, daily digest,
weekly digest, never; immediately when never chosen).

A user sets it only for the customer numbers they see (``access.customer_numbers``),
checked again here at every write; another customer's number does not exist.
"""

import enum
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from guichet.audit.services import record
from guichet.documents import access
from guichet.documents.models import CustomerNumber, Frequency, NotificationPreference, PendingNotice

DEFAULT = Frequency.IMMEDIATELY


class PreferenceErrorCode(enum.StrEnum):
    NOT_FOUND = "not_found"
    INVALID_FREQUENCY = "invalid_frequency"


MESSAGES = {
    PreferenceErrorCode.NOT_FOUND: _("This customer number is not one of yours."),
    PreferenceErrorCode.INVALID_FREQUENCY: _("Choose how often you want to be told of new documents."),
}


class PreferenceError(Exception):
    """A refusal; nothing was written."""

    def __init__(self, code: PreferenceErrorCode) -> None:
        self.code = code
        super().__init__(str(code))

    @property
    def message(self) -> str:
        return str(MESSAGES[self.code])


# --- Reading ------------------------------------------------------------------------------------


def frequencies(*, user: Any, customer_number_ids: Iterable[int]) -> dict[int, str]:
    """The frequency of each of ``customer_number_ids`` for ``user`` (the default when none is set)."""
    ids = list(customer_number_ids)
    chosen = dict(
        NotificationPreference.objects.filter(user=user, customer_number_id__in=ids).values_list(
            "customer_number_id", "frequency"
        )
    )
    return {pk: chosen.get(pk, DEFAULT) for pk in ids}


def frequency_of(*, user: Any, customer_number: CustomerNumber) -> str:
    return frequencies(user=user, customer_number_ids=[customer_number.pk])[customer_number.pk]


# --- Writing ------------------------------------------------------------------------------------


def preferences_set(
    *, user: Any, choices: Mapping[int, str], request: HttpRequest | None = None
) -> dict[int, str]:
    """Sets the frequency of several customer numbers at once; answers the ones that changed.

    Every number must be one ``user`` sees and every frequency valid, or
    nothing is written. Unsent digest entries follow the new choice: moved to
    the new digest, or dropped for "never" (immediately: they go with the
    digest they were waiting for).
    """
    if any(value not in Frequency.values for value in choices.values()):
        raise PreferenceError(PreferenceErrorCode.INVALID_FREQUENCY)
    with transaction.atomic():
        numbers = {
            number.pk: number
            for number in access.customer_numbers(user).select_related("issuer").filter(pk__in=list(choices))
        }
        if set(numbers) != set(choices):
            raise PreferenceError(PreferenceErrorCode.NOT_FOUND)
        before = frequencies(user=user, customer_number_ids=numbers)
        changed = {pk: value for pk, value in choices.items() if before[pk] != value}
        for pk, value in changed.items():
            NotificationPreference.objects.update_or_create(
                user=user, customer_number_id=pk, defaults={"frequency": value}
            )
            _pending_follow(user=user, customer_number_id=pk, frequency=value)
            record(
                action="documents.preference_changed",
                actor=user,
                target=numbers[pk],
                request=request,
                details={"customer_number": numbers[pk].code, "from": before[pk], "to": value},
            )
    return changed


def _pending_follow(*, user: Any, customer_number_id: int, frequency: str) -> None:
    pending = PendingNotice.objects.filter(
        user=user, document__customer_number_id=customer_number_id, sent_at__isnull=True
    )
    if frequency == Frequency.NEVER:
        pending.delete()
    elif frequency in (Frequency.DAILY, Frequency.WEEKLY):
        pending.update(frequency=frequency)
