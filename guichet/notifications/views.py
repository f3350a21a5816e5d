"""The development outbox: every e-mail and SMS the outbox backends "sent"."""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from guichet.notifications.selectors import outbox_entries_latest


def _require_outbox() -> None:
    if not settings.GUICHET_DEV_OUTBOX:
        raise Http404


@require_GET
def outbox(request: HttpRequest) -> HttpResponse:
    _require_outbox()
    return render(request, "notifications/outbox.html", {"entries": outbox_entries_latest()})


@require_GET
def outbox_json(request: HttpRequest) -> JsonResponse:
    _require_outbox()
    entries = [
        {
            "channel": entry.channel,
            "recipient": entry.recipient,
            "subject": entry.subject,
            "body": entry.body,
            "time": entry.created_at.isoformat(),
        }
        for entry in outbox_entries_latest()
    ]
    return JsonResponse(entries, safe=False)
