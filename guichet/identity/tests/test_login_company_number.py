"""A business account logs on with its company number in any usual spelling, or its e-mail
address; a wrong check digit is answered like a wrong password (nothing tells that a number
exists); consumer and provisioned identifiers are left as typed."""

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from guichet.identity.adapter import company_user_id, login_identifier
from guichet.identity.models import AccountKind, User
from guichet.identity.testing import PASSWORD, make_provisioned

pytestmark = pytest.mark.django_db

COMPANY = "BE0403170701"
EMAIL = "finance@dupont.example"


@pytest.fixture(autouse=True)
def _no_strong_authentication_step(settings):
    # The login stages for business accounts (strong authentication) are tested with identity's SCA;
    # here the password step alone decides.
    settings.GUICHET_SCA_REQUIRED_KINDS = ["staff"]


@pytest.fixture
def business():
    return User.objects.create_user(COMPANY, EMAIL, password=PASSWORD, kind=AccountKind.BUSINESS)


def post_login(client, login: str, password: str):
    with translation.override("fr"):
        url = reverse("account_login")
    return client.post(url, {"login": login, "password": password}, secure=True)


def error_of(response) -> str:
    return response.context["form"].non_field_errors()[0]


@pytest.mark.parametrize(
    "typed",
    ["BE0403170701", "0403.170.701", "BE 0403 170 701", "be0403170701", " 0403170701 ", "403170701", EMAIL],
)
def test_a_business_account_logs_on_with_its_company_number_or_e_mail(client, business, typed):
    response = post_login(client, typed, PASSWORD)

    assert response.status_code == 302
    with translation.override("fr"):
        assert response.url == reverse("home")
    assert client.session.get("_auth_user_id") == str(business.pk)


def test_a_wrong_check_digit_is_answered_like_a_wrong_password(client, business):
    wrong_digit = error_of(post_login(client, "0403.170.702", PASSWORD))
    wrong_password = error_of(post_login(client, COMPANY, "Wrong-Pass-1!"))
    unknown_number = error_of(post_login(client, "0404.167.307", PASSWORD))

    with translation.override("fr"):
        expected = gettext("The user ID or the password is not correct.")
    assert wrong_digit == wrong_password == unknown_number == expected
    assert "_auth_user_id" not in client.session


def test_failures_by_company_number_count_against_the_account(client, business):
    post_login(client, "0403.170.701", "Wrong-Pass-1!")
    post_login(client, EMAIL, "Wrong-Pass-1!")

    business.refresh_from_db()
    assert business.failed_login_count == 2


def test_the_login_identifier():
    business = User.objects.create_user(COMPANY, EMAIL, kind=AccountKind.BUSINESS)
    consumer = User.objects.create_user("anna@example.com", "anna@example.com", kind=AccountKind.CONSUMER)
    provisioned = make_provisioned()

    assert login_identifier("be 0403.170.701") == business.user_id
    assert login_identifier("Finance@Dupont.example") == business.user_id
    assert (
        login_identifier("Anna@Example.com") == "Anna@Example.com"
    )  # its own user ID, matched ignoring case
    assert login_identifier(consumer.email) == consumer.user_id
    assert login_identifier(provisioned.user_id) == provisioned.user_id
    assert login_identifier("0403.170.702") == "0403.170.702"
    assert login_identifier("") == ""


def test_an_e_mail_shared_by_two_business_accounts_is_not_an_identifier():
    User.objects.create_user(COMPANY, EMAIL, kind=AccountKind.BUSINESS)
    User.objects.create_user("BE0404167307", EMAIL, kind=AccountKind.BUSINESS)

    assert login_identifier(EMAIL) == EMAIL


def test_an_identifier_that_is_a_user_id_is_never_rewritten():
    # A provisioned user ID that happens to be a valid Belgian number stays as it is.
    user = User.objects.create_user("403170701", "x@example.com", kind=AccountKind.PROVISIONED)

    assert login_identifier("403170701") == user.user_id


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("0403.170.701", COMPANY),
        ("BE 0403 170 701", COMPANY),
        ("be0403170701", COMPANY),
        ("403170701", COMPANY),
        ("0403.170.702", None),
        ("NL123456789B01", None),
        ("anna@example.com", None),
        ("", None),
    ],
)
def test_company_user_id(typed, expected):
    assert company_user_id(typed) == expected


def test_the_login_page_offers_the_new_user_journey(client):
    with translation.override("fr"):
        response = client.get(reverse("account_login"), secure=True)
        enrol = reverse("documents:enrol_code")
        label = gettext("I am a new user")

    html = response.content.decode()
    assert f'<a href="{enrol}">{label}</a>' in html
