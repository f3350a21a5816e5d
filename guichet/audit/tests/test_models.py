import threading
import time

import pytest
from django.db import DatabaseError, connection, transaction

from guichet.audit.models import AuditEvent, AuditTrailImmutable
from guichet.audit.services import APPEND_LOCK_KEY, record
from guichet.audit.verify import chain_verify

pytestmark = pytest.mark.django_db
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only"
)


def test_an_event_cannot_be_saved_again() -> None:
    event = record(action="test.event")
    event.action = "test.tampered"

    with pytest.raises(AuditTrailImmutable):
        event.save()

    assert AuditEvent.objects.get().action == "test.event"


def test_an_event_cannot_be_deleted() -> None:
    event = record(action="test.event")

    with pytest.raises(AuditTrailImmutable):
        event.delete()
    with pytest.raises(AuditTrailImmutable):
        AuditEvent.objects.all().delete()
    with pytest.raises(AuditTrailImmutable):
        AuditEvent.objects.update(action="test.tampered")

    assert AuditEvent.objects.get().action == "test.event"


@pytest.mark.postgres
@on_postgresql
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditevent SET action = 'test.tampered'",
        "DELETE FROM audit_auditevent",
    ],
)
def test_the_database_refuses_updates_and_deletes(statement: str) -> None:
    record(action="test.event")

    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)

    assert AuditEvent.objects.get().action == "test.event"


@pytest.mark.postgres
@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_wait_for_each_other() -> None:
    # given a transaction that appended an event and has not committed yet
    results: list[int] = []

    def append_elsewhere() -> None:
        try:
            results.append(record(action="test.second").seq)
        finally:
            connection.close()

    with transaction.atomic():
        record(action="test.first")
        other = threading.Thread(target=append_elsewhere)
        other.start()
        # when the other append is waiting on the advisory lock
        _wait_for_advisory_lock_waiter()
        assert results == []
    other.join(timeout=10)

    # then it continued the chain after the commit instead of forking it
    assert results == [2]
    assert chain_verify().ok


def _wait_for_advisory_lock_waiter() -> None:
    with connection.cursor() as cursor:
        for _attempt in range(500):
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                " AND classid = %s AND objid = %s",
                [APPEND_LOCK_KEY >> 32, APPEND_LOCK_KEY & 0xFFFFFFFF],
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.01)
    raise AssertionError("the second append never waited for the lock")
