"""The pay-later space (seed 003, FLOA Pay): merchants, orders, their payment schedules and instalments,
the card on file (a provider token only), payments, regularisation plans, and the lender's machine clients.

Money is ``Decimal`` with two decimals in the order's currency; splitting goes through
``paylater.money.allocate``. Who may see a schedule is decided in one place, ``paylater.selectors``.

A schedule is versioned: its live ``Instalment`` rows are what the debit run charges, and every
readjustment (a cancellation) first freezes the table as it was into a ``ScheduleVersion``, so an
earlier version stays readable.

No card number is ever stored: the payment provider's page takes it and answers a token with the
brand, the last 4 digits and the expiry (``Card``, ``CardSetup``).
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 12, "decimal_places": 2}


class Merchant(models.Model):
    """A shop whose customers pay later (the "enseigne")."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=140)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("merchant")
        verbose_name_plural = _("merchants")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class OrderClient(models.Model):
    """One of the lender's systems allowed to send orders and cancellations (a machine, not a person).

    It authenticates with ``Authorization: Bearer gpl_…``; only an HMAC of the key is kept. It may
    send orders of its merchants only.
    """

    name = models.CharField(_("name"), max_length=140)
    merchants = models.ManyToManyField(Merchant, related_name="order_clients", verbose_name=_("merchants"))
    key_prefix = models.CharField(max_length=12, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("order client")
        verbose_name_plural = _("order clients")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class OrderSource(models.TextChoices):
    IMPORT = "import", _("File import")
    API = "api", _("Order endpoint")
    BACKOFFICE = "backoffice", _("Back office")
    DEMO = "demo", _("Demo data")


class Order(models.Model):
    """A purchase paid later; ``email`` (given at purchase) is the consumer's identifier."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="orders", verbose_name=_("merchant")
    )
    number = models.CharField(_("order number"), max_length=40)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="paylater_orders",
        verbose_name=_("customer"),
    )
    email = models.EmailField(_("e-mail address given at purchase"))
    phone = models.CharField(_("mobile phone given at purchase"), max_length=20, blank=True)
    purchased_on = models.DateField(_("purchase date"))
    purchase_amount = models.DecimalField(_("purchase amount"), **MONEY)
    fees = models.DecimalField(_("fees"), default=0, **MONEY)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    instalment_count = models.PositiveSmallIntegerField(_("number of instalments"))
    cancelled_amount = models.DecimalField(_("amount cancelled"), default=0, **MONEY)
    # SHA-256 of the order as received: the same order again is "already imported", other content a conflict.
    content_hash = models.CharField(max_length=64, editable=False)
    source = models.CharField(_("source"), max_length=12, choices=OrderSource.choices)
    created_at = models.DateTimeField(_("received"), default=timezone.now)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-purchased_on", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "number"], name="paylater_order_number_per_merchant"),
            models.CheckConstraint(condition=Q(purchase_amount__gt=0), name="paylater_order_amount_positive"),
            models.CheckConstraint(condition=Q(fees__gte=0), name="paylater_order_fees_not_negative"),
            models.CheckConstraint(condition=Q(instalment_count__in=(3, 4)), name="paylater_order_3_or_4"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def total(self):
        return self.purchase_amount + self.fees


class ScheduleStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    REGULARISING = "regularising", _("Being regularised")
    COMPLETED = "completed", _("Completed")
    UNPAID = "unpaid", _("Unpaid")
    CANCELLED = "cancelled", _("Cancelled")


# Schedules the consumer still follows ("in progress" list); the others are "finished".
OPEN_STATUSES = (ScheduleStatus.IN_PROGRESS, ScheduleStatus.REGULARISING, ScheduleStatus.UNPAID)


class Schedule(models.Model):
    """The payment schedule of one order. ``version`` counts readjustments (1 = as computed on arrival)."""

    order = models.OneToOneField(
        Order, on_delete=models.PROTECT, related_name="schedule", verbose_name=_("order")
    )
    status = models.CharField(
        _("status"), max_length=16, choices=ScheduleStatus.choices, default=ScheduleStatus.IN_PROGRESS
    )
    version = models.PositiveIntegerField(_("version"), default=1)
    # Paid by regularisation towards unpaid instalments and not yet applied to one (an instalment
    # becomes paid once this covers it in full). The amount due is the unpaid instalments minus this.
    regularisation_credit = models.DecimalField(_("regularisation credit"), default=0, **MONEY)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("payment schedule")
        verbose_name_plural = _("payment schedules")
        ordering = ["-order__purchased_on", "-pk"]
        indexes = [models.Index(fields=["status"], name="paylater_schedule_status")]

    def __str__(self) -> str:
        return str(self.order)


class ScheduleVersionReason(models.TextChoices):
    PARTIAL_CANCELLATION = "partial_cancellation", _("Partial cancellation")
    TOTAL_CANCELLATION = "total_cancellation", _("Total cancellation")


class ScheduleVersion(models.Model):
    """The instalment table as it was *before* a readjustment: ``number`` is the version it froze.

    ``instalments`` is a list of ``{"number", "due_date", "amount", "status"}`` (ISO date, amount as
    a string). ``reason``, ``cancelled_amount`` and ``card_refund`` describe the readjustment that
    ended this version.
    """

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    instalments = models.JSONField(_("instalments"))
    reason = models.CharField(_("reason"), max_length=24, choices=ScheduleVersionReason.choices)
    cancelled_amount = models.DecimalField(_("amount cancelled"), **MONEY)
    card_refund = models.DecimalField(_("refunded to the card"), default=0, **MONEY)
    created_at = models.DateTimeField(_("readjusted"), default=timezone.now)

    class Meta:
        verbose_name = _("schedule version")
        verbose_name_plural = _("schedule versions")
        ordering = ["schedule", "number"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "number"], name="paylater_schedule_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.schedule} v{self.number}"


class InstalmentStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    PAID = "paid", _("Paid")
    UNPAID = "unpaid", _("Unpaid")
    DELETED = "deleted", _("Deleted")


class Instalment(models.Model):
    """One debit of a schedule (seed: "Prélèvement n°1 04/08/2019 42,66 € Réglé")."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="instalments")
    number = models.PositiveSmallIntegerField(_("number"))
    due_date = models.DateField(_("due date"))
    amount = models.DecimalField(_("amount"), **MONEY)
    status = models.CharField(
        _("status"), max_length=12, choices=InstalmentStatus.choices, default=InstalmentStatus.IN_PROGRESS
    )
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminder sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("instalment")
        verbose_name_plural = _("instalments")
        ordering = ["schedule", "number"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "number"], name="paylater_instalment_number_unique"),
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="paylater_instalment_amount_not_negative"
            ),
        ]
        indexes = [
            # The debit run and the reminders: what is still to charge, by date.
            models.Index(
                fields=["due_date"],
                name="paylater_instalment_due",
                condition=Q(status="in_progress"),
            ),
            # The reminders: only what is still to remind, so a day's batch never re-reads sent ones.
            models.Index(
                fields=["due_date", "id"],
                name="paylater_instalment_to_remind",
                condition=Q(status="in_progress", reminded_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.schedule} #{self.number}"


class CardBrand(models.TextChoices):
    VISA = "visa", "Visa"
    MASTERCARD = "mastercard", "Mastercard"
    AMEX = "amex", "American Express"
    OTHER = "other", _("Other")


ACCEPTED_BRANDS = (CardBrand.VISA, CardBrand.MASTERCARD)


class Card(models.Model):
    """The card on file of a schedule: the provider's token, brand, last 4 digits and expiry. Nothing else.

    The current card has ``replaced_at`` empty; a change keeps the old row (replaced) for the history.
    """

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="cards")
    token = models.CharField(_("provider token"), max_length=200)
    brand = models.CharField(_("brand"), max_length=12, choices=CardBrand.choices)
    last4 = models.CharField(_("last 4 digits"), max_length=4)
    expiry_month = models.PositiveSmallIntegerField(_("expiry month"))
    expiry_year = models.PositiveSmallIntegerField(_("expiry year"))
    created_at = models.DateTimeField(_("registered"), default=timezone.now)
    replaced_at = models.DateTimeField(_("replaced"), null=True, blank=True)

    class Meta:
        verbose_name = _("card")
        verbose_name_plural = _("cards")
        ordering = ["schedule", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["schedule"], condition=Q(replaced_at__isnull=True), name="paylater_one_current_card"
            ),
            models.CheckConstraint(
                condition=Q(last4__regex=r"^[0-9]{4}$"), name="paylater_card_last4_digits"
            ),
            models.CheckConstraint(
                condition=Q(expiry_month__gte=1, expiry_month__lte=12), name="paylater_card_expiry_month"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_brand_display()} •••• {self.last4}"


class CardSetupPurpose(models.TextChoices):
    CARD_CHANGE = "card_change", _("Card change")
    REGULARISATION = "regularisation", _("Regularisation")


class CardSetupStatus(models.TextChoices):
    STARTED = "started", _("Sent to the payment provider")
    RETURNED = "returned", _("Card entered")
    CANCELLED = "cancelled", _("Cancelled at the provider")
    REFUSED = "refused", _("Refused")
    APPLIED = "applied", _("Applied")


class CardSetup(models.Model):
    """A round trip to the provider's card page: its session, then the card it answered (token only)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="card_setups")
    purpose = models.CharField(max_length=16, choices=CardSetupPurpose.choices)
    regularisation = models.ForeignKey(
        "RegularisationPlan", on_delete=models.CASCADE, null=True, blank=True, related_name="card_setups"
    )
    provider_session = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=12, choices=CardSetupStatus.choices, default=CardSetupStatus.STARTED)
    token = models.CharField(max_length=200, blank=True)
    brand = models.CharField(max_length=12, choices=CardBrand.choices, blank=True)
    last4 = models.CharField(max_length=4, blank=True)
    expiry_month = models.PositiveSmallIntegerField(null=True, blank=True)
    expiry_year = models.PositiveSmallIntegerField(null=True, blank=True)
    refusal = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("card entry at the provider")
        verbose_name_plural = _("card entries at the provider")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} {self.created_at:%Y-%m-%d %H:%M}"


class RegularisationStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for the first payment")
    ACTIVE = "active", _("In progress")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed")


class RegularisationPlan(models.Model):
    """Paying an unpaid amount in 1, 2 or 3 payments, the first one now, the next ones monthly."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="regularisations")
    amount = models.DecimalField(_("amount due"), **MONEY)
    payment_count = models.PositiveSmallIntegerField(_("number of payments"))
    status = models.CharField(
        _("status"), max_length=12, choices=RegularisationStatus.choices, default=RegularisationStatus.PENDING
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)

    class Meta:
        verbose_name = _("regularisation plan")
        verbose_name_plural = _("regularisation plans")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(payment_count__in=(1, 2, 3)), name="paylater_regularisation_1_2_3"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="paylater_regularisation_amount_positive"),
            # At most one plan being paid per schedule.
            models.UniqueConstraint(
                fields=["schedule"],
                condition=Q(status__in=("pending", "active")),
                name="paylater_one_open_regularisation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.schedule} {self.amount} / {self.payment_count}"


class RegularisationPart(models.Model):
    """One payment of a plan: number 1 is charged at once, the others by the debit run on their date."""

    plan = models.ForeignKey(RegularisationPlan, on_delete=models.CASCADE, related_name="parts")
    number = models.PositiveSmallIntegerField(_("number"))
    due_date = models.DateField(_("due date"))
    amount = models.DecimalField(_("amount"), **MONEY)
    status = models.CharField(
        _("status"), max_length=12, choices=InstalmentStatus.choices, default=InstalmentStatus.IN_PROGRESS
    )
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)

    class Meta:
        verbose_name = _("regularisation payment")
        verbose_name_plural = _("regularisation payments")
        ordering = ["plan", "number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="paylater_regularisation_part_unique")
        ]
        indexes = [
            models.Index(fields=["due_date"], name="paylater_part_due", condition=Q(status="in_progress")),
        ]

    def __str__(self) -> str:
        return f"{self.plan} #{self.number}"


class PaymentKind(models.TextChoices):
    DEBIT = "debit", _("Scheduled debit")
    REGULARISATION = "regularisation", _("Regularisation")
    REFUND = "refund", _("Refund to the card")


class PaymentStatus(models.TextChoices):
    # Written (and committed) before the provider is called: a run killed in between finds it and asks
    # the provider again with the same idempotency key, so nothing is charged twice or skipped.
    PENDING = "pending", _("Sent to the provider")
    SUCCEEDED = "succeeded", _("Accepted")
    FAILED = "failed", _("Refused")


class Payment(models.Model):
    """One charge (or refund) presented to the provider, under one idempotency key."""

    schedule = models.ForeignKey(Schedule, on_delete=models.PROTECT, related_name="payments")
    kind = models.CharField(_("kind"), max_length=16, choices=PaymentKind.choices)
    instalment = models.ForeignKey(
        Instalment, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    regularisation_part = models.ForeignKey(
        RegularisationPart, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    amount = models.DecimalField(_("amount"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    card = models.ForeignKey(Card, on_delete=models.PROTECT, null=True, blank=True, related_name="payments")
    idempotency_key = models.CharField(max_length=100, unique=True)
    status = models.CharField(
        _("status"), max_length=12, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )
    provider_reference = models.CharField(_("provider reference"), max_length=100, blank=True)
    # The provider's reason code for a refusal (declined, insufficient_funds, expired_card, …).
    reason = models.CharField(_("reason"), max_length=40, blank=True)
    created_at = models.DateTimeField(_("presented"), default=timezone.now)
    settled_at = models.DateTimeField(_("answered"), null=True, blank=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status"], name="paylater_payment_pending", condition=Q(status="pending")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="paylater_payment_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} {self.currency}"


class NotificationReceipt(models.Model):
    """A provider notification already handled (its id): the same notification again does nothing."""

    notification_id = models.CharField(max_length=100, unique=True)
    received_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.notification_id
