"""The password policy: the seeds' rule, a block-list, no personal data, no reuse."""

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import translation

from guichet.identity.password_validation import CharacterClassValidator, hint_validate
from guichet.identity.services import password_set
from guichet.identity.testing import make_provisioned


def _codes(password, user=None):
    try:
        validate_password(password, user)
    except ValidationError as error:
        return {e.code for e in error.error_list}
    return set()


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("Ab1!", "password_too_short"),
        ("abcdef1!x", "password_no_upper"),
        ("ABCDEF1!X", "password_no_lower"),
        ("Abcdefg!h", "password_no_digit"),
        ("Abcdefg1h", "password_no_special"),
    ],
)
def test_each_failed_rule_is_named(password, code):
    assert code in _codes(password)


def test_a_password_meeting_the_seed_rule_passes():
    assert _codes("Velo-Rouge-73") == set()


def test_common_passwords_are_blocked():
    assert "password_too_common" in _codes("Password1!")


def test_the_messages_are_translated():
    with translation.override("fr"), pytest.raises(ValidationError) as error:
        CharacterClassValidator().validate("abc")
    assert all("password" not in str(m).lower() for m in error.value.messages)


def test_the_rules_for_the_browser_follow_the_configuration():
    rules = CharacterClassValidator(min_length=12, classes=["upper", "digit"]).rules()
    assert [r["name"] for r in rules] == ["length", "upper", "digit"]
    assert rules[0]["min"] == 12


@pytest.mark.django_db
@pytest.mark.parametrize(
    "password", ["Cc100001-Rouge!", "Lucie-Velo-73!", "Dubois-Velo-73!", "Velo-lucie.dubois-7!"]
)
def test_personal_data_is_refused(password):
    user = make_provisioned(user_id="CC100001", email="lucie.dubois@example.com")
    assert "password_contains_personal_data" in _codes(password, user)


@pytest.mark.django_db
def test_none_of_the_last_five_passwords_may_come_back():
    user = make_provisioned()
    passwords = [f"Velo-Rouge-{n}!" for n in range(10, 16)]
    for password in passwords:
        password_set(user=user, password=password)
        user.refresh_from_db()

    assert "password_reused" in _codes(passwords[-1], user)
    assert "password_reused" in _codes(passwords[-5], user)
    assert "password_reused" not in _codes(passwords[0], user)


@pytest.mark.django_db
@override_settings(
    AUTH_PASSWORD_VALIDATORS=[
        {
            "NAME": "guichet.identity.password_validation.CharacterClassValidator",
            "OPTIONS": {"min_length": 12, "classes": ["digit"]},
        }
    ]
)
def test_the_policy_is_configurable():
    assert _codes("abcdefghij1") == {"password_too_short"}
    assert _codes("abcdefghijk1") == set()


@pytest.mark.parametrize(
    "hint",
    [
        "it is Velo-Rouge-73 of course",
        "Velo-Rouge-7",  # all but the last character
        "v e l o r o u g e 7 3",
        "velo rouge",  # half of it
    ],
)
def test_a_hint_may_not_give_the_password_away(hint):
    with pytest.raises(ValidationError):
        hint_validate(hint=hint, password="Velo-Rouge-73")


@pytest.mark.parametrize("hint", ["my first bike", "colour of the bike and the year", "rouge"])
def test_a_hint_about_the_password_is_allowed(hint):
    hint_validate(hint=hint, password="Velo-Rouge-73")
