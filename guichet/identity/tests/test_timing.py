"""Recovery answers take the same time for known and unknown accounts."""

import time

import pytest
from django.test import override_settings

from guichet.identity.testing import make_provisioned

pytestmark = pytest.mark.django_db


def _timed_post(client, url, data):
    started = time.monotonic()
    response = client.post(url, data)
    return response, time.monotonic() - started


@override_settings(GUICHET_STEADY_RESPONSE_SECONDS=0.3)
@pytest.mark.parametrize("email", ["lucie.dubois@example.com", "nobody@example.com"])
def test_the_recovery_steps_are_held_to_a_steady_duration(client, email):
    make_provisioned()
    client.post("/fr/accounts/recovery/user-id/", {"email": email})

    _response, elapsed = _timed_post(client, "/fr/accounts/recovery/user-id/phone/", {"phone": "0"})

    assert elapsed >= 0.3


@override_settings(GUICHET_STEADY_RESPONSE_SECONDS=0.3)
def test_pages_shown_by_get_are_not_held(client):
    started = time.monotonic()
    client.get("/fr/accounts/recovery/user-id/")
    assert time.monotonic() - started < 0.3
