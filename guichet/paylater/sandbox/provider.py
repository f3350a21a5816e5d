"""The sandbox payment provider: ``paylater.gateway.PaymentGateway`` for the demo and the tests.

It behaves like a real provider seen from Guichet, in the same database: card-entry sessions whose
card page (``sandbox.views``) takes a *test* card number and answers a token; charges and refunds
recorded once per idempotency key (``SandboxCharge.idempotency_key`` is unique: the same key asked
again answers the recorded result and charges nothing); signed notifications.

What a charge does depends on the card's behaviour (``sandbox.cards``): accepted, declined,
insufficient funds, expired card, or a *time-out*: the first request for each idempotency key raises
``ProviderUnavailable`` although the sandbox recorded the charge as accepted; asking again with the
same key answers that result (what a caller must do after a time-out); a ``charge.settled``
notification follows, as a real provider's webhook would.

Like a real provider, the sandbox keeps its records whatever happens to the caller's transaction
*only if* it is called outside one; inside one, it writes in a savepoint, kept as long as the caller
catches ``ProviderUnavailable`` rather than letting it roll everything back. Never hold a
transaction open across a provider call in production code.
"""

import dataclasses
import datetime
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Iterable
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from guichet.paylater.gateway import (
    ChargeRequest,
    ChargeResult,
    Notification,
    NotificationInvalid,
    ProviderUnavailable,
    SetupResult,
    SetupSession,
)
from guichet.paylater.sandbox.cards import PREREGISTERED_TOKENS, REFUSAL_REASONS, Behaviour, TestCard
from guichet.paylater.sandbox.models import SandboxCard, SandboxCharge, SandboxSession

# A card-entry session left open longer than this can no longer be completed (nor cancelled).
SESSION_LIFETIME = datetime.timedelta(minutes=30)
SIGNATURE_HEADER = "X-Sandbox-Signature"
NOTIFICATION_KINDS = ("setup.completed", "setup.cancelled", "charge.settled")
SUCCEEDED, FAILED = "succeeded", "failed"
UNKNOWN_CARD = "unknown_card"

_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")


class SessionState:
    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


# --- Sessions ----------------------------------------------------------------------------------


def session_get(session_id: object) -> SandboxSession | None:
    """The session of that id (a UUID), or None for anything else."""
    try:
        key = uuid.UUID(str(session_id))
    except ValueError:
        return None
    return SandboxSession.objects.filter(pk=key).first()


def session_expired(session: SandboxSession, *, now: datetime.datetime | None = None) -> bool:
    return (now or timezone.now()) - session.created_at > SESSION_LIFETIME


def session_return_url(session: SandboxSession) -> str:
    """The session's return URL with ``session=<id>`` added to its query (``?`` or ``&``)."""
    parts = urlsplit(session.return_url)
    query = (parts.query + "&" if parts.query else "") + urlencode({"session": str(session.pk)})
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def session_card_enter(
    *, session: SandboxSession, card: TestCard, expiry_month: int, expiry_year: int
) -> SandboxSession:
    """Completes an open session with a test card: a new token (brand, last 4, expiry, behaviour only)
    and a ``setup.completed`` notification, sent after the commit. The number itself is not kept."""
    from guichet.paylater.sandbox.notify import notification_enqueue

    with transaction.atomic():
        session = SandboxSession.objects.select_for_update().get(pk=session.pk)
        if session.status != SessionState.OPEN:
            return session
        token = f"tok_sbx_{uuid.uuid4().hex}"
        SandboxCard.objects.create(
            token=token,
            brand=card.brand,
            last4=card.last4,
            expiry_month=expiry_month,
            expiry_year=expiry_year,
            behaviour=card.behaviour,
        )
        session.status, session.token, session.completed_at = SessionState.COMPLETED, token, timezone.now()
        session.save(update_fields=["status", "token", "completed_at"])
        notification_enqueue(kind="setup.completed", session_id=str(session.pk))
    return session


def session_cancel(*, session: SandboxSession) -> SandboxSession:
    """The customer clicked Cancel: the session ends without a card; ``setup.cancelled`` is sent."""
    from guichet.paylater.sandbox.notify import notification_enqueue

    with transaction.atomic():
        session = SandboxSession.objects.select_for_update().get(pk=session.pk)
        if session.status != SessionState.OPEN:
            return session
        session.status, session.completed_at = SessionState.CANCELLED, timezone.now()
        session.save(update_fields=["status", "completed_at"])
        notification_enqueue(kind="setup.cancelled", session_id=str(session.pk))
    return session


# --- Charges -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _CardBehaviour:
    brand: str
    behaviour: str


def _behaviours(tokens: Iterable[str]) -> dict[str, _CardBehaviour]:
    """Each token's behaviour: the pre-registered ones from the table, the others in one query."""
    found: dict[str, _CardBehaviour] = {}
    missing = set()
    for token in set(tokens):
        known = PREREGISTERED_TOKENS.get(token)
        if known is not None:
            found[token] = _CardBehaviour(known.brand, known.behaviour)
        else:
            missing.add(token)
    if missing:
        for token, brand, behaviour in SandboxCard.objects.filter(token__in=missing).values_list(
            "token", "brand", "behaviour"
        ):
            found[token] = _CardBehaviour(brand, behaviour)
    return found


def _reference(kind: str, idempotency_key: str) -> str:
    """A stable reference per key (``sbx_ch_…`` / ``sbx_re_…``)."""
    digest = hashlib.sha256(f"{kind}:{idempotency_key}".encode()).hexdigest()[:24]
    return f"sbx_{kind[:2]}_{digest}"


def _outcome(kind: str, card: _CardBehaviour | None) -> tuple[str, str]:
    if card is None:
        return FAILED, UNKNOWN_CARD
    if kind == "refund":
        return SUCCEEDED, ""
    reason = REFUSAL_REASONS.get(card.behaviour)
    return (FAILED, reason) if reason else (SUCCEEDED, "")


def _result(row: tuple[str, str, str, str]) -> ChargeResult:
    key, outcome, reason, reference = row
    return ChargeResult(
        idempotency_key=key, succeeded=outcome == SUCCEEDED, reference=reference, reason=reason
    )


def _record(kind: str, requests: list[ChargeRequest]) -> list[ChargeResult]:
    """Records the requests whose key is new (one bulk insert, conflicts ignored), then answers every
    request from the records (one read). Raises ``ProviderUnavailable`` after recording when a new
    charge is on a time-out card: the answer is lost, the charge is not (a ``charge.settled``
    notification follows)."""
    from guichet.paylater.sandbox.notify import notification_enqueue

    if not requests:
        return []
    keys = [r.idempotency_key for r in requests]
    if len(set(keys)) != len(keys):
        raise ValueError("The same idempotency key twice in one batch.")
    columns = ("idempotency_key", "outcome", "reason", "reference")
    with transaction.atomic():
        charges = SandboxCharge.objects.filter(idempotency_key__in=keys)
        existing = set(charges.values_list("idempotency_key", flat=True))
        new = [r for r in requests if r.idempotency_key not in existing]
        cards = _behaviours(r.token for r in new)
        now = timezone.now()
        rows = []
        timed_out: list[str] = []
        for r in new:
            card = cards.get(r.token)
            outcome, reason = _outcome(kind, card)
            if kind == "charge" and card is not None and card.behaviour == Behaviour.TIMEOUT:
                timed_out.append(r.idempotency_key)
            rows.append(
                SandboxCharge(
                    idempotency_key=r.idempotency_key,
                    kind=kind,
                    token=r.token,
                    amount=r.amount,
                    currency=r.currency,
                    outcome=outcome,
                    reason=reason,
                    reference=_reference(kind, r.idempotency_key),
                    created_at=now,
                )
            )
        SandboxCharge.objects.bulk_create(rows, ignore_conflicts=True)
        recorded = {row[0]: _result(row) for row in charges.values_list(*columns)}
        for key in timed_out:  # the lost answer arrives later, as a real provider's webhook would
            notification_enqueue(kind="charge.settled", idempotency_key=key)
    if timed_out:
        raise ProviderUnavailable("The sandbox provider timed out (test card 4000 0000 0000 0119).")
    return [recorded[key] for key in keys]


# --- Notifications -----------------------------------------------------------------------------


def notification_secret() -> bytes:
    return settings.GUICHET_PAYMENT_NOTIFICATION_SECRET.encode()


def notification_sign(body: bytes) -> str:
    """The ``X-Sandbox-Signature`` of a body: hex HMAC-SHA256 with the shared secret."""
    return hmac.new(notification_secret(), body, hashlib.sha256).hexdigest()


def notification_body(*, kind: str, session_id: str = "", idempotency_key: str = "", id: str = "") -> bytes:
    """A notification's JSON body; ``id`` (new by default) is what makes a replay recognisable."""
    if kind not in NOTIFICATION_KINDS:
        raise ValueError(kind)
    payload: dict[str, str] = {"id": id or f"evt_{uuid.uuid4().hex}", "kind": kind}
    if kind.startswith("setup."):
        payload["session_id"] = session_id
    else:
        payload["idempotency_key"] = idempotency_key
    return json.dumps(payload, separators=(",", ":")).encode()


class SandboxGateway:
    """``GUICHET_PAYMENT_GATEWAY`` default: the sandbox (stateless; its state is in the database)."""

    def setup_session_create(self, *, reference: str, return_url: str, language: str) -> SetupSession:
        session = SandboxSession.objects.create(
            reference=reference[:100], return_url=return_url, language=(language or "fr")[:8]
        )
        url = reverse("paylater_sandbox:card", kwargs={"session_id": session.pk})
        return SetupSession(id=str(session.pk), redirect_url=url)

    def setup_result(self, *, session_id: str) -> SetupResult:
        """The session's outcome; an unknown session, or one left open past its lifetime, answers
        "cancelled" (no card was entered there)."""
        session = session_get(session_id)
        if session is None:
            return SetupResult(session_id=str(session_id), status=SessionState.CANCELLED)
        if session.status == SessionState.OPEN:
            status = SessionState.CANCELLED if session_expired(session) else SessionState.OPEN
            return SetupResult(session_id=str(session.pk), status=status)
        if session.status == SessionState.CANCELLED:
            return SetupResult(session_id=str(session.pk), status=SessionState.CANCELLED)
        card = SandboxCard.objects.get(token=session.token)
        return SetupResult(
            session_id=str(session.pk),
            status=SessionState.COMPLETED,
            token=card.token,
            brand=card.brand,
            last4=card.last4,
            expiry_month=card.expiry_month,
            expiry_year=card.expiry_year,
        )

    def charge(self, request: ChargeRequest) -> ChargeResult:
        return _record("charge", [request])[0]

    def charge_many(self, requests: list[ChargeRequest]) -> list[ChargeResult]:
        """One bulk insert and two reads whatever the batch size. If a new charge of the batch is on
        the time-out card, the whole answer is lost (``ProviderUnavailable``), though every charge was
        recorded: asking again with the same keys answers them all."""
        return _record("charge", list(requests))

    def refund(self, request: ChargeRequest) -> ChargeResult:
        return _record("refund", [request])[0]

    def notification_verify(self, *, body: bytes, signature: str) -> Notification:
        if not notification_secret():
            raise NotificationInvalid("No notification secret is configured.")
        signature = (signature or "").strip().lower()
        # A hex digest or nothing: compare_digest refuses non-ASCII strings with a TypeError (a 500).
        if not _HEX_DIGEST.fullmatch(signature) or not hmac.compare_digest(
            notification_sign(body).encode(), signature.encode()
        ):
            raise NotificationInvalid("Bad signature.")
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise NotificationInvalid("Not JSON.") from error
        if not isinstance(payload, dict):
            raise NotificationInvalid("Not an object.")
        kind, event_id = payload.get("kind"), payload.get("id")
        if kind not in NOTIFICATION_KINDS or not isinstance(event_id, str) or not event_id:
            raise NotificationInvalid("Unknown kind or no id.")
        session_id = payload.get("session_id", "")
        key = payload.get("idempotency_key", "")
        if not isinstance(session_id, str) or not isinstance(key, str):
            raise NotificationInvalid("Bad field.")
        if (kind.startswith("setup.") and not session_id) or (kind == "charge.settled" and not key):
            raise NotificationInvalid("Missing reference.")
        return Notification(id=event_id[:100], kind=kind, session_id=session_id, idempotency_key=key)
