from datetime import timedelta

import pytest
from django.utils import timezone

from guichet.audit.selectors import events_filtered
from guichet.audit.services import record
from guichet.backoffice.tests.factories import make_advisor, make_customer

pytestmark = pytest.mark.django_db


def test_a_viewer_without_the_permission_sees_nothing() -> None:
    customer = make_customer()
    record(action="identity.login", actor=customer)

    assert list(events_filtered(viewer=customer)) == []


def test_an_advisor_filters_by_action_actor_and_time() -> None:
    advisor, customer = make_advisor(), make_customer()
    created = record(action="user.created", actor=advisor, target=customer)
    login = record(action="identity.login", actor=customer)
    now = timezone.now()

    def seqs(**filters: object) -> list[int]:
        return [event.seq for event in events_filtered(viewer=advisor, **filters)]

    assert seqs(action="user.created") == [created.seq]
    assert seqs(actor=customer) == [login.seq]
    assert seqs(since=now - timedelta(minutes=1), until=now + timedelta(seconds=1)) == [3, 2, 1]
    assert seqs(since=now + timedelta(minutes=1)) == []
