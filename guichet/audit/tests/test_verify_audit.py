from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from guichet.audit.services import record

pytestmark = pytest.mark.django_db


def tamper(statement: str) -> None:
    """Changes the trail behind the application's back, as an intruder with SQL access would."""
    trigger = "audit_auditevent_append_only"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE audit_auditevent DISABLE TRIGGER {trigger}")
        cursor.execute(statement)
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE audit_auditevent ENABLE TRIGGER {trigger}")


def verify() -> str:
    out = StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def test_an_empty_trail_is_ok() -> None:
    assert verify() == "OK: the audit trail is empty.\n"


def test_an_intact_chain_is_ok() -> None:
    events = [record(action=f"test.event_{number}") for number in range(3)]

    assert verify() == (f"OK: 3 audit events, chain intact up to seq 3 (head hash {events[-1].hash}).\n")


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        (
            "UPDATE audit_auditevent SET action = 'test.innocent' WHERE seq = 2",
            "Audit chain BROKEN at seq 2: hash mismatch (1 events verified before it).",
        ),
        (
            "UPDATE audit_auditevent SET prev_hash = hash WHERE seq = 3",
            "Audit chain BROKEN at seq 3: prev_hash mismatch (2 events verified before it).",
        ),
        (
            "DELETE FROM audit_auditevent WHERE seq = 2",
            "Audit chain BROKEN at seq 3: gap (expected seq 2) (1 events verified before it).",
        ),
    ],
)
def test_the_first_broken_link_is_named(statement: str, message: str) -> None:
    for number in range(4):
        record(action=f"test.event_{number}")
    tamper(statement)

    with pytest.raises(CommandError) as error:
        verify()

    assert str(error.value) == message
