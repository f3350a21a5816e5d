"""An advisor in Chromium: creates today's print batch and downloads it, re-issues an activation code
and reads it once, merges two document accounts after reviewing what moves. axe finds no WCAG 2.1
AA violation on the merge form with its errors."""

import re
import zipfile

import pytest
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from guichet.backoffice.tests.factories import browser_log_in, make_advisor
from guichet.documents.models import ActivationCode, CustomerNumber, PrintBatch
from guichet.documents.testing import make_customer_number, make_document, make_recipient
from guichet.documents.tests.test_admin_intake import grant_issue_7
from guichet.identity.models import AccountKind, User

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]


def t(msgid: str) -> str:
    with translation.override("en"):
        return gettext(msgid)


@pytest.fixture
def english_page(new_page):
    return new_page(viewport={"width": 1280, "height": 900}, locale="en-GB")


def log_in_as_advisor(page) -> None:
    browser_log_in(page, "advisor1")
    expect(page.locator("#site-name")).to_be_visible()


def test_an_advisor_creates_and_downloads_todays_print_batch(english_page, tmp_path) -> None:
    page = english_page
    grant_issue_7()
    make_advisor()
    make_document(make_customer_number(number="123456"), number="F2026-000001")
    log_in_as_advisor(page)

    page.goto("/backoffice/documents/printbatch/")
    page.get_by_role("button", name=t("Create today's batch now")).click()
    expect(page.locator(".messagelist")).to_contain_text("A print batch of 1 document was created.")
    batch = PrintBatch.objects.get()
    with page.expect_download(timeout=30_000) as download:
        page.get_by_role("link", name=re.compile(rf"^Download the batch of .*{batch.day.year}$")).click()
    path = tmp_path / "batch.zip"
    download.value.save_as(path)

    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == ["00001_DL2-123456_invoice_F2026-000001.pdf", "manifest.csv"]
    batch.refresh_from_db()
    assert batch.downloaded_at is not None


def test_an_advisor_reissues_a_code_and_merges_two_accounts(english_page, new_page, axe_check) -> None:
    page = english_page
    grant_issue_7()
    make_advisor()
    number = make_customer_number(number="123456")
    source = make_recipient(email="anna@example.com")
    target = User.objects.create_user("0403170701", "finance@tilleul.example", kind=AccountKind.BUSINESS)
    CustomerNumber.objects.filter(pk=number.pk).update(account=source)
    log_in_as_advisor(page)

    page.goto(f"/backoffice/documents/customernumber/{number.pk}/change/")
    page.get_by_role("link", name=t("Re-issue an activation code")).click()
    page.get_by_role("button", name=t("Issue a new activation code")).click()
    expect(page.locator("#activation-code")).to_have_text(re.compile(r"^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$"))
    assert ActivationCode.objects.filter(customer_number=number).count() == 1

    page.goto("/backoffice/documents/customernumber/")
    page.get_by_role("link", name=t("Merge two document accounts")).click()
    page.get_by_label(t("Account to merge (it is deactivated)")).fill("anna@example.com")
    page.get_by_label(t("Account that receives everything")).fill("0403170701")
    page.get_by_role("button", name=t("Review what moves")).click()
    expect(page.get_by_role("heading", name=t("Customer numbers"))).to_be_visible()
    expect(page.locator("#content-main")).to_contain_text("DL2 123456")
    page.get_by_role("button", name=t("Merge the accounts")).click()

    expect(page.locator(".messagelist")).to_contain_text("is merged into 0403170701")
    number.refresh_from_db()
    source.refresh_from_db()
    assert (number.account, source.is_active) == (target, False)

    checked = new_page(viewport={"width": 1280, "height": 900}, locale="en-GB", bypass_csp=True)
    log_in_as_advisor(checked)
    checked.goto("/backoffice/documents/customernumber/merge-accounts/")
    checked.get_by_role("button", name=t("Review what moves")).click()
    expect(checked.get_by_role("alert")).to_contain_text(t("There is a problem"))
    axe_check(checked)
