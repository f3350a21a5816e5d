"""The billing systems' keys for the intake endpoint (``IntakeClient``), and their DRF authentication.

A key reads ``gik_<8 hex>_<secret>``; ``gik_<8 hex>`` is kept in clear
(``key_prefix``, to find the client) and only an HMAC-SHA256 of the whole key,
keyed from ``SECRET_KEY`` (Django's ``salted_hmac``), is stored. The key is
answered once, at creation, and never written anywhere else (logs, audit).
Rotating ``SECRET_KEY`` keeps the keys working while the old secret is in
``SECRET_KEY_FALLBACKS``.

The endpoint accepts these keys only: a session (even a staff one) is refused
with 403, a missing key answers 401, an unknown, malformed or deactivated key
401 too (the same answer, so a key's prefix reveals nothing).
"""

import logging
from typing import Any

from django.contrib.auth import get_user
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from guichet.audit.services import record
from guichet.documents.models import IntakeClient, Issuer
from guichet.web.machine_keys import MachineKeys

log = logging.getLogger(__name__)

# The salt is part of every stored hash: never change it (guichet.web.machine_keys).
KEYS = MachineKeys(scheme="gik", salt="guichet.documents.intake_auth.key")


class IntakeClientError(Exception):
    """A refused change of an intake client; ``message`` is translated."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


def intake_client_create(*, name: str, issuers: list[Issuer]) -> tuple[IntakeClient, str]:
    """A new active client for ``issuers``; answers it and its key (shown once, never kept)."""
    name = (name or "").strip()
    if not name or len(name) > IntakeClient._meta.get_field("name").max_length:
        raise IntakeClientError(str(_("Enter a name of 1 to 140 characters.")))
    if not issuers:
        raise IntakeClientError(str(_("Choose at least one issuer.")))
    with transaction.atomic():
        prefix, key, hashed = KEYS.issue(taken=lambda p: IntakeClient.objects.filter(key_prefix=p).exists())
        client = IntakeClient.objects.create(name=name, key_prefix=prefix, key_hash=hashed)
        client.issuers.set(issuers)
        record(
            action="documents.intake_client_created",
            target=client,
            details={"name": name, "issuers": sorted(issuer.prefix for issuer in issuers)},
        )
    return client, key


def intake_client_deactivate(*, client: IntakeClient) -> None:
    """Its key stops working at once (nothing else changes; the documents it sent stay)."""
    with transaction.atomic():
        updated = IntakeClient.objects.filter(pk=client.pk, is_active=True).update(is_active=False)
        client.is_active = False
        if updated:
            record(action="documents.intake_client_deactivated", target=client, details={"name": client.name})


def intake_client_for_key(key: str) -> IntakeClient | None:
    """The active client whose key this is, or None (malformed, unknown, wrong secret, deactivated)."""
    return KEYS.find(key, IntakeClient.objects.all())


class IntakeKeyAuthentication(BaseAuthentication):
    """``Authorization: Bearer gik_…``: the request's ``auth`` is the ``IntakeClient``; its ``user``
    stays anonymous (a machine is not a person)."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, IntakeClient] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid Authorization header."))
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid key.")) from None
        client = intake_client_for_key(key)
        if client is None:
            log.warning("intake: refused key (prefix %s)", KEYS.shown_prefix(key))
            raise exceptions.AuthenticationFailed(_("Invalid or deactivated key."))
        from django.contrib.auth.models import AnonymousUser

        return AnonymousUser(), client

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="intake"'


class IsIntakeClient(BasePermission):
    """Only an intake client's key; a browser session, even a staff one, is refused (403)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        # DRF has replaced request.user by now: ask the session itself.
        if hasattr(request._request, "session") and get_user(request._request).is_authenticated:
            raise exceptions.PermissionDenied(_("This endpoint is for billing systems with an intake key."))
        return isinstance(request.auth, IntakeClient)


def intake_client_touch(*, client: IntakeClient) -> None:
    """Remembers when the client last called (shown in the back office)."""
    now = timezone.now()
    IntakeClient.objects.filter(pk=client.pk).update(last_used_at=now)
    client.last_used_at = now
