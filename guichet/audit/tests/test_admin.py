import pytest
from django.test import Client

from guichet.audit.services import record
from guichet.backoffice.tests.factories import make_advisor, make_customer, make_superuser

pytestmark = pytest.mark.django_db

CHANGELIST = "/backoffice/audit/auditevent/"


@pytest.fixture
def event():
    return record(action="user.created", target="CC100001", details={"fields": ["email"]})


def client_for(who: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    users = {"customer": make_customer, "advisor": make_advisor, "superuser": make_superuser}
    if who in users:
        client.force_login(users[who]())
    return client


@pytest.mark.parametrize("who", ["anonymous", "customer"])
def test_outsiders_are_sent_to_the_login_page(who: str, event) -> None:
    response = client_for(who).get(CHANGELIST)

    assert response.status_code == 302
    assert response["Location"] == f"/backoffice/login/?next={CHANGELIST}"


@pytest.mark.parametrize("who", ["advisor", "superuser"])
def test_staff_list_filter_search_and_view_events(who: str, event) -> None:
    client = client_for(who)

    listing = client.get(CHANGELIST, {"action": "user.created", "q": "CC100001"})
    detail = client.get(f"{CHANGELIST}{event.pk}/change/")

    assert listing.status_code == 200
    assert list(listing.context["cl"].result_list) == [event]
    assert detail.status_code == 200
    assert event.hash in detail.content.decode()
    assert "<form" in detail.content.decode()
    assert 'type="submit" value="Save"' not in detail.content.decode()


@pytest.mark.parametrize("who", ["advisor", "superuser"])
def test_nobody_adds_changes_or_deletes_events(who: str, event) -> None:
    client = client_for(who)
    change_url = f"{CHANGELIST}{event.pk}/change/"

    responses = [
        client.get(f"{CHANGELIST}add/"),
        client.post(f"{CHANGELIST}add/", {"action": "forged"}),
        client.post(change_url, {"action": "forged"}),
        client.get(f"{CHANGELIST}{event.pk}/delete/"),
        client.post(f"{CHANGELIST}{event.pk}/delete/", {"post": "yes"}),
        client.post(CHANGELIST, {"action": "delete_selected", "_selected_action": [event.pk]}),
    ]

    assert [response.status_code for response in responses] == [403, 403, 403, 403, 403, 200]
    event.refresh_from_db()
    assert event.action == "user.created"
