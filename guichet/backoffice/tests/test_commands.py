from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from guichet.backoffice.services import advisor_group
from guichet.identity.models import User

pytestmark = pytest.mark.django_db
ARGS = ["--user-id", "advisor2", "--email", "a2@bank.example", "--first-name", "Noor"]


def create_advisor(*args: str, passwords: tuple[str, str] = ("", "")) -> str:
    out = StringIO()
    with mock.patch("getpass.getpass", side_effect=passwords):
        call_command("create_advisor", *args, stdout=out)
    return out.getvalue()


def test_creates_an_advisor_with_a_password() -> None:
    output = create_advisor(*ARGS, passwords=("Conseil-Secret-2026!", "Conseil-Secret-2026!"))

    advisor = User.objects.get(user_id="advisor2")
    assert output == "Advisor advisor2 created.\n"
    assert advisor.check_password("Conseil-Secret-2026!")
    assert (advisor.is_staff, advisor.first_name, list(advisor.groups.all())) == (
        True,
        "Noor",
        [advisor_group()],
    )


def test_creates_an_advisor_awaiting_onboarding() -> None:
    create_advisor(*ARGS, "--no-password")

    assert not User.objects.get(user_id="advisor2").has_usable_password()


@pytest.mark.parametrize(
    ("passwords", "message"),
    [
        (("Conseil-Secret-2026!", "Conseil-Secret-2027!"), "The two passwords differ."),
        (("12345678", "12345678"), "The password must contain an upper-case letter."),
    ],
)
def test_refuses_bad_passwords(passwords: tuple[str, str], message: str) -> None:
    with pytest.raises(CommandError, match=message), translation.override("en"):
        create_advisor(*ARGS, passwords=passwords)

    assert not User.objects.filter(user_id="advisor2").exists()


def test_refuses_an_existing_user_id() -> None:
    create_advisor(*ARGS, "--no-password")

    with pytest.raises(CommandError, match="already exists"):
        create_advisor(*ARGS, "--no-password")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--user-id", "", "--email", "a2@bank.example"], "--user-id: This field cannot be blank."),
        (["--user-id", "   ", "--email", "a2@bank.example"], "--user-id: This field cannot be blank."),
        (["--user-id", "advisor2", "--email", "not-an-email"], "--email: Enter a valid email address."),
        (["--user-id", "advisor2", "--email", ""], "--email: Enter a valid email address."),
        (
            ["--user-id", "x" * 151, "--email", "a2@bank.example"],
            "--user-id: Ensure this value has at most 150 characters (it has 151).",
        ),
        (
            ["--user-id", "", "--email", "nope"],
            "--email: Enter a valid email address. --user-id: This field cannot be blank.",
        ),
    ],
)
@pytest.mark.parametrize("password_option", [[], ["--no-password"]], ids=["password", "no-password"])
def test_refuses_bad_input_and_creates_nothing(
    arguments: list[str], message: str, password_option: list[str]
) -> None:
    passwords = ("Conseil-Secret-2026!", "Conseil-Secret-2026!")

    with pytest.raises(CommandError) as raised, translation.override("en"):
        create_advisor(*arguments, *password_option, passwords=passwords)

    assert str(raised.value) == message
    assert User.objects.count() == 0


def test_bad_input_is_reported_in_the_active_language() -> None:
    with pytest.raises(CommandError) as raised, translation.override("fr"):
        create_advisor("--user-id", "advisor2", "--email", "not-an-email", "--no-password")

    assert str(raised.value) == "--email: Saisissez une adresse e-mail valide."
    assert User.objects.count() == 0


def test_the_user_id_and_email_are_stripped() -> None:
    create_advisor("--user-id", " advisor2 ", "--email", " a2@bank.example ", "--no-password")

    assert User.objects.filter(is_staff=True).values_list("user_id", "email").get() == (
        "advisor2",
        "a2@bank.example",
    )
