"""Users who see payment accounts get the shorter inactivity timeout (DESIGN: 5 minutes)."""

import pytest
from django.test import Client
from django.urls import reverse

from guichet.entities.models import Person, PersonStatus
from guichet.entities.testing import make_entity, make_member
from guichet.identity.testing import make_provisioned

pytestmark = pytest.mark.django_db


def _expiry_after_a_page(user) -> int:
    client = Client()
    client.force_login(user)
    client.get(reverse("home"))
    return client.session.get_expiry_age()


def test_an_entity_member_gets_the_payment_timeout(settings):
    settings.SESSION_COOKIE_AGE, settings.GUICHET_PAYMENT_SESSION_SECONDS = 600, 300
    member = make_member(make_entity())
    assert _expiry_after_a_page(member) == 300


def test_a_cardholder_keeps_the_default_timeout(settings):
    settings.SESSION_COOKIE_AGE, settings.GUICHET_PAYMENT_SESSION_SECONDS = 600, 300
    assert _expiry_after_a_page(make_provisioned()) == 600


def test_a_removed_member_keeps_the_default_timeout(settings):
    settings.SESSION_COOKIE_AGE, settings.GUICHET_PAYMENT_SESSION_SECONDS = 600, 300
    member = make_member(make_entity())
    Person.objects.filter(user=member).update(status=PersonStatus.REMOVED)
    assert _expiry_after_a_page(member) == 600


def test_the_page_script_is_told_the_shorter_timeout(settings):
    settings.SESSION_COOKIE_AGE, settings.GUICHET_PAYMENT_SESSION_SECONDS = 600, 300
    client = Client()
    client.force_login(make_member(make_entity()))
    client.get(reverse("home"))
    assert 'data-session-seconds="300"' in client.get(reverse("home")).content.decode()
