"""Inactivity timeout: the server ends the session, the page is told the timings, keep-alive refreshes."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from guichet.help.tests.html import element_by_id, elements
from guichet.identity.testing import make_provisioned
from guichet.identity.views.security import session_timing

pytestmark = pytest.mark.django_db


def url(name: str, language: str = "fr") -> str:
    with translation.override(language):
        return reverse(name)


@pytest.fixture
def browser() -> Client:
    client = Client()
    client.force_login(make_provisioned())
    return client


def session_row(client: Client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def body_of(html: bytes) -> dict[str, str]:
    [body] = elements(html, "body")
    return body


def test_logged_in_pages_carry_the_timings_and_the_dialog(browser, settings):
    settings.SESSION_COOKIE_AGE = 600

    response = browser.get(url("home"))

    body = body_of(response.content)
    assert body["data-session-seconds"] == "600"
    assert body["data-session-warning"] == "60"
    assert body["data-session-keepalive"] == url("identity:session_keepalive")
    assert body["data-session-expired"] == url("identity:session_expired")
    dialog = element_by_id(response.content, "session-dialog")
    assert dialog["role"] == "alertdialog"
    assert "open" not in dialog  # shown by the script only
    assert dialog["aria-labelledby"] == "session-dialog-title"
    text = element_by_id(response.content, "session-dialog-text")
    with translation.override("fr"):
        one = ngettext(
            "Your session will end in %(seconds)s second for your security.",
            "Your session will end in %(seconds)s seconds for your security.",
            1,
        )
        other = ngettext(
            "Your session will end in %(seconds)s second for your security.",
            "Your session will end in %(seconds)s seconds for your security.",
            5,
        )
    assert text["data-one"] == one % {"seconds": "{seconds}"}
    assert text["data-other"] == other % {"seconds": "{seconds}"}
    assert "web/js/session-timeout.js" in response.text


def test_anonymous_pages_have_no_timer(client):
    response = client.get(url("home"))

    assert "data-session-seconds" not in body_of(response.content)
    assert 'id="session-dialog"' not in response.text
    assert "session-timeout.js" not in response.text


def test_the_page_follows_the_configured_timeout(browser, settings):
    settings.SESSION_COOKIE_AGE = 300

    response = browser.get(url("identity:security"))

    assert body_of(response.content)["data-session-seconds"] == "300"


def test_context_processor_gives_the_warning_delay(settings):
    settings.GUICHET_SESSION_WARNING_SECONDS = 45

    assert session_timing(RequestFactory().get("/")) == {"session_warning_seconds": 45}


def test_keepalive_refreshes_the_session(browser, settings):
    settings.SESSION_COOKIE_AGE = 600
    browser.get(url("home"))
    Session.objects.filter(session_key=browser.session.session_key).update(
        expire_date=timezone.now() + timedelta(seconds=30)
    )

    response = browser.get(url("identity:session_keepalive"))

    assert response.status_code == 204
    assert response.content == b""
    assert "no-cache" in response["Cache-Control"]
    remaining = session_row(browser).expire_date - timezone.now()
    assert timedelta(seconds=590) < remaining <= timedelta(seconds=600)


def test_keepalive_answers_401_without_a_session(client):
    response = client.get(url("identity:session_keepalive"))

    assert response.status_code == 401


def test_keepalive_takes_get_only(browser):
    assert browser.post(url("identity:session_keepalive")).status_code == 405


def test_the_server_ends_an_inactive_session(browser):
    browser.get(url("identity:security"))
    Session.objects.filter(session_key=browser.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )

    response = browser.get(url("identity:security"))

    assert response.status_code == 302
    assert response["Location"].startswith(url("account_login"))
    assert browser.get(url("identity:session_keepalive")).status_code == 401


def test_every_request_pushes_the_end_back(browser, settings):
    settings.SESSION_COOKIE_AGE = 600
    Session.objects.filter(session_key=browser.session.session_key).update(
        expire_date=timezone.now() + timedelta(seconds=5)
    )

    browser.get(url("help:index"))

    assert session_row(browser).expire_date - timezone.now() > timedelta(seconds=590)


@pytest.mark.parametrize("language", ["fr", "nl", "en", "de"])
def test_session_expired_page_tells_and_links_to_log_on(client, settings, language):
    settings.SESSION_COOKIE_AGE = 600

    response = client.get(url("identity:session_expired", language))

    assert response.status_code == 200
    with translation.override(language):
        title = gettext("Your session has ended")
    assert f"<h1>{title}</h1>" in response.text
    assert f'href="{url("account_login", language)}"' in response.text
    assert response.context["session_minutes"] == 10


def test_session_expired_page_sends_a_live_session_home(browser):
    response = browser.get(url("identity:session_expired"))

    assert response.status_code == 302
    assert response["Location"] == url("home")
