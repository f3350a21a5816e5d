"""Seed 002 in Chromium: the primary contact (French) adds a shared user (Dutch) and ticks one of
their two customer numbers; the shared user activates their account from the e-mailed link, in
Dutch, and sees only that customer number's documents. Expected texts come from the catalogues."""

import re

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from guichet.documents import access
from guichet.documents.models import SharedUser
from guichet.documents.testing import make_customer_number, make_document, make_issuer, make_recipient
from guichet.identity.models import User
from guichet.identity.testing import last_email

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]

OWNER_LANGUAGE, SHARED_LANGUAGE = "fr", "nl"
SHARED_EMAIL = "jan.peeters@example.com"
NEW_PASSWORD = "Blue-Lagoon-2026!"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def t(msgid: str, language: str) -> str:
    with translation.override(language):
        return gettext(msgid)


def path(name: str, language: str) -> str:
    with translation.override(language):
        return reverse(name)


def label(page, msgid: str, language: str):
    return page.get_by_label(re.compile(r"^\s*" + re.escape(t(msgid, language)) + r"\s*:?\s*$"))


def log_in(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": key, "url": live_server.url}])


def test_primary_contact_shares_one_customer_number_with_a_dutch_accountant(
    axe_page, new_page, axe_check, live_server, settings
):
    settings.GUICHET_PUBLIC_URL = live_server.url
    fr = OWNER_LANGUAGE
    owner = make_recipient(email="claire.dupont@example.com", language=fr)
    shared_number = make_customer_number(
        issuer=make_issuer(prefix="DL2", name="Aubépine Lease Services"), number="111111", account=owner
    )
    private_number = make_customer_number(
        issuer=make_issuer(prefix="DL5", name="Aubépine Lease Belgium"), number="555555", account=owner
    )
    make_document(shared_number, number="F2026-SHARED")
    make_document(private_number, number="F2026-PRIVATE")

    # The primary contact opens "Shared users" and adds the accountant; a mistake first.
    page = axe_page
    log_in(page, live_server, owner)
    page.goto(path("documents:shared_users", fr))
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Shared users", fr))
    axe_check(page)
    page.get_by_role("link", name=t("Add a shared user", fr)).click()
    label(page, "E-mail address", fr).fill(SHARED_EMAIL)
    page.get_by_role("button", name=t("Add and invite", fr)).click()
    expect(page).to_have_title(re.compile("^" + re.escape(t("Error:", fr))))
    expect(page.get_by_role("alert")).to_contain_text(t("Enter the shared user's name.", fr))
    axe_check(page)
    assert not SharedUser.objects.exists()

    label(page, "Name", fr).fill("Jan Peeters")
    label(page, "Their language", fr).select_option(SHARED_LANGUAGE)
    group = page.get_by_role("group", name=t("Customer numbers they see", fr))
    group.get_by_label(re.compile(r"^DL2 111111")).check()
    expect(group.get_by_label(re.compile(r"^DL5 555555"))).not_to_be_checked()
    page.get_by_role("button", name=t("Add and invite", fr)).click()

    expect(page).to_have_url(re.compile(re.escape(path("documents:shared_users", fr)) + "$"))
    row = page.get_by_role("row", name=re.compile("Jan Peeters"))
    expect(row).to_contain_text(SHARED_EMAIL)
    expect(row).to_contain_text("DL2 111111")
    expect(row).not_to_contain_text("DL5 555555")
    expect(row).to_contain_text(t("Invited", fr))
    axe_check(page)
    told = last_email(owner.email)
    assert "Jan Peeters" in told.body and "DL2 111111" in told.body

    # The accountant activates from the e-mailed link: the pages are in Dutch.
    nl = SHARED_LANGUAGE
    invitation = last_email(SHARED_EMAIL)
    link = re.search(re.escape(live_server.url) + r"/nl/\S+/activate/\S+/", invitation.body).group(0)
    accountant_page = new_page(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    accountant_page.goto(link)
    expect(accountant_page.locator("html")).to_have_attribute("lang", nl)
    expect(accountant_page.get_by_role("heading", level=1)).to_have_text(t("Activate your account", nl))
    axe_check(accountant_page)
    label(accountant_page, "Password", nl).fill(NEW_PASSWORD)
    label(accountant_page, "Confirm the password", nl).fill(NEW_PASSWORD)
    accountant_page.get_by_role("button", name=t("Activate my account", nl)).click()

    # They see the ticked customer number's documents, and nothing else.
    expect(accountant_page).to_have_url(re.compile(re.escape(path("documents:list", nl)) + r"(\?.*)?$"))
    expect(accountant_page.get_by_role("link", name="F2026-SHARED")).to_be_visible()
    expect(accountant_page.get_by_text("F2026-PRIVATE")).to_have_count(0)
    axe_check(accountant_page)
    accountant = User.objects.get(user_id=SHARED_EMAIL)
    assert accountant.preferred_language == nl
    assert list(access.customer_numbers(accountant)) == [shared_number]

    # Their customer numbers page shows only that one, shared with them; they cannot share further.
    accountant_page.get_by_role("link", name=t("Customer numbers", nl)).click()
    expect(accountant_page.get_by_role("row", name=re.compile("DL2 111111"))).to_contain_text(
        t("Shared with you", nl)
    )
    expect(accountant_page.get_by_text("DL5 555555")).to_have_count(0)
    axe_check(accountant_page)
    expect(accountant_page.get_by_role("link", name=t("Shared users", nl))).to_have_count(0)
    accountant_page.goto(path("documents:shared_users", nl))
    expect(accountant_page.get_by_role("heading", level=1)).to_have_text(t("Shared users", nl))
    expect(
        accountant_page.get_by_text(
            t("Only the primary contact of a customer number can share its documents with other people.", nl)
        )
    ).to_be_visible()

    # Back with the primary contact: the accountant is now active.
    page.reload()
    expect(page.get_by_role("row", name=re.compile("Jan Peeters"))).to_contain_text(t("Active", fr))


def test_the_sharing_pages_fit_a_320_pixel_screen(new_page, live_server):
    owner = make_recipient(email="claire.dupont@example.com", language="en")
    for n in range(3):
        make_customer_number(
            number=f"12345678{n}", account=owner, customer_name="Transport-Logistik Oberhausen GmbH"
        )
    page = new_page(viewport={"width": 320, "height": 640})
    log_in(page, live_server, owner)

    for name in ("documents:shared_users", "documents:shared_user_add", "documents:customer_numbers"):
        page.goto(path(name, "en"))
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 320, name
