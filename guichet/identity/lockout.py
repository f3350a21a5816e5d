"""Consecutive failed logins and the lock they lead to (PSD2 RTS art. 4).

Counted per identifier. For an account, in the database (the lock stays until
"Reset logon credentials"); for an identifier that matches no account, in the
cache, so that an unknown user ID gets the same warning at the 4th failure
and the same "locked" answer at the 5th: the answers reveal nothing.
"""

import dataclasses
import hashlib

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from guichet.audit.services import record
from guichet.identity.models import User
from guichet.notifications.services import notify

UNKNOWN_TTL = 30 * 24 * 3600  # as long as a real lock would plausibly last


@dataclasses.dataclass(frozen=True)
class FailureState:
    failures: int
    locked: bool

    @property
    def attempts_left(self) -> int:
        return max(settings.GUICHET_LOCKOUT_THRESHOLD - self.failures, 0)

    @property
    def warn(self) -> bool:
        """True when a single attempt is left before the lock."""
        return not self.locked and self.attempts_left == 1


def user_by_identifier(identifier: str) -> User | None:
    identifier = (identifier or "").strip()
    if not identifier:
        return None
    return User.objects.filter(user_id__iexact=identifier).first()


def _unknown_key(identifier: str) -> str:
    digest = hashlib.sha256(identifier.strip().casefold().encode()).hexdigest()
    return f"guichet:login-failures:{digest}"


def failure_state(identifier: str) -> FailureState:
    identifier = (identifier or "").strip()
    row = (
        User.objects.filter(user_id__iexact=identifier).values_list("failed_login_count", "locked_at").first()
        if identifier
        else None
    )
    if row is not None:
        return FailureState(failures=row[0], locked=row[1] is not None)
    failures = cache.get(_unknown_key(identifier), 0)
    return FailureState(failures=failures, locked=failures >= settings.GUICHET_LOCKOUT_THRESHOLD)


def login_failure_record(*, identifier: str, request: HttpRequest | None = None) -> FailureState:
    """Counts one failed password; the threshold locks the access and tells its owner by e-mail."""
    user = user_by_identifier(identifier)
    if user is None:
        key = _unknown_key(identifier)
        cache.add(key, 0, UNKNOWN_TTL)
        try:
            failures = cache.incr(key)
        except ValueError:  # evicted between add and incr
            cache.set(key, 1, UNKNOWN_TTL)
            failures = 1
        with transaction.atomic():
            record(action="identity.login_failed", actor=None, target="unknown identifier", request=request)
        return FailureState(failures=failures, locked=failures >= settings.GUICHET_LOCKOUT_THRESHOLD)
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(failed_login_count=F("failed_login_count") + 1)
        user = User.objects.select_for_update().get(pk=user.pk)
        record(
            action="identity.login_failed",
            actor=None,
            target=user,
            request=request,
            details={"failures": user.failed_login_count},
        )
        if user.failed_login_count >= settings.GUICHET_LOCKOUT_THRESHOLD and not user.is_locked:
            user.locked_at = timezone.now()
            user.save(update_fields=["locked_at"])
            record(action="identity.locked", actor=None, target=user, request=request)
            if user.email:
                notify(template="identity_locked", context={"user_id": user.user_id}, user=user)
    return FailureState(failures=user.failed_login_count, locked=user.is_locked)


def login_failures_reset(*, user: User) -> None:
    """A right password ends the run of failures (the lock itself stays until unlocked)."""
    if user.is_locked or not user.failed_login_count:
        return  # ``user`` comes fresh from the password check: nothing to reset
    User.objects.filter(pk=user.pk, failed_login_count__gt=0, locked_at__isnull=True).update(
        failed_login_count=0
    )
    user.failed_login_count = 0


def access_unlock(*, user: User, acting_user: User | None = None, request: HttpRequest | None = None) -> None:
    """Lifts the lock and clears the failure count (done by "Reset logon credentials")."""
    with transaction.atomic():
        was_locked = user.is_locked
        User.objects.filter(pk=user.pk).update(failed_login_count=0, locked_at=None)
        user.failed_login_count, user.locked_at = 0, None
        if was_locked:
            record(action="identity.unlocked", actor=acting_user or user, target=user, request=request)
