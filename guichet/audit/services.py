"""Writing to the audit trail: ``record`` is the only way in."""

import ipaddress
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.ipv6 import clean_ipv6_address

from guichet.audit.chain import event_hash
from guichet.audit.models import GENESIS_HASH, AuditEvent
from guichet.audit.redaction import clean_details
from guichet.web import request_id

# Key of the PostgreSQL advisory lock that serialises appends ("GUICHETA" in ASCII).
APPEND_LOCK_KEY = 0x4755494348455441
_NO_REQUEST_ID = "-"


def record(
    *,
    action: str,
    actor: AbstractBaseUser | None = None,
    target: object | str | None = None,
    request: HttpRequest | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Appends one event to the trail, inside the caller's transaction.

    ``actor`` defaults to the request's authenticated user. ``target`` is a
    model instance (its type, primary key and ``str()`` are kept) or a label.
    Secrets in ``details`` are redacted (see ``audit.redaction``).
    """
    if actor is None and request is not None:
        request_user = getattr(request, "user", None)
        actor = request_user if request_user is not None and request_user.is_authenticated else None
    event = AuditEvent(
        occurred_at=timezone.now(),
        action=action,
        actor_id=actor.pk if actor is not None else None,
        actor_label=actor.get_username()[:255] if actor is not None else "",
        ip_address=client_ip(request) if request is not None else None,
        user_agent=request.headers.get("User-Agent", "")[:512] if request is not None else "",
        request_id=_current_request_id(),
        details=clean_details(details),
        **_target_fields(target),
    )
    # No savepoint when nested (the usual case): an append is never undone alone.
    with transaction.atomic(savepoint=False):
        _lock_for_append()
        last = AuditEvent.objects.order_by("-seq").only("seq", "hash").first()
        event.seq = last.seq + 1 if last else 1
        event.prev_hash = last.hash if last else GENESIS_HASH
        event.hash = event_hash(event)
        event.save(force_insert=True)
    return event


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: ``REMOTE_ADDR``, or ``X-Forwarded-For`` behind trusted proxies.

    With ``GUICHET_TRUSTED_PROXY_COUNT = n > 0``, each of the n proxies appends
    the address it received the request from, so the client is the n-th entry
    from the right; anything further left was written by the client and is
    ignored. A header shorter than n means a proxy was bypassed: REMOTE_ADDR.

    The address is in the form the database gives back (``GenericIPAddressField``:
    ``::ffff:192.0.2.7``, not Python's ``::ffff:c000:207``), so an event's hash
    recomputed from the stored row matches the one computed here. None if invalid.
    """
    trusted = getattr(settings, "GUICHET_TRUSTED_PROXY_COUNT", 0)
    candidate = request.META.get("REMOTE_ADDR", "")
    if trusted > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= trusted:
            candidate = forwarded[-trusted]
    try:
        address = ipaddress.ip_address(candidate)
        return clean_ipv6_address(str(address)) if address.version == 6 else str(address)
    except (ValueError, ValidationError):
        return None


def _target_fields(target: object | str | None) -> dict[str, str]:
    if target is None:
        return {}
    if isinstance(target, str):
        return {"target_label": target[:255]}
    if isinstance(target, models.Model):
        return {
            "target_type": target._meta.label_lower,
            "target_id": str(target.pk),
            "target_label": str(target)[:255],
        }
    return {"target_type": type(target).__name__[:100], "target_label": str(target)[:255]}


def _current_request_id() -> str:
    current = request_id.get()
    return "" if current == _NO_REQUEST_ID else current[:64]


def _lock_for_append() -> None:
    """Serialises appends until the transaction ends; SQLite serialises writers already."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [APPEND_LOCK_KEY])
