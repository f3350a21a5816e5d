"""Seed 002 (MyUnifiedPost) in Chromium: a new user with an activation code, through the e-mailed
link, to the documents; an existing user adds a second code; opt-out then re-activation; a code
refused in a second account; an expired code refused. Expected texts come from the catalogues."""

import re

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from guichet.documents import codes
from guichet.documents.codes import CodeError, CodeErrorCode
from guichet.documents.models import CustomerNumber, DeliveryChannelChange
from guichet.documents.testing import (
    make_activation_code,
    make_customer_number,
    make_document,
    make_issuer,
    make_recipient,
)
from guichet.identity.models import AccountKind, User
from guichet.identity.testing import last_email

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]

LANGUAGE = "fr"
NEW_PASSWORD = "Blue-Lagoon-2026!"
Reason = DeliveryChannelChange.Reason


@pytest.fixture(autouse=True)
def _fresh_rate_limits(settings):
    cache.clear()
    # Business accounts also enrol strong authentication at login (identity's policy, with its own
    # browser tests); these journeys go from the password straight to the documents.
    settings.GUICHET_SCA_REQUIRED_KINDS = ["staff"]
    yield
    cache.clear()


def t(msgid: str) -> str:
    with translation.override(LANGUAGE):
        return gettext(msgid)


def refusal(code: CodeErrorCode) -> str:
    with translation.override(LANGUAGE):
        return CodeError(code).message


def path(name: str, **kwargs) -> str:
    with translation.override(LANGUAGE):
        return reverse(name, kwargs=kwargs or None)


def field(page, msgid: str):
    return page.get_by_label(re.compile(r"^\s*" + re.escape(t(msgid)) + r"\s*:?\s*$"))


def log_in(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": key, "url": live_server.url}])


def test_new_user_from_the_login_page_through_the_link_to_the_documents(
    axe_page, axe_check, live_server, settings
):
    settings.GUICHET_PUBLIC_URL = live_server.url
    number = make_customer_number(
        number="123456",
        email="finance@dupont.example",
        language=LANGUAGE,
        customer_name="Dupont Logistique SA",
        company_number="0403.170.701",
    )
    make_document(number, number="F2026-000777")
    _issued, plain = make_activation_code(number)
    page = axe_page

    page.goto(path("account_login"))
    page.get_by_role("link", name=t("I am a new user")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("I am a new user"))
    axe_check(page)

    # A typing mistake first: "not valid", nothing more.
    field(page, "Activation code").fill("ABCD-EFGH-JKMN-PQRS")
    page.get_by_role("button", name=t("Confirm")).click()
    expect(page).to_have_title(re.compile("^" + re.escape(t("Error:"))))
    expect(page.get_by_role("alert")).to_contain_text(refusal(CodeErrorCode.INVALID))
    axe_check(page)

    field(page, "Activation code").fill(plain.lower().replace("-", " "))
    page.get_by_role("button", name=t("Confirm")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Confirm your company and e-mail address"))
    expect(page.get_by_text("Dupont Logistique SA")).to_be_visible()
    expect(page.locator("#future-user-id")).to_contain_text("BE0403170701")
    expect(field(page, "E-mail address")).to_have_value("finance@dupont.example")
    axe_check(page)
    field(page, "E-mail address").fill("boss@dupont.example")
    page.get_by_role("button", name=t("Confirm")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Check your e-mail"))
    axe_check(page)

    body = last_email("boss@dupont.example").body
    link = re.search(re.escape(live_server.url) + r"/\S+/documents/new-user/link/\S+/", body).group(0)
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Choose your password"))
    expect(page.get_by_text("BE0403170701")).to_be_visible()
    axe_check(page)
    field(page, "Password").fill(NEW_PASSWORD)
    field(page, "Confirm the password").fill(NEW_PASSWORD)
    page.get_by_role("button", name=t("Create my account")).click()

    expect(page).to_have_url(re.compile(re.escape(path("documents:list")) + r"(\?.*)?$"), timeout=20_000)
    expect(page.get_by_role("link", name="F2026-000777")).to_be_visible()
    user = User.objects.get()
    assert (user.user_id, user.email, user.kind) == (
        "BE0403170701",
        "boss@dupont.example",
        AccountKind.BUSINESS,
    )
    number.refresh_from_db()
    assert (number.account, number.electronic_delivery) == (user, True)

    # Later, the company number in its usual spelling logs on.
    page.context.clear_cookies()
    page.goto(path("account_login"))
    field(page, "User ID or e-mail address").fill("0403.170.701")
    field(page, "Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name=t("Log on")).click()
    expect(page).not_to_have_url(re.compile(re.escape(path("account_login")) + "$"), timeout=20_000)
    page.goto(path("documents:list"))
    expect(page.get_by_role("link", name="F2026-000777")).to_be_visible()


def test_an_existing_user_adds_a_second_code(axe_page, axe_check, live_server):
    owner = make_recipient(email="claire.dupont@example.com", language=LANGUAGE)
    make_customer_number(number="111111", account=owner, electronic_delivery=True)
    second = make_customer_number(
        issuer=make_issuer(prefix="DL5", name="Aubépine Lease Belgium"), number="555555"
    )
    make_document(second, number="F2026-DL5")
    _issued, plain = make_activation_code(second)
    page = axe_page
    log_in(page, live_server, owner)

    page.goto(path("documents:customer_numbers"))
    expect(page.get_by_role("heading", level=2, name=t("Activation codes"))).to_be_visible()
    axe_check(page)
    page.get_by_role("link", name=t("Add an activation code")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Add an activation code"))
    axe_check(page)
    field(page, "Activation code").fill(plain)
    page.get_by_role("button", name=t("Add the code")).click()

    expect(page).to_have_url(re.compile(re.escape(path("documents:customer_numbers")) + "$"))
    expect(page.get_by_role("status")).to_contain_text("DL5 555555")
    expect(page.get_by_role("row", name=re.compile("DL5 555555"))).to_contain_text(t("Electronic"))
    axe_check(page)
    page.goto(path("documents:list"))
    expect(page.get_by_role("link", name="F2026-DL5")).to_be_visible()
    assert set(CustomerNumber.objects.filter(account=owner).values_list("number", flat=True)) == {
        "111111",
        "555555",
    }


def test_opt_out_then_reactivation(axe_page, axe_check, live_server):
    owner = make_recipient(email="claire.dupont@example.com", language=LANGUAGE)
    number = make_customer_number(number="123456")
    _issued, plain = make_activation_code(number)
    codes.activation_code_redeem(code=plain, user=owner)
    page = axe_page
    log_in(page, live_server, owner)

    page.goto(path("documents:customer_numbers"))
    page.get_by_role("link", name=re.compile("DL2 123456")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("DL2 123456")
    axe_check(page)
    page.get_by_role("link", name=t("Stop electronic delivery")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Stop electronic delivery"))
    axe_check(page)
    page.get_by_role("button", name=t("Stop electronic delivery")).click()

    expect(page.get_by_role("status")).to_contain_text("DL2 123456")
    expect(page.get_by_text(t("Paper: new documents are sent by post."))).to_be_visible()
    axe_check(page)
    number.refresh_from_db()
    assert number.electronic_delivery is False

    page.get_by_role("button", name=t("Re-activate electronic delivery")).click()

    expect(page.get_by_text(t("Electronic: new documents arrive here, no paper."))).to_be_visible()
    history = page.get_by_role("region", name=t("History"))
    expect(history.get_by_role("row")).to_have_count(4)  # the header and three changes
    axe_check(page)
    number.refresh_from_db()
    assert number.electronic_delivery is True
    assert list(DeliveryChannelChange.objects.order_by("pk").values_list("reason", flat=True)) == [
        Reason.ACTIVATION_CODE,
        Reason.OPT_OUT,
        Reason.REACTIVATION,
    ]


def test_a_code_is_refused_in_a_second_account(axe_page, axe_check, live_server):
    first = make_recipient(email="claire.dupont@example.com", language=LANGUAGE)
    number = make_customer_number(number="123456")
    _issued, plain = make_activation_code(number)
    codes.activation_code_redeem(code=plain, user=first)
    second = make_recipient(email="someone.else@example.com", language=LANGUAGE)
    page = axe_page
    log_in(page, live_server, second)

    page.goto(path("documents:activation_code_add"))
    field(page, "Activation code").fill(plain)
    page.get_by_role("button", name=t("Add the code")).click()

    expect(page).to_have_title(re.compile("^" + re.escape(t("Error:"))))
    expect(page.get_by_role("alert")).to_contain_text(refusal(CodeErrorCode.USED_ELSEWHERE))
    axe_check(page)
    number.refresh_from_db()
    assert number.account == first

    # "I am a new user" refuses it the same way.
    page.context.clear_cookies()
    page.goto(path("documents:enrol_code"))
    field(page, "Activation code").fill(plain)
    page.get_by_role("button", name=t("Confirm")).click()
    expect(page.get_by_role("alert")).to_contain_text(refusal(CodeErrorCode.USED_ELSEWHERE))


def test_an_expired_code_is_refused(axe_page, axe_check):
    number = make_customer_number(number="123456")
    _issued, plain = make_activation_code(number, weeks_ago=16)
    page = axe_page

    page.goto(path("documents:enrol_code"))
    field(page, "Activation code").fill(plain)
    page.get_by_role("button", name=t("Confirm")).click()

    expect(page).to_have_title(re.compile("^" + re.escape(t("Error:"))))
    expect(page.get_by_role("alert")).to_contain_text(refusal(CodeErrorCode.EXPIRED))
    axe_check(page)
    assert not User.objects.exists()
