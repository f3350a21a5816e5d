"""Writes of the help app: contact messages."""

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from guichet.audit.services import record
from guichet.help.channels import contact_channels
from guichet.help.models import ContactMessage
from guichet.notifications.services import notify


def _contact_form_handled() -> str:
    return next((c.handled for c in contact_channels() if c.kind == "contact_form"), "")


@transaction.atomic
def contact_message_submit(
    *,
    name: str,
    email: str,
    topic: str,
    message: str,
    reference: str,
    language: str,
    request: HttpRequest | None = None,
) -> ContactMessage:
    """Stores a message from the contact form and acknowledges it by e-mail.

    The acknowledgement carries none of the submitted text: anyone can type any
    address into the form, and our mail must not relay their words to it.
    """
    msg = ContactMessage.objects.create(
        name=name,
        email=email,
        topic=topic,
        message=message,
        customer_reference=reference,
        language=language,
    )
    record(
        action="help.contact_message_submitted",
        actor=None,
        target=msg,
        request=request,
        details={"topic": topic},
    )
    notify(
        template="help_contact_received",
        # The institution's name and support phone come from the notifications' branding context.
        context={"tracking_number": msg.tracking_number, "handled": _contact_form_handled()},
        email=email,
        language=language,
        channels=("email",),
        idempotency_key=f"help-contact-{msg.pk}",
    )
    return msg


@transaction.atomic
def contact_message_set_status(
    *,
    message: ContactMessage,
    status: str,
    acting_user: AbstractBaseUser,
    request: HttpRequest | None = None,
) -> bool:
    """Marks a message handled (or new again); returns whether anything changed."""
    if status not in ContactMessage.Status.values:
        raise ValueError(f"Unknown contact message status {status!r}")
    locked = ContactMessage.objects.select_for_update().get(pk=message.pk)
    if locked.status == status:
        return False
    previous = locked.status
    locked.status = status
    locked.handled_at = timezone.now() if status == ContactMessage.Status.HANDLED else None
    locked.save(update_fields=["status", "handled_at"])
    record(
        action="help.contact_message_status_changed",
        actor=acting_user,
        target=locked,
        request=request,
        details={"from": previous, "to": status},
    )
    message.status, message.handled_at = locked.status, locked.handled_at
    return True
