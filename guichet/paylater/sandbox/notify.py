"""The sandbox provider's signed notifications, posted to Guichet's notifications endpoint by the worker.

A real provider calls the merchant back server to server; the sandbox does the same through a task,
enqueued in the transaction that completes a session (the task table is in the same database, so the
notification exists if and only if the session changed). The task posts the JSON body to
``GUICHET_PUBLIC_URL`` + ``/paylater/provider/notifications/`` with ``X-Sandbox-Signature``, and
enqueues itself again later when Guichet does not answer 2xx (at most ``MAX_ATTEMPTS`` times).
Guichet handles each notification id once, so a retry after a lost answer is harmless.

Without ``GUICHET_PUBLIC_URL`` (the tests), nothing is posted: the customer's return to Guichet
fetches the result anyway (``setup_result``), which is what the notification would have triggered.
"""

import datetime
import logging
import urllib.error
import urllib.request

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from guichet.paylater.sandbox.provider import SIGNATURE_HEADER, notification_body, notification_sign

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
TIMEOUT_SECONDS = 10


def notification_url() -> str:
    """Where the sandbox posts its notifications ("" when GUICHET_PUBLIC_URL is not set)."""
    base = settings.GUICHET_PUBLIC_URL.rstrip("/")
    return base + reverse("paylater_provider_notifications") if base else ""


def notification_enqueue(*, kind: str, session_id: str = "", idempotency_key: str = "") -> bytes:
    """Builds a notification and enqueues its delivery (in the caller's transaction); returns the body."""
    body = notification_body(kind=kind, session_id=session_id, idempotency_key=idempotency_key)
    if notification_url():
        post_notification.enqueue(body.decode(), 1)
    return body


def notification_headers(body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json", SIGNATURE_HEADER: notification_sign(body)}


def _post(url: str, body: bytes) -> int:
    request = urllib.request.Request(url, data=body, headers=notification_headers(body), method="POST")  # noqa: S310 (our own configured https URL)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@task()
def post_notification(body: str, attempt: int) -> str:
    """One delivery attempt; a failure enqueues the next one after 30 s times 2**attempt."""
    url = notification_url()
    if not url:
        return "no-url"
    try:
        status = _post(url, body.encode())
    except OSError as error:
        status, detail = 0, type(error).__name__
    else:
        detail = str(status)
    if 200 <= status < 300:
        return "delivered"
    if attempt >= MAX_ATTEMPTS:
        logger.warning("Sandbox notification given up after %s attempts (%s)", attempt, detail)
        return "given-up"
    delay = datetime.timedelta(seconds=30 * 2**attempt)
    post_notification.using(run_after=timezone.now() + delay).enqueue(body, attempt + 1)
    logger.info("Sandbox notification attempt %s failed (%s); retrying", attempt, detail)
    return "retrying"
