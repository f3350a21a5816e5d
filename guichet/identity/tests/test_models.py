"""The user model: login identifier, contact details, kinds."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext

from guichet.identity.models import AccountKind

pytestmark = pytest.mark.django_db
User = get_user_model()


def test_create_user_normalises_the_email_domain():
    user = User.objects.create_user("CC100001", email="Lucie.Dubois@EXAMPLE.COM")

    user.refresh_from_db()
    assert user.email == "Lucie.Dubois@example.com"


def test_mobile_phone_is_stored_in_e164():
    User.objects.create_user("CC100001", mobile_phone="+32 470 12 34 12")

    stored = User.objects.values_list("mobile_phone", flat=True).get(user_id="CC100001")
    assert stored == "+32470123412"


def test_a_national_number_without_country_is_invalid():
    user = User(user_id="CC100001", mobile_phone="0470 12 34 12")

    with pytest.raises(ValidationError) as error:
        user.full_clean(exclude=["password"])

    assert set(error.value.message_dict) == {"mobile_phone"}


def test_user_id_must_be_unique_with_a_clear_message():
    User.objects.create_user("CC100001")
    duplicate = User(user_id="CC100001")

    with pytest.raises(ValidationError) as error:
        duplicate.validate_unique()

    # The message is lazy: it is translated when read, in the language active at that moment.
    with translation.override("en"):
        assert error.value.message_dict == {"user_id": ["A user with this user ID already exists."]}
    with translation.override("fr"):
        expected = gettext("A user with this user ID already exists.")
        assert error.value.message_dict == {"user_id": [expected]}
    assert expected == "Un utilisateur avec cet identifiant d'utilisateur existe déjà."


def test_user_id_and_email_are_distinct():
    user = User.objects.create_user("0899999949", email="anna.schmidt@example.com")

    assert user.get_username() == "0899999949"
    assert user.get_email_field_name() == "email"
    assert str(user) == "0899999949"


def test_new_user_defaults():
    user = User.objects.create_user("CC100001")

    assert user.kind == AccountKind.PROVISIONED
    assert user.preferred_language == "fr"
    assert user.is_active
    assert not user.is_staff
    assert not user.has_usable_password()


def test_create_user_with_a_password_hashes_it():
    user = User.objects.create_user("CC100001", password="Carte-Demo-2026!")

    assert user.password != "Carte-Demo-2026!"
    assert user.check_password("Carte-Demo-2026!")


def test_create_superuser_is_staff_of_kind_staff():
    admin = User.objects.create_superuser("admin", password="Operateur-Demo-2026!")

    assert (admin.kind, admin.is_staff, admin.is_superuser) == (AccountKind.STAFF, True, True)


def test_kinds_are_the_four_account_kinds():
    assert [kind.value for kind in AccountKind] == ["provisioned", "business", "consumer", "staff"]


@pytest.mark.parametrize(
    ("first", "last", "full", "short"),
    [("Lucie", "Dubois", "Lucie Dubois", "Lucie"), ("", "", "CC100001", "CC100001")],
)
def test_names_fall_back_to_the_user_id(first, last, full, short):
    user = User(user_id="CC100001", first_name=first, last_name=last)

    assert (user.get_full_name(), user.get_short_name()) == (full, short)


def test_user_ids_are_unique_ignoring_case():
    from django.db import IntegrityError, transaction

    User.objects.create_user("CC100001")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user("cc100001")
