"""Seed 001 in Chromium: an administrator adds a registered person as a user, once for each way
of granting rights (copy, custom, profile), and confirms with an authenticator app (one
signature per test: a TOTP code cannot be used twice in its 30-second window). The new user
then has their user ID by e-mail and a temporary password by SMS. Axe runs on the journey's
pages, and the rights matrix fits a 320 px wide phone.

The administrator is logged in with a session cookie made by Django's test client.
"""

import re

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from guichet.entities import services
from guichet.entities.models import Person, PersonStatus, Right
from guichet.entities.testing import ACCOUNTANT, DIRECTOR, make_entity, make_member, make_person
from guichet.identity.tests.test_e2e_signing import totp_now
from guichet.notifications.sms import locmem
from guichet.notifications.testing import deliveries_run

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]

EMAIL = "jan.peeters@example.com"
JAN_PHONE = "+32470111222"


def t(msgid: str) -> str:
    with translation.override("fr"):
        return gettext(msgid)


def url(name: str, *args) -> str:
    with translation.override("fr"):
        return reverse(name, args=args or None)


def setting_up(page, live_server) -> dict:
    """An entity, its administrator (with an authenticator app), an accountant and Jan, registered."""
    entity = make_entity()
    admin = make_member(entity, rights=DIRECTOR, administrator=True, first_name="Anne", last_name="Admin")
    member = make_member(entity, rights=ACCOUNTANT, first_name="Marc", last_name="Membre")
    person = make_person(entity, first_name="Jan", last_name="Peeters")
    secret = generate_totp_secret()
    TOTP.activate(admin, secret)
    client = Client()
    client.force_login(admin)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": key, "url": live_server.url}])
    locmem.outbox.clear()
    return {"entity": entity, "admin": admin, "member": member, "person": person, "secret": secret}


def until_method(page, check=None) -> None:
    """Menu → User management → Add a user → Jan → e-mail; lands on the choice of method."""
    page.goto(url("home"))
    page.get_by_role("link", name=t("User management")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("User management"))
    check and check(page)
    page.get_by_role("link", name=t("Add a user")).click()
    page.get_by_label(re.compile("Peeters Jan")).check()
    check and check(page)
    page.get_by_role("button", name=t("Continue")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Check the personal data"))
    expect(page.locator("dl.details")).to_contain_text("+32 470 11 12 22")
    page.get_by_role("button", name=t("Continue")).click()  # no e-mail yet: refused
    expect(page.get_by_role("alert")).to_be_visible()
    check and check(page)
    page.get_by_label(t("E-mail address")).fill(EMAIL)
    page.get_by_role("button", name=t("Continue")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Choose how to grant rights"))
    check and check(page)


def confirm_and_sign(page, world, check=None) -> Person:
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Review and confirm"))
    expect(page.locator("dl.details")).to_contain_text(EMAIL)
    check and check(page)
    page.get_by_role("button", name=t("Confirm")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Confirm the operation"))
    expect(page.locator("dl")).to_contain_text("Jan Peeters")
    page.get_by_label(t("6-digit code")).fill(totp_now(world["secret"]))
    page.get_by_role("button", name=t("Confirm")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("The new user is added"))
    check and check(page)
    person = Person.objects.select_related("user").get(pk=world["person"].pk)
    assert person.status == PersonStatus.ACTIVE and person.user.sca_required
    deliveries_run()
    assert any(person.user.user_id in m.body for m in mail.outbox if m.to == [EMAIL])  # user ID by e-mail
    assert any(str(sms.to) == JAN_PHONE for sms in locmem.outbox)  # the temporary password by SMS
    return person


def test_add_a_user_by_copying_rights(page, live_server):
    world = setting_up(page, live_server)
    until_method(page)
    page.get_by_role("button", name=t("Copy the rights from another user")).click()
    page.get_by_label(re.compile("Membre Marc")).check()
    page.get_by_role("button", name=t("Continue")).click()
    expect(page.locator("table")).to_contain_text("Compte courant")
    person = confirm_and_sign(page, world)
    assert services.rights_of(entity=world["entity"], user=person.user) == services.Rights(
        services.rights_of(entity=world["entity"], user=world["member"]).resources
    )


def test_add_a_user_with_custom_rights_passes_axe(axe_page, axe_check, live_server):
    page = axe_page
    world = setting_up(page, live_server)
    until_method(page, axe_check)
    entity = world["entity"]
    account, contract = entity.accounts.order_by("label").first(), entity.contracts.order_by("label").first()
    page.get_by_role("button", name=t("Assign custom rights")).click()
    page.get_by_role("button", name=t("Continue")).click()  # nothing chosen: refused
    expect(page.get_by_role("alert")).to_be_visible()
    axe_check(page)
    page.get_by_label(str(account)).check()
    page.get_by_label(str(contract)).check()
    page.get_by_role("button", name=t("Continue")).click()
    expect(page.get_by_role("group")).to_have_count(2)
    page.get_by_role("group", name=str(account)).get_by_label(t("Consultation")).check()
    page.get_by_role("group", name=str(account)).get_by_label(t("Management")).check()
    page.get_by_role("group", name=str(contract)).get_by_label(t("Consultation")).check()
    axe_check(page)
    page.get_by_role("button", name=t("Continue")).click()
    person = confirm_and_sign(page, world, axe_check)
    rights = services.rights_of(entity=entity, user=person.user)
    assert rights.resources == {
        ("account", account.pk, Right.CONSULTATION),
        ("account", account.pk, Right.MANAGEMENT),
        ("contract", contract.pk, Right.CONSULTATION),
    }


def test_add_a_user_with_the_validator_profile_on_a_phone(new_page, live_server):
    page = new_page(viewport={"width": 320, "height": 800})
    world = setting_up(page, live_server)
    until_method(page)
    entity = world["entity"]
    with translation.override("fr"):  # the page's language, whatever another test left active
        validator = str(services.PROFILE_LABELS["validator"])
    page.get_by_role("button", name=re.compile(validator)).click()
    savings = entity.accounts.get(label="Compte épargne")
    validation = page.get_by_role("group", name=str(savings)).get_by_label(t("Validation"))
    expect(validation).to_be_checked()
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    validation.uncheck()
    page.get_by_role("button", name=t("Continue")).click()
    person = confirm_and_sign(page, world)
    rights = services.rights_of(entity=entity, user=person.user)
    assert ("account", savings.pk, Right.VALIDATION) not in rights.resources
    assert len(rights.resources) == 5 * 3 - 1 and not rights.administration
