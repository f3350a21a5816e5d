"""E-mail through Django's mail backends, over one persistent connection per worker.

Opening an SMTP connection (and TLS, and AUTH) costs more than sending a
message, so each worker process keeps one open and reopens it after a failure.
"""

import contextlib
import hashlib
import smtplib
import threading
from collections.abc import Sequence
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend

from guichet.notifications.exceptions import DeliveryError
from guichet.notifications.models import Channel, OutboxEntry

_local = threading.local()


class OutboxEmailBackend(BaseEmailBackend):
    """For the demo and development: stores each e-mail in the outbox read at /dev/outbox/."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            alternatives = getattr(message, "alternatives", [])
            html = next((content for content, mimetype in alternatives if mimetype == "text/html"), "")
            OutboxEntry.objects.create(
                channel=Channel.EMAIL,
                recipient=", ".join(message.recipients()),
                subject=message.subject,
                body=message.body,
                body_html=html,
                reference=message.extra_headers.get("Message-ID", ""),
            )
        return len(email_messages)


def message_id_for(idempotency_key: str) -> str:
    """A stable Message-ID: a retried send carries the same one, so duplicates can be recognised."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "guichet.invalid"
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
    return f"<{digest}@{domain}>"


def send_email(*, to: str, subject: str, text: str, html: str, idempotency_key: str) -> str:
    """Sends one e-mail and returns its Message-ID; raises DeliveryError."""
    message_id = message_id_for(idempotency_key)
    email = EmailMultiAlternatives(
        subject,
        text,
        settings.DEFAULT_FROM_EMAIL,
        [to],
        headers={"Message-ID": message_id, "Auto-Submitted": "auto-generated"},
    )
    if html:
        email.attach_alternative(html, "text/html")
    _send(email)
    return message_id


def close_connection() -> None:
    cached = getattr(_local, "connection", None)
    _local.connection = None
    if cached is not None:
        with contextlib.suppress(Exception):  # a broken connection is being thrown away
            cached[1].close()


def _send(email: EmailMessage) -> None:
    # A connection idle for a while may have been closed by the server: when a
    # reused one turns out dead, reopen once before calling it a failure.
    for retry in (False, True):
        fresh = True
        try:
            connection, fresh = _open_connection()
            connection.send_messages([email])
            return
        except smtplib.SMTPServerDisconnected as error:
            close_connection()
            if fresh or retry:
                raise _classify(error) from None
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as error:
            # The server answered: the connection is still usable.
            raise _classify(error) from None
        except Exception as error:
            close_connection()
            raise _classify(error) from None


def _open_connection() -> tuple[BaseEmailBackend, bool]:
    key = (
        settings.EMAIL_BACKEND,
        settings.EMAIL_HOST,
        settings.EMAIL_PORT,
        settings.EMAIL_HOST_USER,
        settings.EMAIL_USE_TLS,
        settings.EMAIL_USE_SSL,
    )
    cached = getattr(_local, "connection", None)
    if cached is None or cached[0] != key:
        close_connection()
        cached = (key, get_connection(fail_silently=False))
        _local.connection = cached
    opened = cached[1].open()  # False when it was already open
    return cached[1], opened is not False


def _classify(error: Exception) -> DeliveryError:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(error.recipients.values()), (0, b""))
        return DeliveryError(f"SMTP {code} recipient refused: {_text(reply)}", permanent=500 <= code < 600)
    if isinstance(error, smtplib.SMTPSenderRefused | smtplib.SMTPAuthenticationError):
        # Our configuration, not the message, is wrong: keep it until it is fixed.
        return DeliveryError(f"SMTP {error.smtp_code} {_text(error.smtp_error)}", permanent=False)
    if isinstance(error, smtplib.SMTPResponseException):
        code = error.smtp_code
        return DeliveryError(f"SMTP {code} {_text(error.smtp_error)}", permanent=500 <= code < 600)
    return DeliveryError(f"{type(error).__name__}: {error}", permanent=False)


def _text(reply: bytes | str) -> str:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())[:200]
