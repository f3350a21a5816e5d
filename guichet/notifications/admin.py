import re

from django.contrib import admin
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from guichet.notifications.models import Channel, Message

# Never a filter: the content holds one-time codes, the recipient and the error unmasked addresses.
REFUSED_LOOKUP_PARTS = frozenset({"body_text", "body_html", "subject", "recipient", "last_error"})
EMAIL_ADDRESS = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE_NUMBER = re.compile(r"\+?\d(?:[ .()/-]?\d){7,}")


def mask_recipient(*, channel: str, recipient: str) -> str:
    """``c•••@example.com`` or ``+3247•••••89``: enough to recognise, not to copy."""
    if channel == Channel.EMAIL:
        local, _at, domain = recipient.partition("@")
        return f"{local[:1]}•••@{domain}"
    return f"{recipient[:5]}{'•' * max(len(recipient) - 7, 0)}{recipient[-2:]}"


def mask_addresses(text: str) -> str:
    """``text`` with every e-mail address and phone number masked as ``mask_recipient`` does."""
    text = EMAIL_ADDRESS.sub(lambda m: mask_recipient(channel=Channel.EMAIL, recipient=m[0]), text)
    return PHONE_NUMBER.sub(lambda m: mask_recipient(channel=Channel.SMS, recipient=m[0]), text)


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
        "masked_last_error",
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

    @admin.display(description=_("last error"))
    def masked_last_error(self, message: Message) -> str:
        """SMTP and SMS providers quote the recipient in their replies."""
        return mask_addresses(message.last_error)

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        """Only the list filters' and date hierarchy's lookups; Django answers any other with a 400."""
        parts = lookup.split(LOOKUP_SEP)
        if REFUSED_LOOKUP_PARTS.intersection(parts):
            return False
        list_filter = self.get_list_filter(request) if request is not None else self.list_filter
        if parts[0] not in {*list_filter, self.date_hierarchy}:
            return False
        return super().lookup_allowed(lookup, value, request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False
