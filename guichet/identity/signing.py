"""Transaction signing (PSD2 RTS art. 5, dynamic linking): operation → challenge → signed proof.

Every sensitive operation describes itself as an ``Operation`` whose canonical
JSON and SHA-256 digest are what the user signs. ``signing_start`` stores
them on a ``SigningChallenge`` with a fresh nonce; the signing page shows
``Operation.describe()`` and ``signing_verify`` turns the user's passkey
assertion (over SHA-256(digest || nonce)), authenticator-app code or SMS code
into a ``SignedProof``, only for the very same digest. The operation's own
service then calls ``signing_proof_consume`` in its transaction: a proof
counts once, for a few minutes, and for that operation only.

Wrong codes and assertions count in the account's failure counter, the same
as wrong passwords (identity.lockout).
"""

import dataclasses
import enum
import hashlib
import hmac
import json
import re
import secrets
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from allauth.core import context as allauth_context
from allauth.core import ratelimit
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from fido2.utils import websafe_encode
from fido2.webauthn import UserVerificationRequirement

from guichet.audit.services import record
from guichet.identity import lockout
from guichet.identity.codes import generate_code
from guichet.identity.models import SignedProof, SigningChallenge, SigningMethod, User
from guichet.notifications.services import notify

CENT = Decimal("0.01")
KIND_PATTERN = re.compile(r"^[a-z][a-z_]{1,31}$")
CODE_SEND_ACTION = "guichet_code_send"
SMS_TEMPLATE = "identity_signing_code"

# What the user reads for each kind of operation (later issues add theirs here).
KIND_LABELS: dict[str, Any] = {
    "password_change": _("Change of your password"),
    "email_change": _("Change of your e-mail address"),
    "mobile_change": _("Change of your mobile number"),
    "authenticator_add": _("Adding an authenticator"),
    "authenticator_remove": _("Removing an authenticator"),
    "authenticator_rename": _("Renaming a passkey"),
    "entity_user_add": _("Adding a user and granting rights"),
    "entity_rights_change": _("Changing a user's rights"),
    "entity_user_suspend": _("Suspending a user"),
    "entity_user_reactivate": _("Reactivating a user"),
    "entity_user_remove": _("Removing a user"),
    "transfer_validate": _("Validating a credit transfer"),
    "batch_validate": _("Validating a batch of credit transfers"),
    "paylater_card_change": _("Change of the card of a payment schedule"),
    "paylater_regularise": _("Regularising an unpaid amount"),
}
TARGET_LABELS: dict[str, Any] = {
    "email_change": _("New e-mail address"),
    "mobile_change": _("New mobile number"),
    "authenticator_add": _("Authenticator"),
    "authenticator_remove": _("Authenticator"),
    "entity_user_add": _("User"),
    "entity_rights_change": _("User"),
    "entity_user_suspend": _("User"),
    "entity_user_reactivate": _("User"),
    "entity_user_remove": _("User"),
    "paylater_card_change": _("Schedule and new card"),
    "paylater_regularise": _("Schedule and payments"),
}
# The rights an operation may list (entities): codes in the canonical form, words on the page.
RIGHT_LABELS: dict[str, Any] = {
    "consultation": _("consultation"),
    "management": _("management"),
    "validation": _("validation"),
    "administration": _("administration of users"),
}


# --- The operation -------------------------------------------------------------------


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount.quantize(CENT))


def _iban(value: str) -> str:
    return re.sub(r"\s+", "", value or "").upper()


def _amount_display(amount: Decimal, currency: str) -> str:
    return f"{number_format(amount, 2, use_l10n=True, force_grouping=True)} {currency}"


def _iban_display(iban: str) -> str:
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


@dataclasses.dataclass(frozen=True)
class OperationItem:
    """One payee of a batch."""

    payee_name: str
    amount: Decimal
    payee_iban: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "amount": _money(self.amount),
            "payee_iban": _iban(self.payee_iban),
            "payee_name": self.payee_name,
        }


@dataclasses.dataclass(frozen=True)
class Operation:
    """What the user signs. For a batch, ``items`` lists the payees and ``amount`` is the total."""

    kind: str
    amount: Decimal | None = None
    currency: str = ""
    payee_name: str = ""
    payee_iban: str = ""
    target: str = ""
    items: tuple[OperationItem, ...] = ()
    # Rights being granted (entities): (resource, (right code, ...)), in a stable order.
    rights: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def __post_init__(self) -> None:
        for _resource, codes in self.rights:
            if not codes or any(code not in RIGHT_LABELS for code in codes):
                raise ValueError("rights are listed by their codes")
        if not KIND_PATTERN.match(self.kind):
            raise ValueError(f"invalid operation kind {self.kind!r}")
        amounts = [self.amount] + [item.amount for item in self.items]
        for amount in amounts:
            if amount is not None and (not isinstance(amount, Decimal) or amount != amount.quantize(CENT)):
                raise ValueError("amounts are Decimals with at most 2 decimals")
        if self.amount is not None and not re.fullmatch(r"[A-Z]{3}", self.currency):
            raise ValueError("an amount needs an ISO 4217 currency")
        if self.items and (self.amount is None or sum(item.amount for item in self.items) != self.amount):
            raise ValueError("a batch's amount is the total of its items")

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "amount": _money(self.amount),
            "currency": self.currency,
            "items": [item.as_dict() for item in self.items],
            "kind": self.kind,
            "payee_iban": _iban(self.payee_iban),
            "payee_name": self.payee_name,
            "target": self.target,
        }
        if self.rights:  # only when there are some: the other operations keep their digests
            data["rights"] = [[resource, list(codes)] for resource, codes in self.rights]
        return data

    def canonical(self) -> bytes:
        """Sorted keys, no whitespace, amounts as strings with 2 decimals, UTF-8."""
        return json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    def digest(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()

    @classmethod
    def from_canonical(cls, text: str | bytes) -> "Operation":
        data = json.loads(text)

        def amount(value: str | None) -> Decimal | None:
            return None if value is None else Decimal(value)

        return cls(
            kind=data["kind"],
            amount=amount(data["amount"]),
            currency=data["currency"],
            payee_name=data["payee_name"],
            payee_iban=data["payee_iban"],
            target=data["target"],
            items=tuple(
                OperationItem(
                    payee_name=i["payee_name"], amount=Decimal(i["amount"]), payee_iban=i["payee_iban"]
                )
                for i in data["items"]
            ),
            rights=tuple((resource, tuple(codes)) for resource, codes in data.get("rights", [])),
        )

    @property
    def kind_label(self) -> Any:
        return KIND_LABELS.get(self.kind, self.kind)

    def describe(self) -> list[tuple[str, str]]:
        """(label, value) pairs in the active language: exactly what is signed, nothing else."""
        rows: list[tuple[str, str]] = [(str(_("Operation")), str(self.kind_label))]
        if self.amount is not None:
            label = _("Total amount") if self.items else _("Amount")
            rows.append((str(label), _amount_display(self.amount, self.currency)))
        if self.payee_name:
            rows.append((str(_("Payee")), self.payee_name))
        if self.payee_iban:
            rows.append((str(_("Payee's account (IBAN)")), _iban_display(_iban(self.payee_iban))))
        if self.target:
            rows.append((str(TARGET_LABELS.get(self.kind, _("Concerns"))), self.target))
        for number, item in enumerate(self.items, start=1):
            label = _("Payment %(number)d of %(count)d") % {"number": number, "count": len(self.items)}
            parts = [
                item.payee_name,
                _iban_display(_iban(item.payee_iban)),
                _amount_display(item.amount, self.currency),
            ]
            rows.append((str(label), " · ".join(part for part in parts if part)))
        for resource, codes in self.rights:
            rows.append((resource, ", ".join(str(RIGHT_LABELS[code]) for code in codes)))
        if self.rights == () and self.kind == "entity_rights_change":
            rows.append((str(_("Rights")), str(_("none"))))
        return rows


# --- Errors --------------------------------------------------------------------------


class SigningErrorCode(enum.StrEnum):
    NOT_FOUND = "not_found"
    EXPIRED = "expired"
    USED = "used"
    TAMPERED = "tampered"
    WRONG = "wrong"
    LOCKED = "locked"
    METHOD_UNAVAILABLE = "method_unavailable"
    NO_CODE = "no_code"
    RATE_LIMITED = "rate_limited"


MESSAGES = {
    SigningErrorCode.NOT_FOUND: _("This signing request does not exist. Start the operation again."),
    SigningErrorCode.EXPIRED: _("This signing request has expired. Start the operation again."),
    SigningErrorCode.USED: _("This signing request was already used. Start the operation again."),
    SigningErrorCode.TAMPERED: _(
        "The operation changed after the signing request was made. Start the operation again."
    ),
    SigningErrorCode.WRONG: _("The code or the passkey signature is not correct."),
    SigningErrorCode.LOCKED: _(
        "Your access is locked after too many failed attempts. Use “Reset logon credentials” to unlock it."
    ),
    SigningErrorCode.METHOD_UNAVAILABLE: _("This way of signing is not available for your access."),
    SigningErrorCode.NO_CODE: _("Ask for a code by SMS first."),
    SigningErrorCode.RATE_LIMITED: _("Too many codes were sent. Please wait an hour and try again."),
}


class SigningError(Exception):
    """``attempts_left`` is set for a wrong code or assertion (1: the next failure locks)."""

    def __init__(self, code: SigningErrorCode, *, attempts_left: int | None = None) -> None:
        self.code = code
        self.attempts_left = attempts_left
        super().__init__(str(code))

    @property
    def message(self) -> str:
        return str(MESSAGES[self.code])

    @property
    def final(self) -> bool:
        """The challenge cannot be signed any more: the operation must start again."""
        return self.code not in (
            SigningErrorCode.WRONG,
            SigningErrorCode.NO_CODE,
            SigningErrorCode.RATE_LIMITED,
        )


# --- Challenge -----------------------------------------------------------------------


def _validity() -> timedelta:
    return timedelta(seconds=settings.GUICHET_SIGNING_VALIDITY_SECONDS)


def safe_next_url(url: str, request: HttpRequest | None) -> str:
    """``url`` if it is a relative URL of this site, else ""."""
    hosts = {request.get_host()} if request is not None else set()
    if url.startswith("/") and url_has_allowed_host_and_scheme(url, allowed_hosts=hosts, require_https=False):
        return url
    return ""


def signing_start(
    *, user: User, operation: Operation, request: HttpRequest | None, next_url: str = ""
) -> SigningChallenge:
    """A challenge for ``operation``; the signing page returns to ``next_url`` with ``?proof=<id>``."""
    now = timezone.now()
    with transaction.atomic():
        challenge = SigningChallenge.objects.create(
            user=user,
            kind=operation.kind,
            operation=operation.canonical().decode(),
            digest=operation.digest(),
            nonce=secrets.token_hex(32),
            next_url=safe_next_url(next_url, request),
            created_at=now,
            expires_at=now + _validity(),
        )
        record(
            action="identity.signing_started",
            actor=user,
            target=user,
            request=request,
            details={"kind": operation.kind, "digest": challenge.digest},
        )
    return challenge


def challenge_of(*, challenge_id: Any, user: User) -> SigningChallenge | None:
    """The user's own challenge, or None (another user's challenge does not exist for them)."""
    try:
        pk = uuid.UUID(str(challenge_id))
    except ValueError:
        return None
    return SigningChallenge.objects.filter(pk=pk, user=user).first()


def challenge_operation(challenge: SigningChallenge) -> Operation:
    return Operation.from_canonical(challenge.operation)


def signing_methods(user: User) -> list[str]:
    """Passkey and/or authenticator app when enrolled; SMS only for users without either."""
    types = set(
        Authenticator.objects.filter(
            user=user, type__in=(Authenticator.Type.WEBAUTHN, Authenticator.Type.TOTP)
        ).values_list("type", flat=True)
    )
    methods = [method for method in (SigningMethod.WEBAUTHN, SigningMethod.TOTP) if method in types]
    if not methods and user.mobile_phones:
        methods.append(SigningMethod.SMS)
    return [str(method) for method in methods]


def _check_open(challenge: SigningChallenge) -> None:
    if challenge.used_at is not None:
        raise SigningError(SigningErrorCode.USED)
    if timezone.now() >= challenge.expires_at:
        raise SigningError(SigningErrorCode.EXPIRED)


# --- SMS -----------------------------------------------------------------------------


def _code_hash(challenge: SigningChallenge, code: str) -> str:
    """Keyed hash bound to the challenge: the code is worth nothing for another operation."""
    key = hashlib.sha256(b"guichet.signing-code:" + settings.SECRET_KEY.encode()).digest()
    message = f"{challenge.pk}:{challenge.digest}:{code}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def signing_sms_send(*, challenge: SigningChallenge, request: HttpRequest | None) -> str:
    """Sends a code for this challenge to the first registered mobile; returns the number it went to.

    A new code replaces the previous one. Only for users without a strong authenticator.
    """
    user = challenge.user
    _check_open(challenge)
    if SigningMethod.SMS not in signing_methods(user):
        raise SigningError(SigningErrorCode.METHOD_UNAVAILABLE)
    if request is not None and not ratelimit.consume(request, action=CODE_SEND_ACTION, key=str(user.pk)):
        raise SigningError(SigningErrorCode.RATE_LIMITED)
    operation = challenge_operation(challenge)
    phone = str(user.mobile_phones[0])
    code = generate_code()
    with transaction.atomic():
        challenge.code_hash = _code_hash(challenge, code)
        challenge.code_sent_at = timezone.now()
        challenge.save(update_fields=["code_hash", "code_sent_at"])
        notify(
            template=SMS_TEMPLATE,
            context={
                "code": code,
                "kind": operation.kind_label,  # lazy: rendered in the recipient's language
                "amount": operation.amount,
                "currency": operation.currency,
                "payee": operation.payee_name or (operation.items[0].payee_name if operation.items else ""),
                "payees": len(operation.items),
                "target": operation.target,
                "minutes": settings.GUICHET_SIGNING_VALIDITY_SECONDS // 60,
            },
            user=user,
            phone=phone,
            channels=("sms",),
            sensitive=True,
        )
        record(
            action="identity.signing_code_sent",
            actor=user,
            target=user,
            request=request,
            details={"kind": challenge.kind, "digest": challenge.digest},
        )
    return phone


# --- Passkey -------------------------------------------------------------------------


def webauthn_challenge_bytes(challenge: SigningChallenge) -> bytes:
    """What the passkey signs: SHA-256(digest || nonce), so the signature covers this operation only."""
    return hashlib.sha256(bytes.fromhex(challenge.digest) + bytes.fromhex(challenge.nonce)).digest()


def _webauthn_state(challenge: SigningChallenge) -> dict[str, Any]:
    return {
        "challenge": websafe_encode(webauthn_challenge_bytes(challenge)),
        "user_verification": UserVerificationRequirement.REQUIRED,
    }


def signing_webauthn_options(challenge: SigningChallenge, request: HttpRequest) -> dict[str, Any]:
    """The JSON the page passes to navigator.credentials.get (through webauthn-json)."""
    from allauth.mfa.webauthn.internal import auth as webauthn_auth

    with allauth_context.request_context(request):
        server = webauthn_auth.get_server()
        options, _state = server.authenticate_begin(
            credentials=webauthn_auth.get_credentials(challenge.user),
            user_verification=UserVerificationRequirement.REQUIRED,
            challenge=webauthn_challenge_bytes(challenge),
        )
    return json.loads(json.dumps(dict(options)))


def _webauthn_check(challenge: SigningChallenge, response: Any, request: HttpRequest | None) -> bool:
    """A real fido2 verification; the challenge is recomputed from the row, never taken from the client."""
    from allauth.mfa.webauthn.internal import auth as webauthn_auth

    if request is None or not response:
        return False
    try:
        data = json.loads(response) if isinstance(response, str) else response
        with allauth_context.request_context(request):
            server = webauthn_auth.get_server()
            credentials = webauthn_auth.get_credentials(challenge.user)
            binding = server.authenticate_complete(_webauthn_state(challenge), credentials, data)
            authenticator = webauthn_auth.get_authenticator_by_credential_id(
                challenge.user, binding.credential_id
            )
    except Exception:  # any malformed or wrong assertion is a failed attempt
        return False
    if authenticator is None:
        return False
    authenticator.record_usage()
    return True


# --- Verification --------------------------------------------------------------------


def _totp_check(user: User, code: str) -> bool:
    authenticator = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if authenticator is None or not code:
        return False
    if not TOTP(authenticator).validate_code(code.strip()):  # allauth refuses a code already used
        return False
    authenticator.record_usage()
    return True


def _failed(*, user: User, challenge: SigningChallenge, reason: str, request: HttpRequest | None) -> None:
    with transaction.atomic():
        record(
            action="identity.signing_failed",
            actor=user,
            target=user,
            request=request,
            details={"kind": challenge.kind, "digest": challenge.digest, "reason": reason},
        )


def signing_verify(
    *,
    challenge_id: Any,
    user: User,
    operation: Operation,
    method: str,
    code: str | None = None,
    webauthn_response: Any = None,
    request: HttpRequest | None,
) -> SignedProof:
    """Checks the user's signature of ``operation`` for this challenge; raises ``SigningError``."""
    challenge = challenge_of(challenge_id=challenge_id, user=user)
    if challenge is None:
        raise SigningError(SigningErrorCode.NOT_FOUND)
    try:
        _check_open(challenge)
        if not hmac.compare_digest(operation.digest(), challenge.digest):
            raise SigningError(SigningErrorCode.TAMPERED)
        if lockout.failure_state(user.user_id).locked:
            raise SigningError(SigningErrorCode.LOCKED)
        if method not in signing_methods(user):
            raise SigningError(SigningErrorCode.METHOD_UNAVAILABLE)
        if method == SigningMethod.SMS and not challenge.code_hash:
            raise SigningError(SigningErrorCode.NO_CODE)
    except SigningError as error:
        _failed(user=user, challenge=challenge, reason=str(error.code), request=request)
        raise
    if method == SigningMethod.TOTP:
        ok = _totp_check(user, code or "")
    elif method == SigningMethod.SMS:
        ok = hmac.compare_digest(challenge.code_hash, _code_hash(challenge, (code or "").strip()))
    else:
        ok = _webauthn_check(challenge, webauthn_response, request)
    if ok:
        with transaction.atomic():
            # Marked used only if still unused: two concurrent right answers make one proof.
            now = timezone.now()
            if not SigningChallenge.objects.filter(pk=challenge.pk, used_at__isnull=True).update(used_at=now):
                raise SigningError(SigningErrorCode.USED)
            proof = SignedProof.objects.create(challenge=challenge, method=method, signed_at=now)
            record(
                action="identity.signed",
                actor=user,
                target=user,
                request=request,
                details={"kind": challenge.kind, "digest": challenge.digest, "method": method},
            )
        lockout.login_failures_reset(user=User.objects.get(pk=user.pk))
        return proof
    _failed(user=user, challenge=challenge, reason="wrong", request=request)
    state = lockout.login_failure_record(identifier=user.user_id, request=request)
    if state.locked:
        raise SigningError(SigningErrorCode.LOCKED)
    raise SigningError(SigningErrorCode.WRONG, attempts_left=state.attempts_left)


def signing_proof_check(
    *, proof_id: Any, user: User, operation: Operation, for_update: bool = False
) -> SignedProof:
    """The user's proof for ``operation`` if it may still be consumed; raises ``SigningError``."""
    try:
        pk = uuid.UUID(str(proof_id))
    except ValueError:
        raise SigningError(SigningErrorCode.NOT_FOUND) from None
    proofs = SignedProof.objects.select_related("challenge").filter(pk=pk, challenge__user=user)
    proof = (proofs.select_for_update(of=("self",)) if for_update else proofs).first()
    if proof is None:
        raise SigningError(SigningErrorCode.NOT_FOUND)
    if proof.consumed_at is not None:
        raise SigningError(SigningErrorCode.USED)
    if timezone.now() - proof.signed_at > _validity():
        raise SigningError(SigningErrorCode.EXPIRED)
    if not hmac.compare_digest(operation.digest(), proof.challenge.digest):
        raise SigningError(SigningErrorCode.TAMPERED)
    return proof


def signing_proof_consume(*, proof_id: Any, user: User, operation: Operation) -> SignedProof:
    """Uses up a proof for ``operation``: call it inside the operation's own transaction."""
    with transaction.atomic():
        proof = signing_proof_check(proof_id=proof_id, user=user, operation=operation, for_update=True)
        proof.consumed_at = timezone.now()
        proof.save(update_fields=["consumed_at"])
    return proof
