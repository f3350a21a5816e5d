"""Seed 000, "Résolution de problèmes", in Chromium: Forgot your User ID? and Reset logon
credentials? (which also unlocks a locked access), reading SMS and e-mails from the outbox.
Expected texts come from the catalogues (pages under /fr/)."""

import re

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from guichet.identity import lockout
from guichet.identity.models import User
from guichet.identity.testing import last_email, last_sms_code, make_provisioned
from guichet.notifications.sms import locmem

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]

NEW_PASSWORD = "Green-Lantern-5081?"
PHONE = "+32470123412"
EMAIL = "lucie.dubois@example.com"


@pytest.fixture(autouse=True)
def _fresh_rate_limits_and_outbox():
    cache.clear()
    locmem.outbox.clear()
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


def at(page, name: str) -> None:
    expect(page).to_have_url(re.compile(re.escape(path(name)) + "$"))
    expect(page.get_by_role("heading", level=1)).to_have_count(1)


def sms_step(page, flow: str, check) -> None:
    at(page, f"identity:{flow}_phone")
    page.get_by_label("+32 4•• •• •• 12").check()
    check(page)
    page.get_by_role("button", name=t("Send the code")).click()
    at(page, f"identity:{flow}_code")
    field(page, "Code received").fill("000000")
    page.get_by_role("button", name=t("Continue")).click()
    expect(page.get_by_role("alert")).to_be_visible()  # a wrong code is announced
    check(page)
    field(page, "Code received").fill(last_sms_code(PHONE))
    page.get_by_role("button", name=t("Continue")).click()


def test_forgot_user_id(axe_page, axe_check):
    page = axe_page
    make_provisioned(user_id="CC100001", phone=PHONE)

    page.goto(path("help:troubleshooting"))
    page.get_by_role("link", name=t("Forgot your User ID?")).click()
    at(page, "identity:forgot_user_id")
    page.get_by_role("button", name=t("Submit")).click()
    expect(page.get_by_role("alert")).to_contain_text(t("Enter your e-mail address."))
    axe_check(page)
    field(page, "E-mail address").fill(EMAIL)
    page.get_by_role("button", name=t("Submit")).click()
    sms_step(page, "forgot_user_id", axe_check)

    at(page, "identity:forgot_user_id_done")
    expect(page.get_by_role("heading", level=1)).to_have_text(t("We have sent your user ID by e-mail"))
    axe_check(page)
    assert "CC100001" in last_email(EMAIL).body


def test_reset_logon_credentials_unlocks_a_locked_access(axe_page, axe_check):
    page = axe_page
    user = make_provisioned(user_id="cc100001", phone=PHONE)
    User.objects.filter(pk=user.pk).update(locked_at=timezone.now(), failed_login_count=5)

    page.goto(path("identity:reset_credentials"))
    field(page, "User ID").fill("CC100001")
    field(page, "E-mail address").fill(EMAIL)
    axe_check(page)
    page.get_by_role("button", name=t("Submit")).click()
    sms_step(page, "reset_credentials", axe_check)

    at(page, "identity:reset_credentials_done")
    axe_check(page)
    link = re.search(r"https?://\S+/credentials/link/\S+/", last_email(EMAIL).body).group(0)
    page.goto(link)
    at(page, "identity:reset_credentials_password")
    field(page, "New password").fill(NEW_PASSWORD)
    field(page, "Confirm the new password").fill(NEW_PASSWORD)
    axe_check(page)
    page.get_by_role("button", name=t("Save")).click()

    at(page, "identity:reset_credentials_complete")
    axe_check(page)
    assert not lockout.failure_state("cc100001").locked
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD) and user.failed_login_count == 0
    page.goto(link)  # used: no second password
    expect(page.get_by_role("heading", level=1)).to_have_text(t("This link no longer works"))
    axe_check(page)


def test_recovery_pages_fit_a_small_screen(new_page):
    page = new_page(viewport={"width": 320, "height": 640})
    for name in ("identity:forgot_user_id", "identity:reset_credentials"):
        page.goto(path(name))
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
