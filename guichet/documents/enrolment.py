"""A new user enrols with an activation code (seed 002, MyUnifiedPost "I am a new user").

1. The code is checked (``codes.activation_code_check``): a correctly typed
   code that is used, revoked or expired is refused with its precise reason.
2. The person confirms the company name and the e-mail address (which they
   may correct) and sees their future user ID; ``enrolment_start`` e-mails a
   single-use link to that address: an ``Invitation`` of the customer number
   for that address (only the token's hash is kept).
3. The link opens the choice of a password; ``enrolment_complete`` creates the
   account (its kind and user ID from ``codes.account_identity``), uses the code,
   binds the customer number and opts it in to electronic delivery.

The code typed (the last one issued for its customer number before the link)
must still be valid and unused when the link is used: a code issued meanwhile
revokes it, and the number activated in another account meanwhile ends the
journey too, each with the precise reason.
"""

import enum
import hashlib

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from guichet.audit.services import record
from guichet.documents import codes, invitations
from guichet.documents.codes import CodeError
from guichet.documents.models import ActivationCode, CustomerNumber, Invitation
from guichet.identity import services as identity_services
from guichet.identity.models import AccountKind, User
from guichet.notifications.services import notify


class EnrolmentErrorCode(enum.StrEnum):
    INVALID_EMAIL = "invalid_email"
    ACCOUNT_EXISTS = "account_exists"
    LINK_INVALID = "link_invalid"
    LINK_EXPIRED = "link_expired"
    TOO_MANY = "too_many"


MESSAGES = {
    EnrolmentErrorCode.INVALID_EMAIL: _("Enter a valid e-mail address, like name@example.com."),
    EnrolmentErrorCode.ACCOUNT_EXISTS: _(
        "An account with this user ID already exists. Log on to it and add the activation code under "
        "“Customer numbers”."
    ),
    EnrolmentErrorCode.LINK_INVALID: _(
        "This link does not work: it was already used, or it is not complete. Copy the whole link from "
        "the e-mail, or start again with your activation code."
    ),
    EnrolmentErrorCode.LINK_EXPIRED: _(
        "This link has expired. Start again with your activation code: you will receive a new link."
    ),
    EnrolmentErrorCode.TOO_MANY: _(
        "Too many attempts were made with this activation code. Please wait an hour and try again."
    ),
}

# Attempts (e-mails sent, user IDs found taken) for one code per hour: a code holder can use the
# institution neither as a mailing tool nor to learn which addresses have an account.
MAILS_PER_CODE = 5
MAILS_WINDOW = 3600


class EnrolmentError(Exception):
    """A refusal; nothing was written."""

    def __init__(self, code: EnrolmentErrorCode) -> None:
        self.code = code
        super().__init__(str(code))

    @property
    def message(self) -> str:
        return str(MESSAGES[self.code])


def _clean_email(email: str) -> str:
    cleaned = str(email or "").strip().lower()
    try:
        validate_email(cleaned)
    except ValidationError:
        raise EnrolmentError(EnrolmentErrorCode.INVALID_EMAIL) from None
    return cleaned


def future_user_id(*, customer_number: CustomerNumber, email: str) -> tuple[str, str]:
    """The kind and user ID of the account this customer number's contact would create."""
    return codes.account_identity(customer=customer_number.customer, email=email)


def _taken(user_id: str) -> bool:
    """Whether ``user_id`` is an account's already (a consumer record never used, without a
    password, is not: enrolling sets its password)."""
    user = User.objects.filter(user_id__iexact=user_id).first()
    return user is not None and (user.has_usable_password() or user.kind != AccountKind.CONSUMER)


def _mail_allowed(activation_code: ActivationCode) -> bool:
    """Counts one attempt for ``activation_code``; False once the hour's allowance is spent."""
    if settings.ACCOUNT_RATE_LIMITS is False:
        return True
    key = "guichet:enrolment-mail:" + hashlib.sha256(str(activation_code.pk).encode()).hexdigest()[:32]
    cache.add(key, 0, timeout=MAILS_WINDOW)
    try:
        return cache.incr(key) <= MAILS_PER_CODE
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=MAILS_WINDOW)
        return True


def enrolment_code(*, activation_code_id: int | None) -> ActivationCode:
    """The code found at step 1 (its id kept in the session), if it can still start an account;
    else ``CodeError`` (INVALID when there is none)."""
    found = (
        ActivationCode.objects.select_related("customer_number__issuer", "customer_number__customer")
        .filter(pk=activation_code_id)
        .first()
        if activation_code_id
        else None
    )
    if found is None:
        raise CodeError(codes.CodeErrorCode.INVALID)
    if (refusal := codes.activation_code_state(found)) is not None:
        raise CodeError(refusal)
    return found


def enrolment_start(
    *, activation_code: ActivationCode, email: str, language: str, request: HttpRequest | None = None
) -> Invitation:
    """E-mails a single-use link to ``email`` to choose the password of the account that the code
    opens. Refused when the code can no longer be used, or when the future user ID is taken."""
    email = _clean_email(email)
    found = enrolment_code(activation_code_id=activation_code.pk)
    number = found.customer_number
    _kind, user_id = future_user_id(customer_number=number, email=email)
    # Every attempt counts, the refused ones too: else one code would tell, without limit, which
    # e-mail addresses are some consumer's user ID (review finding).
    if not _mail_allowed(found):
        raise EnrolmentError(EnrolmentErrorCode.TOO_MANY)
    if _taken(user_id):
        raise EnrolmentError(EnrolmentErrorCode.ACCOUNT_EXISTS)
    with transaction.atomic():
        invitation, token = invitations.invitation_issue(
            customer_number=number, email=email, language=language, request=request
        )
        with translation.override(language):
            path = reverse("documents:enrol_link", kwargs={"token": token})
        url = (
            request.build_absolute_uri(path)
            if request is not None
            else settings.GUICHET_PUBLIC_URL.rstrip("/") + path
        )
        notify(
            template="documents_enrolment",
            context={
                "company": number.customer.name,
                "customer_number": number.code,
                "issuer": number.issuer.name,
                "user_id": user_id,
                "url": url,
                "expires_at": invitation.expires_at,
                "days": settings.GUICHET_INVITATION_DAYS,
            },
            email=email,
            language=language,
            sensitive=True,  # the body carries the link: wiped once sent
        )
        record(
            action="documents.enrolment_started",
            target=invitation,
            request=request,
            details={"customer_number": number.code, "email": email},
        )
    return invitation


def enrolment_check(token: str, *, for_update: bool = False) -> tuple[Invitation, ActivationCode]:
    """The invitation of an e-mailed link and the code it goes on with, if both can still be used;
    else ``EnrolmentError`` (the link) or ``CodeError`` (the code, precisely)."""
    queryset = Invitation.objects.select_related("customer_number__issuer", "customer_number__customer")
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    invitation = queryset.filter(
        token_hash=invitations.token_hash(token or ""), customer_number__isnull=False
    ).first()
    if invitation is None or invitation.used_at is not None:
        raise EnrolmentError(EnrolmentErrorCode.LINK_INVALID)
    if timezone.now() >= invitation.expires_at:
        raise EnrolmentError(EnrolmentErrorCode.LINK_EXPIRED)
    number = invitation.customer_number
    if number.account_id is not None:
        raise CodeError(codes.CodeErrorCode.USED_ELSEWHERE)
    # The code typed: the last one issued before the link (a code issued since revoked it).
    typed = (
        number.activation_codes.filter(created_at__lte=invitation.created_at)
        .order_by("-created_at", "-pk")
        .first()
    )
    if typed is None:
        raise EnrolmentError(EnrolmentErrorCode.LINK_INVALID)
    if (refusal := codes.activation_code_state(typed)) is not None:
        raise CodeError(refusal)
    return invitation, typed


def enrolment_complete(
    *, token: str, password: str, hint: str = "", request: HttpRequest | None = None
) -> User:
    """Creates the account with the chosen password (identity's policy: ``ValidationError``,
    nothing written), uses the code, binds its customer number and opts it in."""
    with transaction.atomic():
        invitation, typed = enrolment_check(token, for_update=True)
        number = CustomerNumber.objects.select_for_update().get(pk=invitation.customer_number_id)
        if number.account_id is not None:
            raise CodeError(codes.CodeErrorCode.USED_ELSEWHERE)
        found = (
            ActivationCode.objects.select_for_update()
            .select_related("customer_number__issuer")
            .get(pk=typed.pk)
        )
        if (refusal := codes.activation_code_state(found)) is not None:
            raise CodeError(refusal)
        kind, user_id = future_user_id(customer_number=invitation.customer_number, email=invitation.email)
        if _taken(user_id):
            raise EnrolmentError(EnrolmentErrorCode.ACCOUNT_EXISTS)
        user = User.objects.filter(user_id__iexact=user_id).first() or User.objects.create_user(
            user_id, invitation.email, kind=kind, preferred_language=invitation.language, sca_required=False
        )
        record(
            action="documents.account_created",
            actor=None,
            target=user,
            request=request,
            details={"kind": str(kind), "by": "activation_code"},
        )
        identity_services.password_set(
            user=user, password=password, hint=hint, request=request, reason="activation"
        )
        user.refresh_from_db()
        codes.activation_code_bind(activation_code=found, user=user, request=request)
        invitation.used_at = timezone.now()
        invitation.save(update_fields=["used_at"])
        record(
            action="documents.account_activated",
            actor=user,
            target=invitation,
            request=request,
            details={"email": invitation.email, "customer_number": number.code},
        )
    return user
