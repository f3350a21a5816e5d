"""Consumers (seed 003): "First login" and "Forgot password" through allauth's reset by code."""

import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from guichet.identity import services
from guichet.identity.forms.consumer import FIRST_LOGIN_SESSION_KEY
from guichet.identity.models import AccountKind, User
from guichet.identity.testing import PASSWORD, last_email, make_consumer, make_provisioned
from guichet.notifications.testing import deliveries_run

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Blue-Bicycle-2027?"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def url(name: str) -> str:
    with translation.override("fr"):
        return reverse(name)


def t(msgid: str) -> str:
    with translation.override("fr"):
        return gettext(msgid)


def emailed_code(address: str) -> str:
    body = last_email(address).body
    return re.search(r"^\s*([A-Z0-9]{3,}(?:-[A-Z0-9]+)*)\s*$", body, re.MULTILINE).group(1)


def normalised(response) -> str:
    html = response.content.decode()
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    return re.sub(r'nonce="[^"]+"', "", html)


def first_login(client, email: str):
    return client.post(url("identity:consumer_first_login"), {"email": email}, secure=True)


def test_the_first_login_page_explains_the_identifier(client):
    response = client.get(url("identity:consumer_first_login"), secure=True)

    html = response.content.decode()
    assert response.status_code == 200 and html.count("<h1") == 1
    assert t("Your identifier is the e-mail address you gave when you made your purchase.") in html
    assert 'for="id_email"' in html


def test_first_login_sends_a_code_then_the_consumer_chooses_a_password_and_is_logged_in(client):
    consumer = services.consumer_ensure(email="Camille.Martin@example.com")

    response = first_login(client, "camille.martin@example.com")

    assert response.url == url("account_confirm_password_reset_code")
    assert client.session[FIRST_LOGIN_SESSION_KEY] is True
    page = client.get(response.url, secure=True).content.decode()
    assert t("Enter the code received by e-mail") in page
    message = last_email("camille.martin@example.com")
    assert "camille.martin@example.com" in message.body  # the identifier to log in with
    code = emailed_code("camille.martin@example.com")
    confirmed = client.post(url("account_confirm_password_reset_code"), {"code": code}, secure=True)
    assert confirmed.url == url("account_complete_password_reset")
    form_page = client.get(confirmed.url, secure=True).content.decode()
    assert t("Choose your password") in form_page and 'name="password1"' in form_page
    done = client.post(
        url("account_complete_password_reset"),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        secure=True,
    )

    assert done.status_code == 302
    consumer.refresh_from_db()
    assert consumer.check_password(NEW_PASSWORD)
    assert client.session["_auth_user_id"] == str(consumer.pk)


def test_unknown_addresses_get_the_same_answer_and_nothing_is_sent(client):
    make_consumer(email="camille.martin@example.com")
    known = [first_login(client, "camille.martin@example.com")]
    known.append(client.get(url("account_confirm_password_reset_code"), secure=True))
    known.append(client.post(url("account_confirm_password_reset_code"), {"code": "WRONG-123"}, secure=True))
    deliveries_run()
    mail.outbox.clear()
    client.cookies.clear()
    cache.clear()

    unknown = [first_login(client, "nobody@example.com")]
    unknown.append(client.get(url("account_confirm_password_reset_code"), secure=True))
    unknown.append(
        client.post(url("account_confirm_password_reset_code"), {"code": "WRONG-123"}, secure=True)
    )

    assert [r.status_code for r in known] == [r.status_code for r in unknown]
    assert [r.get("Location") for r in known] == [r.get("Location") for r in unknown]
    assert normalised(known[0]) == normalised(unknown[0])
    deliveries_run()
    assert mail.outbox == []
    # The pages differ only by the address the visitor typed, shown back to them.
    assert normalised(known[1]).replace("camille.martin@example.com", "X") == normalised(unknown[1]).replace(
        "nobody@example.com", "X"
    )


def test_provisioned_users_are_not_reset_through_the_consumer_flow(client):
    make_provisioned(email="lucie.dubois@example.com")

    first_login(client, "lucie.dubois@example.com")
    deliveries_run()

    assert mail.outbox == []


def test_forgot_password_uses_the_same_code_flow_without_the_first_login_wording(client):
    consumer = make_consumer(email="camille.martin@example.com", password=PASSWORD)
    first_login(client, "camille.martin@example.com")  # a first login started, then abandoned
    cache.clear()

    page = client.get(url("account_reset_password"), secure=True)
    assert t("Forgot your password?") in page.content.decode()
    response = client.post(
        url("account_reset_password"), {"email": "camille.martin@example.com"}, secure=True
    )

    assert response.url == url("account_confirm_password_reset_code")
    assert client.session[FIRST_LOGIN_SESSION_KEY] is False
    code = emailed_code("camille.martin@example.com")
    client.post(url("account_confirm_password_reset_code"), {"code": code}, secure=True)
    page = client.get(url("account_complete_password_reset"), secure=True).content.decode()
    assert t("Choose a new password") in page
    client.post(
        url("account_complete_password_reset"),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        secure=True,
    )
    consumer.refresh_from_db()
    assert consumer.check_password(NEW_PASSWORD)


def test_a_consumer_with_two_addresses_has_two_accesses(client):
    services.consumer_ensure(email="camille.martin@example.com")
    services.consumer_ensure(email="camille@work.example.com")
    services.consumer_ensure(email="camille.martin@example.com")  # a second order, same address

    consumers = User.objects.filter(kind=AccountKind.CONSUMER).order_by("user_id")
    assert [c.user_id for c in consumers] == ["camille.martin@example.com", "camille@work.example.com"]

    first_login(client, "camille@work.example.com")
    code = emailed_code("camille@work.example.com")
    client.post(url("account_confirm_password_reset_code"), {"code": code}, secure=True)
    client.post(
        url("account_complete_password_reset"),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        secure=True,
    )

    work, home = (
        User.objects.get(user_id="camille@work.example.com"),
        User.objects.get(user_id="camille.martin@example.com"),
    )
    assert work.check_password(NEW_PASSWORD) and not home.has_usable_password()


def test_five_wrong_codes_end_the_attempt(client):
    make_consumer(email="camille.martin@example.com")
    first_login(client, "camille.martin@example.com")

    responses = [
        client.post(url("account_confirm_password_reset_code"), {"code": "WRONG-000"}, secure=True)
        for _ in range(5)
    ]

    assert [r.status_code for r in responses] == [200] * 4 + [302]
    assert responses[-1].url == url("account_login")
    assert client.get(url("account_confirm_password_reset_code"), secure=True).url == url("account_login")


def test_first_login_is_rate_limited(client):
    make_consumer(email="camille.martin@example.com")

    statuses = [first_login(client, "camille.martin@example.com").status_code for _ in range(6)]

    assert statuses == [302] * 5 + [429]
