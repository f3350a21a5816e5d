"""Telling recipients of new documents (seed 002): at once, in a daily or weekly digest, or never,
as each recipient chose for that customer number, each in their own language.

``document_announce`` runs inside the transaction that adds the document: the
e-mails (queued by ``notify``) and the digest entries (``PendingNotice``) exist
if and only if the document does. ``digests_send`` sends the digests: per
user, one e-mail listing the waiting documents the user still sees, marked
sent in the same transaction as the e-mail is queued, so a crash sends
nothing twice and loses nothing, and a second run finds nothing to do.
"""

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation

from guichet.documents import access, preferences
from guichet.documents.models import Document, Frequency, PendingNotice
from guichet.notifications.services import notify

logger = logging.getLogger(__name__)

DIGESTS = (Frequency.DAILY, Frequency.WEEKLY)

log = logging.getLogger(__name__)


def document_announce(*, document: Document) -> None:
    """Tells the recipients of a new document, each by their preference; call it in the document's
    transaction. A primary contact without an account gets an invitation that tells of it.

    A document older than the visible window (a late backfill) is announced to nobody: nobody
    would find it.
    """
    number = document.customer_number
    if document.issue_date < access.visible_since():
        return
    if number.account_id is None:
        from guichet.documents import invitations

        invitations.invitation_for_new_document(document=document)
    for user in access.recipients(document):
        if not user.email:
            # Nowhere to write: never a reason to refuse the document itself (review finding).
            log.warning("document %s: recipient %s has no e-mail address", document.pk, user.pk)
            continue
        frequency = preferences.frequency_of(user=user, customer_number=number)
        if frequency == Frequency.IMMEDIATELY:
            notify(
                template="documents_new",
                context={**_document_context(document), "url": public_url(user, "documents:list")},
                user=user,
                idempotency_key=f"documents_new:{document.pk}:{user.pk}",
            )
        elif frequency in DIGESTS:
            PendingNotice.objects.get_or_create(
                user=user, document=document, defaults={"frequency": frequency}
            )


def public_url(user: Any, name: str) -> str:
    """An absolute link to a page, in the recipient's language (``GUICHET_PUBLIC_URL``: these e-mails
    are sent without a request); empty when no public address is configured."""
    base = getattr(settings, "GUICHET_PUBLIC_URL", "").rstrip("/")
    if not base:
        return ""
    try:
        with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
            return base + reverse(name)
    except NoReverseMatch:
        return ""


def _document_context(document: Document) -> dict[str, Any]:
    """Plain values: the e-mail is rendered in the recipient's language (labels translated there)."""
    return {
        "kind": document.kind,
        "number": document.number,
        "issue_date": document.issue_date,
        "due_date": document.due_date,
        "amount": document.amount_incl_vat,
        "amount_payable": document.amount_payable,
        "currency": document.currency,
        "issuer": document.issuer.name,
        "customer_number": document.customer_number.code,
    }


# --- Digests ------------------------------------------------------------------------------------


def digests_send(*, frequency: str) -> int:
    """Sends the daily or weekly digests due now; answers how many e-mails were queued.

    Run it once a day (``--daily``) and once a week (``--weekly``): each user
    with waiting entries of that frequency gets one e-mail listing them.
    """
    if frequency not in DIGESTS:
        raise ValueError(f"not a digest frequency: {frequency!r}")
    user_ids = (
        PendingNotice.objects.filter(frequency=frequency, sent_at__isnull=True)
        .order_by("user_id")
        .values_list("user_id", flat=True)
        .distinct()
    )
    sent = 0
    for user_id in list(user_ids):
        try:
            sent += digest_send(user_id=user_id, frequency=frequency)
        except Exception:
            # One user's failure (say, no e-mail address) must not hold back the others; their
            # entries stay waiting, untouched, for the next run.
            logger.exception("documents digest (%s) to user %s failed", frequency, user_id)
    return sent


def digest_send(*, user_id: int, frequency: str) -> int:
    """One user's digest: 1 when an e-mail was queued, 0 when nothing (still) visible waited.

    Entries of documents the user no longer sees (unshared since, account
    closed) are dropped without a word.
    """
    from django.contrib.auth import get_user_model

    with transaction.atomic():
        user = get_user_model().objects.filter(pk=user_id).first()
        waiting = list(
            PendingNotice.objects.select_for_update(skip_locked=True).filter(
                user_id=user_id, frequency=frequency, sent_at__isnull=True
            )
        )
        if user is None or not waiting:
            return 0
        visible = set(
            access.documents(user)
            .filter(pk__in=[n.document_id for n in waiting])
            .values_list("pk", flat=True)
        )
        PendingNotice.objects.filter(pk__in=[n.pk for n in waiting if n.document_id not in visible]).delete()
        kept = [n for n in waiting if n.document_id in visible]
        if not kept:
            return 0
        documents = list(
            Document.objects.filter(pk__in=[n.document_id for n in kept])
            .select_related("customer_number__issuer", "customer_number__customer", "issuer")
            .order_by("customer_number__issuer__prefix", "customer_number__number", "issue_date", "pk")
        )
        notify(
            template="documents_digest",
            context={
                "frequency": frequency,
                "documents": [_document_context(document) for document in documents],
                "count": len(documents),
                "url": public_url(user, "documents:list"),
            },
            user=user,
            idempotency_key=f"documents_digest:{user_id}:{frequency}:{min(n.pk for n in kept)}",
        )
        PendingNotice.objects.filter(pk__in=[n.pk for n in kept]).update(sent_at=timezone.now())
    logger.info("documents digest (%s) to user %s: %d document(s)", frequency, user_id, len(documents))
    return 1


# --- Bulk intake ----------------------------------------------------------------------------------


def documents_announce(*, document_ids: list[int]) -> int:
    """Announces documents imported in bulk (``intake``), each in its own transaction; answers how
    many were announced now. Idempotent: a document whose ``announced_at`` is set is skipped, so a
    task that runs twice (or after a crash) tells nobody twice."""
    announced = 0
    for document_id in document_ids:
        with transaction.atomic():
            document = (
                Document.objects.select_for_update(of=("self",))
                .select_related("customer_number__issuer", "issuer")
                .filter(pk=document_id, announced_at__isnull=True)
                .first()
            )
            if document is None:
                continue  # already announced, or gone (purged)
            document_announce(document=document)
            Document.objects.filter(pk=document.pk).update(announced_at=timezone.now())
            announced += 1
    return announced
