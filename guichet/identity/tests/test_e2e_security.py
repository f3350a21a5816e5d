"""The Security page, the e-mail change and the inactivity warning in Chromium, under the site's CSP.

The user is logged in by handing the browser a session cookie made by
Django's test client: these journeys start after the logon, which has its own.
The page's clock is Playwright's, so the ten minutes of inactivity take no time.
"""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext
from playwright.sync_api import expect

from guichet.identity import services
from guichet.identity.models import User
from guichet.identity.testing import PASSWORD, last_email, last_sms_code, make_provisioned

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]

FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
NEW_EMAIL = "lucie.d@example.org"


def t(msgid: str, language: str = "fr") -> str:
    with translation.override(language):
        return gettext(msgid)


def url(name: str, language: str = "fr") -> str:
    with translation.override(language):
        return reverse(name)


def log_in(page, live_server, user: User) -> str:
    """Gives the browser a session of ``user``; returns its key."""
    client = Client()
    client.force_login(user)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": key, "url": live_server.url}])
    return key


@pytest.fixture
def our_templates_first(settings):
    """Our account/*.html over allauth's, as INSTALLED_APPS should order them (guichet.identity first)."""
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [Path(services.__file__).resolve().parent / "templates"]}
    ]


def test_security_page_lists_sessions_and_ends_the_others(page, axe_page, axe_check, live_server):
    lucie = make_provisioned(alternate_phone="+32470987654")
    elsewhere = Client(HTTP_USER_AGENT=FIREFOX_WINDOWS)
    elsewhere.force_login(lucie)
    elsewhere.get(url("home"))
    log_in(page, live_server, lucie)

    page.goto(url("home"))
    page.get_by_role("link", name=t("Security"), exact=True).first.click()

    expect(page.get_by_role("heading", level=1)).to_have_text(t("Security"))
    expect(page.get_by_text("+32 4•• •• •• 54")).to_be_visible()
    sessions = page.get_by_role("table", name=t("Active sessions"))
    expect(sessions.get_by_role("row")).to_have_count(3)  # header, this browser, Firefox
    expect(sessions.get_by_text(t("this device"))).to_be_visible()
    expect(sessions.get_by_text(re.compile("Firefox"))).to_be_visible()

    page.get_by_role("button", name=t("Log out everywhere else")).click()

    with translation.override("fr"):
        ended = ngettext("%(count)d other session was ended.", "%(count)d other sessions were ended.", 1)
    expect(page.get_by_role("status")).to_have_text(ended % {"count": 1})
    expect(sessions.get_by_role("row")).to_have_count(2)
    assert elsewhere.get(url("identity:security")).status_code == 302

    log_in(axe_page, live_server, lucie)
    axe_page.goto(url("identity:security"))
    axe_check(axe_page)


def test_security_page_fits_a_320_pixel_screen(new_page, live_server):
    page = new_page(viewport={"width": 320, "height": 640})
    log_in(page, live_server, make_provisioned())

    page.goto(url("identity:security"))

    assert page.evaluate("document.documentElement.scrollWidth") <= 320


def test_change_email_with_the_code_sent_to_the_new_address(page, axe_page, axe_check, live_server):
    lucie = make_provisioned()
    log_in(page, live_server, lucie)
    page.goto(url("identity:security"))

    page.get_by_role("link", name=t("Change e-mail address")).click()
    page.get_by_label(t("New e-mail address")).fill(NEW_EMAIL)
    page.get_by_label(t("Current password")).fill(PASSWORD)
    page.get_by_role("button", name=t("Send the code")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(t("Confirm your new e-mail address"))
    message = last_email(to=NEW_EMAIL)
    code = re.search(r"\b(\d{6})\b", message.body).group(1)
    page.get_by_label(t("Code received")).fill(code)
    page.get_by_role("button", name=t("Confirm")).click()
    # Then the change is signed: Lucie has no authenticator, so with a code by SMS.
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Confirm the operation"))
    page.locator('[name="action"][value="sms_send"] ~ p button').click()
    page.get_by_label(t("6-digit code")).fill(last_sms_code("+32470123412"))
    page.get_by_role("button", name=t("Confirm")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(t("Security"))
    expect(page.get_by_role("status")).to_have_text(t("Your e-mail address was changed."))
    expect(page.get_by_text(NEW_EMAIL)).to_be_visible()
    lucie.refresh_from_db()
    assert lucie.email == NEW_EMAIL

    log_in(axe_page, live_server, lucie)
    axe_page.goto(url("identity:contact_email"))
    axe_page.get_by_role("button", name=t("Send the code")).click()  # empty: the error summary
    expect(axe_page.get_by_role("alert")).to_be_visible()
    axe_check(axe_page)


def test_a_wrong_password_is_announced(page, live_server):
    log_in(page, live_server, make_provisioned())
    page.goto(url("identity:contact_email"))

    page.get_by_label(t("New e-mail address")).fill(NEW_EMAIL)
    page.get_by_label(t("Current password")).fill("not my password")
    page.get_by_role("button", name=t("Send the code")).click()

    expect(page.get_by_role("alert")).to_contain_text(t("The password is not correct."))
    expect(page.get_by_label(t("Current password"))).to_have_attribute("aria-invalid", "true")


def test_password_change_page_passes_axe(axe_page, axe_check, live_server, our_templates_first):
    log_in(axe_page, live_server, make_provisioned())

    axe_page.goto(url("account_change_password"))

    expect(axe_page.get_by_role("heading", level=1)).to_have_text(t("Change your password"))
    axe_check(axe_page)


def warning_text(seconds: int) -> str:
    with translation.override("fr"):
        return ngettext(
            "Your session will end in %(seconds)s second for your security.",
            "Your session will end in %(seconds)s seconds for your security.",
            seconds,
        ) % {"seconds": seconds}


def test_inactivity_warning_offers_to_stay_then_ends_the_session(page, live_server):
    lucie = make_provisioned()
    key = log_in(page, live_server, lucie)
    page.clock.install()
    page.goto(url("identity:security"))
    age, warning = settings.SESSION_COOKIE_AGE, 60  # the page's default warning
    dialog = page.get_by_role("alertdialog", name=t("Are you still there?"))
    expect(dialog).to_be_hidden()

    page.clock.run_for((age - warning + 1) * 1000)

    expect(dialog).to_be_visible()
    expect(dialog).to_have_accessible_description(warning_text(warning - 1))
    stay = dialog.get_by_role("button", name=t("Stay logged in"))
    expect(stay).to_be_focused()
    with page.expect_response(
        lambda response: url("identity:session_keepalive") in response.url
    ) as keepalive:
        page.keyboard.press("Escape")  # Escape means "stay"
    assert keepalive.value.status == 204
    expect(dialog).to_be_hidden()

    page.clock.run_for((age - warning + 1) * 1000)  # counted again from the keep-alive

    expect(dialog).to_be_visible()
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    page.clock.run_for(warning * 1000)

    expect(page.get_by_role("heading", level=1)).to_have_text(t("Your session has ended"))
    assert page.url.endswith(url("identity:session_expired"))
    page.get_by_role("link", name=t("Log on")).last.click()
    assert url("account_login") in page.url


def test_inactivity_dialog_passes_axe(axe_page, axe_check, live_server):
    log_in(axe_page, live_server, make_provisioned())
    axe_page.clock.install()
    axe_page.goto(url("home"))

    axe_page.clock.run_for((settings.SESSION_COOKIE_AGE - 30) * 1000)

    expect(axe_page.get_by_role("alertdialog")).to_be_visible()
    axe_check(axe_page)
