import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import translation
from django.utils.translation import ngettext

from guichet.audit.models import AuditEvent
from guichet.help.models import ContactMessage
from guichet.help.services import contact_message_submit

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:help_contactmessage_changelist"


@pytest.fixture
def message() -> ContactMessage:
    return contact_message_submit(
        name="Pieter Janssens",
        email="pieter.janssens@example.com",
        topic="users",
        message="Ik kan geen gebruiker toevoegen.",
        reference="",
        language="nl",
    )


@pytest.fixture
def operator(client):
    user = get_user_model().objects.create_superuser("operator", "operator@example.com")
    client.force_login(user)
    return user


@pytest.fixture
def advisor_without_rights(client):
    user = get_user_model().objects.create_user("advisor2", "advisor2@example.com", is_staff=True)
    client.force_login(user)
    return user


def test_changelist_lists_filters_and_searches(client, operator, message):
    response = client.get(
        reverse(CHANGELIST), {"q": "janssens", "status__exact": "new", "topic__exact": "users"}
    )

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [message]
    assert message.tracking_number in response.text


def test_the_message_is_read_only_except_its_status(client, operator, message):
    response = client.get(reverse("admin:help_contactmessage_change", args=[message.pk]))

    form_fields = list(response.context["adminform"].form.fields)
    assert form_fields == ["status"]


def test_changing_the_status_in_the_form_goes_through_the_service(client, operator, message):
    response = client.post(
        reverse("admin:help_contactmessage_change", args=[message.pk]),
        {"status": "handled", "message": "tampered", "email": "x@example.com"},
    )

    assert response.status_code == 302
    message.refresh_from_db()
    assert (message.status, message.message, message.email) == (
        "handled",
        "Ik kan geen gebruiker toevoegen.",
        "pieter.janssens@example.com",
    )
    assert (
        AuditEvent.objects.filter(action="help.contact_message_status_changed", actor_id=operator.pk).count()
        == 1
    )


def test_mark_handled_action(client, operator, message):
    response = client.post(
        reverse(CHANGELIST), {"action": "mark_handled", "_selected_action": [message.pk]}, follow=True
    )

    with translation.override("fr"):
        expected = ngettext(
            "%(count)d message marked as handled.", "%(count)d messages marked as handled.", 1
        ) % {"count": 1}
    assert expected == "1 message marqué comme traité."
    assert [str(m) for m in response.context["messages"]] == [expected]
    assert expected in response.text
    message.refresh_from_db()
    assert message.status == "handled"


def test_messages_cannot_be_added_in_the_back_office(client, operator):
    assert client.get(reverse("admin:help_contactmessage_add")).status_code == 403


def test_staff_without_the_permission_cannot_see_messages(client, advisor_without_rights, message):
    assert client.get(reverse(CHANGELIST)).status_code == 403


def test_view_permission_alone_shows_messages_but_cannot_change_them(client, advisor_without_rights, message):
    advisor_without_rights.user_permissions.add(Permission.objects.get(codename="view_contactmessage"))

    assert client.get(reverse(CHANGELIST)).status_code == 200
    response = client.post(reverse(CHANGELIST), {"action": "mark_handled", "_selected_action": [message.pk]})

    message.refresh_from_db()
    assert message.status == "new"
    assert response.status_code == 200  # the action is not offered: Django shows the list again
