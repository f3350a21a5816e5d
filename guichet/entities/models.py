"""Business clients (entities), their bank accounts and contracts, the persons the advisor
registers for them, and the users' rights per account and contract.

A right is an explicit row (user, resource, right). The one authorisation
function that reads them is ``entities.access``; nothing else decides.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField


class CompanyNumberScheme(models.TextChoices):
    BE = "be", _("Belgian enterprise number")
    FR = "fr", _("French SIREN")


class Entity(models.Model):
    name = models.CharField(_("name"), max_length=140)
    company_number_scheme = models.CharField(
        _("company number type"), max_length=2, choices=CompanyNumberScheme.choices
    )
    # Compact form: 10 digits (BE) or 9 digits (FR); entities.validation checks it.
    company_number = models.CharField(_("company number"), max_length=20)
    allow_self_validation = models.BooleanField(
        _("allow self-validation"),
        default=False,
        help_text=_(
            "For one-person companies only: the person who prepared or last edited a transfer may "
            "validate it too."
        ),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("business client")
        verbose_name_plural = _("business clients")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["company_number_scheme", "company_number"],
                name="entities_entity_company_number_unique",
                violation_error_message=_("A business client with this company number already exists."),
            )
        ]

    def __str__(self) -> str:
        return self.name


class BankAccount(models.Model):
    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="accounts")
    iban = models.CharField(_("IBAN"), max_length=34, unique=True)  # compact, upper case
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    label = models.CharField(_("label"), max_length=70)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    balance = models.DecimalField(_("balance"), max_digits=18, decimal_places=2, default=Decimal("0.00"))
    balance_at = models.DateTimeField(_("balance on"), default=timezone.now)

    class Meta:
        verbose_name = _("bank account")
        verbose_name_plural = _("bank accounts")
        ordering = ["entity_id", "label", "pk"]

    def __str__(self) -> str:
        return f"{self.label} · {self.iban_display}"

    @property
    def iban_display(self) -> str:
        return " ".join(self.iban[i : i + 4] for i in range(0, len(self.iban), 4))


class ContractKind(models.TextChoices):
    REMOTE_BANKING = "remote_banking", _("Remote banking")
    CARDS = "cards", _("Cards")
    LEASING = "leasing", _("Leasing")
    CREDIT = "credit", _("Credit")
    OTHER = "other", _("Other")


class Contract(models.Model):
    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="contracts")
    kind = models.CharField(_("kind"), max_length=20, choices=ContractKind.choices)
    reference = models.CharField(_("reference"), max_length=35)
    label = models.CharField(_("label"), max_length=70)
    started_on = models.DateField(_("start date"), null=True, blank=True)
    details = models.TextField(_("details"), blank=True)

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        ordering = ["entity_id", "label", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["entity", "reference"], name="entities_contract_reference_unique")
        ]

    def __str__(self) -> str:
        return f"{self.label} · {self.reference}"


class PersonStatus(models.TextChoices):
    REGISTERED = "registered", _("Registered by the advisor, not yet a user")
    ACTIVE = "active", _("Active user")
    SUSPENDED = "suspended", _("Suspended")
    REMOVED = "removed", _("Removed")


class Person(models.Model):
    """Someone the advisor registered for an entity; becomes a user when an administrator adds them."""

    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="persons")
    last_name = models.CharField(_("surname"), max_length=150)
    first_name = models.CharField(_("first name"), max_length=150)
    birth_date = models.DateField(_("date of birth"))
    mobile_phone = PhoneNumberField(_("mobile phone"))
    email = models.EmailField(_("e-mail address"), blank=True)
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="entity_persons",
        verbose_name=_("user"),
    )
    status = models.CharField(
        _("status"), max_length=12, choices=PersonStatus.choices, default=PersonStatus.REGISTERED
    )
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    registered_at = models.DateTimeField(_("registered"), default=timezone.now)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("persons")
        ordering = ["entity_id", "last_name", "first_name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["entity", "user"],
                condition=Q(user__isnull=False),
                name="entities_person_one_per_user_and_entity",
            ),
            models.CheckConstraint(
                condition=Q(status="registered") | Q(user__isnull=False),
                name="entities_person_user_once_added",
            ),
        ]
        indexes = [models.Index(fields=["user", "status"])]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Right(models.TextChoices):
    CONSULTATION = "consultation", _("Consultation")
    MANAGEMENT = "management", _("Management")
    VALIDATION = "validation", _("Validation")
    ADMINISTRATION = "administration", _("Administration of users")


RESOURCE_RIGHTS = (Right.CONSULTATION, Right.MANAGEMENT, Right.VALIDATION)


class Grant(models.Model):
    """One right of one user: on an account, on a contract, or (administration) on the entity."""

    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="grants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="entity_grants")
    account = models.ForeignKey(
        BankAccount, on_delete=models.CASCADE, null=True, blank=True, related_name="grants"
    )
    contract = models.ForeignKey(
        Contract, on_delete=models.CASCADE, null=True, blank=True, related_name="grants"
    )
    right = models.CharField(_("right"), max_length=16, choices=Right.choices)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    granted_at = models.DateTimeField(_("granted"), default=timezone.now)

    class Meta:
        verbose_name = _("right")
        verbose_name_plural = _("rights")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(right="administration", account__isnull=True, contract__isnull=True)
                    | (
                        ~Q(right="administration")
                        & (
                            Q(account__isnull=False, contract__isnull=True)
                            | Q(account__isnull=True, contract__isnull=False)
                        )
                    )
                ),
                name="entities_grant_one_resource",
            ),
            models.UniqueConstraint(
                fields=["user", "account", "right"],
                condition=Q(account__isnull=False),
                name="entities_grant_account_unique",
            ),
            models.UniqueConstraint(
                fields=["user", "contract", "right"],
                condition=Q(contract__isnull=False),
                name="entities_grant_contract_unique",
            ),
            models.UniqueConstraint(
                fields=["user", "entity"],
                condition=Q(right="administration"),
                name="entities_grant_administration_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "right", "account"]),
            models.Index(fields=["user", "right", "contract"]),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_right_display()} · {self.account or self.contract or self.entity}"


class GrantChange(models.Model):
    """The history of rights: who granted or withdrew what, when. Append-only."""

    class Action(models.TextChoices):
        GRANTED = "granted", _("Granted")
        REVOKED = "revoked", _("Withdrawn")

    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="grant_changes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(_("action"), max_length=8, choices=Action.choices)
    right = models.CharField(_("right"), max_length=16, choices=Right.choices)
    account = models.ForeignKey(
        BankAccount, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    contract = models.ForeignKey(Contract, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    resource_label = models.CharField(_("resource"), max_length=200)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(_("by"), max_length=150, blank=True)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("change of rights")
        verbose_name_plural = _("changes of rights")
        ordering = ["-occurred_at", "-pk"]
        indexes = [models.Index(fields=["entity", "-occurred_at"])]

    def __str__(self) -> str:
        return f"{self.get_action_display()} · {self.get_right_display()} · {self.resource_label}"
