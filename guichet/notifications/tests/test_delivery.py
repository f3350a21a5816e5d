import smtplib
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from django.core import mail
from django.db import connection
from django.db.utils import DatabaseError, IntegrityError
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from guichet.notifications import delivery
from guichet.notifications.delivery import backoff_delay, message_deliver
from guichet.notifications.email import message_id_for
from guichet.notifications.models import Message, OutboxEntry
from guichet.notifications.services import notify
from guichet.notifications.sms import Sms, locmem
from guichet.notifications.tasks import enqueue_delivery
from guichet.notifications.testing import deliveries_run
from guichet.notifications.tests import backends
from guichet.notifications.tests.conftest import make_due

NOW = datetime(2030, 3, 2, 9, 0, tzinfo=UTC)  # later than any message the test creates
pytestmark = pytest.mark.django_db


@pytest.fixture
def failing_email(settings: Any) -> Any:
    settings.EMAIL_BACKEND = "guichet.notifications.tests.backends.FailingEmailBackend"
    backends.errors.clear()
    backends.sent.clear()
    yield backends
    backends.errors.clear()
    backends.sent.clear()


@pytest.fixture
def frozen_now(monkeypatch: pytest.MonkeyPatch) -> datetime:
    monkeypatch.setattr(delivery.timezone, "now", lambda: NOW)
    return NOW


def _email(**kwargs: Any) -> Message:
    kwargs.setdefault("email", "marie@example.com")
    [message] = notify(template="test_message", context={"name": "Marie", "code": "123456"}, **kwargs)
    return message


def test_the_worker_sends_the_email_with_a_stable_message_id() -> None:
    # Given a queued e-mail
    message = _email(idempotency_key="welcome-42", language="en")

    # When the worker runs
    assert deliveries_run() == 1

    # Then it was sent once, as text and HTML, with a Message-ID derived from its key
    [sent] = mail.outbox
    assert (sent.subject, sent.to, sent.from_email) == (
        "Test message from Banque Aubépine",
        ["marie@example.com"],
        "Banque Aubépine <noreply@aubepine.example>",
    )
    assert sent.body.startswith("Hello Marie,\n")
    assert sent.alternatives[0].mimetype == "text/html"
    assert "<p>Hello Marie,</p>" in sent.alternatives[0].content
    assert sent.extra_headers["Message-ID"] == message_id_for("welcome-42:email")
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == ("sent", 1, "")
    assert message.provider_reference == sent.extra_headers["Message-ID"]
    assert message.sent_at is not None
    assert DBTaskResult.objects.get().return_value == "sent"


def test_the_message_id_is_stable_and_hides_the_key() -> None:
    assert message_id_for("welcome-42:email") == "<78d6ab888a50f280f24c7ac6167e43db235531c8@aubepine.example>"


def test_the_worker_sends_an_sms_through_the_configured_backend() -> None:
    [message] = notify(
        template="test_message",
        context={"name": "Marie", "code": "1"},
        phone="+32470123456",
        channels=["sms"],
        language="en",
    )

    deliveries_run()

    assert locmem.outbox == [
        Sms(
            to="+32470123456",
            text="Banque Aubépine: test message for Marie. Reference 1.",
            sender="Guichet",
            idempotency_key=message.idempotency_key,
        )
    ]
    message.refresh_from_db()
    assert (message.status, message.provider_reference) == ("sent", "locmem-1")


def test_two_deliveries_of_the_same_message_send_it_once() -> None:
    # Given a message whose task was enqueued twice (a sweep and the original, two workers…)
    message = _email()
    enqueue_delivery(message_id=message.pk)

    # When both tasks run, and the delivery is even called once more
    assert deliveries_run() == 2
    assert message_deliver(message_id=message.pk) == "skipped"

    # Then it was sent once
    assert len(mail.outbox) == 1
    assert Message.objects.get().attempts == 1


def test_a_temporary_failure_schedules_a_retry_after_the_backoff(
    failing_email: Any, frozen_now: datetime, settings: Any
) -> None:
    # Given an e-mail and a mail server that refuses connections
    settings.GUICHET_DELIVERY_BACKOFF_BASE = 30
    message = _email()
    failing_email.errors.append(ConnectionRefusedError(111, "Connection refused"))

    # When the worker tries
    assert message_deliver(message_id=message.pk) == "queued"

    # Then the message waits, with the reason, for a retry task 30 s later
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error_kind) == ("queued", 1, "temporary")
    assert message.last_error == "ConnectionRefusedError: [Errno 111] Connection refused"
    assert message.next_attempt_at == NOW + timedelta(seconds=30)
    retry = DBTaskResult.objects.get(id=message.task_id)
    assert (retry.status, retry.run_after, retry.args_kwargs) == (
        "READY",
        NOW + timedelta(seconds=30),
        {"args": [message.pk], "kwargs": {}},
    )


@pytest.mark.parametrize(
    ("attempts", "seconds"),
    [(1, 30), (2, 60), (3, 120), (4, 240), (5, 480), (6, 960), (7, 1920), (8, 3600), (9, 3600), (25, 3600)],
)
def test_backoff_doubles_from_the_base_up_to_the_maximum(settings: Any, attempts: int, seconds: int) -> None:
    settings.GUICHET_DELIVERY_BACKOFF_BASE = 30
    settings.GUICHET_DELIVERY_BACKOFF_MAX = 3600

    assert backoff_delay(attempts=attempts) == timedelta(seconds=seconds)


def test_the_schedule_of_successive_retries(failing_email: Any, frozen_now: datetime, settings: Any) -> None:
    settings.GUICHET_DELIVERY_BACKOFF_BASE = 30
    message = _email()
    failing_email.errors.extend([TimeoutError("timed out")] * 4)

    waits = []
    for _ in range(4):
        make_due(now=NOW)
        message_deliver(message_id=message.pk)
        message.refresh_from_db()
        waits.append((message.next_attempt_at - NOW).total_seconds())

    assert waits == [30, 60, 120, 240]
    assert message.attempts == 4


def test_the_last_allowed_attempt_fails_the_message(failing_email: Any, settings: Any) -> None:
    settings.GUICHET_DELIVERY_MAX_ATTEMPTS = 3
    message = _email()
    failing_email.errors.extend([TimeoutError("timed out")] * 3)

    for _ in range(3):
        make_due()
        deliveries_run()

    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error_kind) == ("failed", 3, "temporary")
    assert DBTaskResult.objects.filter(status="READY").count() == 0


@pytest.mark.parametrize(
    ("error", "kind", "reason"),
    [
        (
            smtplib.SMTPRecipientsRefused({"marie@example.com": (550, b"5.1.1 No such user")}),
            "permanent",
            "SMTP 550 recipient refused: 5.1.1 No such user",
        ),
        (
            smtplib.SMTPRecipientsRefused({"marie@example.com": (451, b"4.7.1 Greylisted")}),
            "temporary",
            "SMTP 451 recipient refused: 4.7.1 Greylisted",
        ),
        (smtplib.SMTPDataError(554, b"5.7.1 Rejected"), "permanent", "SMTP 554 5.7.1 Rejected"),
        (smtplib.SMTPDataError(452, b"4.3.1 Full"), "temporary", "SMTP 452 4.3.1 Full"),
        (
            smtplib.SMTPSenderRefused(553, b"5.7.1 Bad sender", "x@y"),
            "temporary",
            "SMTP 553 5.7.1 Bad sender",
        ),
        (
            smtplib.SMTPAuthenticationError(535, b"5.7.8 Bad credentials"),
            "temporary",
            "SMTP 535 5.7.8 Bad credentials",
        ),
        (
            smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
            "temporary",
            "SMTPServerDisconnected: Connection unexpectedly closed",
        ),
        (TimeoutError("timed out"), "temporary", "TimeoutError: timed out"),
    ],
)
def test_smtp_failures_are_permanent_or_temporary(
    failing_email: Any, error: Exception, kind: str, reason: str
) -> None:
    message = _email()
    failing_email.errors.append(error)

    status = message_deliver(message_id=message.pk)

    message.refresh_from_db()
    assert (status, message.last_error_kind, message.last_error) == (
        "failed" if kind == "permanent" else "queued",
        kind,
        reason,
    )
    assert DBTaskResult.objects.filter(status="READY").count() == (0 if kind == "permanent" else 1) + 1


def test_an_unexpected_error_is_retried_like_an_outage(failing_email: Any) -> None:
    message = _email()
    failing_email.errors.append(ValueError("bug"))

    assert message_deliver(message_id=message.pk) == "queued"

    message.refresh_from_db()
    assert (message.last_error_kind, message.last_error) == ("temporary", "ValueError: bug")


def test_a_message_not_yet_due_is_left_for_its_own_task(frozen_now: datetime) -> None:
    message = _email()
    Message.objects.filter(pk=message.pk).update(next_attempt_at=NOW + timedelta(seconds=1))

    assert message_deliver(message_id=message.pk) == "not_due"
    assert mail.outbox == []


def test_a_sensitive_message_is_wiped_once_sent_but_kept_in_the_dev_outbox(settings: Any) -> None:
    settings.EMAIL_BACKEND = "guichet.notifications.email.OutboxEmailBackend"
    message = _email(sensitive=True, language="en")

    deliveries_run()

    message.refresh_from_db()
    assert (message.status, message.body_text, message.body_html) == ("sent", "", "")
    assert message.subject == "Test message from Banque Aubépine"
    entry = OutboxEntry.objects.get()
    assert entry.body.startswith("Hello Marie,\n")
    assert "<p>Hello Marie,</p>" in entry.body_html
    assert entry.reference == message.provider_reference


def test_a_sensitive_message_that_fails_for_good_is_wiped_too(failing_email: Any) -> None:
    message = _email(sensitive=True)
    failing_email.errors.append(smtplib.SMTPRecipientsRefused({"marie@example.com": (550, b"No")}))

    message_deliver(message_id=message.pk)

    message.refresh_from_db()
    assert (message.status, message.body_text, message.body_html) == ("failed", "", "")


def _transport_breaking_the_transaction(**kwargs: Any) -> str:
    # Like the outbox backends, writes a row: here one that the database refuses
    existing = OutboxEntry.objects.create(channel="email", recipient="x@example.com")
    OutboxEntry.objects.create(pk=existing.pk, channel="email", recipient="y@example.com")
    return "never"


def _transport_with_a_bad_query(**kwargs: Any) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM guichet_no_such_table")
    return "never"


@pytest.mark.parametrize(
    ("transport", "error"),
    [(_transport_breaking_the_transaction, IntegrityError), (_transport_with_a_bad_query, DatabaseError)],
)
def test_a_database_error_in_the_transport_is_recorded_and_retried(
    monkeypatch: pytest.MonkeyPatch, transport: Any, error: type[Exception]
) -> None:
    # Given a message whose transport fails on a database error
    message = _email()
    raised: list[str] = []

    def send(**kwargs: Any) -> str:
        try:
            return transport(**kwargs)
        except error as exception:
            raised.append(type(exception).__name__)
            raise

    monkeypatch.setattr(delivery, "transport_send", send)

    # When the worker tries
    assert message_deliver(message_id=message.pk) == "queued"

    # Then the attempt is recorded, the transport's writes undone, and a retry enqueued
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error_kind) == ("queued", 1, "temporary")
    assert message.last_error == raised[0]
    assert OutboxEntry.objects.count() == 0
    assert DBTaskResult.objects.filter(status="READY").count() == 2
    assert message.task_id != DBTaskResult.objects.earliest("enqueued_at").pk


def test_the_message_s_own_task_delivers_even_if_the_message_looks_early(frozen_now: datetime) -> None:
    # Given a message whose next attempt, written by a machine whose clock is ahead, is in the future
    message = _email()
    Message.objects.filter(pk=message.pk).update(next_attempt_at=NOW + timedelta(seconds=30))

    # Then a stale duplicate task leaves it alone, but its own task sends it
    assert message_deliver(message_id=message.pk, task_id=uuid4()) == "not_due"
    assert message_deliver(message_id=message.pk, task_id=message.task_id) == "sent"
    assert len(mail.outbox) == 1


def test_the_worker_runs_the_message_s_current_task_even_if_the_message_looks_early() -> None:
    message = _email()
    Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now() + timedelta(seconds=30))

    assert deliveries_run() == 1

    assert DBTaskResult.objects.get(pk=message.task_id).return_value == "sent"
    assert len(mail.outbox) == 1


def _sensitive_created(*, seconds_ago: int, **kwargs: Any) -> Message:
    message = _email(sensitive=True, **kwargs)
    Message.objects.filter(pk=message.pk).update(
        created_at=NOW - timedelta(seconds=seconds_ago), next_attempt_at=NOW
    )
    return message


@pytest.mark.parametrize(("seconds_ago", "status"), [(599, "sent"), (600, "failed"), (7200, "failed")])
def test_a_sensitive_message_expires_after_the_default_ttl(
    frozen_now: datetime, settings: Any, seconds_ago: int, status: str
) -> None:
    del settings.GUICHET_DELIVERY_SENSITIVE_TTL  # the default: 600 s
    message = _sensitive_created(seconds_ago=seconds_ago)

    assert message_deliver(message_id=message.pk) == status

    message.refresh_from_db()
    if status == "sent":
        assert (len(mail.outbox), message.last_error) == (1, "")
    else:
        assert mail.outbox == []
        assert (message.status, message.attempts, message.last_error, message.last_error_kind) == (
            "failed",
            0,
            "expired",
            "permanent",
        )
        assert (message.body_text, message.body_html) == ("", "")
        assert DBTaskResult.objects.filter(status="READY").count() == 1  # its original task: no retry


def test_the_sensitive_ttl_is_a_setting_and_ordinary_messages_never_expire(
    frozen_now: datetime, settings: Any
) -> None:
    settings.GUICHET_DELIVERY_SENSITIVE_TTL = 60
    sensitive = _sensitive_created(seconds_ago=60)
    ordinary = _email(email="paul@example.com")
    Message.objects.filter(pk=ordinary.pk).update(created_at=NOW - timedelta(days=1), next_attempt_at=NOW)

    assert message_deliver(message_id=sensitive.pk) == "failed"
    assert message_deliver(message_id=ordinary.pk) == "sent"


def test_a_sensitive_message_is_retried_while_a_retry_fits_before_it_expires(
    failing_email: Any, frozen_now: datetime, settings: Any
) -> None:
    settings.GUICHET_DELIVERY_BACKOFF_BASE = 30
    settings.GUICHET_DELIVERY_SENSITIVE_TTL = 600
    message = _sensitive_created(seconds_ago=569)  # the retry, 30 s later, is 1 s before expiry
    failing_email.errors.append(TimeoutError("timed out"))

    assert message_deliver(message_id=message.pk) == "queued"

    message.refresh_from_db()
    assert (message.attempts, message.next_attempt_at, message.last_error) == (
        1,
        NOW + timedelta(seconds=30),
        "TimeoutError: timed out",
    )


def test_a_sensitive_message_fails_when_no_retry_fits_before_it_expires(
    failing_email: Any, frozen_now: datetime, settings: Any
) -> None:
    settings.GUICHET_DELIVERY_BACKOFF_BASE = 30
    settings.GUICHET_DELIVERY_SENSITIVE_TTL = 600
    message = _sensitive_created(seconds_ago=570)  # the retry would come when the code expires
    failing_email.errors.append(TimeoutError("timed out"))

    assert message_deliver(message_id=message.pk) == "failed"

    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error, message.last_error_kind) == (
        "failed",
        1,
        "expired: TimeoutError: timed out",
        "permanent",
    )
    assert (message.body_text, message.body_html) == ("", "")
    assert DBTaskResult.objects.filter(status="READY").count() == 1  # no retry was enqueued
