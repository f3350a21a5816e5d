"""The payment provider's notifications endpoint: ``POST /paylater/provider/notifications/``.

The body is checked by the configured gateway (``notification_verify``: the signature with
``GUICHET_PAYMENT_NOTIFICATION_SECRET``, then the format); anything wrong answers 400 and changes
nothing. Each notification id is handled once (``NotificationReceipt``): a replay answers 200 and
does nothing. The receipt is written after the handling succeeds, so a failure (500) is retried by
the provider; the handlers are idempotent, so two copies arriving at once are harmless.

- ``setup.completed`` / ``setup.cancelled``: the card-entry session's outcome is fetched and stored
  on its ``CardSetup`` (the customer may never come back to Guichet's return page);
- ``charge.settled``: a payment left pending (a time-out) is asked again with its key and settled
  (``debits.payment_reconcile``).

No CSRF token (the caller is a machine; the signature is the authentication), no session, and
nothing of the body is logged.
"""

import logging

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from guichet.paylater.gateway import Notification, NotificationInvalid, gateway
from guichet.paylater.models import NotificationReceipt

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024
SIGNATURE_HEADERS = ("X-Sandbox-Signature", "X-Signature")


def _signature(request: HttpRequest) -> str:
    for name in SIGNATURE_HEADERS:
        if value := request.headers.get(name, ""):
            return value
    return ""


def notification_handle(notification: Notification) -> None:
    """What a verified notification triggers (idempotent)."""
    if notification.kind.startswith("setup."):
        from guichet.paylater.cards import setup_notified

        setup_notified(provider_session=notification.session_id)
    elif notification.kind == "charge.settled":
        from guichet.paylater.debits import payment_reconcile

        payment_reconcile(idempotency_key=notification.idempotency_key)


def notification_receive(notification: Notification) -> bool:
    """Handles a notification unless its id was handled already; True when handled now."""
    if NotificationReceipt.objects.filter(notification_id=notification.id).exists():
        return False
    notification_handle(notification)
    try:
        with transaction.atomic():
            NotificationReceipt.objects.create(notification_id=notification.id)
    except IntegrityError:
        return False  # a copy handled at the same moment
    return True


@csrf_exempt
@require_POST
def notifications(request: HttpRequest) -> HttpResponse:
    length = request.headers.get("Content-Length", "0")
    if not length.isdigit() or int(length) > MAX_BODY_BYTES:
        return JsonResponse({"error": "too_large"}, status=413)
    body = request.body
    try:
        notification = gateway().notification_verify(body=body, signature=_signature(request))
    except NotificationInvalid:
        logger.warning("Payment provider notification refused (signature or format)")
        return JsonResponse({"error": "invalid"}, status=400)
    handled = notification_receive(notification)
    logger.info(
        "Payment provider notification kind=%s handled=%s", notification.kind, "yes" if handled else "replay"
    )
    return JsonResponse({"received": True, "duplicate": not handled})
