"""The user agreement stage: asked at login while the version in force is not accepted."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from guichet.audit.models import AuditEvent
from guichet.identity.models import AgreementAcceptance
from guichet.identity.testing import PASSWORD, agreement_publish, make_provisioned

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def url(name: str, language: str = "fr") -> str:
    with translation.override(language):
        return reverse(name)


def log_in(client, user, language: str = "fr"):
    return client.post(
        url("account_login", language), {"login": user.user_id, "password": PASSWORD}, secure=True
    )


def test_the_page_shows_the_version_in_force_in_the_user_language(client):
    user = make_provisioned()
    agreement_publish(version=1)

    log_in(client, user, "nl")
    page = client.get(url("identity:agreement", "nl"), secure=True)

    html = page.content.decode()
    assert "User agreement v1 (nl)" in html
    assert "Article 1 (nl, v1)" in html
    assert 'tabindex="0"' in html and 'aria-labelledby="agreement-title"' in html
    assert html.count("<h1") == 1
    with translation.override("nl"):
        assert gettext("I have read and accept the user agreement") in html


def test_accepting_stores_version_language_ip_and_logs_in(client):
    user = make_provisioned()
    agreement_publish(version=1)
    log_in(client, user, "de")

    response = client.post(
        url("identity:agreement", "de"),
        {"accept": "on", "version": 1},
        secure=True,
        REMOTE_ADDR="203.0.113.7",
    )

    assert response.url == url("home", "de")
    acceptance = AgreementAcceptance.objects.get(user=user)
    assert (acceptance.version, acceptance.language, acceptance.ip_address) == (1, "de", "203.0.113.7")
    assert client.session["_auth_user_id"] == str(user.pk)
    assert AuditEvent.objects.filter(action="identity.agreement_accepted").count() == 1


def test_the_box_must_be_ticked(client):
    user = make_provisioned()
    agreement_publish(version=1)
    log_in(client, user)

    response = client.post(url("identity:agreement"), {"version": 1}, secure=True)

    with translation.override("fr"):
        expected = gettext("Tick the box to accept the user agreement, or decline it.")
    assert response.context["form"].errors["accept"] == [expected]
    assert 'role="alert"' in response.content.decode()
    assert not AgreementAcceptance.objects.exists()
    assert "_auth_user_id" not in client.session


def test_declining_logs_out(client):
    user = make_provisioned()
    agreement_publish(version=1)
    log_in(client, user)

    response = client.post(url("identity:agreement"), {"decline": "1", "version": 1}, secure=True)

    assert response.url == url("account_login")
    assert not AgreementAcceptance.objects.exists()
    assert "_auth_user_id" not in client.session
    assert client.get(url("identity:agreement"), secure=True).url == url("account_login")


def test_a_version_published_meanwhile_is_shown_before_it_is_accepted(client):
    user = make_provisioned()
    agreement_publish(version=1)
    log_in(client, user)
    agreement_publish(version=2)

    response = client.post(url("identity:agreement"), {"accept": "on", "version": 1}, secure=True)

    assert response.status_code == 200
    assert "User agreement v2 (fr)" in response.content.decode()
    assert not AgreementAcceptance.objects.exists()


def test_a_new_version_is_asked_at_the_next_login_only(client):
    user = make_provisioned()
    agreement_publish(version=1)
    log_in(client, user)
    client.post(url("identity:agreement"), {"accept": "on", "version": 1}, secure=True)
    client.post(url("account_logout"), secure=True)

    assert log_in(client, user).url == url("home")
    client.post(url("account_logout"), secure=True)

    later = agreement_publish(version=2)
    for text in later:
        text.published_at = timezone.now() - timedelta(seconds=1)
        text.save()
    assert log_in(client, user).url == url("identity:agreement")
    client.post(url("identity:agreement"), {"accept": "on", "version": 2}, secure=True)
    assert sorted(AgreementAcceptance.objects.values_list("version", flat=True)) == [1, 2]


def test_a_version_not_yet_in_force_is_not_asked(client):
    user = make_provisioned()
    for text in agreement_publish(version=1):
        text.published_at = timezone.now() + timedelta(days=1)
        text.save()

    assert log_in(client, user).url == url("home")


def test_the_agreement_page_is_only_for_a_login_in_progress(client):
    user = make_provisioned()
    agreement_publish(version=1)
    client.force_login(user)

    response = client.post(url("identity:agreement"), {"accept": "on", "version": 1}, secure=True)

    assert response.status_code == 302
    assert not AgreementAcceptance.objects.exists()
