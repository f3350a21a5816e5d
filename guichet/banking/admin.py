"""Banking in the back office: read-only lists of transfers, batches, export files and
transactions, the download of a pain.001 file, and the rejection of a transfer with its reason.

Nothing here edits a payment: the customers prepare and sign them. The one
write is "Reject", through ``banking.export.transfer_reject`` (which allows it to
staff holding ``banking.change_transfer``, rejects a whole batch before export,
and records it in the audit trail). A download is recorded too.
"""

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from guichet.audit.services import record
from guichet.banking import export
from guichet.banking.models import Batch, ExportFile, Transaction, Transfer, TransferStatus
from guichet.entities.forms_backoffice import RejectForm

REJECT_PERMISSION = "banking.change_transfer"
OPEN = (TransferStatus.PREPARED, TransferStatus.VALIDATED, TransferStatus.EXPORTED)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RejectMixin:
    """The "Reject" action: a page asking for the reason, then ``transfer_reject`` per order."""

    reject_template = "admin/banking/reject.html"

    def has_reject_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(REJECT_PERMISSION)

    def transfers_to_reject(self, queryset: QuerySet) -> list[Transfer]:
        raise NotImplementedError

    def reject_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        form = RejectForm(request.POST if "reject" in request.POST else None)
        if form.is_bound and form.is_valid():
            self._reject(request, queryset, form.cleaned_data["reason"])
            return None  # back to the list, with the messages
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "opts": self.opts,  # type: ignore[attr-defined]
            "title": gettext("Reject the selected orders"),
            "form": form,
            "orders": queryset,
            "action": request.POST.get("action", ""),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, self.reject_template, context)

    def _reject(self, request: HttpRequest, queryset: QuerySet, reason: str) -> None:
        rejected = 0
        for order in queryset:
            transfer = self.transfers_to_reject(order)
            if transfer is None:
                self.message_user(  # type: ignore[attr-defined]
                    request,
                    gettext("%(order)s: %(error)s")
                    % {"order": order, "error": export.MESSAGES[export.ExportErrorCode.WRONG_STATUS]},
                    messages.ERROR,
                )
                continue
            try:
                export.transfer_reject(
                    transfer=transfer, reason=reason, acting_user=request.user, request=request
                )
            except export.ExportError as error:
                self.message_user(  # type: ignore[attr-defined]
                    request, gettext("%(order)s: %(error)s") % {"order": order, "error": error.message},
                    messages.ERROR,
                )  # fmt: skip
            else:
                rejected += 1
        if rejected:
            self.message_user(  # type: ignore[attr-defined]
                request,
                ngettext("%(count)d order rejected.", "%(count)d orders rejected.", rejected)
                % {"count": rejected},
                messages.SUCCESS,
            )


@admin.register(Transfer)
class TransferAdmin(RejectMixin, ReadOnlyAdmin):
    list_display = (
        "created_at",
        "entity",
        "debtor_iban",
        "beneficiary_name",
        "amount",
        "currency",
        "execution_date",
        "status",
        "batch",
    )
    list_filter = ("status", "entity")
    list_select_related = ("entity", "debtor_account", "batch")
    search_fields = ("beneficiary_name", "beneficiary_iban", "end_to_end_id", "entity__name")
    date_hierarchy = "created_at"
    actions = ("reject",)
    readonly_fields = ("debtor_iban",)

    @admin.display(description=_("debtor account"), ordering="debtor_account__iban")
    def debtor_iban(self, transfer: Transfer) -> str:
        return transfer.debtor_account.iban_display

    @admin.action(description=_("Reject the selected transfers…"), permissions=["reject"])
    def reject(self, request: HttpRequest, queryset: QuerySet[Transfer]) -> HttpResponse | None:
        return self.reject_selected(request, queryset)

    def transfers_to_reject(self, transfer: Transfer) -> Transfer:
        return transfer


class BatchLineInline(admin.TabularInline):
    model = Transfer
    fields = ("beneficiary_name", "beneficiary_iban", "amount", "currency", "status", "end_to_end_id")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = _("lines")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Batch)
class BatchAdmin(RejectMixin, ReadOnlyAdmin):
    list_display = ("created_at", "entity", "label", "execution_date", "status")
    list_filter = ("status", "entity")
    list_select_related = ("entity",)
    search_fields = ("label", "entity__name")
    inlines = (BatchLineInline,)
    actions = ("reject",)

    @admin.action(description=_("Reject the selected batches…"), permissions=["reject"])
    def reject(self, request: HttpRequest, queryset: QuerySet[Batch]) -> HttpResponse | None:
        return self.reject_selected(request, queryset)

    def transfers_to_reject(self, batch: Batch) -> Transfer | None:
        """Rejecting one open line before export rejects the whole batch (its total was signed)."""
        return batch.transfers.filter(status__in=OPEN).order_by("pk").first()


@admin.register(ExportFile)
class ExportFileAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "entity",
        "message_id",
        "transaction_count",
        "control_sum",
        "delivered_at",
        "download",
    )
    list_filter = ("entity",)
    list_select_related = ("entity",)
    search_fields = ("message_id", "entity__name")
    date_hierarchy = "created_at"
    exclude = ("file",)
    readonly_fields = ("download",)

    @admin.display(description=_("file"))
    def download(self, export_file: ExportFile) -> str:
        return format_html(
            '<a href="{}" download>{}</a>',
            reverse("admin:banking_exportfile_download", args=[export_file.pk]),
            gettext("Download %(name)s") % {"name": f"{export_file.message_id}.xml"},
        )

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.download_view)
        return [
            path("<int:object_id>/download/", view, name="banking_exportfile_download"),
            *super().get_urls(),
        ]

    def download_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        export_file = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_view_permission(request, export_file):
            raise PermissionDenied
        with export_file.file.open("rb") as stored:
            xml = stored.read()
        record(
            action="banking.export_downloaded",
            actor=request.user,
            target=export_file,
            request=request,
            details={"entity": export_file.entity_id, "message_id": export_file.message_id},
        )
        response = HttpResponse(xml, content_type="application/xml")
        response["Content-Disposition"] = f'attachment; filename="{export_file.message_id}.xml"'
        return response


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdmin):
    list_display = ("booking_date", "account", "amount", "currency", "counterparty_name", "description")
    list_filter = ("account__entity",)
    list_select_related = ("account",)
    search_fields = ("counterparty_name", "description", "reference", "account__iban")
    date_hierarchy = "booking_date"
