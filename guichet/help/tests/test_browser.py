"""The public pages in Chromium: languages, language switch, contact form, keyboard, mobile, WCAG.

Elements are found by role and accessible name, as a screen reader finds
them, and expected texts come from the catalogues of each language.
"""

import re

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from guichet.help.models import ContactMessage, Topic

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]

LANGUAGES = [code for code, _name in settings.LANGUAGES]
# Page -> (URL name, msgid of its main heading).
PAGES = {
    "home": ("home", "Welcome to %(name)s"),
    "help": ("help:index", "Questions and answers"),
    "troubleshooting": ("help:troubleshooting", "Troubleshooting"),
    "browsers": ("help:browsers", "Supported browsers"),
    "contact": ("help:contact", "Contact us"),
}


def t(language: str, msgid: str) -> str:
    """The text a visitor reads in that language, with the institution's name filled in."""
    with translation.override(language):
        text = gettext(msgid)
    return text % {"name": settings.GUICHET_INSTITUTION_NAME} if "%(" in msgid else text


def path_of(page_name: str, language: str = "fr") -> str:
    with translation.override(language):
        return reverse(PAGES[page_name][0])


def heading_of(page_name: str, language: str = "fr") -> str:
    return t(language, PAGES[page_name][1])


# --- Pages in each language -----------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("page_name", list(PAGES))
def test_page_is_served_in_each_language(page, page_name, language):
    response = page.goto(path_of(page_name, language))

    assert response.status == 200
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.get_by_role("heading", level=1)).to_have_text(heading_of(page_name, language))
    expect(page.get_by_role("link", name=t(language, "Skip to main content"))).to_be_attached()


@pytest.mark.parametrize(
    ("browser_locale", "language"),
    [("de-DE", "de"), ("nl-BE", "nl"), ("fr-BE", "fr"), ("es-ES", "fr")],
)
def test_root_redirects_to_the_browser_language_or_french(new_page, browser_locale, language):
    page = new_page(locale=browser_locale)

    page.goto("/")

    assert page.url.endswith(f"/{language}/")
    expect(page.locator("html")).to_have_attribute("lang", language)


# --- Language switch --------------------------------------------------------------------


def switch_language(page, *, current: str, to: str) -> None:
    page.get_by_label(t(current, "Language")).select_option(to)
    page.get_by_role("button", name=t(current, "Change language")).click()


@pytest.mark.parametrize("javascript", [True, False], ids=["with-javascript", "without-javascript"])
def test_language_switch_keeps_the_page_and_remembers_the_choice(new_page, javascript):
    page = new_page(java_script_enabled=javascript, locale="fr-BE")
    page.goto(path_of("help", "fr"))

    switch_language(page, current="fr", to="nl")

    page.wait_for_url(re.compile(r"/nl/help/$"))
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    expect(page.get_by_role("heading", level=1)).to_have_text(heading_of("help", "nl"))
    expect(page.get_by_label(t("nl", "Language"))).to_have_value("nl")
    page.goto("/")
    assert page.url.endswith("/nl/")


def test_language_switch_works_when_the_browser_prefers_another_language(new_page):
    page = new_page(locale="en-GB")  # e.g. a French page opened from a French e-mail
    page.goto(path_of("help", "fr"))

    switch_language(page, current="fr", to="nl")

    page.wait_for_url(re.compile(r"/nl/help/$"), timeout=3_000)


def test_language_options_are_named_in_their_own_language(page):
    page.goto(path_of("home"))

    options = page.get_by_label(t("fr", "Language")).locator("option")

    expect(options).to_have_text(["Français", "Nederlands", "English", "Deutsch"])
    assert [options.nth(i).get_attribute("lang") for i in range(4)] == LANGUAGES


# --- Contact form -----------------------------------------------------------------------


def fill_contact_form(page, language: str = "fr", *, message: str) -> None:
    page.get_by_label(t(language, "Your name")).fill("Camille Martin")
    page.get_by_label(t(language, "Your e-mail address")).fill("camille.martin@example.com")
    page.get_by_label(t(language, "Customer reference (optional)")).fill("CC100001")
    page.get_by_label(t(language, "Topic")).select_option(Topic.PAYMENTS.value)
    page.get_by_label(t(language, "Your message")).fill(message)


def send_button(page, language: str = "fr"):
    return page.get_by_role("button", name=t(language, "Send message"))


def error_summary(page):
    # A generic container (no landmark role), named by its heading; JavaScript focuses it.
    return page.locator(".error-summary")


@pytest.mark.parametrize("javascript", [True, False], ids=["with-javascript", "without-javascript"])
def test_contact_form_stores_the_message_and_confirms(new_page, javascript):
    page = new_page(java_script_enabled=javascript)
    page.goto(path_of("contact", "nl"))

    fill_contact_form(page, "nl", message="Mijn tweede termijn is twee keer afgeschreven.")
    send_button(page, "nl").click()

    page.wait_for_url(re.compile(r"/nl/help/contact/sent/(#.*)?$"))
    message = ContactMessage.objects.get()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        t("nl", "Thank you, your message has been sent")
    )
    expect(page.get_by_role("main")).to_contain_text(message.tracking_number)
    assert (message.name, message.email, message.customer_reference) == (
        "Camille Martin",
        "camille.martin@example.com",
        "CC100001",
    )
    assert (message.topic, message.language, message.status) == (Topic.PAYMENTS, "nl", "new")
    assert message.message == "Mijn tweede termijn is twee keer afgeschreven."


def test_invalid_contact_form_lists_the_errors_and_marks_the_fields(page):
    page.goto(path_of("contact"))

    send_button(page).click()

    summary = error_summary(page)
    expect(summary).to_be_focused()
    expect(page).to_have_title(re.compile("^" + re.escape(t("fr", "Error:"))))
    expect(summary.get_by_role("heading")).to_have_text(t("fr", "There is a problem"))
    expect(summary.get_by_role("link")).to_have_count(4)  # name, e-mail, topic, message
    for label in ["Your name", "Your e-mail address", "Topic", "Your message"]:
        expect(page.get_by_label(t("fr", label))).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label(t("fr", "Customer reference (optional)"))).not_to_have_attribute(
        "aria-invalid", "true"
    )
    summary.get_by_role("link").first.click()
    expect(page.get_by_label(t("fr", "Your name"))).to_be_focused()
    assert ContactMessage.objects.count() == 0


def test_invalid_contact_form_without_javascript_shows_the_summary_and_keeps_the_input(new_page):
    page = new_page(java_script_enabled=False)
    page.goto(path_of("contact"))
    page.get_by_label(t("fr", "Your name")).fill("Camille Martin")

    send_button(page).click()

    expect(error_summary(page)).to_be_visible()
    expect(page.get_by_label(t("fr", "Your name"))).to_have_value("Camille Martin")
    expect(page.get_by_label(t("fr", "Your e-mail address"))).to_have_attribute("aria-invalid", "true")
    assert ContactMessage.objects.count() == 0


def test_contact_form_refuses_a_card_number_and_stores_nothing(page):
    page.goto(path_of("contact"))
    fill_contact_form(page, message="Ma carte 4111 1111 1111 1111 est bloquée.")

    send_button(page).click()

    message_field = page.get_by_label(t("fr", "Your message"))
    expect(message_field).to_have_attribute("aria-invalid", "true")
    expect(error_summary(page)).to_contain_text(
        t("fr", "Please remove the card number from your message: we never need it.")
    )
    assert ContactMessage.objects.count() == 0


# --- Keyboard and small screens ---------------------------------------------------------


@pytest.mark.parametrize("page_name", ["home", "contact"])
def test_first_tab_reaches_the_skip_link_which_moves_focus_to_main(page, page_name):
    page.goto(path_of(page_name))

    page.keyboard.press("Tab")

    skip_link = page.get_by_role("link", name=t("fr", "Skip to main content"))
    expect(skip_link).to_be_focused()
    expect(skip_link).to_be_visible()  # visible when focused, for sighted keyboard users
    page.keyboard.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()


@pytest.mark.parametrize("page_name", list(PAGES))
def test_no_horizontal_scrolling_at_320_css_pixels(new_page, page_name):
    page = new_page(viewport={"width": 320, "height": 640}, is_mobile=True, device_scale_factor=2)

    page.goto(path_of(page_name, "de"))  # German has the longest words

    assert page.evaluate("document.documentElement.scrollWidth") <= 320


# --- Accessibility (axe-core) -----------------------------------------------------------


@pytest.mark.parametrize("page_name", list(PAGES))
def test_page_has_no_wcag_violation(axe_page, axe_check, page_name):
    axe_page.goto(path_of(page_name))

    axe_check(axe_page)


def test_contact_form_with_errors_has_no_wcag_violation(axe_page, axe_check):
    axe_page.goto(path_of("contact"))
    send_button(axe_page).click()
    expect(error_summary(axe_page)).to_be_visible()

    axe_check(axe_page)


def test_not_found_page_has_no_wcag_violation(axe_page, axe_check):
    response = axe_page.goto("/fr/no-such-page/")

    assert response.status == 404
    expect(axe_page.get_by_role("heading", level=1)).to_have_text(t("fr", "Page not found"))
    axe_check(axe_page)


def test_development_outbox_has_no_wcag_violation(axe_page, axe_check):
    response = axe_page.goto("/dev/outbox/")

    assert response.status == 200
    axe_check(axe_page)
