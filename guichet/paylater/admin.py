"""The pay-later space in the back office: the advisors' console.

Advisors keep the merchants and see, read-only, the orders with their schedule, instalments,
earlier versions, card on file, payments and regularisation plans. Their one write is "Record a
cancellation" on an order (a merchant's partial or total cancellation, with its reference), through
``paylater.cancellation.order_cancel``, which readjusts the schedule, tells the customer and records
it in the audit trail; it needs ``paylater.change_order``.

Nobody changes a card here, not even an operator administrator: the customer does, through the
payment provider, under strong authentication. A card is shown by its brand, last 4 digits and expiry;
its token appears on no page and in no filter (``lookup_allowed`` refuses any lookup through a token,
a key or a password, so a ``?token__startswith=`` cannot reveal one by bisection). The card entries at
the provider (``CardSetup``, which also hold tokens) are not registered at all.

The lender's order clients (the machines that send orders and cancellations) are for operator
administrators only: created with their key shown once (only its HMAC is kept), deactivated, never
edited or deleted.

Advisors cannot unlock a consumer's access or give them a password either: the user admin already
refuses both for consumers (seed 003, ``identity.admin.UserAdmin``).
"""

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from guichet.audit.services import record
from guichet.paylater import schedules
from guichet.paylater.errors import PaylaterError
from guichet.paylater.models import (
    Card,
    Instalment,
    InstalmentStatus,
    Merchant,
    Order,
    OrderClient,
    Payment,
    RegularisationPlan,
    Schedule,
    ScheduleStatus,
)
from guichet.paylater.money import money_display

CANCEL_PERMISSION = "paylater.change_order"
# Never a filter or a lookup, whatever the path that leads to it.
SECRET_LOOKUP_PARTS = frozenset({"token", "key_hash", "password", "password_hint_encrypted"})


def _day(value: Any) -> str:
    return date_format(value, "SHORT_DATE_FORMAT") if value else "—"


def _when(value: Any) -> str:
    return date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT") if value else "—"


def card_summary(card: Card | None) -> str:
    """ "Visa •••• 4242, expires 12/2030": what anybody may see of a card (never the token)."""
    if card is None:
        return gettext("No card on file.")
    return gettext("%(brand)s •••• %(last4)s, expires %(month)02d/%(year)d") % {
        "brand": card.get_brand_display(),
        "last4": card.last4,
        "month": card.expiry_month,
        "year": card.expiry_year,
    }


class NoSecretLookups:
    """Refuses changelist lookups through a secret column (Django allows any local field by default)."""

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        if SECRET_LOOKUP_PARTS.intersection(lookup.split(LOOKUP_SEP)):
            return False
        return super().lookup_allowed(lookup, value, request)  # type: ignore[misc]


class ReadOnlyAdmin(NoSecretLookups, admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- Merchants ---------------------------------------------------------------------------------


@admin.register(Merchant)
class MerchantAdmin(NoSecretLookups, admin.ModelAdmin):
    """Shops whose customers pay later. Orders hang on them: never deleted here; the code, which the
    lender's systems send with every order, is fixed once orders exist."""

    list_display = ("name", "code", "order_count", "created_at")
    search_fields = ("name", "code")
    fields = ("name", "code")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Merchant]:
        return super().get_queryset(request).annotate(order_total=Count("orders"))

    @admin.display(description=_("orders"), ordering="order_total")
    def order_count(self, merchant: Merchant) -> int:
        return merchant.order_total

    def get_readonly_fields(self, request: HttpRequest, obj: Merchant | None = None) -> tuple[str, ...]:
        if obj is not None and obj.orders.exists():
            return ("code",)
        return ()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Merchant, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and not form.changed_data:
            return
        record(
            action="paylater.merchant_changed" if change else "paylater.merchant_created",
            actor=request.user,
            target=obj,
            request=request,
            details={"fields": sorted(form.changed_data)},
        )


# --- Schedules: what every page of an order shows ------------------------------------------------


def instalments_table(schedule: Schedule) -> SafeString | str:
    rows = [
        (i.number, _day(i.due_date), money_display(i.amount, schedule.order.currency), i.get_status_display())
        for i in schedule.instalments.order_by("number")
    ]
    if not rows:
        return gettext("No instalment left.")
    return format_html(
        '<table class="paylater-table"><thead><tr><th scope="col">{}</th><th scope="col">{}</th>'
        '<th scope="col">{}</th><th scope="col">{}</th></tr></thead><tbody>{}</tbody></table>',
        gettext("Instalment"),
        gettext("Due date"),
        gettext("Amount"),
        gettext("Status"),
        format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
    )


def versions_table(schedule: Schedule) -> SafeString | str:
    """The earlier versions of the table, each frozen by a readjustment, with what ended it."""
    versions = list(schedule.versions.order_by("number"))
    if not versions:
        return gettext("None: the schedule is as computed when the order arrived.")
    currency = schedule.order.currency
    blocks = []
    for version in versions:
        lines = format_html_join(
            "",
            "<li>{}</li>",
            (
                (
                    gettext("Instalment %(number)s, %(date)s: %(amount)s (%(status)s)")
                    % {
                        "number": line.get("number"),
                        "date": _day(_iso_date(line.get("due_date"))),
                        "amount": money_display(Decimal(str(line.get("amount", "0"))), currency),
                        "status": InstalmentStatus(line["status"]).label
                        if line.get("status") in InstalmentStatus.values
                        else line.get("status", ""),
                    },
                )
                for line in version.instalments
            ),
        )
        heading = gettext(
            "Version %(number)s, until %(when)s: %(reason)s of %(cancelled)s, %(refund)s refunded to the card"
        ) % {
            "number": version.number,
            "when": _when(version.created_at),
            "reason": version.get_reason_display(),
            "cancelled": money_display(version.cancelled_amount, currency),
            "refund": money_display(version.card_refund, currency),
        }
        blocks.append((heading, lines))
    return format_html_join("", "<p>{}</p><ul>{}</ul>", blocks)


def _iso_date(value: Any) -> Any:
    import datetime

    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        return None


def cards_list(schedule: Schedule) -> SafeString:
    """The current card, then the replaced ones: brand, last 4 digits and expiry only."""
    cards = list(schedule.cards.order_by("-created_at"))
    if not cards:
        return format_html("{}", gettext("No card on file."))
    return format_html_join(
        "",
        "<p>{}</p>",
        (
            (
                gettext("%(card)s, registered %(registered)s")
                % {"card": card_summary(card), "registered": _when(card.created_at)}
                if card.replaced_at is None
                else gettext("%(card)s, replaced %(replaced)s")
                % {"card": card_summary(card), "replaced": _when(card.replaced_at)},
            )
            for card in cards
        ),
    )


class ScheduleSummary:
    """Read-only fields describing an order's schedule, shared by the order and the schedule pages."""

    def _schedule(self, obj: Order | Schedule) -> Schedule | None:
        if isinstance(obj, Schedule):
            return obj
        return getattr(obj, "schedule", None)

    @admin.display(description=_("schedule status"))
    def schedule_status(self, obj: Order | Schedule) -> str:
        schedule = self._schedule(obj)
        return schedule.get_status_display() if schedule else "—"

    @admin.display(description=_("version"))
    def schedule_version(self, obj: Order | Schedule) -> str:
        schedule = self._schedule(obj)
        return str(schedule.version) if schedule else "—"

    @admin.display(description=_("amount due"))
    def amount_due(self, obj: Order | Schedule) -> str:
        schedule = self._schedule(obj)
        if schedule is None:
            return "—"
        return money_display(schedules.amount_due(schedule), schedule.order.currency)

    @admin.display(description=_("regularised so far"))
    def regularised(self, obj: Order | Schedule) -> str:
        schedule = self._schedule(obj)
        if schedule is None:
            return "—"
        return money_display(schedules.regularised_so_far(schedule), schedule.order.currency)

    @admin.display(description=_("next debit"))
    def next_debit(self, obj: Order | Schedule) -> str:
        schedule = self._schedule(obj)
        return _day(schedules.next_debit_date(schedule)) if schedule else "—"

    @admin.display(description=_("card on file"))
    def card(self, obj: Order | Schedule) -> SafeString | str:
        schedule = self._schedule(obj)
        return cards_list(schedule) if schedule else "—"

    @admin.display(description=_("instalments"))
    def instalments(self, obj: Order | Schedule) -> SafeString | str:
        schedule = self._schedule(obj)
        return instalments_table(schedule) if schedule else "—"

    @admin.display(description=_("earlier versions"))
    def versions(self, obj: Order | Schedule) -> SafeString | str:
        schedule = self._schedule(obj)
        return versions_table(schedule) if schedule else "—"

    @admin.display(description=_("payments and regularisations"))
    def links(self, obj: Order | Schedule) -> SafeString | str:
        schedule = self._schedule(obj)
        if schedule is None:
            return "—"
        return format_html(
            '<a href="{}?schedule__id__exact={}">{}</a> · <a href="{}?schedule__id__exact={}">{}</a>',
            reverse("admin:paylater_payment_changelist"),
            schedule.pk,
            gettext("Payments of this schedule"),
            reverse("admin:paylater_regularisationplan_changelist"),
            schedule.pk,
            gettext("Its regularisation plans"),
        )


# --- Orders (read-only, but for recording a cancellation) ----------------------------------------


class ScheduleStatusFilter(admin.SimpleListFilter):
    title = _("schedule status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(ScheduleStatus.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ScheduleStatus.values:
            return queryset.filter(schedule__status=self.value())
        return queryset


class CancellationForm(forms.Form):
    TOTAL, PARTIAL = "total", "partial"

    extent = forms.ChoiceField(
        label=_("Cancellation"),
        choices=[(PARTIAL, _("Partial: an amount of the purchase")), (TOTAL, _("Total: the whole order"))],
        widget=forms.RadioSelect,
        initial=PARTIAL,
    )
    amount = forms.DecimalField(
        label=_("Amount cancelled"),
        required=False,
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
        help_text=_("For a partial cancellation: the amount the merchant refunds, e.g. 20.00."),
    )
    reference = forms.CharField(
        label=_("Merchant's reference"),
        max_length=100,
        help_text=_("The merchant's reference for this cancellation (credit note, return number…)."),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("extent") == self.PARTIAL and data.get("amount") is None and "amount" not in self.errors:
            self.add_error("amount", _("Enter the amount cancelled, or choose a total cancellation."))
        return data

    def cancelled_amount(self) -> Decimal | None:
        """None for a total cancellation (``order_cancel``'s convention)."""
        return None if self.cleaned_data["extent"] == self.TOTAL else self.cleaned_data["amount"]


@admin.register(Order)
class OrderAdmin(ScheduleSummary, ReadOnlyAdmin):
    list_display = (
        "number",
        "merchant",
        "email",
        "purchased_on",
        "purchase_amount",
        "fees",
        "currency",
        "schedule_status",
        "source",
    )
    list_filter = (ScheduleStatusFilter, "merchant", "source")
    list_select_related = ("merchant", "schedule")
    search_fields = ("number", "email", "customer__user_id")
    search_help_text = _("An order number or the customer's e-mail address.")
    date_hierarchy = "purchased_on"
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "number",
                    "merchant",
                    "customer_link",
                    "email",
                    "phone",
                    "purchased_on",
                    "purchase_amount",
                    "fees",
                    "currency",
                    "instalment_count",
                    "cancelled_amount",
                    "source",
                    "created_at",
                )
            },
        ),
        (
            _("Schedule"),
            {
                "fields": (
                    "schedule_status",
                    "schedule_version",
                    "amount_due",
                    "regularised",
                    "next_debit",
                    "card",
                    "instalments",
                    "versions",
                    "links",
                )
            },
        ),
    )
    readonly_fields = (
        "number",
        "merchant",
        "customer_link",
        "email",
        "phone",
        "purchased_on",
        "purchase_amount",
        "fees",
        "currency",
        "instalment_count",
        "cancelled_amount",
        "source",
        "created_at",
        "schedule_status",
        "schedule_version",
        "amount_due",
        "regularised",
        "next_debit",
        "card",
        "instalments",
        "versions",
        "links",
    )

    @admin.display(description=_("customer"))
    def customer_link(self, order: Order) -> SafeString:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:identity_user_change", args=[order.customer_id]),
            order.customer.get_username(),
        )

    def may_cancel(self, request: HttpRequest) -> bool:
        return request.user.has_perm(CANCEL_PERMISSION)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        order = self.get_object(request, object_id)
        cancellable = order is not None and order.schedule.status != ScheduleStatus.CANCELLED
        extra_context = {**(extra_context or {}), "may_cancel": cancellable and self.may_cancel(request)}
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("<int:object_id>/cancel/", view(self.cancel_view), name="paylater_order_cancel"),
            *super().get_urls(),
        ]

    def cancel_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """ "Record a cancellation": the merchant's partial or total cancellation, with its reference."""
        if not (self.has_view_permission(request) and self.may_cancel(request)):
            raise PermissionDenied
        order = get_object_or_404(self.get_queryset(request).select_related("schedule"), pk=object_id)
        form = CancellationForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            done = self._cancel(request, order, form)
            if done:
                return HttpResponseRedirect(reverse("admin:paylater_order_change", args=[order.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": order,
            "title": gettext("Record a cancellation"),
            "form": form,
            "left": money_display(order.purchase_amount - order.cancelled_amount, order.currency),
            "instalments": instalments_table(order.schedule),
        }
        return TemplateResponse(request, "admin/paylater/order/cancel.html", context)

    def _cancel(self, request: HttpRequest, order: Order, form: CancellationForm) -> bool:
        from guichet.paylater.cancellation import order_cancel

        amount = form.cancelled_amount()
        try:
            version = order_cancel(
                order=order,
                amount=amount,
                reference=form.cleaned_data["reference"],
                acting_user=request.user,
                request=request,
            )
        except PaylaterError as error:
            form.add_error(None, error.message)
            return False
        if amount is None:
            message = gettext(
                "Order %(number)s is cancelled in full: its remaining instalments are deleted and the "
                "customer is told by e-mail."
            ) % {"number": order.number}
        else:
            message = gettext(
                "A cancellation of %(amount)s is recorded on order %(number)s: the schedule is readjusted "
                "(version %(version)s) and the customer is told by e-mail."
            ) % {
                "amount": money_display(amount, order.currency),
                "number": order.number,
                "version": getattr(version, "number", 0) + 1,
            }
        self.message_user(request, message, messages.SUCCESS)
        return True


# --- Schedules (read-only, with their instalments, cards, payments and plans) -------------------


class InstalmentInline(ReadOnlyInline):
    model = Instalment
    fields = ("number", "due_date", "amount", "status", "paid_at", "reminded_at")
    readonly_fields = fields
    verbose_name_plural = _("instalments (current version)")


class CardInline(ReadOnlyInline):
    """Brand, last 4 digits and expiry: the token is neither a field nor shown."""

    model = Card
    fields = ("brand", "last4", "expiry_month", "expiry_year", "created_at", "replaced_at")
    readonly_fields = fields
    verbose_name_plural = _("cards on file (the current one has no replacement date)")


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = (
        "created_at",
        "kind",
        "amount",
        "currency",
        "status",
        "reason",
        "provider_reference",
        "settled_at",
    )
    readonly_fields = fields
    ordering = ("-created_at",)


class RegularisationPlanInline(ReadOnlyInline):
    model = RegularisationPlan
    fields = ("created_at", "amount", "payment_count", "status", "completed_at")
    readonly_fields = fields


@admin.register(Schedule)
class ScheduleAdmin(ScheduleSummary, ReadOnlyAdmin):
    list_display = ("order", "merchant", "customer_email", "status", "version", "updated_at")
    list_filter = ("status", "order__merchant")
    list_select_related = ("order", "order__merchant")
    search_fields = ("order__number", "order__email")
    search_help_text = _("An order number or the customer's e-mail address.")
    fields = (
        "order",
        "status",
        "version",
        "amount_due",
        "regularised",
        "next_debit",
        "card",
        "versions",
        "links",
        "updated_at",
    )
    readonly_fields = fields
    inlines = (InstalmentInline, CardInline, PaymentInline, RegularisationPlanInline)

    @admin.display(description=_("merchant"), ordering="order__merchant__name")
    def merchant(self, schedule: Schedule) -> str:
        return schedule.order.merchant.name

    @admin.display(description=_("customer"), ordering="order__email")
    def customer_email(self, schedule: Schedule) -> str:
        return schedule.order.email


# --- Payments, regularisation plans and cards (read-only lists) ------------------------------------


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    """Every charge and refund presented to the provider: its reference, and the reason of a refusal."""

    list_display = (
        "created_at",
        "order_number",
        "kind",
        "amount",
        "currency",
        "status",
        "reason",
        "provider_reference",
        "settled_at",
    )
    list_filter = ("status", "kind", "reason", "created_at")
    list_select_related = ("schedule__order", "card")
    search_fields = ("provider_reference", "schedule__order__number", "schedule__order__email")
    search_help_text = _("A provider reference, an order number or the customer's e-mail address.")
    date_hierarchy = "created_at"
    fields = (
        "schedule",
        "kind",
        "instalment",
        "regularisation_part",
        "amount",
        "currency",
        "card_shown",
        "status",
        "reason",
        "provider_reference",
        "idempotency_key",
        "created_at",
        "settled_at",
    )
    readonly_fields = fields

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        if lookup in ("schedule__id__exact", "schedule__id"):
            return True  # the order page's link to its payments
        return super().lookup_allowed(lookup, value, request)

    @admin.display(description=_("order"), ordering="schedule__order__number")
    def order_number(self, payment: Payment) -> str:
        return payment.schedule.order.number

    @admin.display(description=_("card"))
    def card_shown(self, payment: Payment) -> str:
        return card_summary(payment.card) if payment.card_id else "—"


@admin.register(RegularisationPlan)
class RegularisationPlanAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "order_number", "amount", "payment_count", "status", "completed_at")
    list_filter = ("status", "payment_count")
    list_select_related = ("schedule__order",)
    search_fields = ("schedule__order__number", "schedule__order__email")
    search_help_text = _("An order number or the customer's e-mail address.")
    fields = ("schedule", "amount", "payment_count", "status", "created_at", "completed_at", "parts_shown")
    readonly_fields = fields

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        if lookup in ("schedule__id__exact", "schedule__id"):
            return True
        return super().lookup_allowed(lookup, value, request)

    @admin.display(description=_("order"), ordering="schedule__order__number")
    def order_number(self, plan: RegularisationPlan) -> str:
        return plan.schedule.order.number

    @admin.display(description=_("payments"))
    def parts_shown(self, plan: RegularisationPlan) -> SafeString | str:
        currency = plan.schedule.order.currency
        parts = [
            (
                gettext("Payment %(number)s, %(date)s: %(amount)s (%(status)s)")
                % {
                    "number": part.number,
                    "date": _day(part.due_date),
                    "amount": money_display(part.amount, currency),
                    "status": part.get_status_display(),
                },
            )
            for part in plan.parts.order_by("number")
        ]
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", parts)) if parts else "—"


@admin.register(Card)
class CardAdmin(ReadOnlyAdmin):
    """Cards on file, for an advisor asked "which card will be debited?": never the token, never a change."""

    list_display = ("schedule", "brand", "last4", "expiry", "created_at", "replaced_at")
    list_filter = ("brand",)
    list_select_related = ("schedule__order",)
    search_fields = ("schedule__order__number", "schedule__order__email", "=last4")
    search_help_text = _("An order number, the customer's e-mail address or the card's last 4 digits.")
    fields = ("schedule", "brand", "last4", "expiry", "created_at", "replaced_at")
    readonly_fields = fields

    @admin.display(description=_("expiry"))
    def expiry(self, card: Card) -> str:
        return f"{card.expiry_month:02d}/{card.expiry_year}"


# --- Order clients (operator administrators only) ------------------------------------------------


class OrderClientForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=140,
        help_text=_("The lender's system, e.g. “Order system, production”."),
    )
    merchants = forms.ModelMultipleChoiceField(
        label=_("Merchants"),
        queryset=Merchant.objects.all(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("It may send orders and cancellations of these merchants only."),
    )


def operator_only(request: HttpRequest) -> bool:
    return bool(request.user.is_active and request.user.is_superuser)


@admin.register(OrderClient)
class OrderClientAdmin(ReadOnlyAdmin):
    """The lender's systems allowed to send orders and cancellations. The key is shown once, when the
    client is created; only its HMAC is kept. A client is deactivated, never deleted or edited."""

    list_display = ("name", "merchant_list", "key_prefix", "is_active", "created_at", "last_used_at")
    list_filter = ("is_active",)
    search_fields = ("name", "key_prefix")
    fields = ("name", "merchant_list", "key_prefix", "is_active", "created_at", "last_used_at")
    readonly_fields = fields
    actions = ("deactivate",)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return operator_only(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return operator_only(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return operator_only(request)

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderClient]:
        return super().get_queryset(request).prefetch_related("merchants")

    @admin.display(description=_("merchants"))
    def merchant_list(self, client: OrderClient) -> str:
        return ", ".join(merchant.code for merchant in client.merchants.all()) or "—"

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = OrderClientForm(request.POST or None)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Add order client"),
            "form": form,
        }
        if request.method == "POST" and form.is_valid():
            from guichet.paylater import clients

            merchants = list(form.cleaned_data["merchants"])
            try:
                with transaction.atomic():
                    client, key = clients.order_client_create(
                        name=form.cleaned_data["name"], merchants=merchants
                    )
                    # The service records the creation; this says who did it, from where.
                    record(
                        action="paylater.order_client_added",
                        actor=request.user,
                        target=client,
                        request=request,
                        details={"merchants": sorted(m.code for m in merchants)},
                    )
            except clients.OrderClientError as error:
                form.add_error(None, error.message)
            else:
                context.update(title=gettext("Order client created"), client=client, key=key)
                response = TemplateResponse(request, "admin/paylater/orderclient/key.html", context)
                response["Cache-Control"] = "no-store"
                return response
        return TemplateResponse(request, "admin/paylater/orderclient/add.html", context)

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        if not operator_only(request):
            actions.pop("deactivate", None)
        return actions

    @admin.action(description=_("Deactivate the selected order clients"))
    def deactivate(self, request: HttpRequest, queryset: QuerySet[OrderClient]) -> None:
        if not operator_only(request):
            raise PermissionDenied
        from guichet.paylater import clients

        active = list(queryset.filter(is_active=True))
        with transaction.atomic():
            for client in active:
                clients.order_client_deactivate(client=client)
                record(
                    action="paylater.order_client_deactivated_by_staff",
                    actor=request.user,
                    target=client,
                    request=request,
                )
        message = ngettext(
            "%(count)d order client deactivated: its key no longer works.",
            "%(count)d order clients deactivated: their keys no longer work.",
            len(active),
        )
        self.message_user(request, message % {"count": len(active)}, messages.SUCCESS)
