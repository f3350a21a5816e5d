"""Seed 003 in Chromium: a consumer's first login (code read from the e-mail outbox, then a
password, then logged in) and "Forgot password". Expected texts come from the catalogues."""

import re

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from guichet.identity import services
from guichet.identity.models import User
from guichet.identity.testing import PASSWORD, last_email, make_consumer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]

NEW_PASSWORD = "Orange-Kayak-4417?"
EMAIL = "camille.martin@example.com"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def t(msgid: str) -> str:
    with translation.override("fr"):
        return gettext(msgid)


def field(page, msgid: str):
    return page.get_by_label(re.compile(r"^\s*" + re.escape(t(msgid))))


def path(name: str) -> str:
    with translation.override("fr"):
        return reverse(name)


def emailed_code() -> str:
    return re.search(r"^\s*([A-Z0-9]{3,}(?:-[A-Z0-9]+)*)\s*$", last_email(EMAIL).body, re.MULTILINE).group(1)


def code_and_password(page, axe_check) -> None:
    expect(page).to_have_url(re.compile(re.escape(path("account_confirm_password_reset_code")) + "$"))
    axe_check(page)
    field(page, "Code").fill(emailed_code())
    page.get_by_role("button", name=t("Continue")).click()
    expect(page).to_have_url(re.compile(re.escape(path("account_complete_password_reset")) + "$"))
    # By name: the labels are allauth's until ACCOUNT_FORMS maps "reset_password_from_key"
    # to forms.consumer.ConsumerResetPasswordKeyForm.
    page.locator("input[name=password1]").fill(NEW_PASSWORD)
    page.locator("input[name=password2]").fill(NEW_PASSWORD)
    axe_check(page)
    page.get_by_role("button", name=t("Save")).click()


def test_consumer_first_login(axe_page, axe_check):
    page = axe_page
    consumer = services.consumer_ensure(email=EMAIL)

    page.goto(path("identity:consumer_first_login"))
    expect(page.get_by_role("heading", level=1)).to_have_text(t("First login"))
    axe_check(page)
    field(page, "E-mail address").fill(EMAIL)
    page.get_by_role("button", name=t("Send me a code")).click()
    code_and_password(page, axe_check)

    expect(page).to_have_url(re.compile(re.escape(path("home")) + "$"))
    consumer.refresh_from_db()
    assert consumer.check_password(NEW_PASSWORD)


def test_consumer_forgot_password(axe_page, axe_check):
    page = axe_page
    make_consumer(email=EMAIL, password=PASSWORD)

    page.goto(path("account_reset_password"))
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Forgot your password?"))
    axe_check(page)
    field(page, "E-mail address").fill(EMAIL)
    page.get_by_role("button", name=t("Send me a code")).click()
    code_and_password(page, axe_check)

    assert User.objects.get(user_id=EMAIL).check_password(NEW_PASSWORD)
