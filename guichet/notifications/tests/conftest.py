import asyncio
import email
import logging
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.contrib.auth import get_user_model
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from guichet.notifications.email import close_connection
from guichet.notifications.models import Message
from guichet.notifications.sms import locmem


@pytest.fixture(autouse=True)
def _fresh_transports() -> Iterator[None]:
    locmem.outbox.clear()
    yield
    close_connection()
    locmem.outbox.clear()


@pytest.fixture
def make_user(db: None) -> Callable[..., Any]:
    def make(**fields: Any) -> Any:
        fields.setdefault("user_id", f"U{get_user_model().objects.count() + 1:05d}")
        fields.setdefault("email", "marie@example.com")
        return get_user_model().objects.create_user(**fields)

    return make


def make_due(*, now: datetime | None = None) -> None:
    """Travels to the next attempt: every queued message and waiting task is due now."""
    now = now or timezone.now()
    Message.objects.filter(status="queued").update(next_attempt_at=now)
    DBTaskResult.objects.filter(status=TaskResultStatus.READY).update(run_after=now)


class Recorder:
    """An aiosmtpd handler that keeps what it accepted, and can hold one message before accepting it."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.sessions = 0
        self.stall_message_id = ""
        self.stalled = threading.Event()

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list
    ) -> list:
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list) -> str:
        if address.startswith("unknown@"):
            return "550 5.1.1 No such user"
        if address.startswith("greylisted@"):
            return "451 4.7.1 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content)
        if self.stall_message_id and message["Message-ID"] == self.stall_message_id:
            self.stalled.set()
            # Never answers: the client is killed meanwhile, which cancels this handler.
            await asyncio.sleep(60)
        self.messages.append(message)
        return "250 OK"

    def message_ids(self) -> Counter[str]:
        return Counter(message["Message-ID"] for message in self.messages)


class SmtpServer:
    def __init__(self) -> None:
        self.recorder = Recorder()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[SmtpServer]:
    """A real SMTP server on loopback, and Django's SMTP backend pointed at it."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command
    server = SmtpServer()
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_TIMEOUT = 5
    yield server
    close_connection()
    server.stop()
