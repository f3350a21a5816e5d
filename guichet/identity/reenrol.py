"""Re-enrolment after losing every authenticator, started by an advisor; and the
writes shared with the Security page (the e-mail telling of a change).

The advisor checks the person's identity, then ``reenrolment_start`` e-mails
the user a single-use link. The advisor never sees the link, a code or a
secret. The link leads to: the choice of a masked mobile number and the SMS
code sent to it, the current password, then a new passkey or authenticator
app. Only then (``reenrolment_complete``) are the old authenticators removed
and the new one saved, in one transaction: a journey left halfway changes
nothing.

The link's token is signed (``django.core.signing``, with a timestamp,
nothing stored) and bound to the user's e-mail address and current set of
authenticators: it stops working after 24 hours, once the re-enrolment is
done (the set changed) or when the address changes.
"""

import enum
import hashlib
from typing import Any

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from allauth.mfa.webauthn.internal.auth import WebAuthn
from django.conf import settings
from django.core import signing
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from guichet.audit.services import record
from guichet.identity.models import User
from guichet.identity.sca import authenticators_of
from guichet.notifications.services import notify

LINK_MAX_AGE_SECONDS = getattr(settings, "GUICHET_REENROL_LINK_SECONDS", 24 * 3600)
SIGNING_NAMESPACE = "guichet.identity.reenrol"

TYPE_LABELS = {
    Authenticator.Type.WEBAUTHN: _("Passkey"),
    Authenticator.Type.TOTP: _("Authenticator app"),
}


class ReenrolRefusal(enum.Enum):
    INACTIVE = "inactive"
    NO_EMAIL = "no_email"
    NO_PHONE = "no_phone"
    NO_AUTHENTICATOR = "no_authenticator"


REFUSAL_MESSAGES = {
    ReenrolRefusal.INACTIVE: _("This access is deactivated."),
    ReenrolRefusal.NO_EMAIL: _("No e-mail address is on file: the link cannot be sent."),
    ReenrolRefusal.NO_PHONE: _("No mobile number is on file: the SMS code cannot be sent."),
    ReenrolRefusal.NO_AUTHENTICATOR: _(
        "This user has no passkey or authenticator app: they enrol one at their next logon."
    ),
}


class ReenrolError(Exception):
    def __init__(self, refusal: ReenrolRefusal) -> None:
        self.refusal = refusal
        super().__init__(refusal.value)

    @property
    def message(self) -> str:
        return str(REFUSAL_MESSAGES[self.refusal])


# --- Authenticators: labels and the e-mail of a change --------------------------------


def authenticator_kind(authenticator: Authenticator) -> str:
    return "passkey" if authenticator.type == Authenticator.Type.WEBAUTHN else "app"


def authenticator_name(authenticator: Authenticator) -> str:
    if authenticator.type == Authenticator.Type.WEBAUTHN:
        return authenticator.wrap().name
    return str(TYPE_LABELS[Authenticator.Type.TOTP])


def mfa_changed_notify(*, user: User, change: str, authenticator: Authenticator) -> None:
    """Queues the e-mail ``identity_mfa_changed`` (``change``: added, removed or replaced).

    Call it inside the change's transaction. Nothing secret in it: the name of
    the authenticator, its kind, and what to do if it was not the user.
    """
    if not user.email:
        return
    notify(
        template="identity_mfa_changed",
        context={
            "name": user.get_full_name(),
            "user_id": user.user_id,
            "change": change,
            "kind": authenticator_kind(authenticator),
            "label": authenticator_name(authenticator),
        },
        user=user,
    )


# --- The link ---------------------------------------------------------------------------


def authenticator_set_digest(user: User) -> str:
    """A digest of what the link is bound to: the address it went to and the current authenticators."""
    ids = ",".join(str(pk) for pk in authenticators_of(user).values_list("pk", flat=True))
    return hashlib.sha256(f"{user.pk}|{user.email.lower()}|{ids}".encode()).hexdigest()


def token_make(user: User) -> str:
    return signing.TimestampSigner(salt=SIGNING_NAMESPACE).sign_object(
        {"u": user.pk, "d": authenticator_set_digest(user)}, compress=False
    )


def token_user(token: str) -> User | None:
    """The user a link is for, while it is valid (24 hours, not used, nothing changed since)."""
    try:
        signer = signing.TimestampSigner(salt=SIGNING_NAMESPACE)
        data = signer.unsign_object(token, max_age=LINK_MAX_AGE_SECONDS)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(data, dict):
        return None
    user = User.objects.filter(pk=data.get("u"), is_active=True).first()
    if user is None or authenticator_set_digest(user) != data.get("d"):
        return None
    return user


def reenrolment_check(user: User) -> ReenrolRefusal | None:
    if not user.is_active:
        return ReenrolRefusal.INACTIVE
    if not user.email:
        return ReenrolRefusal.NO_EMAIL
    if not user.mobile_phones:
        return ReenrolRefusal.NO_PHONE
    if not authenticators_of(user).exists():
        return ReenrolRefusal.NO_AUTHENTICATOR
    return None


# --- Services ---------------------------------------------------------------------------


def reenrolment_start(*, user: User, acting_user: User, request: HttpRequest | None) -> None:
    """E-mails ``user`` the single-use link; removes nothing. Raises ``ReenrolError``."""
    refusal = reenrolment_check(user)
    if refusal is not None:
        raise ReenrolError(refusal)
    token = token_make(user)
    with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
        path = reverse("identity:reenrol_link", kwargs={"token": token})
    url = request.build_absolute_uri(path) if request is not None else path
    with transaction.atomic():
        notify(
            template="identity_reenrol_link",
            context={
                "url": url,
                "name": user.get_full_name(),
                "user_id": user.user_id,
                "hours": LINK_MAX_AGE_SECONDS // 3600,
            },
            user=user,
            sensitive=True,
        )
        record(action="identity.reenrol_started", actor=acting_user, target=user, request=request)


def reenrolment_step_record(*, user: User, step: str, request: HttpRequest | None) -> None:
    """One step of the journey passed (link opened, phone checked, password checked)."""
    with transaction.atomic():
        record(
            action="identity.reenrol_step", actor=user, target=user, request=request, details={"step": step}
        )


def reenrolment_complete(
    *, user: User, token: str, new: dict[str, Any], request: HttpRequest | None
) -> Authenticator | None:
    """Replaces every authenticator of ``user`` with the new one, if the link is still valid.

    ``new`` is ``{"type": "totp", "secret": ...}`` or ``{"type": "webauthn",
    "name": ..., "credential": ...}``, already verified by the caller (the code
    of the app, the registration ceremony). Returns None when the link was
    used or changed meanwhile: then nothing is written.
    """
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if token_user(token) is None or locked.pk != user.pk:
            return None
        old = list(Authenticator.objects.filter(user=locked))
        old_types = sorted(a.type for a in old if a.type != Authenticator.Type.RECOVERY_CODES)
        Authenticator.objects.filter(user=locked).delete()
        if new["type"] == Authenticator.Type.TOTP:
            added = TOTP.activate(locked, new["secret"]).instance
        else:
            added = WebAuthn.add(locked, new["name"], new["credential"]).instance
        record(
            action="identity.reenrol_completed",
            actor=locked,
            target=locked,
            request=request,
            details={"removed": old_types, "added": added.type},
        )
        for authenticator in old:
            if authenticator.type != Authenticator.Type.RECOVERY_CODES:
                record(
                    action="identity.mfa_removed",
                    actor=locked,
                    target=locked,
                    request=request,
                    details={"type": authenticator.type, "reason": "reenrolment"},
                )
        record(
            action="identity.mfa_added",
            actor=locked,
            target=locked,
            request=request,
            details={"type": added.type, "reason": "reenrolment"},
        )
        mfa_changed_notify(user=locked, change="replaced", authenticator=added)
    return added
