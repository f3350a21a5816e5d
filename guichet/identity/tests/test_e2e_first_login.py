"""Seed 000, first login, in Chromium: user ID and temporary password → masked number → SMS code
(read from the outbox) → new password and hint → user agreement → home; then the new password
logs in directly. Expected texts come from the catalogues (pages under /fr/)."""

import re

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from guichet.identity.models import AgreementAcceptance, User
from guichet.identity.testing import TEMPORARY_PASSWORD, agreement_publish, last_sms_code, make_provisioned

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]

NEW_PASSWORD = "Blue-Tulip-7319?"
PHONE = "+32470123412"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def t(msgid: str, language: str = "fr") -> str:
    with translation.override(language):
        return gettext(msgid)


def field(page, msgid: str):
    """The form control whose label starts with the translated text (labels end with a colon)."""
    return page.get_by_label(re.compile(r"^\s*" + re.escape(t(msgid))))


def path(name: str) -> str:
    with translation.override("fr"):
        return reverse(name)


def log_on(page, user_id: str, password: str) -> None:
    page.goto(path("account_login"))
    field(page, "User ID or e-mail address").fill(user_id)
    field(page, "Password").fill(password)
    page.get_by_role("button", name=t("Log on")).click()


def expect_step(page, number: int) -> None:
    expect(
        page.get_by_text(t("Step %(current)s of %(total)s") % {"current": number, "total": 4})
    ).to_be_visible()
    expect(page.locator('[aria-current="step"]')).to_have_count(1)


def walk_first_login(page, check=lambda page: None) -> None:
    """From the login page to the home page, running ``check`` on every step."""
    log_on(page, "CC100001", TEMPORARY_PASSWORD)

    expect(page).to_have_url(re.compile(re.escape(path("identity:onboarding_phone")) + "$"))
    expect_step(page, 1)
    page.get_by_label("+32 4•• •• •• 12").check()
    check(page)
    page.get_by_role("button", name=t("Send the code")).click()

    expect(page).to_have_url(re.compile(re.escape(path("identity:onboarding_code")) + "$"))
    expect_step(page, 2)
    field(page, "Code received").fill(last_sms_code(PHONE))
    check(page)
    page.get_by_role("button", name=t("Continue")).click()

    expect(page).to_have_url(re.compile(re.escape(path("identity:onboarding_password")) + "$"))
    expect_step(page, 3)
    field(page, "New password").fill(NEW_PASSWORD)
    field(page, "Confirm the new password").fill(NEW_PASSWORD)
    field(page, "Password hint (optional)").fill("flower and colour")
    check(page)
    page.get_by_role("button", name=t("Save")).click()

    expect(page).to_have_url(re.compile(re.escape(path("identity:agreement")) + "$"))
    expect_step(page, 4)
    expect(page.get_by_role("heading", level=2, name="User agreement v1 (fr)")).to_be_visible()
    check(page)
    field(page, "I have read and accept the user agreement").check()
    page.get_by_role("button", name=t("Accept")).click()

    expect(page).to_have_url(re.compile(re.escape(path("home")) + "$"))


def test_first_login_journey_then_the_new_password_logs_in_directly(page):
    user = make_provisioned(temporary=True)
    agreement_publish(version=1)

    walk_first_login(page)

    user.refresh_from_db()
    assert not user.password_is_temporary
    assert AgreementAcceptance.objects.filter(user=user, version=1, language="fr").exists()
    page.goto(path("account_login"))  # a logged-in visitor is sent on from the login page
    expect(page).to_have_url(re.compile(re.escape(path("home")) + "$"))

    page.context.clear_cookies()
    log_on(page, "CC100001", NEW_PASSWORD)
    expect(page).to_have_url(re.compile(re.escape(path("home")) + "$"))
    assert User.objects.get(pk=user.pk).failed_login_count == 0


def test_every_step_passes_axe(axe_page, axe_check):
    make_provisioned(temporary=True)
    agreement_publish(version=1)
    axe_page.goto(path("account_login"))
    axe_check(axe_page)

    walk_first_login(axe_page, check=axe_check)


def test_the_password_checklist_follows_typing(page):
    make_provisioned(temporary=True)
    log_on(page, "CC100001", TEMPORARY_PASSWORD)
    page.get_by_role("button", name=t("Send the code")).click()
    field(page, "Code received").fill(last_sms_code(PHONE))
    page.get_by_role("button", name=t("Continue")).click()
    password_input = field(page, "New password")

    password_input.press_sequentially("abc")

    expect(page.locator('[data-rule="lower"]')).to_have_attribute("data-met", "true")
    expect(page.locator('[data-rule="upper"]')).to_have_attribute("data-met", "false")
    expect(page.locator('[data-rule="length"]')).to_have_attribute("data-met", "false")
    status = page.locator("[data-rules-status]")
    expect(status).to_have_text(re.compile(r"\b1\b.*\b5\b"))  # announced once the user pauses
    password_input.press_sequentially("D-12345")
    for rule in ("length", "upper", "lower", "digit", "special"):
        expect(page.locator(f'[data-rule="{rule}"]')).to_have_attribute("data-met", "true")
    expect(status).to_have_text(t("All password rules are met."))
    described = password_input.get_attribute("aria-describedby") or ""
    assert "id_password1_rules" in described.split()


def test_a_later_step_typed_in_the_address_bar_goes_back_to_the_current_one(page):
    make_provisioned(temporary=True)
    log_on(page, "CC100001", TEMPORARY_PASSWORD)

    for name in ("identity:onboarding_code", "identity:onboarding_password", "identity:agreement"):
        page.goto(path(name))
        expect(page).to_have_url(re.compile(re.escape(path("identity:onboarding_phone")) + "$"))


def test_steps_fit_a_320_pixel_screen(new_page):
    page = new_page(viewport={"width": 320, "height": 640}, is_mobile=True, device_scale_factor=2)
    make_provisioned(temporary=True)
    agreement_publish(version=1)

    walk_first_login(page, check=lambda p: _no_horizontal_scroll(p))


def _no_horizontal_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
