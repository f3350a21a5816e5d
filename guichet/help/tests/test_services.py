import pytest
from django.contrib.auth import get_user_model
from django_tasks_db.models import DBTaskResult

from guichet.audit.models import AuditEvent
from guichet.help.models import ContactMessage
from guichet.help.services import contact_message_set_status, contact_message_submit
from guichet.notifications.models import Message

pytestmark = pytest.mark.django_db

SECRET_TEXT = "Please call +32 470 00 00 00 about your blocked account"


def submit(**overrides: str) -> ContactMessage:
    arguments = {
        "name": "Lucie Dubois",
        "email": "lucie.dubois@example.com",
        "topic": "access",
        "message": SECRET_TEXT,
        "reference": "CC100001",
        "language": "en",
    }
    return contact_message_submit(**{**arguments, **overrides})


def test_submit_stores_audits_and_queues_one_acknowledgement():
    message = submit()

    assert message.tracking_number == f"CM-{message.pk:06d}"
    assert (ContactMessage.objects.count(), AuditEvent.objects.count()) == (1, 1)
    notification = Message.objects.get()
    task = DBTaskResult.objects.get()
    assert (task.task_path, task.args_kwargs) == (
        "guichet.notifications.tasks.deliver_message",
        {"args": [notification.pk], "kwargs": {}},
    )
    assert notification.subject == f"We have received your message ({message.tracking_number})"


def test_acknowledgement_has_text_and_html_and_never_echoes_what_was_typed():
    message = submit()

    notification = Message.objects.get()
    for body in (notification.body_text, notification.body_html):
        assert message.tracking_number in body
        assert "We handle messages the same day, during our opening hours." in body
        assert "If your question is urgent, call us on +32 2 555 01 00." in body
        assert "Banque Aubépine" in body
        assert SECRET_TEXT not in body
        assert "Lucie" not in body
    assert notification.body_text.startswith("Hello,\n\nThank you for contacting Banque Aubépine.")
    assert '<html lang="en">' in notification.body_html


def test_acknowledgement_is_rendered_in_the_visitors_language():
    submit(language="de")

    assert Message.objects.get().language == "de"


def test_acknowledgement_follows_the_configured_handling_time(settings):
    settings.GUICHET_CONTACT_CHANNELS = [
        {"kind": "contact_form", "hours": {"mon": "09:00-17:00"}, "handled": "next_business_day"}
    ]

    submit()

    assert "We handle messages by the next working day." in Message.objects.get().body_text


def test_nothing_is_stored_when_the_acknowledgement_cannot_be_queued(monkeypatch):
    def broken_notify(**kwargs: object) -> None:
        raise RuntimeError("queue unavailable")

    monkeypatch.setattr("guichet.help.services.notify", broken_notify)

    with pytest.raises(RuntimeError):
        submit()

    assert (ContactMessage.objects.count(), AuditEvent.objects.count()) == (0, 0)


@pytest.fixture
def advisor():
    return get_user_model().objects.create_user("advisor1", "advisor1@example.com", is_staff=True)


def test_marking_handled_sets_the_time_and_is_audited(advisor):
    message = submit()

    changed = contact_message_set_status(message=message, status="handled", acting_user=advisor)

    message.refresh_from_db()
    assert (changed, message.status, message.handled_at is not None) == (True, "handled", True)
    event = AuditEvent.objects.get(action="help.contact_message_status_changed")
    assert (event.actor_id, event.target_id, event.details) == (
        advisor.pk,
        str(message.pk),
        {"from": "new", "to": "handled"},
    )


def test_reopening_clears_the_handled_time(advisor):
    message = submit()
    contact_message_set_status(message=message, status="handled", acting_user=advisor)

    contact_message_set_status(message=message, status="new", acting_user=advisor)

    message.refresh_from_db()
    assert (message.status, message.handled_at) == ("new", None)


def test_setting_the_same_status_changes_and_records_nothing(advisor):
    message = submit()

    changed = contact_message_set_status(message=message, status="new", acting_user=advisor)

    assert changed is False
    assert AuditEvent.objects.filter(action="help.contact_message_status_changed").count() == 0


def test_an_unknown_status_is_refused(advisor):
    message = submit()

    with pytest.raises(ValueError, match="Unknown contact message status 'closed'"):
        contact_message_set_status(message=message, status="closed", acting_user=advisor)
