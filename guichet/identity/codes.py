"""One-time codes: 6 digits, keyed hash at rest, short validity, few tries, single use.

``code_send`` creates a code for a user and queues it (SMS or e-mail) in the
same transaction; ``code_verify`` checks an attempt. Flows keep the code's
id in the session. A flow for an account that does not exist has no code
id: ``code_verify(code_id=None, …)`` answers exactly like a wrong code, so
known and unknown accounts look the same.
"""

import enum
import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from guichet.audit.services import record
from guichet.identity.models import CodePurpose, OneTimeCode, User
from guichet.notifications.services import notify

CODE_LENGTH = 6


class CodeCheck(enum.Enum):
    OK = "ok"
    WRONG = "wrong"  # try again (tries left)
    EXPIRED = "expired"  # too late: ask for a new code
    EXHAUSTED = "exhausted"  # too many wrong tries: ask for a new code


def _hash(code: str) -> str:
    key = hashlib.sha256(b"guichet.one-time-code:" + settings.SECRET_KEY.encode()).digest()
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


def generate_code() -> str:
    return f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"


def code_send(
    *,
    user: User,
    purpose: CodePurpose,
    channel: str,
    destination: str,
    request: HttpRequest | None = None,
    template: str = "identity_code",
    context: dict | None = None,
) -> OneTimeCode:
    """Creates a code for ``user`` and queues it to ``destination`` (a phone or an address).

    Earlier unused codes of the same purpose stop working: only the latest counts.
    """
    code = generate_code()
    now = timezone.now()
    with transaction.atomic():
        OneTimeCode.objects.filter(user=user, purpose=purpose, used_at__isnull=True).update(used_at=now)
        otc = OneTimeCode.objects.create(
            user=user,
            purpose=purpose,
            channel=channel,
            destination=destination,
            code_hash=_hash(code),
            created_at=now,
            expires_at=now + timedelta(seconds=settings.GUICHET_CODE_VALIDITY_SECONDS),
        )
        notify(
            template=template,
            context={
                "code": code,
                "purpose": CodePurpose(purpose).label,  # lazy: rendered in the recipient's language
                "minutes": settings.GUICHET_CODE_VALIDITY_SECONDS // 60,
                **(context or {}),
            },
            user=user,
            email=destination if channel == "email" else "",
            phone=destination if channel == "sms" else "",
            channels=(channel,),
            sensitive=True,
        )
        record(
            action="identity.code_sent",
            actor=user,
            target=user,
            request=request,
            details={"purpose": str(purpose), "channel": channel},
        )
    return otc


def code_verify(
    *, code_id: str | None, code: str, purpose: CodePurpose, request: HttpRequest | None = None
) -> CodeCheck:
    """Checks one attempt; a right code is used up, a wrong one counts against the limit."""
    if not code_id:
        return CodeCheck.WRONG
    with transaction.atomic():
        otc = OneTimeCode.objects.select_for_update().filter(pk=code_id, purpose=purpose).first()
        if otc is None or otc.used_at is not None:
            return CodeCheck.EXPIRED
        if timezone.now() >= otc.expires_at:
            return CodeCheck.EXPIRED
        if otc.failed_attempts >= settings.GUICHET_CODE_MAX_ATTEMPTS:
            return CodeCheck.EXHAUSTED
        if hmac.compare_digest(otc.code_hash, _hash(code.strip())):
            otc.used_at = timezone.now()
            otc.save(update_fields=["used_at"])
            record(
                action="identity.code_verified",
                actor=otc.user,
                target=otc.user,
                request=request,
                details={"purpose": str(purpose)},
            )
            return CodeCheck.OK
        otc.failed_attempts += 1
        otc.save(update_fields=["failed_attempts"])
        record(
            action="identity.code_rejected",
            actor=otc.user,
            target=otc.user,
            request=request,
            details={"purpose": str(purpose), "failed_attempts": otc.failed_attempts},
        )
        if otc.failed_attempts >= settings.GUICHET_CODE_MAX_ATTEMPTS:
            return CodeCheck.EXHAUSTED
        return CodeCheck.WRONG


def code_owner(code_id: str) -> User | None:
    """The user a verified code was sent to (flows use it after ``CodeCheck.OK``)."""
    otc = OneTimeCode.objects.select_related("user").filter(pk=code_id).first()
    return otc.user if otc else None
