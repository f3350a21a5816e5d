"""Account consultation (transactions), beneficiaries, SEPA credit transfers prepared and
validated under the four-eyes rule, and the ISO 20022 pain.001 files they are exported in.

Rights come from ``entities.access``; the rules of preparing, validating and
exporting live in ``banking.transfers`` and ``banking.export``.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guichet.entities.models import BankAccount, Entity


class Transaction(models.Model):
    """A booked movement on an account (from the core banking system); negative amounts are debits."""

    account = models.ForeignKey(BankAccount, on_delete=models.CASCADE, related_name="transactions")
    booking_date = models.DateField(_("booking date"))
    value_date = models.DateField(_("value date"))
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    counterparty_name = models.CharField(_("counterparty"), max_length=140, blank=True)
    counterparty_iban = models.CharField(_("counterparty's account"), max_length=34, blank=True)
    description = models.CharField(_("description"), max_length=280, blank=True)
    reference = models.CharField(_("bank reference"), max_length=35, blank=True)

    class Meta:
        verbose_name = _("transaction")
        verbose_name_plural = _("transactions")
        ordering = ["-booking_date", "-pk"]
        indexes = [models.Index(fields=["account", "-booking_date", "-id"], name="banking_tx_account_date")]

    def __str__(self) -> str:
        return f"{self.booking_date} {self.amount} {self.currency} {self.counterparty_name}".strip()


class Beneficiary(models.Model):
    """A payee saved by an entity's user with the management right."""

    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="beneficiaries")
    name = models.CharField(_("name"), max_length=70)
    iban = models.CharField(_("IBAN"), max_length=34)  # compact, upper case, checked with schwifty
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("beneficiary")
        verbose_name_plural = _("beneficiaries")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["entity", "iban", "name"], name="banking_beneficiary_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class TransferStatus(models.TextChoices):
    PREPARED = "prepared", _("Prepared, waiting for validation")
    VALIDATED = "validated", _("Validated, waiting for export")
    EXPORTED = "exported", _("Sent to the bank")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")


class ExportFile(models.Model):
    """One pain.001.001.09 file, kept unchanged; also dropped in the outbox folder for the core system."""

    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="export_files")
    message_id = models.CharField(_("message ID"), max_length=35, unique=True)
    file = models.FileField(_("file"), upload_to="pain001/%Y/%m/")
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    transaction_count = models.PositiveIntegerField(_("number of transfers"))
    control_sum = models.DecimalField(_("control sum"), max_digits=18, decimal_places=2)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    delivered_at = models.DateTimeField(_("dropped in the outbox"), null=True, blank=True)

    class Meta:
        verbose_name = _("export file")
        verbose_name_plural = _("export files")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.message_id


class Batch(models.Model):
    """Several transfers from one debtor account, validated together (total and payees signed)."""

    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="batches")
    debtor_account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="batches")
    label = models.CharField(_("label"), max_length=70)
    execution_date = models.DateField(_("execution date"))
    status = models.CharField(
        _("status"), max_length=10, choices=TransferStatus.choices, default=TransferStatus.PREPARED
    )
    version = models.PositiveIntegerField(_("version"), default=1)
    prepared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    last_edited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("prepared"), default=timezone.now)
    updated_at = models.DateTimeField(_("last changed"), default=timezone.now)
    rejection_reason = models.CharField(_("reason for rejection"), max_length=280, blank=True)

    class Meta:
        verbose_name = _("batch of transfers")
        verbose_name_plural = _("batches of transfers")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.label


class Transfer(models.Model):
    """A SEPA credit transfer in euro; alone, or one line of a batch (then the batch is validated)."""

    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="transfers")
    debtor_account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="transfers")
    batch = models.ForeignKey(
        Batch, on_delete=models.CASCADE, null=True, blank=True, related_name="transfers"
    )
    beneficiary_name = models.CharField(_("beneficiary"), max_length=70)
    beneficiary_iban = models.CharField(_("beneficiary's IBAN"), max_length=34)
    beneficiary_bic = models.CharField(_("beneficiary's BIC"), max_length=11, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=13, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    execution_date = models.DateField(_("execution date"))
    # Either free text (up to 140 characters) or a structured creditor reference
    # (ISO 11649 RF… or the Belgian +++xxx/xxxx/xxxxx+++), never both.
    remittance_information = models.CharField(_("communication"), max_length=140, blank=True)
    structured_reference = models.CharField(_("structured reference"), max_length=35, blank=True)
    end_to_end_id = models.CharField(_("end-to-end ID"), max_length=35, unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=TransferStatus.choices, default=TransferStatus.PREPARED
    )
    version = models.PositiveIntegerField(_("version"), default=1)
    prepared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    last_edited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("prepared"), default=timezone.now)
    updated_at = models.DateTimeField(_("last changed"), default=timezone.now)
    export_file = models.ForeignKey(
        ExportFile, on_delete=models.PROTECT, null=True, blank=True, related_name="transfers"
    )
    rejection_reason = models.CharField(_("reason for rejection"), max_length=280, blank=True)

    class Meta:
        verbose_name = _("credit transfer")
        verbose_name_plural = _("credit transfers")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="banking_transfer_amount_positive"),
            models.CheckConstraint(
                condition=Q(remittance_information="") | Q(structured_reference=""),
                name="banking_transfer_one_remittance",
            ),
        ]
        indexes = [
            models.Index(fields=["debtor_account", "-created_at"], name="banking_transfer_account"),
            models.Index(fields=["status", "entity"], name="banking_transfer_status"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} → {self.beneficiary_name}"


class Validation(models.Model):
    """A validator's signature of one version of a transfer or batch (voided by any later edit)."""

    transfer = models.ForeignKey(
        Transfer, on_delete=models.CASCADE, null=True, blank=True, related_name="validations"
    )
    batch = models.ForeignKey(
        Batch, on_delete=models.CASCADE, null=True, blank=True, related_name="validations"
    )
    version = models.PositiveIntegerField(_("version"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    digest = models.CharField(_("signed digest"), max_length=64)
    proof_id = models.UUIDField(_("signed proof"), default=uuid.uuid4)
    validated_at = models.DateTimeField(_("validated"), default=timezone.now)
    voided_at = models.DateTimeField(_("voided"), null=True, blank=True)

    class Meta:
        verbose_name = _("validation")
        verbose_name_plural = _("validations")
        constraints = [
            models.CheckConstraint(
                condition=Q(transfer__isnull=False, batch__isnull=True)
                | Q(transfer__isnull=True, batch__isnull=False),
                name="banking_validation_one_subject",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} · v{self.version}"


class Author(models.Model):
    """Everyone who prepared or edited a transfer or batch, any version: none of them may validate it
    (four eyes), not only the preparer and the last editor."""

    transfer = models.ForeignKey(
        Transfer, on_delete=models.CASCADE, null=True, blank=True, related_name="authors"
    )
    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, null=True, blank=True, related_name="authors")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("author")
        verbose_name_plural = _("authors")
        constraints = [
            models.CheckConstraint(
                condition=Q(transfer__isnull=False, batch__isnull=True)
                | Q(transfer__isnull=True, batch__isnull=False),
                name="banking_author_one_subject",
            ),
            models.UniqueConstraint(
                fields=["transfer", "user"],
                condition=Q(transfer__isnull=False),
                name="banking_author_transfer",
            ),
            models.UniqueConstraint(
                fields=["batch", "user"], condition=Q(batch__isnull=False), name="banking_author_batch"
            ),
        ]

    def __str__(self) -> str:
        return str(self.user)
