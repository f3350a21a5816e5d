"""Seed 002 in Chromium: the e-mail about a new document → the activation link → a password (a
mistake first) → logged on, on the documents page. Expected texts come from the catalogues."""

import re

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from guichet.documents import invitations
from guichet.documents.models import CustomerNumber
from guichet.documents.testing import make_customer_number, make_document, make_issuer
from guichet.identity.models import User
from guichet.identity.testing import last_email

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]

EMAIL = "anna.schmidt@example.com"
NEW_PASSWORD = "Blue-Lagoon-2026!"
LANGUAGE = "de"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def t(msgid: str) -> str:
    with translation.override(LANGUAGE):
        return gettext(msgid)


def path(name: str) -> str:
    with translation.override(LANGUAGE):
        return reverse(name)


def field(page, msgid: str):
    return page.get_by_label(re.compile(r"^\s*" + re.escape(t(msgid)) + r"\s*:?\s*$"))


def test_invitation_to_documents_page(axe_page, axe_check, live_server, settings):
    settings.GUICHET_PUBLIC_URL = live_server.url
    page = axe_page
    number = make_customer_number(email=EMAIL, language=LANGUAGE)
    other = make_customer_number(
        email=EMAIL, language=LANGUAGE, issuer=make_issuer(prefix="DL5", name="Lease BE")
    )
    invitations.invitation_for_new_document(document=make_document(number, number="F2026-000123"))

    email = last_email(EMAIL)
    assert "F2026-000123" in email.body
    link = re.search(re.escape(live_server.url) + r"/\S+/documents/activate/\S+/", email.body).group(0)
    page.goto(link)

    expect(page).to_have_url(re.compile(re.escape(path("documents:activate_form")) + "$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Activate your account"))
    expect(page.get_by_text(number.code)).to_be_visible()
    expect(page.get_by_text(other.code)).to_be_visible()
    axe_check(page)

    field(page, "Password").fill(NEW_PASSWORD)
    field(page, "Confirm the password").fill(NEW_PASSWORD + "x")
    page.get_by_role("button", name=t("Activate my account")).click()
    expect(page).to_have_title(re.compile("^" + re.escape(t("Error:"))))
    expect(page.get_by_role("alert")).to_contain_text(t("The two passwords differ."))
    axe_check(page)
    assert not User.objects.exists()

    field(page, "Password").fill(NEW_PASSWORD)
    field(page, "Confirm the password").fill(NEW_PASSWORD)
    page.get_by_role("button", name=t("Activate my account")).click()

    expect(page).to_have_url(re.compile(re.escape(path("documents:list")) + r"(\?.*)?$"))
    expect(page.get_by_role("link", name="F2026-000123")).to_be_visible()  # the document that was announced
    user = User.objects.get()
    assert user.user_id == EMAIL
    assert set(CustomerNumber.objects.filter(account=user)) == {number, other}


def test_the_activation_page_fits_a_320_pixel_screen(new_page):
    address = "anna-katharina.schmidt-oberhausen@transport-logistik.example.com"
    number = make_customer_number(email=address, language=LANGUAGE)
    _invitation, token = invitations.invitation_issue(customer_number=number)
    page = new_page(viewport={"width": 320, "height": 640})

    with translation.override(LANGUAGE):
        page.goto(reverse("documents:activate", kwargs={"token": token}))

    expect(page.get_by_role("heading", level=1)).to_have_text(t("Activate your account"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 320


def test_a_second_invitation_for_an_activated_address_asks_for_the_accounts_password(axe_page, axe_check):
    page = axe_page
    first = make_customer_number(email=EMAIL, language=LANGUAGE)
    invitations.account_activate(
        token=invitations.invitation_issue(customer_number=first)[1], password=NEW_PASSWORD
    )
    later = make_customer_number(
        email=EMAIL, language=LANGUAGE, issuer=make_issuer(prefix="DL5", name="Lease BE")
    )
    _invitation, token = invitations.invitation_issue(customer_number=later)

    with translation.override(LANGUAGE):
        page.goto(reverse("documents:activate", kwargs={"token": token}))
    expect(page.get_by_role("heading", level=1)).to_have_text(t("You already have an account"))
    expect(page.get_by_text(later.code)).to_be_visible()
    axe_check(page)
    field(page, "Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name=t("Log on")).click()

    expect(page).to_have_url(re.compile(re.escape(path("documents:list")) + r"(\?.*)?$"))
    assert User.objects.count() == 1
    assert set(CustomerNumber.objects.filter(account=User.objects.get())) == {first, later}
