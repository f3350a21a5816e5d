"""Notification preferences: the services (only the customer numbers a user sees, audited, waiting
digest entries follow) and the "Customer numbers" page for each role."""

import pytest
from django.urls import reverse

from guichet.audit.models import AuditEvent
from guichet.documents import preferences
from guichet.documents.models import Frequency, NotificationPreference, PendingNotice
from guichet.documents.preferences import PreferenceError, PreferenceErrorCode
from guichet.documents.testing import (
    make_customer_number,
    make_document,
    make_issuer,
    make_recipient,
    make_shared_user,
)

pytestmark = pytest.mark.django_db

URL = "/en/documents/customer-numbers/"


@pytest.fixture
def world():
    owner = make_recipient(email="claire.dupont@example.com", language="fr")
    first = make_customer_number(
        issuer=make_issuer(prefix="DL2", name="Aubépine Lease Services"),
        number="111111",
        account=owner,
        customer_name="Dupont SA",
    )
    second = make_customer_number(
        issuer=make_issuer(prefix="DL5", name="Aubépine Lease Belgium"), number="555555", account=owner
    )
    accountant = make_recipient(email="kim.peeters@example.com", language="nl")
    make_shared_user(owner, email=accountant.email, user=accountant, shares=[first])
    outsider = make_recipient(email="other@example.com", language="en")
    foreign = make_customer_number(number="999999", account=outsider, customer_name="Other BV")
    return owner, accountant, outsider, first, second, foreign


def written() -> tuple[int, int, int]:
    return NotificationPreference.objects.count(), PendingNotice.objects.count(), AuditEvent.objects.count()


# --- Services -----------------------------------------------------------------------------------


def test_the_default_is_immediately(world):
    owner, accountant, _outsider, first, second, _foreign = world

    assert preferences.frequencies(user=owner, customer_number_ids=[first.pk, second.pk]) == {
        first.pk: "immediately",
        second.pk: "immediately",
    }
    assert preferences.frequency_of(user=accountant, customer_number=first) == "immediately"


def test_a_primary_contact_and_a_shared_user_set_their_own_and_it_is_audited(world):
    owner, accountant, _outsider, first, second, _foreign = world

    changed = preferences.preferences_set(
        user=owner, choices={first.pk: Frequency.DAILY, second.pk: Frequency.IMMEDIATELY}
    )
    preferences.preferences_set(user=accountant, choices={first.pk: Frequency.WEEKLY})

    assert changed == {first.pk: "daily"}
    assert preferences.frequency_of(user=owner, customer_number=first) == "daily"
    assert preferences.frequency_of(user=accountant, customer_number=first) == "weekly"
    events = list(AuditEvent.objects.filter(action="documents.preference_changed").order_by("seq"))
    assert [(e.actor_id, e.details) for e in events] == [
        (owner.pk, {"customer_number": "DL2 111111", "from": "immediately", "to": "daily"}),
        (accountant.pk, {"customer_number": "DL2 111111", "from": "immediately", "to": "weekly"}),
    ]


@pytest.mark.parametrize("who", ["accountant", "outsider"])
def test_a_customer_number_not_seen_is_not_found_and_nothing_is_written(world, who):
    _owner, accountant, outsider, first, second, foreign = world
    user, number = {"accountant": (accountant, second), "outsider": (outsider, first)}[who]
    before = written()

    with pytest.raises(PreferenceError) as refused:
        preferences.preferences_set(user=user, choices={foreign.pk: "daily", number.pk: "daily"})

    assert refused.value.code == PreferenceErrorCode.NOT_FOUND
    assert written() == before


def test_an_unknown_frequency_is_refused_and_nothing_is_written(world):
    owner, _accountant, _outsider, first, _second, _foreign = world
    before = written()

    with pytest.raises(PreferenceError) as refused:
        preferences.preferences_set(user=owner, choices={first.pk: "hourly"})

    assert refused.value.code == PreferenceErrorCode.INVALID_FREQUENCY
    assert refused.value.message == "Choose how often you want to be told of new documents."
    assert written() == before


def test_waiting_digest_entries_follow_the_new_choice(world):
    owner, _accountant, _outsider, first, second, _foreign = world
    preferences.preferences_set(user=owner, choices={first.pk: "daily", second.pk: "daily"})
    on_first = PendingNotice.objects.create(user=owner, document=make_document(first), frequency="daily")
    on_second = PendingNotice.objects.create(user=owner, document=make_document(second), frequency="daily")

    preferences.preferences_set(user=owner, choices={first.pk: "weekly", second.pk: "never"})

    assert PendingNotice.objects.get(pk=on_first.pk).frequency == "weekly"
    assert not PendingNotice.objects.filter(pk=on_second.pk).exists()


# --- The page -----------------------------------------------------------------------------------


def test_the_page_lists_the_numbers_seen_with_the_role_and_setting(client, world):
    owner, accountant, _outsider, first, _second, _foreign = world
    preferences.preferences_set(user=accountant, choices={first.pk: "weekly"})

    client.force_login(owner)
    page = client.get(URL).content.decode()
    assert "DL2 111111" in page and "DL5 555555" in page and "DL2 999999" not in page
    assert "Dupont SA" in page and "Aubépine Lease Belgium" in page
    assert page.count("Primary contact</td>") == 2

    client.force_login(accountant)
    page = client.get(URL).content.decode()
    assert "DL2 111111" in page and "DL5 555555" not in page
    assert "Shared with you</td>" in page
    assert '<option value="weekly" selected>' in page
    assert f'<th scope="row" id="number-{first.pk}">DL2 111111</th>' in page
    assert f'aria-labelledby="number-{first.pk} notifications-column"' in page


def test_saving_the_page_changes_only_the_users_settings(client, world):
    owner, _accountant, _outsider, first, second, foreign = world
    client.force_login(owner)

    response = client.post(
        URL,
        {
            f"frequency_{first.pk}": "daily",
            f"frequency_{second.pk}": "never",
            f"frequency_{foreign.pk}": "never",
        },
    )

    assert response.status_code == 302 and response["Location"] == URL
    assert dict(NotificationPreference.objects.values_list("customer_number_id", "frequency")) == {
        first.pk: "daily",
        second.pk: "never",
    }
    assert "Your notification settings are saved." in client.get(URL).content.decode()


def test_a_bad_value_shows_an_error_and_saves_nothing(client, world):
    owner, _accountant, _outsider, first, second, _foreign = world
    client.force_login(owner)
    before = written()

    response = client.post(URL, {f"frequency_{first.pk}": "hourly", f"frequency_{second.pk}": "daily"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "<title>Error: Customer numbers" in page and "Choose one of the settings in the list." in page
    assert written() == before


def test_someone_without_customer_numbers_is_told_so(client, db):
    client.force_login(make_recipient(email="nobody@example.com"))

    page = client.get(URL).content.decode()

    assert (
        "You do not see any customer number yet." in page
        and 'action="/en/documents/customer-numbers/"' not in page
    )


def test_anonymous_is_sent_to_log_on_and_nothing_is_written(client, world):
    _owner, _accountant, _outsider, first, _second, _foreign = world
    before = written()

    for response in (client.get(URL), client.post(URL, {f"frequency_{first.pk}": "never"})):
        assert response.status_code == 302 and reverse("account_login") in response["Location"]
    assert written() == before
