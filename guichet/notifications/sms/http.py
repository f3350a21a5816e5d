"""A JSON-over-HTTPS SMS provider.

``POST GUICHET_SMS_HTTP_URL`` with ``{"to": "+32…", "from": sender, "text": …}``,
``Authorization: Bearer <GUICHET_SMS_HTTP_TOKEN>`` and an ``Idempotency-Key``
header, so that a retried request is not sent twice by the provider. A 2xx
answer is a success (its JSON ``id``, if any, is the reference); other 4xx
answers are permanent failures, except 408, 425 and 429; 5xx answers,
timeouts and connection errors are temporary.

Redirects are never followed: urllib would repeat the request elsewhere (as a
GET for 301, 302 and 303, with the bearer token, to any host or scheme) and
take the new location's 2xx for a sent SMS. A 3xx answer is a temporary
failure, for an operator to fix the URL.
"""

import http.client
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from guichet.notifications.exceptions import DeliveryError
from guichet.notifications.sms.base import BaseSmsBackend, Sms

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
RETRYABLE_CLIENT_ERRORS = frozenset({408, 425, 429})


class _RedirectRefuser(urllib.request.HTTPRedirectHandler):
    """Follows no redirect: the 3xx answer then reaches the caller as an HTTPError."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_RedirectRefuser)


class SmsBackend(BaseSmsBackend):
    def __init__(
        self, *, url: str | None = None, token: str | None = None, timeout: float | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.url = url or settings.GUICHET_SMS_HTTP_URL or ""
        self.token = token or settings.GUICHET_SMS_HTTP_TOKEN or ""
        self.timeout = timeout or settings.GUICHET_SMS_TIMEOUT
        if not self.url or not self.token:
            raise ImproperlyConfigured("The HTTP SMS backend needs GUICHET_SMS_HTTP_URL and _TOKEN.")
        parts = urlsplit(self.url)
        if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS):
            raise ImproperlyConfigured("GUICHET_SMS_HTTP_URL must be an https:// URL.")

    def send(self, sms: Sms) -> str:
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self.url,
            data=json.dumps({"to": sms.to, "from": sms.sender, "text": sms.text}).encode(),
            method="POST",
            headers={
                "Authorization": f"Bearer {self.token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Idempotency-Key": sms.idempotency_key,
            },
        )
        try:
            with _opener.open(request, timeout=self.timeout) as response:
                return _reference(response.read())
        except urllib.error.HTTPError as error:
            if 300 <= error.code < 400:
                raise DeliveryError(f"HTTP {error.code} redirect refused", permanent=False) from None
            permanent = 400 <= error.code < 500 and error.code not in RETRYABLE_CLIENT_ERRORS
            raise DeliveryError(f"HTTP {error.code}", permanent=permanent) from None
        except urllib.error.URLError as error:
            raise DeliveryError(f"connection error: {error.reason}", permanent=False) from None
        except (TimeoutError, OSError, http.client.HTTPException) as error:
            raise DeliveryError(f"connection error: {type(error).__name__}", permanent=False) from None


def _reference(body: bytes) -> str:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return ""
    return str(data.get("id", ""))[:255] if isinstance(data, dict) else ""
