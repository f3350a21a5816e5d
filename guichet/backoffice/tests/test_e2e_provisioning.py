"""An advisor provisions users in Chromium: one by the form, many by a CSV file followed live (htmx)."""

import re

import pytest
from django.core import mail
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from guichet.backoffice.tests.factories import browser_log_in, make_advisor
from guichet.identity.models import User
from guichet.notifications.testing import deliveries_run

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]


def t(msgid: str) -> str:
    with translation.override("en"):
        return gettext(msgid)


def log_in_as_advisor(page) -> None:
    browser_log_in(page, "advisor1")
    expect(page.locator("#site-name")).to_be_visible()


@pytest.fixture
def english_page(new_page):
    return new_page(viewport={"width": 1280, "height": 900}, locale="en-GB")


def test_an_advisor_provisions_a_user_with_the_form(english_page, axe_check, new_page) -> None:
    page = english_page
    make_advisor()
    log_in_as_advisor(page)

    page.goto("/backoffice/identity/user/")
    page.get_by_role("link", name=t("Provision a user")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Provision a user"))
    page.get_by_role("button", name=t("Provision and send the credentials")).click()
    expect(page.get_by_role("alert")).to_contain_text(t("There is a problem"))
    page.get_by_label(t("User ID")).fill("CC100088")
    page.get_by_label(t("E-mail address")).fill("nina.claes@example.com")
    page.get_by_label(re.compile("^" + re.escape(t("Mobile number")))).fill("+32 470 11 22 33")
    page.get_by_label(t("Language")).select_option("nl")
    page.get_by_label(t("First name (optional)")).fill("Nina")
    page.get_by_role("button", name=t("Provision and send the credentials")).click()

    expect(page.locator(".messagelist")).to_contain_text("CC100088")
    user = User.objects.get(user_id="CC100088")
    assert (user.preferred_language, user.password_is_temporary) == ("nl", True)
    expect(page.get_by_role("link", name=t("Re-issue credentials"))).to_be_visible()
    assert "password" not in page.locator("input").evaluate_all("els => els.map(e => e.name)")
    deliveries_run()
    assert [message.to for message in mail.outbox] == [["nina.claes@example.com"]] * 2

    # The form with its errors passes WCAG 2.1 AA (axe needs a page without CSP)
    checked = new_page(viewport={"width": 1280, "height": 900}, locale="en-GB", bypass_csp=True)
    log_in_as_advisor(checked)
    checked.goto("/backoffice/identity/user/provision/")
    checked.get_by_role("button", name=t("Provision and send the credentials")).click()
    expect(checked.get_by_role("alert")).to_be_visible()
    axe_check(checked)


def test_an_import_is_followed_live_without_reloading_the_page(english_page, tmp_path) -> None:
    page = english_page
    make_advisor()
    log_in_as_advisor(page)
    csv_file = tmp_path / "users.csv"
    csv_file.write_text(
        "user_id,email,mobile_phone,alternate_mobile_phone,language,first_name,last_name\n"
        "CC600001,a@example.com,+32470111111,,fr,Anne,\n"
        "CC600002,not-an-email,+32470222222,,fr,Bart,\n",
        encoding="utf-8",
    )

    page.goto("/backoffice/identity/user/")
    page.get_by_role("link", name=t("Import a CSV file")).click()
    page.get_by_label(t("CSV file")).set_input_files(str(csv_file))
    page.get_by_role("button", name=t("Import")).click()
    expect(page.locator("#import-progress-bar")).to_have_attribute("value", "0")
    page.evaluate("window.notReloaded = true")

    deliveries_run()  # the worker runs the import meanwhile

    expect(page.locator("#import-progress-bar")).to_have_attribute("value", "2")
    expect(page.locator("#import-report")).to_contain_text("CC600002")
    expect(page.get_by_role("link", name=t("Download the report (CSV)"))).to_be_visible()
    assert page.evaluate("window.notReloaded") is True  # htmx swapped the fragment in
    assert list(User.objects.filter(user_id__startswith="CC6").values_list("user_id", flat=True)) == [
        "CC600001"
    ]


@pytest.mark.parametrize(
    "path", ["/backoffice/identity/user/provision/", "/backoffice/identity/provisioningimport/add/"]
)
def test_the_forms_fit_a_320_pixel_screen(new_page, path: str) -> None:
    page = new_page(viewport={"width": 320, "height": 640}, locale="en-GB")
    make_advisor()
    log_in_as_advisor(page)

    page.goto(path)

    assert page.evaluate("document.documentElement.scrollWidth") <= 320
