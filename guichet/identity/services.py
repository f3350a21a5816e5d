"""Identity writes: provisioning and credentials, passwords and hints, agreements.

Each function runs in one transaction and records its audit event in it;
e-mails are queued in the same transaction (notifications.notify).
"""

import re
import secrets
import string
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Max
from django.http import HttpRequest
from django.utils import timezone
from phonenumber_field.phonenumber import PhoneNumber, to_python

from guichet.audit.services import client_ip, record
from guichet.identity import crypto
from guichet.identity.error_codes import IdentityErrorCode
from guichet.identity.exceptions import IdentityError
from guichet.identity.lockout import access_unlock
from guichet.identity.models import (
    AccountKind,
    AgreementAcceptance,
    OneTimeCode,
    PasswordHistory,
    User,
    UserAgreement,
)
from guichet.identity.password_validation import hint_validate
from guichet.notifications.services import notify

USER_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{3,150}$")
TEMPORARY_PASSWORD_LENGTH = 14


# --- Provisioning ------------------------------------------------------------


def _clean_phone(raw: str) -> PhoneNumber:
    number = to_python(raw.strip()) if raw and raw.strip() else None
    if not isinstance(number, PhoneNumber) or not number.is_valid():
        raise IdentityError(IdentityErrorCode.INVALID_PHONE, field="phones")
    return number


def provisioning_clean(
    *, user_id: str, email: str, phones: list[str], language: str
) -> tuple[str, str, list[PhoneNumber], str]:
    """Validates the data of a user to provision; raises ``IdentityError`` naming the first bad field."""
    user_id = (user_id or "").strip()
    if not USER_ID_PATTERN.match(user_id):
        raise IdentityError(IdentityErrorCode.INVALID_USER_ID, field="user_id")
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise IdentityError(IdentityErrorCode.INVALID_EMAIL, field="email") from None
    numbers = [_clean_phone(raw) for raw in phones if raw and raw.strip()]
    if not numbers:
        raise IdentityError(IdentityErrorCode.NO_PHONE, field="phones")
    if len(numbers) > 2:
        numbers = numbers[:2]
    if language not in dict(settings.LANGUAGES):
        raise IdentityError(IdentityErrorCode.INVALID_LANGUAGE, field="language")
    if User.objects.filter(user_id__iexact=user_id).exists():
        raise IdentityError(IdentityErrorCode.USER_ID_TAKEN, field="user_id")
    return user_id, email, numbers, language


def user_provision(
    *,
    user_id: str,
    email: str,
    phones: list[str],
    language: str,
    first_name: str = "",
    last_name: str = "",
    acting_user: User | None = None,
    request: HttpRequest | None = None,
    password_by_sms: bool = False,
    sca_required: bool = False,
) -> User:
    """Creates a provisioned user and sends the credentials: the user ID by e-mail, the temporary
    password in a second e-mail or (``password_by_sms``, entity users) by SMS to the first mobile."""
    user_id, email, numbers, language = provisioning_clean(
        user_id=user_id, email=email, phones=phones, language=language
    )
    with transaction.atomic():
        user = User.objects.create_user(
            user_id,
            email,
            mobile_phone=numbers[0],
            alternate_mobile_phone=numbers[1] if len(numbers) > 1 else "",
            preferred_language=language,
            first_name=first_name.strip(),
            last_name=last_name.strip(),
            kind=AccountKind.PROVISIONED,
            sca_required=sca_required,
        )
        record(action="identity.user_provisioned", actor=acting_user, target=user, request=request)
        credentials_issue(
            user=user, acting_user=acting_user, request=request, password_by_sms=password_by_sms
        )
    return user


def temporary_password_generate() -> str:
    """A random password that meets the default policy (one character of each class at least)."""
    alphabet = string.ascii_letters + string.digits + "!#%+-=?@"
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(TEMPORARY_PASSWORD_LENGTH))
        if (
            any(c.islower() for c in candidate)
            and any(c.isupper() for c in candidate)
            and any(c.isdigit() for c in candidate)
            and any(not c.isalnum() for c in candidate)
        ):
            return candidate


def credentials_issue(
    *,
    user: User,
    acting_user: User | None = None,
    request: HttpRequest | None = None,
    password_by_sms: bool = False,
) -> None:
    """(Re-)issues a temporary password: the user ID by e-mail, the password separately (a second
    e-mail, or an SMS to the first mobile number with ``password_by_sms``).

    The previous password stops working at once. Nobody but the recipient
    ever sees the temporary password: it is not returned, logged or audited.
    """
    if user.kind != AccountKind.PROVISIONED:
        code = IdentityErrorCode.CONSUMER_CREDENTIALS if user.kind == AccountKind.CONSUMER else None
        raise IdentityError(code or IdentityErrorCode.NOT_PROVISIONED)
    password = temporary_password_generate()
    now = timezone.now()
    with transaction.atomic():
        user.set_password(password)
        user.password_is_temporary = True
        user.password_expires_at = now + timedelta(days=settings.GUICHET_TEMPORARY_PASSWORD_DAYS)
        user.credentials_issued_at = now
        user.failed_login_count = 0
        user.locked_at = None
        user.save()
        context = {"user_id": user.user_id, "name": user.get_full_name()}
        notify(template="identity_credentials_user_id", context=context, user=user)
        notify(
            template="identity_credentials_password_sms"
            if password_by_sms
            else "identity_credentials_password",
            context={
                **context,
                "password": password,
                "expires_at": user.password_expires_at,
                "days": settings.GUICHET_TEMPORARY_PASSWORD_DAYS,
            },
            user=user,
            channels=("sms",) if password_by_sms else ("email",),
            sensitive=True,
        )
        record(action="identity.credentials_issued", actor=acting_user, target=user, request=request)


def consumer_ensure(
    *,
    email: str,
    first_name: str = "",
    last_name: str = "",
    language: str | None = None,
    mobile_phone: str = "",
) -> User:
    """The consumer record for an e-mail address (one access per address), created without a password.

    Called by the lender's order intake; the consumer sets the password at "First login". The mobile
    number given at purchase becomes the number signing codes go to, only while the record has none:
    a later order never moves it (the consumer changes it under strong authentication).
    """
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise IdentityError(IdentityErrorCode.INVALID_EMAIL, field="email") from None
    identifier = email.lower()
    with transaction.atomic():
        user, created = User.objects.get_or_create(
            user_id=identifier,
            defaults={
                "email": identifier,
                "kind": AccountKind.CONSUMER,
                "first_name": first_name.strip(),
                "last_name": last_name.strip(),
                "preferred_language": language or settings.LANGUAGE_CODE,
                "password": "!",
            },
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
            record(action="identity.consumer_created", actor=None, target=user)
        if mobile_phone and not user.mobile_phone and user.kind == AccountKind.CONSUMER:
            user.mobile_phone = mobile_phone
            user.save(update_fields=["mobile_phone"])
    return user


# --- Passwords ---------------------------------------------------------------


def password_set(
    *,
    user: User,
    password: str,
    hint: str | None = None,
    request: HttpRequest | None = None,
    reason: str = "changed",
) -> None:
    """Sets a chosen password (policy enforced here too), keeps the old one in the history.

    Ends a temporary password and a lock, and tells the user by e-mail.
    ``hint`` None keeps the current hint; "" removes it.
    """
    validate_password(password, user)
    if hint:
        hint_validate(hint=hint, password=password)
    given = user
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.has_usable_password() and not user.password_is_temporary:
            PasswordHistory.objects.create(user=user, password=user.password)
            keep = max(settings.GUICHET_PASSWORD_HISTORY, 1)
            stale = user.password_history.values_list("pk", flat=True)[keep:]
            PasswordHistory.objects.filter(pk__in=list(stale)).delete()
        user.set_password(password)
        user.password_is_temporary = False
        user.password_expires_at = None
        user.password_changed_at = timezone.now()
        if hint is not None:
            user.password_hint_encrypted = crypto.encrypt(hint.strip())
        user.save()
        access_unlock(user=user, request=request)
        # The caller's instance carries the new hash too: the session's auth
        # hash is computed from it, and a stale one would log the user out.
        for field in ("password", "password_is_temporary", "password_expires_at", "password_changed_at"):
            setattr(given, field, getattr(user, field))
        given.password_hint_encrypted = user.password_hint_encrypted
        given.failed_login_count, given.locked_at = 0, None
        record(
            action="identity.password_changed",
            actor=user,
            target=user,
            request=request,
            details={"reason": reason},
        )
        if user.email:
            notify(
                template="identity_password_changed",
                context={"user_id": user.user_id, "at": user.password_changed_at},
                user=user,
            )


def password_hint(*, user: User) -> str:
    """The decrypted hint: for the authenticated user, or the e-mail after "Reset logon credentials"."""
    return crypto.decrypt(user.password_hint_encrypted)


def temporary_password_expired(user: User) -> bool:
    return bool(
        user.password_is_temporary and user.password_expires_at and timezone.now() >= user.password_expires_at
    )


# --- User agreement ----------------------------------------------------------


def agreement_current(*, language: str) -> UserAgreement | None:
    """The latest version in force, in ``language`` or else the default language or any other."""
    now = timezone.now()
    latest = (
        UserAgreement.objects.filter(published_at__lte=now)
        .order_by("-version")
        .values_list("version", flat=True)
    )
    version = latest.first()
    if version is None:
        return None
    texts = {a.language: a for a in UserAgreement.objects.filter(version=version)}
    return texts.get(language) or texts.get(settings.LANGUAGE_CODE) or next(iter(texts.values()))


def agreement_pending(*, user: User, language: str) -> UserAgreement | None:
    """The agreement the user still has to accept, if any (two queries when accepted: every login)."""
    version = UserAgreement.objects.filter(published_at__lte=timezone.now()).aggregate(v=Max("version"))["v"]
    if version is None or user.agreement_acceptances.filter(version=version).exists():
        return None
    return agreement_current(language=language)


def agreement_accept(*, user: User, agreement: UserAgreement, request: HttpRequest | None = None) -> None:
    with transaction.atomic():
        _, created = AgreementAcceptance.objects.get_or_create(
            user=user,
            version=agreement.version,
            defaults={"language": agreement.language, "ip_address": client_ip(request) if request else None},
        )
        if created:
            record(
                action="identity.agreement_accepted",
                actor=user,
                target=user,
                request=request,
                details={"version": agreement.version, "language": agreement.language},
            )


# --- Contact details ---------------------------------------------------------


def email_change(*, user: User, email: str, request: HttpRequest | None = None) -> None:
    """Changes the e-mail (password and a code to the new address checked); tells the old address."""
    old = user.email
    changes = {"email": email}
    if user.kind == AccountKind.CONSUMER:
        # The consumer's identifier is the address (one access per address).
        changes = {"email": email.lower(), "user_id": email.lower()}
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(**changes)
        for field, value in changes.items():
            setattr(user, field, value)
        record(action="identity.email_changed", actor=user, target=user, request=request)
        if old:
            notify(template="identity_contact_changed", context={"what": "email"}, user=user, email=old)
        notify(template="identity_contact_changed", context={"what": "email"}, user=user)


def mobile_change(
    *, user: User, phone: PhoneNumber, slot: int = 0, request: HttpRequest | None = None
) -> None:
    """Changes a mobile number (after the password and a code to the new number were checked)."""
    field = "mobile_phone" if slot == 0 else "alternate_mobile_phone"
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(**{field: phone})
        setattr(user, field, phone)
        record(
            action="identity.mobile_changed", actor=user, target=user, request=request, details={"slot": slot}
        )
        if user.email:
            notify(template="identity_contact_changed", context={"what": "mobile"}, user=user)


def contact_details_corrected(
    *, user: User, fields: list[str], old_email: str, request: HttpRequest | None = None
) -> None:
    """An operator corrected contact details in the back office: codes already
    sent stop working and both the old and the new address are told."""
    with transaction.atomic():
        OneTimeCode.objects.filter(user=user, used_at__isnull=True).update(used_at=timezone.now())
        record(
            action="identity.contact_corrected",
            actor=request.user if request else None,
            target=user,
            request=request,
            details={"fields": sorted(fields)},
        )
        what = "email" if "email" in fields else "mobile"
        for address in dict.fromkeys(a for a in (old_email, user.email) if a):
            notify(template="identity_contact_changed", context={"what": what}, user=user, email=address)
