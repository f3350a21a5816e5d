"""The login page: messages for the last attempt and the lock, same answers for unknown IDs,
"Remember my user ID on this device", and the stages a login goes through."""

import pytest
from django.conf import settings
from django.core import mail
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from guichet.identity.adapter import LOCKED_MESSAGE
from guichet.identity.forms.login import LAST_ATTEMPT_MESSAGE
from guichet.identity.testing import (
    PASSWORD,
    TEMPORARY_PASSWORD,
    agreement_publish,
    last_email,
    make_provisioned,
)
from guichet.identity.views.login import REMEMBER_COOKIE

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def login_url() -> str:
    with translation.override("fr"):
        return reverse("account_login")


def t(msgid: str) -> str:
    with translation.override("fr"):
        return gettext(msgid)


def post_login(client, login: str, password: str, **extra):
    return client.post(login_url(), {"login": login, "password": password, **extra}, secure=True)


def log_out(client) -> None:
    """Through the page, so that the browser's other cookies stay (client.logout() drops them all)."""
    with translation.override("fr"):
        client.post(reverse("account_logout"), secure=True)
    assert "_auth_user_id" not in client.session


def test_the_page_has_the_fields_and_the_help_links(client):
    response = client.get(login_url(), secure=True)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("<h1") == 1
    for field in ("id_login", "id_password", "id_remember"):
        assert f'for="{field}"' in html
    with translation.override("fr"):
        for name in (
            "identity:forgot_user_id",
            "identity:reset_credentials",
            "identity:consumer_first_login",
        ):
            assert f'href="{reverse(name)}"' in html, name
        assert f'href="{reverse("account_reset_password")}"' in html


def test_a_set_up_user_logs_in_and_lands_on_home(client):
    user = make_provisioned()

    response = post_login(client, user.user_id, PASSWORD)

    assert response.status_code == 302
    with translation.override("fr"):
        assert response.url == reverse("home")
    assert client.session.get("_auth_user_id") == str(user.pk)
    assert client.session.get_expire_at_browser_close()  # the session is never persistent


def test_the_fourth_failure_warns_and_the_fifth_locks_and_emails(client):
    user = make_provisioned()

    answers = [post_login(client, user.user_id, "Wrong-Pass-1!") for _ in range(5)]

    texts = [a.context["form"].non_field_errors()[0] for a in answers]
    assert texts[3] == t(LAST_ATTEMPT_MESSAGE)
    assert texts[4] == t(LOCKED_MESSAGE)
    assert all('role="alert"' in a.content.decode() for a in answers)
    user.refresh_from_db()
    assert user.is_locked
    locked_email = last_email(user.email)
    with translation.override(user.preferred_language):
        subject = gettext("Your %(name)s access is locked") % {"name": settings.GUICHET_INSTITUTION_NAME}
    assert locked_email.subject == subject
    assert user.user_id in locked_email.body
    assert user.user_id in locked_email.alternatives[0][0]


def test_a_locked_access_is_refused_even_with_the_right_password(client):
    user = make_provisioned()
    for _ in range(5):
        post_login(client, user.user_id, "Wrong-Pass-1!")

    response = post_login(client, user.user_id, PASSWORD)

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()[0] == t(LOCKED_MESSAGE)
    assert "_auth_user_id" not in client.session


def test_an_unknown_user_id_gets_the_same_messages(client):
    make_provisioned()

    known = [
        post_login(client, "CC100001", "Wrong-Pass-1!").context["form"].non_field_errors()[0]
        for _ in range(5)
    ]
    cache.clear()
    unknown = [
        post_login(client, "XX999999", "Wrong-Pass-1!").context["form"].non_field_errors()[0]
        for _ in range(5)
    ]

    assert known == unknown
    assert len(mail.outbox) == 0 or all("XX999999" not in m.body for m in mail.outbox)


def test_remember_me_keeps_only_the_identifier_in_a_secure_cookie(client):
    user = make_provisioned()

    response = post_login(client, user.user_id, PASSWORD, remember="on")

    cookie = response.cookies[REMEMBER_COOKIE]
    assert cookie.value == user.user_id
    assert cookie["httponly"] and cookie["secure"] and cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) > 30 * 24 * 3600
    assert client.session.get_expire_at_browser_close()
    log_out(client)
    page = client.get(login_url(), secure=True)
    assert page.context["form"]["login"].value() == user.user_id
    assert page.context["form"]["remember"].value() is True


def test_remember_me_works_with_an_email_identifier(client):
    from guichet.identity.testing import make_consumer

    consumer = make_consumer(password=PASSWORD)

    post_login(client, consumer.user_id, PASSWORD, remember="on")
    log_out(client)

    page = client.get(login_url(), secure=True)
    assert page.context["form"]["login"].value() == consumer.user_id


def test_unticking_remember_me_forgets_the_identifier(client):
    user = make_provisioned()
    post_login(client, user.user_id, PASSWORD, remember="on")
    client.logout()

    response = post_login(client, user.user_id, PASSWORD)

    assert response.cookies[REMEMBER_COOKIE].value == ""
    assert response.cookies[REMEMBER_COOKIE]["max-age"] == 0


def test_a_failed_login_does_not_remember_the_identifier(client):
    user = make_provisioned()

    response = post_login(client, user.user_id, "Wrong-Pass-1!", remember="on")

    assert REMEMBER_COOKIE not in response.cookies


def test_a_temporary_password_leads_to_onboarding_not_to_the_portal(client):
    user = make_provisioned(temporary=True)

    response = post_login(client, user.user_id, TEMPORARY_PASSWORD)

    with translation.override("fr"):
        assert response.url == reverse("identity:onboarding_phone")
    assert "_auth_user_id" not in client.session


def test_an_expired_temporary_password_is_refused_with_its_message(client):
    user = make_provisioned(temporary=True)
    from django.utils import timezone

    user.password_expires_at = timezone.now()
    user.save(update_fields=["password_expires_at"])

    response = post_login(client, user.user_id, TEMPORARY_PASSWORD)
    page = client.get(response.url, secure=True)

    assert response.url == login_url()
    assert t("Your temporary password has expired. Use “Reset logon credentials” to receive new ones.") in [
        str(m) for m in page.context["messages"]
    ]
    assert "_auth_user_id" not in client.session
    with translation.override("fr"):
        assert client.get(reverse("identity:onboarding_phone"), secure=True).url == login_url()


def test_a_set_up_user_with_a_pending_agreement_is_asked_for_it(client):
    user = make_provisioned()
    agreement_publish(version=1)

    response = post_login(client, user.user_id, PASSWORD)

    with translation.override("fr"):
        assert response.url == reverse("identity:agreement")
    assert "_auth_user_id" not in client.session


def test_logout_asks_then_logs_out(client):
    user = make_provisioned()
    client.force_login(user)
    with translation.override("fr"):
        url = reverse("account_logout")

    page = client.get(url, secure=True)
    response = client.post(url, secure=True)

    assert page.status_code == 200 and page.content.decode().count("<h1") == 1
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
