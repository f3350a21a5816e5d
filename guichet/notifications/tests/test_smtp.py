"""Delivery through a real SMTP server (aiosmtpd on loopback) and real worker processes."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection, transaction
from django.db.utils import OperationalError
from django_tasks_db.models import DBTaskResult

from guichet.notifications.delivery import messages_sweep
from guichet.notifications.email import message_id_for
from guichet.notifications.models import Message
from guichet.notifications.services import notify
from guichet.notifications.testing import deliveries_run
from guichet.notifications.tests.conftest import SmtpServer, make_due

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.xdist_group("smtp")


def _email(key: str, **kwargs: Any) -> Message:
    kwargs.setdefault("email", "marie@example.com")
    [message] = notify(template="test_message", context={"name": "Marie"}, idempotency_key=key, **kwargs)
    return message


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    credentials = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _worker(server: SmtpServer, log: Path, *options: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "guichet.notifications.tests.smtp_settings",
        "DATABASE_URL": _database_url(),
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(server.port),
    }
    command = [sys.executable, "manage.py", "run_worker", "--no-startup-delay", *options]
    with log.open("ab") as output:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)


def _wait(process: subprocess.Popen, log: Path) -> None:
    assert process.wait(timeout=60) == 0, log.read_text()


@pytest.mark.django_db(transaction=True)
def test_the_worker_command_delivers_through_smtp(smtp_server: SmtpServer, tmp_path: Path) -> None:
    # Given three queued e-mails
    keys = ["a", "b", "c"]
    for key in keys:
        _email(key, language="en")

    # When a worker process runs until the queue is empty
    _wait(_worker(smtp_server, tmp_path / "worker.log", "--batch"), tmp_path / "worker.log")

    # Then the server received each once, as text and HTML
    assert smtp_server.recorder.message_ids() == Counter({message_id_for(f"{k}:email"): 1 for k in keys})
    received = smtp_server.recorder.messages[0]
    assert str(make_header(decode_header(received["Subject"]))) == "Test message from Banque Aubépine"
    assert received["Auto-Submitted"] == "auto-generated"
    assert [part.get_content_type() for part in received.walk()] == [
        "multipart/alternative",
        "text/plain",
        "text/html",
    ]
    assert list(Message.objects.order_by().values_list("status", "attempts").distinct()) == [("sent", 1)]


@pytest.mark.django_db(transaction=True)
def test_a_worker_with_several_threads_delivers_each_message_exactly_once(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    # Given twenty queued e-mails
    keys = [f"threaded-{i}" for i in range(20)]
    for key in keys:
        _email(key, language="en")

    # When one worker process runs them with four threads until the queue is empty
    _wait(_worker(smtp_server, tmp_path / "worker.log", "--batch", "--threads", "4"), tmp_path / "worker.log")

    # Then the server received each exactly once and each is recorded as sent after one attempt
    assert smtp_server.recorder.message_ids() == Counter({message_id_for(f"{k}:email"): 1 for k in keys})
    assert list(Message.objects.order_by().values_list("status", "attempts").distinct()) == [("sent", 1)]


@pytest.mark.django_db(transaction=True)
def test_a_worker_with_several_threads_stops_after_max_tasks_in_all(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    # Given twenty queued e-mails
    for index in range(20):
        _email(f"limited-{index}", language="en")

    # When one worker process with four threads may run five tasks
    log = tmp_path / "worker.log"
    _wait(_worker(smtp_server, log, "--max-tasks", "5", "--threads", "4", "--interval", "0.05"), log)

    # Then exactly five were sent, and the rest wait for another worker
    assert sum(smtp_server.recorder.message_ids().values()) == 5
    assert Counter(Message.objects.values_list("status", flat=True)) == Counter({"sent": 5, "queued": 15})


@pytest.mark.django_db
def test_one_smtp_connection_serves_many_messages_and_is_reopened_when_lost(smtp_server: SmtpServer) -> None:
    for key in ["a", "b", "c"]:
        _email(key)

    deliveries_run()

    assert (len(smtp_server.recorder.messages), smtp_server.recorder.sessions) == (3, 1)

    # When the server restarts, the dead connection is replaced without failing the message
    smtp_server.stop()
    smtp_server.start()
    message = _email("d")
    deliveries_run()

    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 1)
    assert (len(smtp_server.recorder.messages), smtp_server.recorder.sessions) == (4, 2)


@pytest.mark.django_db
def test_a_message_waits_while_the_server_is_down_and_is_sent_once_when_it_is_back(
    smtp_server: SmtpServer,
) -> None:
    # Given the mail server is down
    smtp_server.stop()
    message = _email("down")

    # When the worker tries
    deliveries_run()

    # Then the message waits for a retry, with a temporary error
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error_kind) == ("queued", 1, "temporary")
    assert message.last_error == "ConnectionRefusedError: [Errno 111] Connection refused"
    assert smtp_server.recorder.messages == []

    # When the server is back and the retry is due
    smtp_server.start()
    make_due()
    deliveries_run()

    # Then it is delivered, once, even if the worker and the sweep run again
    make_due()
    messages_sweep(grace=timedelta(0))
    deliveries_run()
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 2)
    assert smtp_server.recorder.message_ids() == Counter({message_id_for("down:email"): 1})


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("address", "status", "kind", "error"),
    [
        ("unknown@example.com", "failed", "permanent", "SMTP 550 recipient refused: 5.1.1 No such user"),
        (
            "greylisted@example.com",
            "queued",
            "temporary",
            "SMTP 451 recipient refused: 4.7.1 Try again later",
        ),
    ],
)
def test_the_server_refusing_a_recipient_is_permanent_for_5xx_and_temporary_for_4xx(
    smtp_server: SmtpServer, address: str, status: str, kind: str, error: str
) -> None:
    message = _email("refused", email=address)

    deliveries_run()

    message.refresh_from_db()
    assert (message.status, message.last_error_kind, message.last_error) == (status, kind, error)


def _wait_until_unlocked(message: Message) -> None:
    """PostgreSQL releases a killed worker's row lock once it notices the dead connection."""
    deadline = time.monotonic() + 10
    while True:
        try:
            with transaction.atomic():
                Message.objects.select_for_update(nowait=True).get(pk=message.pk)
            return
        except OperationalError:
            assert time.monotonic() < deadline, "the killed worker's lock was never released"
            time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_in_the_middle_of_a_batch_loses_nothing(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    # Given 30 queued e-mails, and a server that holds the 10th before accepting it
    keys = [f"kill-{i}" for i in range(30)]
    messages = [_email(key) for key in keys]
    smtp_server.recorder.stall_message_id = message_id_for("kill-9:email")
    log = tmp_path / "worker.log"

    # When the worker is killed (SIGKILL) while it sends the 10th
    worker = _worker(smtp_server, log, "--interval", "0.05")
    assert smtp_server.recorder.stalled.wait(timeout=30), log.read_text()
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    smtp_server.recorder.stall_message_id = ""

    # Then the 10th is still queued, and its task stays RUNNING for ever
    assert len(smtp_server.recorder.messages) == 9
    stuck = Message.objects.get(pk=messages[9].pk)
    assert (stuck.status, stuck.attempts) == ("queued", 0)
    assert DBTaskResult.objects.get(pk=stuck.task_id).status == "RUNNING"
    _wait_until_unlocked(stuck)

    # When another worker runs, sweeping at once (no grace)
    _wait(_worker(smtp_server, log, "--batch", "--sweep-grace", "0"), log)

    # Then every message arrived exactly once
    assert smtp_server.recorder.message_ids() == Counter({message_id_for(f"{k}:email"): 1 for k in keys})
    assert Message.objects.filter(status="sent").count() == 30
