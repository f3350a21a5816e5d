"""Lockout in Chromium: warning at the 4th failure, lock and e-mail at the 5th, the right password
refused afterwards, the same messages for an unknown user ID; "Remember my user ID"."""

import re

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from guichet.identity.adapter import LOCKED_MESSAGE
from guichet.identity.forms.login import LAST_ATTEMPT_MESSAGE
from guichet.identity.testing import PASSWORD, last_email, make_provisioned

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def t(msgid) -> str:
    with translation.override("fr"):
        return gettext(msgid)


def field(page, msgid: str):
    """The form control whose label starts with the translated text (labels end with a colon)."""
    return page.get_by_label(re.compile(r"^\s*" + re.escape(t(msgid))))


def path(name: str) -> str:
    with translation.override("fr"):
        return reverse(name)


def log_on(page, user_id: str, password: str, *, remember: bool = False) -> None:
    page.goto(path("account_login"))
    field(page, "User ID or e-mail address").fill(user_id)
    field(page, "Password").fill(password)
    if remember:
        field(page, "Remember my user ID on this device").check()
    page.get_by_role("button", name=t("Log on")).click()


def alerts_for_five_failures(page, user_id: str) -> list[str]:
    texts = []
    for _ in range(5):
        log_on(page, user_id, "Wrong-Pass-1!")
        alert = page.get_by_role("alert")
        expect(alert).to_be_visible()
        texts.append(alert.inner_text())
    return texts


def test_lockout_after_five_failures_with_a_warning_and_an_email(page, axe_page, axe_check):
    user = make_provisioned()

    texts = alerts_for_five_failures(page, user.user_id)

    assert t(LAST_ATTEMPT_MESSAGE) not in texts[2]
    assert t(LAST_ATTEMPT_MESSAGE) in texts[3]
    assert t(LOCKED_MESSAGE) in texts[4]
    email = last_email(user.email)
    assert user.user_id in email.body
    log_on(page, user.user_id, PASSWORD)
    expect(page.get_by_role("alert")).to_contain_text(t(LOCKED_MESSAGE))
    expect(page).to_have_url(re.compile(re.escape(path("account_login")) + "$"))

    log_on(axe_page, user.user_id, PASSWORD)
    axe_check(axe_page)


def test_an_unknown_user_id_gets_the_same_messages(page):
    make_provisioned()
    known = alerts_for_five_failures(page, "CC100001")
    cache.clear()

    unknown = alerts_for_five_failures(page, "ZZ404404")

    assert unknown == known


def test_remember_my_user_id_prefills_only_the_identifier(page):
    user = make_provisioned()
    log_on(page, user.user_id, PASSWORD, remember=True)
    expect(page).to_have_url(re.compile(re.escape(path("home")) + "$"))
    cookies = {c["name"]: c for c in page.context.cookies()}
    remembered = cookies["guichet_user_id"]
    assert remembered["httpOnly"] and remembered["secure"] and remembered["sameSite"] == "Lax"
    assert cookies["sessionid"]["expires"] == -1  # the session ends with the browser

    page.context.clear_cookies(name="sessionid")
    page.goto(path("account_login"))

    expect(field(page, "User ID or e-mail address")).to_have_value(user.user_id)
    expect(field(page, "Password")).to_have_value("")
    expect(field(page, "Remember my user ID on this device")).to_be_checked()
