from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from guichet.help.models import ContactMessage
from guichet.help.services import contact_message_set_status


@admin.register(ContactMessage)
class ContactMessageAdmin(admin.ModelAdmin):
    """Advisors read messages and mark them handled; the message itself is never edited."""

    list_display = ("tracking_number", "created_at", "name", "email", "topic", "language", "status")
    list_filter = ("status", "topic", ("created_at", admin.DateFieldListFilter))
    search_fields = ("name", "email", "customer_reference", "message")
    ordering = ("-created_at", "-pk")
    date_hierarchy = "created_at"
    list_per_page = 50
    actions = ["mark_handled"]
    fields = (
        "tracking_number",
        "created_at",
        "name",
        "email",
        "customer_reference",
        "topic",
        "language",
        "message",
        "status",
        "handled_at",
    )
    readonly_fields = tuple(field for field in fields if field != "status")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # messages come from customers only

    @admin.display(description=_("reference"), ordering="pk")
    def tracking_number(self, message: ContactMessage) -> str:
        return message.tracking_number

    def save_model(self, request: HttpRequest, obj: ContactMessage, form: ModelForm, change: bool) -> None:
        # Status changes go through the service so that each one is audited.
        contact_message_set_status(message=obj, status=obj.status, acting_user=request.user, request=request)

    @admin.action(description=_("Mark selected messages as handled"), permissions=["change"])
    def mark_handled(self, request: HttpRequest, queryset: QuerySet[ContactMessage]) -> None:
        changed = sum(
            contact_message_set_status(
                message=message,
                status=ContactMessage.Status.HANDLED,
                acting_user=request.user,
                request=request,
            )
            for message in queryset
        )
        self.message_user(
            request,
            ngettext("%(count)d message marked as handled.", "%(count)d messages marked as handled.", changed)
            % {"count": changed},
            messages.SUCCESS,
        )
