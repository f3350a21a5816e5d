"""The back office in Chromium, under the site's real CSP: no violation, no script error."""

import pytest

from guichet.backoffice.tests.factories import browser_log_in, make_customer, make_superuser

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]


def test_a_superuser_works_in_the_back_office_without_csp_errors(page) -> None:
    make_superuser()
    customer = make_customer()

    browser_log_in(page, "operator")
    page.goto(f"/backoffice/identity/user/{customer.pk}/change/")
    page.wait_for_selector("#id_groups_from")  # the filter_horizontal widget's script ran
    page.goto("/backoffice/identity/user/add/")
    page.fill("#id_user_id", "CC100009")
    page.click("input[name=_save]")
    assert "CC100009" in page.locator(".messagelist").inner_text()

    assert page.locator("#site-name").inner_text().endswith("back office")
    header_colour = page.locator("#header").evaluate("el => getComputedStyle(el).backgroundColor")
    assert header_colour == "rgb(29, 78, 137)"  # GUICHET_BRAND_COLOUR's default, #1d4e89
    # the new_page fixture then asserts no CSP violation, script error or third-party request
