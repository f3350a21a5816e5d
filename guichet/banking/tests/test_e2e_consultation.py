"""Consultation in Chromium: accounts → an account → filter → the export link, with JavaScript
(htmx updates the list) and without; axe finds no WCAG 2.1 AA violation, and a 320 px wide
phone needs no horizontal scrolling. The user is logged in with a session cookie."""

import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from guichet.banking.tests.consultation_cast import make_cast, make_transactions

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]


def t(msgid: str) -> str:
    with translation.override("fr"):
        return gettext(msgid)


def url(name: str, *args: object) -> str:
    with translation.override("fr"):
        return reverse(name, args=args or None)


def log_in(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": key, "url": live_server.url}])


def test_accounts_then_account_then_filter_then_export(page, new_page, axe_page, axe_check, live_server):
    cast = make_cast()
    make_transactions(cast.account, 60)
    log_in(page, live_server, cast.consultant)

    page.goto(url("banking:accounts"))
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Accounts"))
    page.get_by_role("link", name=cast.account.label, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(cast.account.label)
    expect(page.get_by_role("row")).to_have_count(51)  # header + one page
    page.get_by_label(t("Text")).fill("Invoice 42")
    page.get_by_role("button", name=t("Filter")).click()

    # htmx pushed the filters into the address bar: the URL can be bookmarked or shared.
    expect(page).to_have_url(
        re.compile(r"\?date_from=&date_to=&amount_min=&amount_max=&direction=&text=Invoice(\+|%20)42$")
    )
    expect(page.get_by_role("row")).to_have_count(2)
    expect(page.get_by_role("cell", name="REF00042")).to_be_visible()
    export = page.get_by_role("link", name=t("Download these transactions (CSV)"))
    query = "date_from=&date_to=&amount_min=&amount_max=&direction=&text=Invoice+42"
    expect(export).to_have_attribute("href", f"{url('banking:account_export', cast.account.pk)}?{query}")

    # The same page passes axe, with a filter error announced too.
    log_in(axe_page, live_server, cast.consultant)
    axe_page.goto(url("banking:accounts"))
    axe_check(axe_page)
    axe_page.goto(url("banking:account", cast.account.pk) + "?text=Invoice")
    axe_check(axe_page)
    axe_page.goto(url("banking:account", cast.account.pk) + "?amount_min=x")
    expect(axe_page.get_by_role("alert")).to_be_visible()
    axe_check(axe_page)

    # On a 320 px wide phone nothing scrolls sideways but the tables' own boxes.
    phone = new_page(viewport={"width": 320, "height": 640})
    log_in(phone, live_server, cast.consultant)
    for path in (url("banking:accounts"), url("banking:account", cast.account.pk), url("banking:contracts")):
        phone.goto(path)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 320, path


def test_pagination_and_filter_work_without_javascript(new_page, live_server):
    cast = make_cast()
    make_transactions(cast.account, 60)
    page = new_page(java_script_enabled=False)
    log_in(page, live_server, cast.consultant)

    page.goto(url("banking:account", cast.account.pk))
    page.get_by_role("link", name=t("Older transactions")).click()
    expect(page.get_by_role("row")).to_have_count(11)
    page.get_by_label(t("Text")).fill("REF0000")
    page.get_by_role("button", name=t("Filter")).click()

    expect(page.get_by_role("row")).to_have_count(11)
    expect(page.get_by_role("link", name=t("Download these transactions (CSV)"))).to_be_visible()
