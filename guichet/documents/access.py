"""Who sees which documents: the one authorisation function of the document portal.

A user sees a customer number when they are its primary contact (the
number's ``account``), or a shared user of that primary contact to whom it
was shared (``Share``). They see its documents issued within the visible
window (``GUICHET_DOCUMENTS_VISIBLE_YEARS``, 7 by default). Every view,
export, download and notification asks here; each answer is one query.
"""

import datetime
from typing import Any

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from guichet.documents.models import CustomerNumber, Document, Share, SharedUser


def _active(user: Any) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and user.is_active


def visible_since(today: datetime.date | None = None) -> datetime.date:
    """The oldest issue date shown (the same day, ``GUICHET_DOCUMENTS_VISIBLE_YEARS`` years ago)."""
    today = today or timezone.localdate()
    years = settings.GUICHET_DOCUMENTS_VISIBLE_YEARS
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def customer_numbers(user: Any) -> QuerySet[CustomerNumber]:
    """The customer numbers whose documents ``user`` sees."""
    if not _active(user):
        return CustomerNumber.objects.none()
    # A UNION of two index scans: "account = user OR EXISTS (share)" would read every customer number
    # (bench/documents.py: 459 ms instead of 0.2 ms with a million of them).
    owned = CustomerNumber.objects.filter(account=user).order_by().values("pk")
    shared = Share.objects.filter(
        shared_user__user=user, shared_user__owner=F("customer_number__account")
    ).values("customer_number")
    return CustomerNumber.objects.filter(pk__in=owned.union(shared))


def owned_customer_numbers(user: Any) -> QuerySet[CustomerNumber]:
    """The customer numbers of which ``user`` is the primary contact (they may share those)."""
    if not _active(user):
        return CustomerNumber.objects.none()
    return CustomerNumber.objects.filter(account=user)


def documents(user: Any) -> QuerySet[Document]:
    """The documents ``user`` sees: of their customer numbers, within the visible window."""
    if not _active(user):
        return Document.objects.none()
    return Document.objects.filter(
        customer_number__in=customer_numbers(user).values("pk"), issue_date__gte=visible_since()
    )


def document_get(user: Any, document_id: Any) -> Document | None:
    """The document if ``user`` sees it, else None (views answer 404: nothing leaks)."""
    try:
        pk = int(document_id)
    except (TypeError, ValueError):
        return None
    return documents(user).select_related("customer_number__issuer", "issuer").filter(pk=pk).first()


def is_primary_contact(user: Any) -> bool:
    return owned_customer_numbers(user).exists()


def shared_user_get(owner: Any, shared_user_id: Any) -> SharedUser | None:
    """One of ``owner``'s shared users, else None (another account's shared user does not exist)."""
    if not _active(owner):
        return None
    try:
        pk = int(shared_user_id)
    except (TypeError, ValueError):
        return None
    return SharedUser.objects.filter(pk=pk, owner=owner).first()


def recipients(document: Document) -> QuerySet[Any]:
    """Who hears of ``document``: the primary contact's account and every active shared user who
    sees its customer number (users; the primary contact without an account is invited instead)."""
    from django.contrib.auth import get_user_model

    number = document.customer_number
    shared = Share.objects.filter(
        customer_number=number,
        shared_user__owner=F("customer_number__account"),
        shared_user__user=OuterRef("pk"),
    )
    return get_user_model().objects.filter(is_active=True).filter(Q(pk=number.account_id) | Exists(shared))
