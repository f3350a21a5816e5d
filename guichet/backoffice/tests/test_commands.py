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
        (("12345678", "12345678"), "This password is too common. This password is entirely numeric."),
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
