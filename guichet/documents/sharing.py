"""Shared users (seed 002): a primary contact shares the documents of chosen customer numbers with
colleagues or their accountant.

Only a primary contact shares, and only the customer numbers it owns
(``access.owned_customer_numbers``): a shared user who is not a primary
contact cannot share further. Another account's shared user does not exist
(``access.shared_user_get``). A customer number is shared with nobody until
ticked. Each change takes effect at once, is audited and e-mailed to the
primary contact; a shared user who loses a customer number stops hearing of
its documents (their waiting digest entries for it are dropped).

Only business accounts share (seed 002: a MyUnifiedPost "Customer" account
cannot invite third parties); a consumer account is told why
(``NOT_BUSINESS``). It may still delete a shared user it had.

A new shared user is invited to activate an account in their language; when
their e-mail address already is an account's user ID, that account is linked
at once and told by e-mail instead.
"""

import enum
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guichet.audit.services import record
from guichet.documents import access, invitations, notices
from guichet.documents.models import CustomerNumber, PendingNotice, Share, SharedUser
from guichet.identity.models import AccountKind, User
from guichet.notifications.services import notify

NAME_MAX = 140


class SharingErrorCode(enum.StrEnum):
    NOT_PRIMARY_CONTACT = "not_primary_contact"
    NOT_FOUND = "not_found"
    INVALID_NAME = "invalid_name"
    INVALID_EMAIL = "invalid_email"
    INVALID_LANGUAGE = "invalid_language"
    UNKNOWN_CUSTOMER_NUMBER = "unknown_customer_number"
    ALREADY_SHARED_USER = "already_shared_user"
    SELF = "self"
    NOT_BUSINESS = "not_business"


MESSAGES = {
    SharingErrorCode.NOT_PRIMARY_CONTACT: _(
        "Only the primary contact of a customer number can share its documents."
    ),
    SharingErrorCode.NOT_FOUND: _("This shared user does not exist."),
    SharingErrorCode.INVALID_NAME: _("Enter the shared user's name (at most 140 characters)."),
    SharingErrorCode.INVALID_EMAIL: _("Enter a valid e-mail address, like name@example.com."),
    SharingErrorCode.INVALID_LANGUAGE: _("Choose one of the languages in the list."),
    SharingErrorCode.UNKNOWN_CUSTOMER_NUMBER: _("One of the customer numbers chosen is not one of yours."),
    SharingErrorCode.ALREADY_SHARED_USER: _("You already share documents with this e-mail address."),
    SharingErrorCode.SELF: _("This is your own e-mail address: you already see your documents."),
    SharingErrorCode.NOT_BUSINESS: _(
        "Only business accounts, identified by a company number, can invite other people to see their "
        "documents. Yours is a consumer account: you can download a document and send it on yourself."
    ),
}


class SharingError(Exception):
    """A refusal; ``field`` names the input at fault, if any. Nothing was written or sent."""

    def __init__(self, code: SharingErrorCode, *, field: str = "") -> None:
        self.code = code
        self.field = field
        super().__init__(str(code))

    @property
    def message(self) -> str:
        return str(MESSAGES[self.code])


# --- Reading ------------------------------------------------------------------------------------


def shared_users(*, owner: Any) -> list[SharedUser]:
    """``owner``'s shared users with the customer numbers each sees (empty for anyone else)."""
    if not access.is_primary_contact(owner):
        return []
    return list(
        SharedUser.objects.filter(owner=owner)
        .select_related("user")
        .prefetch_related("shares__customer_number__issuer")
    )


def shared_users_with_numbers(*, owner: Any) -> list[tuple[SharedUser, list[CustomerNumber]]]:
    """``owner``'s shared users, each with the customer numbers they see (three queries in all)."""
    return [
        (
            shared,
            sorted(
                (s.customer_number for s in shared.shares.all() if s.customer_number.account_id == owner.pk),
                key=lambda number: number.code,
            ),
        )
        for shared in shared_users(owner=owner)
    ]


def shared_numbers(shared_user: SharedUser) -> list[CustomerNumber]:
    """The customer numbers ``shared_user`` sees (only those its owner still holds)."""
    return list(
        access.owned_customer_numbers(shared_user.owner)
        .filter(shares__shared_user=shared_user)
        .select_related("issuer")
    )


def may_invite(user: Any) -> bool:
    """Whether ``user``'s account kind lets it share documents with other people (business only)."""
    return getattr(user, "kind", None) == AccountKind.BUSINESS


def _owned(owner: Any) -> list[CustomerNumber]:
    if not access.is_primary_contact(owner):
        raise SharingError(SharingErrorCode.NOT_PRIMARY_CONTACT)
    if not may_invite(owner):
        raise SharingError(SharingErrorCode.NOT_BUSINESS)
    return list(access.owned_customer_numbers(owner).select_related("issuer"))


def _chosen(owner: Any, customer_number_ids: Iterable[Any]) -> list[CustomerNumber]:
    """The owner's customer numbers among ``customer_number_ids``; any other one refuses."""
    owned = {number.pk: number for number in _owned(owner)}
    try:
        ids = {int(pk) for pk in customer_number_ids}
    except (TypeError, ValueError):
        raise SharingError(SharingErrorCode.UNKNOWN_CUSTOMER_NUMBER, field="customer_numbers") from None
    if not ids <= set(owned):
        raise SharingError(SharingErrorCode.UNKNOWN_CUSTOMER_NUMBER, field="customer_numbers")
    return [owned[pk] for pk in sorted(ids, key=lambda pk: owned[pk].code)]


def _clean_name(name: Any) -> str:
    cleaned = " ".join(str(name or "").split())
    if not cleaned or len(cleaned) > NAME_MAX:
        raise SharingError(SharingErrorCode.INVALID_NAME, field="name")
    return cleaned


def _clean_language(language: Any) -> str:
    if language not in {code for code, _label in settings.LANGUAGES}:
        raise SharingError(SharingErrorCode.INVALID_LANGUAGE, field="language")
    return str(language)


def _clean_email(email: Any) -> str:
    cleaned = str(email or "").strip().lower()
    try:
        validate_email(cleaned)
    except ValidationError:
        raise SharingError(SharingErrorCode.INVALID_EMAIL, field="email") from None
    return cleaned


def _owned_shared_user(owner: Any, shared_user_id: Any) -> SharedUser:
    if not access.is_primary_contact(owner):
        raise SharingError(SharingErrorCode.NOT_FOUND)
    shared = access.shared_user_get(owner, shared_user_id)
    if shared is None:
        raise SharingError(SharingErrorCode.NOT_FOUND)
    # Serialises concurrent changes of one shared user.
    return (
        SharedUser.objects.select_for_update(of=("self",)).select_related("user", "owner").get(pk=shared.pk)
    )


# --- Writing ------------------------------------------------------------------------------------


def shared_user_create(
    *,
    owner: User,
    name: str,
    email: str,
    language: str,
    customer_number_ids: Iterable[Any],
    request: HttpRequest | None = None,
) -> SharedUser:
    """Creates a shared user who sees ``customer_number_ids`` (owned by ``owner``), and invites them
    (an existing account joins by accepting the invitation with its password)."""
    _owned(owner)  # a primary contact with a business account, before any field is looked at
    fields = {"name": _clean_name(name), "email": _clean_email(email), "language": _clean_language(language)}
    numbers = _chosen(owner, customer_number_ids)
    if fields["email"] in {owner.user_id.lower(), owner.email.lower()}:
        raise SharingError(SharingErrorCode.SELF, field="email")
    # Never linked to an existing account here, and always invited: the answer must not tell whether
    # the address has an account, nor attach a stranger's account without their consent (review
    # finding). Accepting the invitation links the account (its password proves it).
    if SharedUser.objects.filter(owner=owner, email__iexact=fields["email"]).exists():
        raise SharingError(SharingErrorCode.ALREADY_SHARED_USER, field="email")
    try:
        with transaction.atomic():
            shared = SharedUser.objects.create(owner=owner, **fields)
            Share.objects.bulk_create([Share(shared_user=shared, customer_number=n) for n in numbers])
            record(
                action="documents.shared_user_created",
                actor=owner,
                target=shared,
                request=request,
                details={
                    "email": shared.email,
                    "language": shared.language,
                    "customer_numbers": [n.code for n in numbers],
                },
            )
            invitations.shared_user_invite(shared_user=shared, request=request)
            _tell_owner(shared, change="created", added=numbers)
    except IntegrityError:
        raise SharingError(SharingErrorCode.ALREADY_SHARED_USER, field="email") from None
    return shared


def shared_user_update(
    *,
    owner: User,
    shared_user_id: Any,
    name: str,
    language: str,
    customer_number_ids: Iterable[Any],
    request: HttpRequest | None = None,
) -> SharedUser:
    """Changes a shared user's name, language and customer numbers (their e-mail address stays:
    it is where they were invited and how they log on)."""
    fields = {"name": _clean_name(name), "language": _clean_language(language)}
    with transaction.atomic():
        shared = _owned_shared_user(owner, shared_user_id)
        numbers = _chosen(owner, customer_number_ids)
        before = {n.pk: n for n in shared_numbers(shared)}
        wanted = {n.pk: n for n in numbers}
        added = [n for pk, n in wanted.items() if pk not in before]
        removed = sorted((n for pk, n in before.items() if pk not in wanted), key=lambda n: n.code)
        changed_fields = {key: value for key, value in fields.items() if getattr(shared, key) != value}
        if not (added or removed or changed_fields):
            return shared
        for key, value in changed_fields.items():
            setattr(shared, key, value)
        if changed_fields:
            shared.save(update_fields=list(changed_fields))
        Share.objects.bulk_create([Share(shared_user=shared, customer_number=n) for n in added])
        Share.objects.filter(shared_user=shared, customer_number__in=[n.pk for n in removed]).delete()
        _pending_drop(shared)
        record(
            action="documents.shared_user_changed",
            actor=owner,
            target=shared,
            request=request,
            details={
                "changed": sorted(changed_fields),
                "shared": [n.code for n in added],
                "unshared": [n.code for n in removed],
            },
        )
        if added or removed:
            _tell_owner(shared, change="updated", added=added, removed=removed)
            _tell_shared_user(shared, added)
    return shared


def shared_user_delete(*, owner: User, shared_user_id: Any, request: HttpRequest | None = None) -> None:
    """Deletes a shared user: they see none of ``owner``'s documents from now on."""
    with transaction.atomic():
        shared = _owned_shared_user(owner, shared_user_id)
        removed = shared_numbers(shared)
        record(
            action="documents.shared_user_deleted",
            actor=owner,
            target=shared,
            request=request,
            details={"email": shared.email, "unshared": [n.code for n in removed]},
        )
        _tell_owner(shared, change="deleted", removed=removed)
        shared.delete()
        _pending_drop(shared)


def _pending_drop(shared: SharedUser) -> None:
    """Drops the shared user's waiting digest entries for documents they no longer see."""
    if shared.user_id is None:
        return
    PendingNotice.objects.filter(user_id=shared.user_id, sent_at__isnull=True).exclude(
        document__customer_number__in=access.customer_numbers(shared.user).values("pk")
    ).delete()


# --- E-mails ------------------------------------------------------------------------------------


def _tell_owner(
    shared: SharedUser,
    *,
    change: str,
    added: Iterable[CustomerNumber] = (),
    removed: Iterable[CustomerNumber] = (),
) -> None:
    """Tells the primary contact, in their language, of a change in their sharing."""
    if not shared.owner.email:
        return
    notify(
        template="documents_sharing_changed",
        context={
            "change": change,
            "person": shared.name,
            "email": shared.email,
            "added": [n.code for n in added],
            "removed": [n.code for n in removed],
            "at": timezone.now(),
        },
        user=shared.owner,
    )


def _tell_shared_user(shared: SharedUser, numbers: list[CustomerNumber]) -> None:
    """Tells a shared user who already has an account that documents are now shared with it (no
    invitation needed), in their account's language."""
    if not numbers or shared.user is None:
        return
    notify(
        template="documents_shared_with_you",
        context={
            "person": shared.name,
            "owner": _owner_name(shared.owner),
            "customer_numbers": [n.code for n in numbers],
            "url": notices.public_url(shared.user, "documents:list"),
        },
        user=shared.user,
        email=shared.user.email or shared.email,
    )


def _owner_name(owner: User) -> str:
    """The primary contact as their shared users know them: their name, else the contact name the
    issuer has for them."""
    if name := f"{owner.first_name} {owner.last_name}".strip():
        return name
    number = access.owned_customer_numbers(owner).order_by("pk").first()
    return number.contact_name if number else owner.email
