"""Five consecutive failures lock the access; unknown identifiers get the same answers."""

import pytest
from django.core import mail

from guichet.audit.models import AuditEvent
from guichet.identity.lockout import access_unlock, failure_state, login_failure_record, login_failures_reset
from guichet.identity.testing import last_email, make_provisioned

pytestmark = pytest.mark.django_db


def test_the_fourth_failure_warns_and_the_fifth_locks_and_emails():
    user = make_provisioned()

    states = [login_failure_record(identifier="cc100001") for _ in range(5)]

    assert [s.warn for s in states] == [False, False, False, True, False]
    assert [s.locked for s in states] == [False] * 4 + [True]
    user.refresh_from_db()
    assert user.is_locked
    assert last_email(user.email)
    assert AuditEvent.objects.filter(action="identity.locked").count() == 1


def test_an_unknown_identifier_gets_the_same_states():
    states = [login_failure_record(identifier="NOBODY42") for _ in range(5)]

    assert [(s.warn, s.locked) for s in states] == [(False, False)] * 3 + [(True, False), (False, True)]
    assert failure_state("nobody42").locked
    assert not mail.outbox


def test_a_right_password_ends_the_run_of_failures_but_not_a_lock():
    user = make_provisioned()
    for _ in range(3):
        login_failure_record(identifier=user.user_id)
    user.refresh_from_db()  # as the password check returns it

    login_failures_reset(user=user)
    assert failure_state(user.user_id).failures == 0

    for _ in range(5):
        login_failure_record(identifier=user.user_id)
    user.refresh_from_db()
    login_failures_reset(user=user)
    assert failure_state(user.user_id).locked


def test_unlock_clears_the_lock_and_is_audited():
    user = make_provisioned()
    for _ in range(5):
        login_failure_record(identifier=user.user_id)
    user.refresh_from_db()

    access_unlock(user=user)

    state = failure_state(user.user_id)
    assert (state.failures, state.locked) == (0, False)
    assert AuditEvent.objects.filter(action="identity.unlocked").count() == 1
