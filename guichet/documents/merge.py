"""Merging two document accounts into one, on a customer's request to an advisor (seed 002:
"regrouper les factures de plusieurs comptes").

Everything the *source* account holds moves to the *target*: its customer numbers, the shared users
it created (one with the same e-mail already on the target receives their shares instead), the
shares others gave it, its reading state, notification preferences and pending notices, and the
activation codes it used. On a conflict the target's own row wins (it already read the document,
already chose a frequency). The source is then deactivated and its sessions ended.

Only document accounts (business or consumer) are merged: never a staff account, nor a provisioned
account (an entity's user), nor an account into itself. A consumer account cannot share documents
(seed 002), so a source that shares documents goes into a business account only.

``document_accounts_merge_plan`` tells the advisor what would move (the review page); the merge
itself computes the same plan again under row locks, in one transaction, audited with the counts.
"""

import dataclasses
import enum
from typing import Any

from allauth.usersessions.models import UserSession
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from guichet.audit.services import record
from guichet.documents.models import (
    ActivationCode,
    CustomerNumber,
    DeliveryChannelChange,
    DocumentRead,
    Invitation,
    NotificationPreference,
    PendingNotice,
    Share,
    SharedUser,
)
from guichet.entities.models import Person
from guichet.identity.models import AccountKind, User

# Merging rewrites who holds customer numbers and shared users and deactivates an account. There is
# no dedicated permission (the models are fixed), so it takes these three together; advisors get
# ``documents.change_shareduser`` for this alone (no page edits shared users).
MERGE_PERMISSIONS = ("identity.change_user", "documents.change_customernumber", "documents.change_shareduser")
DOCUMENT_KINDS = (AccountKind.BUSINESS, AccountKind.CONSUMER)


class MergeErrorCode(enum.StrEnum):
    NOT_ALLOWED = "not_allowed"
    SAME_ACCOUNT = "same_account"
    STAFF_ACCOUNT = "staff_account"
    NOT_DOCUMENT_ACCOUNT = "not_document_account"
    SOURCE_INACTIVE = "source_inactive"
    TARGET_INACTIVE = "target_inactive"
    CONSUMER_CANNOT_SHARE = "consumer_cannot_share"


MESSAGES = {
    MergeErrorCode.NOT_ALLOWED: _("You are not allowed to merge document accounts."),
    MergeErrorCode.SAME_ACCOUNT: _("An account cannot be merged into itself: choose two different accounts."),
    MergeErrorCode.STAFF_ACCOUNT: _("Staff accounts are never merged."),
    MergeErrorCode.NOT_DOCUMENT_ACCOUNT: _(
        "Only document accounts (business or consumer) can be merged; accounts provisioned by the "
        "institution or belonging to a business client's users cannot."
    ),
    MergeErrorCode.SOURCE_INACTIVE: _(
        "The account to merge is deactivated already (perhaps merged before): nothing to do."
    ),
    MergeErrorCode.TARGET_INACTIVE: _("The account that receives the documents is deactivated."),
    MergeErrorCode.CONSUMER_CANNOT_SHARE: _(
        "The account to merge shares documents with other users, and a consumer account cannot share "
        "documents: merge it into a business account."
    ),
}


class MergeError(Exception):
    """A refusal; ``field`` names the account at fault (``source`` or ``target``), if any. Nothing
    was written."""

    def __init__(self, code: MergeErrorCode, *, field: str = "") -> None:
        self.code = code
        self.field = field
        super().__init__(str(code))

    @property
    def message(self) -> str:
        return str(MESSAGES[self.code])


@dataclasses.dataclass(frozen=True)
class MergePlan:
    """What a merge moves, for the advisor's review."""

    customer_numbers: list[CustomerNumber]
    shared_users_moved: list[SharedUser]
    # (the source's shared user, the target's one with the same e-mail that receives its shares)
    shared_users_merged: list[tuple[SharedUser, SharedUser]]
    # The source's shared users who are the target itself: the target sees everything anyway.
    shared_users_dropped: list[SharedUser]
    shared_with_me: int
    reads: int
    reads_skipped: int
    preferences: int
    preferences_kept: int
    notices: int
    activation_codes: int


@dataclasses.dataclass(frozen=True)
class MergeResult:
    source_id: int
    target_id: int
    customer_numbers: int
    shared_users_moved: int
    shared_users_merged: int
    shared_users_dropped: int
    shares_moved: int
    shared_with_me: int
    reads: int
    reads_skipped: int
    preferences: int
    preferences_kept: int
    notices: int
    activation_codes: int
    logged_out: int

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in ("source_id", "target_id")}


# --- Checks ---------------------------------------------------------------------------------------


def may_merge(user: Any) -> bool:
    return bool(user is not None and user.is_active and user.is_staff and user.has_perms(MERGE_PERMISSIONS))


def _check_account(user: User, field: str) -> None:
    if user.is_staff or user.is_superuser or user.kind == AccountKind.STAFF:
        raise MergeError(MergeErrorCode.STAFF_ACCOUNT, field=field)
    if user.kind not in DOCUMENT_KINDS or Person.objects.filter(user=user).exists():
        raise MergeError(MergeErrorCode.NOT_DOCUMENT_ACCOUNT, field=field)


def merge_check(*, source: User, target: User, by: Any) -> None:
    """Raises ``MergeError`` when ``by`` may not merge ``source`` into ``target``."""
    if not may_merge(by):
        raise MergeError(MergeErrorCode.NOT_ALLOWED)
    if source.pk == target.pk:
        raise MergeError(MergeErrorCode.SAME_ACCOUNT, field="target")
    _check_account(source, "source")
    _check_account(target, "target")
    if not source.is_active:
        raise MergeError(MergeErrorCode.SOURCE_INACTIVE, field="source")
    if not target.is_active:
        raise MergeError(MergeErrorCode.TARGET_INACTIVE, field="target")
    if target.kind == AccountKind.CONSUMER and _shares_documents(source, target):
        raise MergeError(MergeErrorCode.CONSUMER_CANNOT_SHARE, field="target")


def _shares_documents(source: User, target: User) -> bool:
    return any(not _is_target(shared, target) for shared in SharedUser.objects.filter(owner=source))


def _is_target(shared: SharedUser, target: User) -> bool:
    """A shared user that is the target itself (by account or by address)."""
    addresses = {target.user_id.lower(), (target.email or "").lower()} - {""}
    return shared.user_id == target.pk or shared.email.lower() in addresses


# --- The plan -------------------------------------------------------------------------------------


def _moving(model: Any, field: str, source: User, target: User) -> tuple[QuerySet, QuerySet]:
    """The source's rows of ``model`` that move, and those the target already has (by ``field``)."""
    held = model.objects.filter(user=target).values(field)
    rows = model.objects.filter(user=source)
    return rows.exclude(**{f"{field}__in": held}), rows.filter(**{f"{field}__in": held})


def document_accounts_merge_plan(*, source: User, target: User) -> MergePlan:
    """What merging ``source`` into ``target`` would move (call ``merge_check`` first)."""
    by_email = {s.email.lower(): s for s in SharedUser.objects.filter(owner=target)}
    moved, merged, dropped = [], [], []
    for shared in SharedUser.objects.filter(owner=source).order_by("name", "pk"):
        if _is_target(shared, target):
            dropped.append(shared)
        elif shared.email.lower() in by_email:
            merged.append((shared, by_email[shared.email.lower()]))
        else:
            moved.append(shared)
    reads, reads_skipped = _moving(DocumentRead, "document", source, target)
    preferences, preferences_kept = _moving(NotificationPreference, "customer_number", source, target)
    notices, _kept = _moving(PendingNotice, "document", source, target)
    return MergePlan(
        customer_numbers=list(CustomerNumber.objects.filter(account=source).select_related("issuer")),
        shared_users_moved=moved,
        shared_users_merged=merged,
        shared_users_dropped=dropped,
        shared_with_me=SharedUser.objects.filter(user=source).exclude(owner=target).count(),
        reads=reads.count(),
        reads_skipped=reads_skipped.count(),
        preferences=preferences.count(),
        preferences_kept=preferences_kept.count(),
        notices=notices.filter(sent_at__isnull=True).count(),
        activation_codes=ActivationCode.objects.filter(used_by=source).count(),
    )


# --- The merge ------------------------------------------------------------------------------------


def document_accounts_merge(
    *, source: User, target: User, by: User, request: HttpRequest | None = None
) -> MergeResult:
    """Moves everything ``source`` holds to ``target``, deactivates ``source`` and ends its sessions;
    ``MergeError`` (nothing written) when refused."""
    with transaction.atomic():
        # Both accounts locked in a fixed order, and checked again as they are now.
        locked = {u.pk: u for u in User.objects.select_for_update().filter(pk__in=[source.pk, target.pk])}
        source, target = locked.get(source.pk, source), locked.get(target.pk, target)
        merge_check(source=source, target=target, by=by)
        numbers = list(CustomerNumber.objects.select_for_update().filter(account=source).order_by("pk"))
        list(SharedUser.objects.select_for_update().filter(owner__in=[source, target]).order_by("pk"))
        plan = document_accounts_merge_plan(source=source, target=target)
        _move_numbers(numbers, target=target, by=by)
        shares_moved = _move_shared_users(plan, target=target)
        shared_with_me = _move_shared_with_me(source=source, target=target)
        reads, _skipped = _moving(DocumentRead, "document", source, target)
        preferences, _kept = _moving(NotificationPreference, "customer_number", source, target)
        notices, _dup = _moving(PendingNotice, "document", source, target)
        notices = notices.filter(sent_at__isnull=True)
        result = MergeResult(
            source_id=source.pk,
            target_id=target.pk,
            customer_numbers=len(numbers),
            shared_users_moved=len(plan.shared_users_moved),
            shared_users_merged=len(plan.shared_users_merged),
            shared_users_dropped=len(plan.shared_users_dropped),
            shares_moved=shares_moved,
            shared_with_me=shared_with_me,
            reads=reads.update(user=target),
            reads_skipped=plan.reads_skipped,
            preferences=preferences.update(user=target),
            preferences_kept=plan.preferences_kept,
            notices=notices.update(user=target),
            activation_codes=ActivationCode.objects.filter(used_by=source).update(used_by=target),
            logged_out=_deactivate(source),
        )
        details = {"source": source.pk, "target": target.pk, **result.counts()}
        details["customer_codes"] = [number.code for number in numbers]
        record(action="documents.accounts_merged", actor=by, target=target, request=request, details=details)
        record(
            action="user.changed",
            actor=by,
            target=source,
            request=request,
            details={"fields": ["is_active"], "merged_into": target.pk},
        )
    return result


def _move_numbers(numbers: list[CustomerNumber], *, target: User, by: User) -> None:
    CustomerNumber.objects.filter(pk__in=[n.pk for n in numbers]).update(account=target)
    # The delivery history shows that the number changed hands (its channel stays as it was).
    DeliveryChannelChange.objects.bulk_create(
        DeliveryChannelChange(
            customer_number=number,
            electronic=number.electronic_delivery,
            reason=DeliveryChannelChange.Reason.MERGE,
            author=by,
        )
        for number in numbers
    )


def _move_shared_users(plan: MergePlan, *, target: User) -> int:
    """Moves the source's shared users; returns how many shares went into a target's shared user."""
    SharedUser.objects.filter(pk__in=[s.pk for s in plan.shared_users_moved]).update(owner=target)
    moved = 0
    for shared, kept in plan.shared_users_merged:
        already = Share.objects.filter(shared_user=kept).values("customer_number")
        moved += (
            Share.objects.filter(shared_user=shared)
            .exclude(customer_number__in=already)
            .update(shared_user=kept)
        )
        Invitation.objects.filter(shared_user=shared).update(shared_user=kept)
        if kept.user_id is None and shared.user_id is not None:
            SharedUser.objects.filter(pk=kept.pk).update(user=shared.user_id)
    dropped = [s.pk for s, _kept in plan.shared_users_merged] + [s.pk for s in plan.shared_users_dropped]
    SharedUser.objects.filter(pk__in=dropped).delete()  # their remaining shares and invitations with them
    return moved


def _move_shared_with_me(*, source: User, target: User) -> int:
    """What others shared with the source is now shared with the target (the target's own shared
    users pointing at the source are dropped: the target sees its own numbers)."""
    SharedUser.objects.filter(user=source, owner=target).delete()
    return SharedUser.objects.filter(user=source).update(user=target)


def _deactivate(source: User) -> int:
    User.objects.filter(pk=source.pk).update(is_active=False)
    source.is_active = False
    sessions = list(UserSession.objects.filter(user=source))
    for session in sessions:
        session.end()
    return len(sessions)
