"""Invitations to activate an account of the document portal, and the activation itself.

A primary contact without an account hears of each new document with a
fresh single-use link (seed 002: a lost or expired invitation is replaced
by the next document's notification). Only the token's SHA-256 is stored,
so a link can never be sent again: each e-mail carries a new invitation,
and the older ones stay valid until they expire or one of them is used.

The account's kind and identifier follow the customer of the invitation's
customer number (``codes.account_identity``): a business account identified
by the Belgian company number (or a generated identifier for another company
number), else a consumer account identified by the e-mail address
(lowercased). Activating with any invitation of an address gives the account
every customer number whose primary contact has that address, and opts them
in to electronic delivery; when the address (or the company) already has an
account, its owner logs on with its password instead of choosing one.
"""

import enum
import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from guichet.audit.services import record
from guichet.documents import codes
from guichet.documents.models import CustomerNumber, DeliveryChannelChange, Document, Invitation, SharedUser
from guichet.identity import services as identity_services
from guichet.identity.models import AccountKind, User
from guichet.notifications.services import notify

TOKEN_BYTES = 32


class InvitationErrorCode(enum.StrEnum):
    INVALID = "invalid"
    EXPIRED = "expired"
    NO_SUBJECT = "no_subject"
    ALREADY_ACTIVE = "already_active"
    ACCOUNT_EXISTS = "account_exists"
    WRONG_ACCOUNT = "wrong_account"


MESSAGES = {
    InvitationErrorCode.INVALID: _(
        "This activation link does not work: it was already used, or it is not complete. "
        "Copy the whole link from the e-mail, or log on if you already activated your account."
    ),
    InvitationErrorCode.EXPIRED: _(
        "This activation link has expired. The e-mail about your next document will bring a new one."
    ),
    InvitationErrorCode.NO_SUBJECT: _("An invitation is for one customer number or for one shared user."),
    InvitationErrorCode.ALREADY_ACTIVE: _("This shared user has already activated their account."),
    InvitationErrorCode.ACCOUNT_EXISTS: _(
        "An account with this e-mail address already exists: log on with its password."
    ),
    InvitationErrorCode.WRONG_ACCOUNT: _("This invitation is for another e-mail address."),
}


class InvitationError(Exception):
    """A refusal; nothing was written."""

    def __init__(self, code: InvitationErrorCode) -> None:
        self.code = code
        super().__init__(str(code))

    @property
    def message(self) -> str:
        return str(MESSAGES[self.code])


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_url(*, token: str, language: str, request: HttpRequest | None = None) -> str:
    """The activation link, in the invitation's language; absolute (``GUICHET_PUBLIC_URL`` without a
    request, e.g. from the billing systems' intake)."""
    with translation.override(language):
        path = reverse("documents:activate", kwargs={"token": token})
    if request is not None:
        return request.build_absolute_uri(path)
    return getattr(settings, "GUICHET_PUBLIC_URL", "").rstrip("/") + path


# --- Issuing and sending ------------------------------------------------------------------------


def invitation_issue(
    *,
    customer_number: CustomerNumber | None = None,
    shared_user: SharedUser | None = None,
    email: str | None = None,
    language: str | None = None,
    request: HttpRequest | None = None,
) -> tuple[Invitation, str]:
    """A new invitation for a customer number's primary contact or for a shared user, and its token
    (shown once, in the e-mail; only its SHA-256 is kept). ``email`` and ``language`` replace the
    subject's own (the enrolment with an activation code, where the person corrects the address)."""
    if (customer_number is None) == (shared_user is None):
        raise InvitationError(InvitationErrorCode.NO_SUBJECT)
    if customer_number is not None:
        default_email, default_language = customer_number.contact_email, customer_number.contact_language
    else:
        default_email, default_language = shared_user.email, shared_user.language
    email, language = email or default_email, language or default_language
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = timezone.now()
    with transaction.atomic():
        invitation = Invitation.objects.create(
            email=email.strip().lower(),
            language=language,
            customer_number=customer_number,
            shared_user=shared_user,
            token_hash=token_hash(token),
            created_at=now,
            expires_at=now + timedelta(days=settings.GUICHET_INVITATION_DAYS),
        )
        record(
            action="documents.invitation_issued",
            target=invitation,
            request=request,
            details={
                "email": invitation.email,
                "customer_number": customer_number.code if customer_number else "",
                "shared_user": shared_user.pk if shared_user else None,
                "expires_at": invitation.expires_at.isoformat(),
            },
        )
    return invitation, token


def invitation_for_new_document(*, document: Document) -> None:
    """Tells a primary contact without an account of ``document``, with a fresh activation link.

    Called by ``notices.document_announce`` in the document's transaction.
    Nothing is sent once the customer number has an account (the notices
    tell its owner, by their preference).
    """
    number = document.customer_number
    if number.account_id is not None:
        return
    with transaction.atomic():
        invitation, token = invitation_issue(customer_number=number)
        notify(
            template="documents_invitation",
            context={
                "name": number.contact_name,
                "issuer": number.issuer.name,
                "customer_number": number.code,
                "kind": document.kind,
                "number": document.number,
                "issue_date": document.issue_date,
                "due_date": document.due_date,
                "amount": document.amount_incl_vat,
                "amount_payable": document.amount_payable,
                "currency": document.currency,
                "url": invitation_url(token=token, language=invitation.language),
                "expires_at": invitation.expires_at,
                "days": settings.GUICHET_INVITATION_DAYS,
                "visible_years": settings.GUICHET_DOCUMENTS_VISIBLE_YEARS,
                # The address already has an account (for another customer number): log on, not a password.
                "has_account": existing_account(invitation) is not None,
            },
            email=invitation.email,
            language=invitation.language,
            sensitive=True,  # the body carries the link: wiped once sent (review finding)
        )


def _owner_name(owner: User) -> str:
    if name := f"{owner.first_name} {owner.last_name}".strip():
        return name
    number = CustomerNumber.objects.filter(account=owner).order_by("pk").first()
    return number.contact_name if number else owner.email


def shared_user_invite(*, shared_user: SharedUser, request: HttpRequest | None = None) -> Invitation:
    """Invites a shared user, in their language, to activate an account (or, when their address
    already has one, to log on with it) and see what the primary contact shares with them."""
    if shared_user.user_id is not None:
        raise InvitationError(InvitationErrorCode.ALREADY_ACTIVE)
    with transaction.atomic():
        invitation, token = invitation_issue(shared_user=shared_user, request=request)
        numbers = CustomerNumber.objects.filter(
            shares__shared_user=shared_user, account=shared_user.owner
        ).select_related("issuer")
        notify(
            template="documents_shared_invitation",
            context={
                "name": shared_user.name,
                "owner": _owner_name(shared_user.owner),
                "customer_numbers": [number.code for number in numbers],
                "url": invitation_url(token=token, language=invitation.language, request=request),
                "expires_at": invitation.expires_at,
                "days": settings.GUICHET_INVITATION_DAYS,
            },
            email=invitation.email,
            language=invitation.language,
            sensitive=True,  # the body carries the link: wiped once sent (review finding)
        )
    return invitation


# --- Checking -----------------------------------------------------------------------------------


def invitation_check(token: str, *, for_update: bool = False) -> Invitation:
    """The invitation of ``token`` if it can still be used; else ``InvitationError`` (INVALID for an
    unknown or used link, or one whose primary contact changed since; EXPIRED)."""
    queryset = Invitation.objects.select_related("customer_number__issuer", "shared_user__owner")
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    invitation = queryset.filter(token_hash=token_hash(token or "")).first()
    if invitation is None or invitation.used_at is not None:
        raise InvitationError(InvitationErrorCode.INVALID)
    number = invitation.customer_number
    if number is not None and number.contact_email.strip().lower() != invitation.email:
        raise InvitationError(InvitationErrorCode.INVALID)
    if timezone.now() >= invitation.expires_at:
        raise InvitationError(InvitationErrorCode.EXPIRED)
    return invitation


def existing_account(invitation: Invitation) -> User | None:
    """The account the invitation joins, when it can log on with a password: the one whose
    identifier is the invited address, else the one already holding customer numbers of that
    address (a business account), else the one of the customer's company number."""
    account = _account_of(invitation.email)
    if account is None and invitation.customer_number is not None:
        _kind, user_id = _identity(invitation)
        account = _with_password(User.objects.filter(user_id__iexact=user_id).first())
    return account


def _identity(invitation: Invitation) -> tuple[str, str]:
    """The kind and user ID of the account the invitation creates (a shared user: a consumer
    account identified by the address)."""
    if invitation.customer_number is None:
        return AccountKind.CONSUMER, invitation.email
    return codes.account_identity(customer=invitation.customer_number.customer, email=invitation.email)


def _with_password(user: User | None) -> User | None:
    """A consumer record without a password (created by another intake, never used) is not an
    account here: activating sets its password."""
    return user if user is not None and user.has_usable_password() else None


def _account_of(email: str) -> User | None:
    email = email.strip()
    user = User.objects.filter(user_id__iexact=email).first()
    if user is None:
        user = User.objects.filter(customer_numbers__contact_email__iexact=email).order_by("pk").first()
    return _with_password(user)


def invitation_subjects(invitation: Invitation) -> dict[str, Any]:
    """What the activation page shows: the customer numbers of the address still without an
    account, or who invites the shared user and to what."""
    if invitation.shared_user is not None:
        shared = invitation.shared_user
        numbers = CustomerNumber.objects.filter(shares__shared_user=shared, account=shared.owner)
        return {
            "owner": _owner_name(shared.owner),
            "customer_numbers": list(numbers.select_related("issuer")),
        }
    numbers = CustomerNumber.objects.filter(contact_email__iexact=invitation.email, account__isnull=True)
    return {"owner": "", "customer_numbers": list(numbers.select_related("issuer"))}


# --- Activation ---------------------------------------------------------------------------------


def _attach(*, invitation: Invitation, user: User, request: HttpRequest | None) -> None:
    """Gives ``user`` what the invitation's address is entitled to, and uses the invitation."""
    numbers = list(
        CustomerNumber.objects.select_for_update()
        .filter(contact_email__iexact=invitation.email, account__isnull=True)
        .select_related("issuer")
    )
    CustomerNumber.objects.filter(pk__in=[n.pk for n in numbers]).update(account=user)
    for number in numbers:
        number.account = user
        record(action="documents.customer_number_attached", actor=user, target=number, request=request)
        # Activating the account opts the customer number in to electronic delivery: paper stops.
        codes.delivery_channel_set(
            customer_number=number,
            electronic=True,
            reason=DeliveryChannelChange.Reason.INVITATION,
            author=user,
            request=request,
        )
    shared = invitation.shared_user
    if shared is not None and shared.user_id is None:
        SharedUser.objects.filter(pk=shared.pk, user__isnull=True).update(user=user)
        shared.user = user
        record(action="documents.shared_user_activated", actor=user, target=shared, request=request)
    invitation.used_at = timezone.now()
    invitation.save(update_fields=["used_at"])


def account_activate(
    *, token: str, password: str, hint: str = "", request: HttpRequest | None = None
) -> User:
    """Creates the account of the invited address with the chosen password (identity's policy:
    ``ValidationError`` when it fails, nothing written) and gives it the invitation's rights.

    The account's kind and user ID follow ``codes.account_identity``. Refused
    with ACCOUNT_EXISTS when the address or the company already has an
    account: its owner logs on instead (``invitation_accept``).
    """
    with transaction.atomic():
        invitation = invitation_check(token, for_update=True)
        if existing_account(invitation) is not None:
            raise InvitationError(InvitationErrorCode.ACCOUNT_EXISTS)
        kind, user_id = _identity(invitation)
        user = User.objects.filter(user_id__iexact=user_id).first()
        if user is not None and user.kind != AccountKind.CONSUMER:
            # A provisioned or staff account awaiting its credentials is set up by its own journey.
            raise InvitationError(InvitationErrorCode.ACCOUNT_EXISTS)
        if user is None:
            user = User.objects.create_user(
                user_id,
                invitation.email,
                kind=kind,
                preferred_language=invitation.language,
                sca_required=False,
            )
            record(
                action="documents.account_created",
                actor=None,
                target=user,
                request=request,
                details={"kind": str(kind)},
            )
        identity_services.password_set(
            user=user, password=password, hint=hint, request=request, reason="activation"
        )
        _attach(invitation=invitation, user=user, request=request)
        record(
            action="documents.account_activated",
            actor=user,
            target=invitation,
            request=request,
            details={"email": invitation.email},
        )
    return user


def invitation_accept(*, token: str, user: User, request: HttpRequest | None = None) -> None:
    """Gives an existing account, whose owner just proved it with the password, the invitation's
    rights. Refused for any other account."""
    with transaction.atomic():
        invitation = invitation_check(token, for_update=True)
        account = existing_account(invitation)
        if account is None or account.pk != user.pk:
            raise InvitationError(InvitationErrorCode.WRONG_ACCOUNT)
        _attach(invitation=invitation, user=user, request=request)
        record(
            action="documents.invitation_accepted",
            actor=user,
            target=invitation,
            request=request,
            details={"email": invitation.email},
        )
