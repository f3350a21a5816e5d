"""The sandbox provider's card page alone, in Chromium: by keyboard only, axe-clean (with and without
errors), a test card returning to the return URL with ``?session=``, Cancel, and a closed session."""

import pytest
from playwright.sync_api import expect

from guichet.paylater.sandbox import provider
from guichet.paylater.sandbox.models import SandboxCard, SandboxSession

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def session(live_server, settings):
    settings.GUICHET_PUBLIC_URL = ""  # no notification task: nothing listens for it here
    created = provider.SandboxGateway().setup_session_create(
        reference="CMD-E2E", return_url=f"{live_server.url}/healthz?from=sandbox", language="en"
    )
    return created


def test_a_card_entered_by_keyboard_returns_with_the_session(page, session, axe_page, axe_check) -> None:
    axe_page.goto(session.redirect_url)
    axe_check(axe_page)

    page.goto(session.redirect_url)
    expect(page.get_by_text("Sandbox payment provider — test mode").first).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your card")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Card number")).to_be_focused()
    page.keyboard.type("4242 4242 4242 4242")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Expiry date (MM/YY)")).to_be_focused()
    page.keyboard.type("12/30")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Security code")).to_be_focused()
    page.keyboard.type("123")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/healthz?from=sandbox&session={session.id}")
    card = SandboxCard.objects.get()
    assert (card.brand, card.last4, card.expiry_month, card.expiry_year) == ("visa", "4242", 12, 2030)
    assert SandboxSession.objects.get().status == "completed"


def test_errors_are_announced_and_the_number_is_not_kept(page, session, axe_page, axe_check) -> None:
    for current in (axe_page, page):
        current.goto(session.redirect_url)
        current.get_by_label("Card number").fill("4111 1111 1111 1111")
        current.get_by_label("Expiry date (MM/YY)").fill("01/20")
        current.get_by_label("Security code").fill("123")
        current.get_by_role("button", name="Save the card").click()
    axe_check(axe_page)
    summary = page.get_by_role("alert")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("This test page accepts only the test card numbers listed on it.")
    expect(summary).to_contain_text("This card has expired.")
    expect(page.get_by_label("Card number")).to_have_value("")
    expect(page.get_by_label("Card number")).to_have_attribute("aria-invalid", "true")
    assert "4111" not in page.content()
    assert not SandboxCard.objects.exists()


def test_cancel_returns_without_a_card(page, session) -> None:
    page.goto(session.redirect_url)
    page.get_by_role("button", name="Cancel and go back").click()
    page.wait_for_url(f"**/healthz?from=sandbox&session={session.id}")
    assert SandboxSession.objects.get().status == "cancelled"
    page.goto(session.redirect_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("This card session is over")


def test_an_unknown_session_page_is_accessible(axe_page, axe_check, live_server) -> None:
    axe_page.goto(f"{live_server.url}/sandbox-provider/sessions/00000000-0000-0000-0000-000000000000/")
    expect(axe_page.get_by_role("heading", level=1)).to_have_text("Unknown card session")
    axe_check(axe_page)
