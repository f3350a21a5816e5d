"""The back office's login is the customer space's: lock, rate limits, onboarding, and strong
authentication (enrolment at the first login, then a second factor at every login)."""

from datetime import timedelta

import pytest
from allauth.mfa.models import Authenticator
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from guichet.backoffice.tests.factories import PASSWORD, make_advisor, make_customer, totp_code

pytestmark = pytest.mark.django_db
BACKOFFICE_LOGIN = "/backoffice/login/"
LOGIN = "/en/accounts/login/"
AUTHENTICATE = "/en/accounts/2fa/authenticate/"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def _login(client: Client, password: str, user_id: str = "advisor1"):
    return client.post(f"{LOGIN}?next=/backoffice/", {"login": user_id, "password": password})


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_the_back_office_login_sends_to_the_identity_login_and_back():
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get(f"{BACKOFFICE_LOGIN}?next=/backoffice/identity/user/")

    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next=%2Fbackoffice%2Fidentity%2Fuser%2F"


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/", "/en/"])
def test_a_next_outside_the_back_office_goes_to_its_dashboard(next_url):
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get(BACKOFFICE_LOGIN, {"next": next_url})

    assert response["Location"] == f"{LOGIN}?next=%2Fbackoffice%2F"


def test_a_logged_in_advisor_goes_straight_to_next():
    client = Client()
    client.force_login(make_advisor())

    assert client.get(f"{BACKOFFICE_LOGIN}?next=/backoffice/identity/user/")["Location"] == (
        "/backoffice/identity/user/"
    )


def test_a_logged_in_customer_is_refused_rather_than_looped():
    client = Client()
    client.force_login(make_customer())

    assert client.get(BACKOFFICE_LOGIN).status_code == 403


def test_the_password_then_the_authenticator_code_open_the_back_office():
    make_advisor()
    client = Client()

    response = _login(client, PASSWORD)
    assert response["Location"] == AUTHENTICATE
    assert not _logged_in(client)
    assert client.get("/backoffice/").status_code == 302  # not before the second factor

    response = client.post(AUTHENTICATE, {"code": totp_code()})

    assert response["Location"] == "/backoffice/"
    assert client.get("/backoffice/").status_code == 200


def test_an_advisor_without_authenticator_must_enrol_first():
    advisor = make_advisor(authenticator=False)
    client = Client()

    response = _login(client, PASSWORD)

    assert response["Location"] == "/en/accounts/sca/enrol/"
    assert not _logged_in(client)
    assert client.get("/backoffice/").status_code == 302
    assert not Authenticator.objects.filter(user=advisor).exists()


def test_failed_logins_count_and_lock_the_access():
    advisor = make_advisor()
    client = Client()
    for _ in range(5):
        assert _login(client, "wrong-password").status_code == 200

    advisor.refresh_from_db()
    assert advisor.is_locked
    response = _login(client, PASSWORD)
    assert response.status_code == 200
    assert not _logged_in(client)


def test_a_locked_access_is_refused_even_with_the_right_password():
    advisor = make_advisor()
    advisor.locked_at = timezone.now()
    advisor.save()

    client = Client()
    response = _login(client, PASSWORD)

    assert response.status_code == 200
    assert not _logged_in(client)


def test_a_temporary_password_only_opens_the_onboarding():
    advisor = make_advisor()
    advisor.password_is_temporary = True
    advisor.password_expires_at = timezone.now() + timedelta(days=3)
    advisor.save()

    client = Client()
    assert _login(client, PASSWORD)["Location"] == AUTHENTICATE
    response = client.post(AUTHENTICATE, {"code": totp_code()})

    assert response["Location"] == "/en/accounts/onboarding/phone/"
    assert not _logged_in(client)


def test_an_expired_temporary_password_opens_nothing():
    advisor = make_advisor(authenticator=False)
    advisor.password_is_temporary = True
    advisor.password_expires_at = timezone.now() - timedelta(days=30)
    advisor.save()

    client = Client()
    response = _login(client, PASSWORD)

    assert response["Location"] == LOGIN
    assert not _logged_in(client)


def test_the_user_id_is_matched_ignoring_case():
    make_advisor()
    client = Client()

    assert _login(client, PASSWORD, user_id="ADVISOR1")["Location"] == AUTHENTICATE
