"""The lender systems' keys for the order endpoint (``OrderClient``), and their DRF authentication.

The same scheme as the documents intake (``documents.intake_auth``), with its own prefix and salt:
a key reads ``gpl_<8 hex>_<secret>``; ``gpl_<8 hex>`` is kept in clear (``key_prefix``, to find the
client) and only an HMAC-SHA256 of the whole key, keyed from ``SECRET_KEY``, is stored. The key is
answered once, at creation, and never written anywhere else (logs, audit). Keys keep working while
an old ``SECRET_KEY`` is in ``SECRET_KEY_FALLBACKS``.

The endpoint accepts these keys only: a browser session (even a staff one) is refused with 403, a
missing key answers 401, and an unknown, malformed or deactivated key 401 too (the same answer, so a
prefix reveals nothing). A client sends the orders of its merchants only (``OrderClient.merchants``).
"""

import logging
from typing import Any

from django.contrib.auth import get_user
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from guichet.audit.services import record
from guichet.paylater.models import Merchant, OrderClient
from guichet.web.machine_keys import MachineKeys

log = logging.getLogger(__name__)

# The salt is part of every stored hash: never change it (guichet.web.machine_keys).
KEYS = MachineKeys(scheme="gpl", salt="guichet.paylater.clients.key")


class OrderClientError(Exception):
    """A refused change of an order client; ``message`` is translated."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


def order_client_create(*, name: str, merchants: list[Merchant]) -> tuple[OrderClient, str]:
    """A new active client for ``merchants``; answers it and its key (shown once, never kept)."""
    name = (name or "").strip()
    if not name or len(name) > OrderClient._meta.get_field("name").max_length:
        raise OrderClientError(_("Enter a name of 1 to 140 characters."))
    if not merchants:
        raise OrderClientError(_("Choose at least one merchant."))
    with transaction.atomic():
        prefix, key, hashed = KEYS.issue(taken=lambda p: OrderClient.objects.filter(key_prefix=p).exists())
        client = OrderClient.objects.create(name=name, key_prefix=prefix, key_hash=hashed)
        client.merchants.set(merchants)
        record(
            action="paylater.order_client_created",
            target=client,
            details={"name": name, "merchants": sorted(merchant.code for merchant in merchants)},
        )
    return client, key


def order_client_deactivate(*, client: OrderClient) -> None:
    """Its key stops working at once (the orders it sent stay)."""
    with transaction.atomic():
        updated = OrderClient.objects.filter(pk=client.pk, is_active=True).update(is_active=False)
        client.is_active = False
        if updated:
            record(action="paylater.order_client_deactivated", target=client, details={"name": client.name})


def order_client_for_key(key: str) -> OrderClient | None:
    """The active client whose key this is, or None (malformed, unknown, wrong secret, deactivated)."""
    return KEYS.find(key, OrderClient.objects.all())


def order_client_touch(*, client: OrderClient) -> None:
    """Remembers when the client last called (shown in the back office)."""
    now = timezone.now()
    OrderClient.objects.filter(pk=client.pk).update(last_used_at=now)
    client.last_used_at = now


class OrderClientKeyAuthentication(BaseAuthentication):
    """``Authorization: Bearer gpl_…``: the request's ``auth`` is the ``OrderClient``; its ``user``
    stays anonymous (a machine is not a person)."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, OrderClient] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(gettext_lazy("Invalid Authorization header."))
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(gettext_lazy("Invalid key.")) from None
        client = order_client_for_key(key)
        if client is None:
            log.warning("paylater orders: refused key (prefix %s)", KEYS.shown_prefix(key))
            raise exceptions.AuthenticationFailed(gettext_lazy("Invalid or deactivated key."))
        return AnonymousUser(), client

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="paylater"'


class IsOrderClient(BasePermission):
    """Only an order client's key; a browser session, even a staff one, is refused (403)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        # DRF has replaced request.user by now: ask the session itself.
        if hasattr(request._request, "session") and get_user(request._request).is_authenticated:
            raise exceptions.PermissionDenied(
                gettext_lazy("This endpoint is for the lender's systems with an order key.")
            )
        return isinstance(request.auth, OrderClient)
