from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from guichet.notifications.models import Channel, Message


def mask_recipient(*, channel: str, recipient: str) -> str:
    """``c•••@example.com`` or ``+3247•••••89``: enough to recognise, not to copy."""
    if channel == Channel.EMAIL:
        local, _at, domain = recipient.partition("@")
        return f"{local[:1]}•••@{domain}"
    return f"{recipient[:5]}{'•' * max(len(recipient) - 7, 0)}{recipient[-2:]}"


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """Read-only: operators see what happened to a message, never its content."""

    list_display = ["channel", "masked_recipient", "template", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status", "channel"]
    fields = [
        "channel",
        "masked_recipient",
        "template",
        "language",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error_kind",
        "last_error",
        "provider_reference",
        "created_at",
        "sent_at",
    ]
    readonly_fields = fields
    date_hierarchy = "created_at"
    show_full_result_count = False

    @admin.display(description=_("recipient"))
    def masked_recipient(self, message: Message) -> str:
        return mask_recipient(channel=message.channel, recipient=message.recipient)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False
