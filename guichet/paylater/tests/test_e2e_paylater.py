"""Seed 003 in Chromium, in French: a consumer's first login with the e-mail of their order, their
schedules, a card change (accepted, a brand not accepted, an expiry too early, inside the cut-off),
then regularising an unpaid schedule in 3 payments (accepted) and another in 1 (refused, with the
click-to-call link to the collections department).

Cards are typed on the sandbox provider's own page; operations are signed with a code by SMS (the
mobile given at purchase), read from the SMS outbox. Each page of the journey passes axe (WCAG 2.1
AA); the choices and the buttons are used with the keyboard.
"""

import datetime
import re

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext
from playwright.sync_api import expect

from guichet.identity.testing import last_email, last_sms_code
from guichet.paylater import schedules
from guichet.paylater.models import ScheduleStatus
from guichet.paylater.testing import make_consumer_with_password, make_order, make_unpaid_schedule

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]

EMAIL = "camille.martin@example.com"
PHONE = "+32470123456"  # given at purchase: the number signing codes go to
NEW_PASSWORD = "Orange-Kayak-4417?"
NBSP = "\u00a0"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def t(msgid: str) -> str:
    with translation.override("fr"):
        return gettext(msgid)


def pay_in(count: int) -> str:
    """The label of the choice "I pay in N payment(s)" as the French page shows it."""
    with translation.override("fr"):
        return ngettext("I pay in %(counter)s payment", "I pay in %(counter)s payments", count) % {
            "counter": count
        }


def path(name: str, **kwargs) -> str:
    with translation.override("fr"):
        return reverse(name, kwargs=kwargs or None)


def field(page, msgid: str):
    return page.get_by_label(re.compile(r"^\s*" + re.escape(t(msgid))))


def eur(amount: str) -> str:
    return f"{amount}{NBSP}€"


def first_login(page) -> None:
    """ "First login" with the order's e-mail: a code by e-mail, then a password; lands on the home page."""
    page.goto(path("identity:consumer_first_login"))
    field(page, "E-mail address").fill(EMAIL)
    page.get_by_role("button", name=t("Send me a code")).click()
    body = last_email(EMAIL).body
    code = re.search(r"^\s*([A-Z0-9]{3,}(?:-[A-Z0-9]+)*)\s*$", body, re.MULTILINE).group(1)
    field(page, "Code").fill(code)
    page.get_by_role("button", name=t("Continue")).click()
    page.locator("input[name=password1]").fill(NEW_PASSWORD)
    page.locator("input[name=password2]").fill(NEW_PASSWORD)
    page.get_by_role("button", name=t("Save")).click()
    expect(page).to_have_url(re.compile(re.escape(path("home")) + "$"))


def log_in(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": key, "url": live_server.url}])


def order_heading(number: str) -> str:
    return t("Order no. %(number)s") % {"number": number}


def block(page, number: str):
    return page.locator("article.schedule", has=page.get_by_role("heading", name=order_heading(number)))


def press(locator) -> None:
    """Activates a button or link from the keyboard."""
    locator.focus()
    expect(locator).to_be_focused()
    locator.press("Enter")


def card_page(page, number: str, expiry: str, cvc: str = "123") -> None:
    """The sandbox provider's card page: the card typed there, then back to Guichet."""
    expect(page).to_have_url(re.compile(r"/sandbox-provider/sessions/"))
    field(page, "Card number").fill(number)
    field(page, "Expiry date (MM/YY)").fill(expiry)
    field(page, "Security code").fill(cvc)
    page.get_by_role("button", name=t("Save the card")).click()


def sign_by_sms(page, axe_check=None) -> None:
    """The signing page: a code by SMS to the purchase mobile, typed back."""
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Confirm the operation"))
    if axe_check:
        axe_check(page)
    prefix = t("Send me a code by SMS to %(number)s").split("%(number)s")[0]
    page.get_by_role("button", name=re.compile("^" + re.escape(prefix))).click()
    field(page, "6-digit code").fill(last_sms_code(PHONE))
    page.get_by_role("button", name=t("Confirm")).click()


def mm_yy(day: datetime.date) -> str:
    return f"{day.month:02d}/{day.year % 100:02d}"


def test_first_login_then_schedules_then_card_changes(axe_page, axe_check):
    page = axe_page
    today = timezone.localdate()
    ok = make_order(number="CMD-CARTE", purchased_on=today)  # next debit in 30 days, last in 60
    cutoff = make_order(number="CMD-PROCHE", purchased_on=today - datetime.timedelta(days=25))  # in 5 days

    # First login with the order's e-mail, then "My schedules" from the main menu.
    first_login(page)
    page.get_by_role("navigation", name=t("Main")).get_by_role("link", name=t("My schedules")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("My schedules"))
    card_block = block(page, "CMD-CARTE")
    expect(card_block.locator("table caption")).to_be_visible()
    expect(card_block.locator("tbody tr").first).to_contain_text(eur("42,66"))
    expect(card_block).to_contain_text(
        t("The date of your debit is indicative; it may move by a day or two.")
    )
    expect(page.get_by_role("link", name=t("See my finished schedules"))).to_be_visible()
    expect(page.locator("#paylater-contact")).to_contain_text(t("Contact"))
    axe_check(page)

    # 1. Change accepted (Visa 4242), signed by SMS.
    press(card_block.get_by_role("button", name=re.compile("^" + re.escape(t("Change")))))
    axe_check(page)
    card_page(page, "4242 4242 4242 4242", "11/31")
    sign_by_sms(page, axe_check)
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Card changed"))
    expect(page.get_by_role("status")).to_contain_text("4242")
    expect(page.get_by_role("status")).to_contain_text("11/2031")
    axe_check(page)
    card = schedules.current_card(ok.schedule)
    assert (card.last4, card.expiry_month, card.expiry_year) == ("4242", 11, 2031)

    # 2. A brand not accepted (American Express): refused with the reason, nothing signed.
    page.goto(path("paylater:schedules"))
    press(block(page, "CMD-CARTE").get_by_role("button", name=re.compile("^" + re.escape(t("Change")))))
    card_page(page, "3782 822463 10005", "12/30", cvc="1234")
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Card not changed"))
    expect(page.get_by_role("alert")).to_contain_text(
        t("This card is not accepted: only Visa and Mastercard cards are.")
    )
    axe_check(page)

    # 3. An expiry before the last instalment (in 60 days): refused, with that date.
    page.goto(path("paylater:schedules"))
    press(block(page, "CMD-CARTE").get_by_role("button", name=re.compile("^" + re.escape(t("Change")))))
    card_page(page, "5555 5555 5555 4444", mm_yy(today + datetime.timedelta(days=10)))
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Card not changed"))
    last = (today + datetime.timedelta(days=60)).strftime("%d/%m/%Y")
    expect(page.get_by_role("alert")).to_contain_text(last)

    # 4. Inside the cut-off (the next debit is in 5 days): refused before the provider's page.
    page.goto(path("paylater:schedules"))
    press(block(page, "CMD-PROCHE").get_by_role("button", name=re.compile("^" + re.escape(t("Change")))))
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Card not changed"))
    next_debit = (today + datetime.timedelta(days=5)).strftime("%d/%m/%Y")
    expect(page.get_by_role("alert")).to_contain_text(next_debit)
    axe_check(page)

    assert schedules.current_card(ok.schedule).last4 == "4242"
    assert schedules.current_card(cutoff.schedule).expiry_year == 2030  # unchanged


def test_regularise_in_3_accepted_then_in_1_refused(axe_page, axe_check, live_server):
    page = axe_page
    in_three = make_unpaid_schedule(number="CMD-TROIS")
    in_one = make_unpaid_schedule(number="CMD-UNE")
    log_in(page, live_server, make_consumer_with_password())

    # In 3 payments, chosen with the keyboard; accepted with 4242.
    page.goto(path("paylater:schedules"))
    expect(block(page, "CMD-TROIS")).to_contain_text(t("Unpaid"))
    expect(
        block(page, "CMD-TROIS").get_by_role("button", name=re.compile(re.escape(t("Change"))))
    ).to_have_count(0)
    press(
        block(page, "CMD-TROIS")
        .locator(".schedule-status")
        .get_by_role("link", name=re.compile(t("Regularise")))
    )
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Regularise your unpaid amount"))
    expect(page.locator("legend")).to_contain_text(eur("159,18"))
    expect(page.locator("form.regularise-form")).to_contain_text(eur("79,59"))
    expect(page.locator("form.regularise-form")).to_contain_text(eur("53,06"))
    axe_check(page)
    first_choice = page.locator("#id_count_1")
    first_choice.focus()
    page.keyboard.press("Space")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(page.locator("#id_count_3")).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name=t("Pay"))).to_be_focused()
    page.keyboard.press("Enter")
    sign_by_sms(page, axe_check)
    card_page(page, "4242 4242 4242 4242", "12/30")
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Payment accepted"))
    expect(page.locator(".outcome")).to_contain_text(eur("53,06"))
    status = page.locator(".schedule-status")
    expect(status).to_contain_text(t("Being regularised"))
    expect(status).to_contain_text(eur("53,06"))
    axe_check(page)
    in_three.refresh_from_db()
    assert in_three.status == ScheduleStatus.REGULARISING

    # In 1 payment, refused (4000 0000 0000 0002): the reason and the click-to-call link.
    page.goto(path("paylater:regularise", pk=in_one.pk))
    page.get_by_label(re.compile(re.escape(pay_in(1)))).check()
    page.get_by_role("button", name=t("Pay")).click()
    sign_by_sms(page)
    card_page(page, "4000 0000 0000 0002", "12/30")
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Payment refused"))
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(eur("159,18"))
    tel = alert.get_by_role("link", name=settings.GUICHET_COLLECTIONS_PHONE)
    digits = "".join(c for c in settings.GUICHET_COLLECTIONS_PHONE if c.isdigit() or c == "+")
    expect(tel).to_have_attribute("href", f"tel:{digits}")
    axe_check(page)
    in_one.refresh_from_db()
    assert in_one.status == ScheduleStatus.UNPAID
