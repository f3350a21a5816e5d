"""Reading the audit trail."""

from datetime import datetime

from django.db.models import QuerySet

from guichet.audit.models import AuditEvent
from guichet.identity.models import User

VIEW_PERMISSION = "audit.view_auditevent"


def events_filtered(
    *,
    viewer: User,
    action: str | None = None,
    actor: User | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEvent]:
    """Events the viewer may see (all of them with the view permission, none otherwise), newest first.

    ``since`` is inclusive, ``until`` exclusive.
    """
    if not viewer.has_perm(VIEW_PERMISSION):
        return AuditEvent.objects.none()
    events = AuditEvent.objects.order_by("-seq")
    if action is not None:
        events = events.filter(action=action)
    if actor is not None:
        events = events.filter(actor_id=actor.pk)
    if since is not None:
        events = events.filter(occurred_at__gte=since)
    if until is not None:
        events = events.filter(occurred_at__lt=until)
    return events
