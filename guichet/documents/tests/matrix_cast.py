"""The cast of the rights matrix (``test_rights_matrix``): one primary contact with two customer
numbers, a shared user who sees only the first, a colleague the primary contact may edit, another
customer, a shared user who is also a primary contact, and two former shared users (one unshared,
one deleted). Every document and customer number carries values found nowhere else, so that a
response can be searched for anything it should not show."""

import dataclasses
import datetime
import hashlib
from decimal import Decimal
from typing import Any

from django.core.files.base import ContentFile
from django.utils import timezone

from guichet.audit.models import AuditEvent
from guichet.documents import sharing
from guichet.documents.models import (
    CustomerNumber,
    Document,
    DocumentRead,
    Duplicate,
    Invitation,
    NotificationPreference,
    PendingNotice,
    Share,
    SharedUser,
)
from guichet.documents.testing import (
    PDF,
    make_customer_number,
    make_document,
    make_issuer,
    make_recipient,
    make_shared_user,
)
from guichet.identity.models import User
from guichet.notifications.models import Message, OutboxEntry

ORIGINAL = b'<?xml version="1.0"?><Invoice>original</Invoice>'
COLLEAGUE_NAME = "Lou Colleague"
COLLEAGUE_EMAIL = "lou.colleague@example.com"

WATCHED = (
    DocumentRead,
    Duplicate,
    Share,
    SharedUser,
    NotificationPreference,
    PendingNotice,
    Invitation,
    AuditEvent,
    Message,
    OutboxEntry,
)


def counts() -> dict[str, int]:
    """How many rows each table the portal writes to holds (before/after a refused request)."""
    return {model.__name__: model.objects.count() for model in WATCHED}


@dataclasses.dataclass
class Cast:
    owner: User
    a: CustomerNumber
    b: CustomerNumber
    doc_a: Document
    doc_b: Document
    dup_a: Duplicate
    dup_b: Duplicate
    accountant: User  # sees A only
    colleague: SharedUser  # the owner's other shared user (no account, nothing shared yet)
    outsider: User  # primary contact of C
    c: CustomerNumber
    doc_c: Document
    unshared: User  # was shared A, then unticked
    deleted: User  # was shared A, then deleted
    partner: User  # primary contact of D, to whom A is shared too (may share D, never A)
    d: CustomerNumber


def _document(number: CustomerNumber, name: str, amount: str) -> Document:
    document = make_document(number, number=name, amount=Decimal(amount))
    document.original.save(f"{name}.xml", ContentFile(ORIGINAL), save=False)
    document.original_name = f"{name}.xml"
    document.original_sha256 = hashlib.sha256(ORIGINAL).hexdigest()
    document.save()
    return document


def _duplicate(document: Document, user: User) -> Duplicate:
    # Asked two weeks after the issue (not today: today's same request would reuse it).
    requested_at = timezone.make_aware(datetime.datetime.combine(document.issue_date, datetime.time(9)))
    duplicate = Duplicate(
        document=document, user=user, language="en", requested_at=requested_at + datetime.timedelta(days=14)
    )
    duplicate.file.save(f"{document.number}-duplicate.pdf", ContentFile(PDF), save=False)
    duplicate.save()
    return duplicate


def make_matrix_cast(*, through_services: bool = False) -> Cast:
    """The cast; ``through_services`` unshares and deletes the former shared users with the sharing
    services rather than straight in the database (``test_rights_matrix`` checks both end alike)."""
    dl2 = make_issuer(prefix="DL2", name="Aubépine Lease Services")
    dl5 = make_issuer(prefix="DL5", name="Aubépine Lease Belgium")
    owner = make_recipient(email="anna.schmidt@example.com", language="en")
    a = make_customer_number(issuer=dl2, number="700001", account=owner, customer_name="Quokka Alpha Freight")
    b = make_customer_number(
        issuer=dl5, number="700002", account=owner, customer_name="Quokka Beta Logistics"
    )
    outsider = make_recipient(email="olaf.other@example.com", language="en")
    c = make_customer_number(
        issuer=dl2,
        number="900009",
        account=outsider,
        email=outsider.email,
        customer_name="Wombat Gamma Mining",
    )
    doc_a = _document(a, "SECRET-A-4711", "8765.43")
    doc_b = _document(b, "SECRET-B-4712", "5432.19")
    doc_c = _document(c, "SECRET-C-4713", "3210.87")

    accountant = make_recipient(email="kim.accountant@example.com", language="en")
    make_shared_user(owner, email=accountant.email, user=accountant, shares=[a])
    colleague = make_shared_user(owner, email=COLLEAGUE_EMAIL, language="fr")
    colleague.name = COLLEAGUE_NAME
    colleague.save(update_fields=["name"])

    unshared = make_recipient(email="ex.unshared@example.com", language="en")
    was = make_shared_user(owner, email=unshared.email, user=unshared, shares=[a])
    deleted = make_recipient(email="ex.deleted@example.com", language="en")
    gone = make_shared_user(owner, email=deleted.email, user=deleted, shares=[a])
    if through_services:
        sharing.shared_user_update(
            owner=owner, shared_user_id=was.pk, name=was.name, language=was.language, customer_number_ids=[]
        )
        sharing.shared_user_delete(owner=owner, shared_user_id=gone.pk)
    else:  # the same end state, three times faster (the services' e-mails and audit are not needed)
        Share.objects.filter(shared_user=was).delete()
        gone.delete()
    partner = make_recipient(email="pat.partner@example.com", language="en")
    d = make_customer_number(
        issuer=dl5, number="800008", account=partner, email=partner.email, customer_name="Numbat Delta Rail"
    )
    make_shared_user(owner, email=partner.email, user=partner, shares=[a])

    return Cast(
        owner=owner,
        a=a,
        b=b,
        doc_a=doc_a,
        doc_b=doc_b,
        dup_a=_duplicate(doc_a, owner),
        dup_b=_duplicate(doc_b, owner),
        accountant=accountant,
        colleague=colleague,
        outsider=outsider,
        c=c,
        doc_c=doc_c,
        unshared=unshared,
        deleted=deleted,
        partner=partner,
        d=d,
    )


def secrets_of(document: Document, *, with_number: bool) -> list[str]:
    """What must not appear in a response to someone who does not see ``document``: its number, its
    amounts (plain and as shown in English), its customer's name and, when they do not see the
    customer number either, its code."""
    values = [document.number, document.customer_number.customer.name]
    for amount in (document.amount_excl_vat, document.vat, document.amount_incl_vat, document.amount_payable):
        values += [f"{amount:.2f}", f"{amount:,.2f}"]
    if with_number:
        values.append(document.customer_number.code)
    return list(dict.fromkeys(values))


def body(response: Any) -> bytes:
    """The whole body, streamed or not (read once, kept on the response)."""
    if not hasattr(response, "matrix_body"):
        streamed = getattr(response, "streaming", False)
        response.matrix_body = b"".join(response.streaming_content) if streamed else response.content
    return response.matrix_body


def leaks(response: Any, secrets: list[str]) -> list[str]:
    """The secrets found in the body or the headers of ``response``."""
    headers = "\n".join(f"{key}: {value}" for key, value in response.items())
    text = body(response).decode("utf-8", errors="replace") + "\n" + headers
    return [secret for secret in secrets if secret in text]
