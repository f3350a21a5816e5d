import json

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from guichet.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only for everyone, superusers included: the trail is append-only."""

    list_display = ("seq", "occurred_at", "action", "actor_label", "target_display", "ip_address")
    list_filter = ("action", ("occurred_at", admin.DateFieldListFilter))
    search_fields = ("actor_label", "target_label", "target_id", "target_type", "=request_id")
    ordering = ("-seq",)
    show_full_result_count = False
    list_per_page = 50
    fields = (
        "seq",
        "occurred_at",
        "action",
        "actor_label",
        "actor_pk",
        "target_type",
        "target_id",
        "target_label",
        "ip_address",
        "user_agent",
        "request_id",
        "details_display",
        "prev_hash",
        "hash",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    @admin.display(description=_("target"))
    def target_display(self, event: AuditEvent) -> str:
        return event.target_label or event.target_id

    @admin.display(description=_("actor's internal ID"))
    def actor_pk(self, event: AuditEvent) -> int | None:
        return event.actor_id

    @admin.display(description=_("details"))
    def details_display(self, event: AuditEvent) -> SafeString:
        return format_html("<pre>{}</pre>", json.dumps(event.details, indent=2, ensure_ascii=False))
