"""Four-eyes transfers in Chromium: a preparer prepares a transfer, cannot validate it; a validator
reviews it and signs it with an authenticator app (the signing page shows amount and payee).
Accessibility (axe) on the list, the form and the validation review; a 320 px wide phone.

Users are logged in with a session cookie made by Django's test client (the logon has its own tests).
"""

import time

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation
from playwright.sync_api import expect

from guichet.backoffice.tests.factories import away_from_the_next_time_step
from guichet.banking.models import Transfer, TransferStatus, Validation
from guichet.banking.tests.transfer_factories import make_team, prepare, prepare_batch, tomorrow
from guichet.entities.testing import VALIDATOR, make_member
from guichet.identity.models import SignedProof

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]


def url(name: str, *args) -> str:
    with translation.override("en"):
        return reverse(name, args=args or None)


def log_in(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": key, "url": live_server.url}])


def totp_now(secret: str) -> str:
    """The app's code, typed well inside its 30 s step (one typed as the step ends is refused)."""
    away_from_the_next_time_step()
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def test_prepare_then_validate_with_an_authenticator_app(new_page, live_server):
    team = make_team()
    secret = generate_totp_secret()
    TOTP.activate(team.validator, secret)

    # A director (who holds the validation right too) prepares the transfer.
    director = make_member(team.entity, rights=VALIDATOR, first_name="Dora", last_name="Director")
    preparer = new_page(viewport={"width": 1280, "height": 900})
    log_in(preparer, live_server, director)
    preparer.goto(url("banking:transfers"))
    preparer.get_by_role("link", name="Prepare a transfer").click()
    preparer.get_by_label("Account to debit").select_option(str(team.account.pk))
    preparer.get_by_label("Beneficiary's name").fill("Dupont SRL")
    preparer.get_by_label("Beneficiary's IBAN").fill("be71 0961 2345 6769")
    preparer.get_by_label("Amount in euro").fill("1250.50")
    preparer.get_by_label("Execution date").fill(tomorrow().isoformat())
    preparer.get_by_label("Structured reference (optional)").fill("+++010/8068/17183+++")
    preparer.get_by_role("button", name="Prepare the transfer").click()

    expect(preparer.get_by_role("heading", level=1)).to_have_text("Transfer to Dupont SRL")
    transfer = Transfer.objects.get()
    assert (transfer.structured_reference, transfer.prepared_by) == ("010806817183", director)

    # The same person cannot validate it: no button, and the URL sends back with the reason.
    expect(preparer.get_by_role("link", name="Validate")).to_have_count(0)
    preparer.goto(url("banking:transfer_validate", transfer.pk))
    expect(preparer.get_by_role("status")).to_contain_text("another user with the validation right")

    # The validator finds it waiting, reviews it, signs it.
    validator = new_page(viewport={"width": 1280, "height": 900})
    log_in(validator, live_server, team.validator)
    validator.goto(url("banking:transfers") + "?show=waiting")
    validator.get_by_role("link", name="Dupont SRL").click()
    validator.get_by_role("link", name="Validate").click()
    expect(validator.get_by_role("heading", level=1)).to_have_text("Validate the order")
    validator.get_by_role("button", name="Sign and validate").click()

    expect(validator.get_by_role("heading", level=1)).to_have_text("Confirm the operation")
    signed = validator.locator("dl")
    expect(signed).to_contain_text("1,250.50 EUR")
    expect(signed).to_contain_text("Dupont SRL")
    expect(signed).to_contain_text("BE71 0961 2345 6769")
    validator.get_by_label("6-digit code").fill(totp_now(secret))
    validator.get_by_role("button", name="Confirm").click()

    expect(validator.get_by_role("status")).to_have_text("Validated. The order will be sent to the bank.")
    expect(validator.get_by_role("heading", level=1)).to_have_text("Transfer to Dupont SRL")
    expect(validator.get_by_text("Validated by Vera Validator")).to_be_visible()
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.VALIDATED
    assert Validation.objects.get().user == team.validator
    assert SignedProof.objects.get().consumed_at is not None


def test_pages_pass_axe(axe_page, axe_check, live_server):
    team = make_team()
    transfer = prepare(team)
    prepare_batch(team, lines=2)
    log_in(axe_page, live_server, team.validator)

    axe_page.goto(url("banking:transfers"))
    expect(axe_page.get_by_role("table")).to_be_visible()
    axe_check(axe_page)

    axe_page.goto(url("banking:transfer_new"))
    axe_page.get_by_role("button", name="Prepare the transfer").click()
    expect(axe_page.get_by_role("alert")).to_be_visible()
    axe_check(axe_page)

    axe_page.goto(url("banking:batch_new"))
    axe_check(axe_page)

    axe_page.goto(url("banking:transfer_validate", transfer.pk))
    expect(axe_page.get_by_role("heading", level=1)).to_have_text("Validate the order")
    axe_check(axe_page)

    axe_page.goto(url("banking:transfer_detail", transfer.pk))
    axe_check(axe_page)


def test_pages_fit_a_320_pixel_screen(new_page, live_server):
    team = make_team()
    transfer = prepare(team, beneficiary_name="Établissements Vandenbroucke-Van Der Straeten")
    batch = prepare_batch(team, lines=2)
    page = new_page(viewport={"width": 320, "height": 640})
    log_in(page, live_server, team.validator)
    for address in [
        url("banking:transfers"),
        url("banking:transfer_new"),
        url("banking:batch_new"),
        url("banking:transfer_detail", transfer.pk),
        url("banking:batch_detail", batch.pk),
        url("banking:transfer_validate", transfer.pk),
    ]:
        page.goto(address)
        assert page.evaluate("document.documentElement.scrollWidth") <= 320, address
