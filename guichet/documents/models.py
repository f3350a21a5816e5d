"""The document portal (seed 002, I-Portal): issuers and their customer numbers, the documents
(invoices and credit notes) issued to them, who may see them (the primary contact's account and the
shared users it chose per customer number), reading state, notification preferences, invitations
and duplicates.

Who may see a document is decided in one place, ``documents.access``.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class CustomerNumberSource(models.TextChoices):
    """Where an issuer's e-invoices (UBL) carry the buyer's customer number."""

    BUYER_REFERENCE = "buyer_reference", _("Buyer reference (cbc:BuyerReference)")
    BUYER_PARTY_ID = "buyer_party_id", _("Buyer identifier (cac:PartyIdentification)")
    BUYER_ENDPOINT = "buyer_endpoint", _("Buyer electronic address (cbc:EndpointID)")
    BUYER_LEGAL_ID = "buyer_legal_id", _("Buyer legal registration (cac:PartyLegalEntity/cbc:CompanyID)")
    BUYER_VAT = "buyer_vat", _("Buyer VAT number (cac:PartyTaxScheme/cbc:CompanyID)")


class Issuer(models.Model):
    """One of the institution's companies or brands; its prefix starts its customer codes (DL2…).

    For the e-invoicing intake, its ``identifiers`` recognise it as the seller
    of a UBL document, and ``customer_number_source`` with the optional
    ``customer_number_pattern`` (a regular expression whose first group, or
    whole match, is the number) finds the customer number among the buyer's
    identifiers. No match is reported, never guessed.
    """

    name = models.CharField(_("name"), max_length=140)
    prefix = models.CharField(_("customer-number prefix"), max_length=8, unique=True)
    customer_number_source = models.CharField(
        _("customer number in e-invoices"),
        max_length=20,
        choices=CustomerNumberSource.choices,
        default=CustomerNumberSource.BUYER_REFERENCE,
    )
    customer_number_pattern = models.CharField(
        _("customer number pattern"),
        max_length=200,
        blank=True,
        help_text=_(
            "Optional regular expression applied to the buyer identifier; its first group (or the whole "
            "match) is the customer number. Empty: the whole identifier."
        ),
    )

    class Meta:
        verbose_name = _("issuer")
        verbose_name_plural = _("issuers")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"


class IssuerIdentifier(models.Model):
    """An identifier by which an issuer appears as the seller of a UBL document.

    ``scheme`` is the Peppol electronic address scheme (0088, 0208, …) of an
    EndpointID or PartyIdentification, or ``VAT`` for the seller's VAT number
    (PartyTaxScheme/CompanyID), or ``LEGAL`` for its legal registration.
    """

    issuer = models.ForeignKey(Issuer, on_delete=models.CASCADE, related_name="identifiers")
    scheme = models.CharField(_("scheme"), max_length=8)
    value = models.CharField(_("identifier"), max_length=64)

    class Meta:
        verbose_name = _("seller identifier")
        verbose_name_plural = _("seller identifiers")
        constraints = [
            models.UniqueConstraint(fields=["scheme", "value"], name="documents_issuer_identifier_unique")
        ]

    def __str__(self) -> str:
        return f"{self.scheme}:{self.value}"


class Customer(models.Model):
    """A legal person (or a consumer) to whom the issuers send documents."""

    name = models.CharField(_("name"), max_length=140)
    company_number = models.CharField(_("company number"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class CustomerNumber(models.Model):
    """Issuer + number (the customer code, e.g. DL2 123456), with its primary contact.

    ``account`` is the primary contact's Guichet account once activated; one
    account holds every customer number whose primary contact has its e-mail.
    """

    issuer = models.ForeignKey(Issuer, on_delete=models.PROTECT, related_name="customer_numbers")
    number = models.CharField(_("customer number"), max_length=20)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="customer_numbers")
    contact_name = models.CharField(_("primary contact"), max_length=140)
    contact_email = models.EmailField(_("primary contact's e-mail"))
    contact_language = models.CharField(
        _("primary contact's language"),
        max_length=8,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
    )
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="customer_numbers",
        verbose_name=_("primary contact's account"),
    )
    electronic_delivery = models.BooleanField(
        _("electronic delivery"),
        default=False,
        help_text=_("Opted in: no more paper. Otherwise every new document goes to the daily print batch."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("customer number")
        verbose_name_plural = _("customer numbers")
        ordering = ["issuer__prefix", "number"]
        constraints = [
            models.UniqueConstraint(fields=["issuer", "number"], name="documents_customer_number_unique"),
        ]
        indexes = [models.Index(fields=["contact_email"]), models.Index(fields=["account"])]

    def __str__(self) -> str:
        return self.code

    @property
    def code(self) -> str:
        return f"{self.issuer.prefix} {self.number}"


class DocumentKind(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    CREDIT_NOTE = "credit_note", _("Credit note")


class Document(models.Model):
    """An invoice or a credit note. The PDF, and the original structured file when there is one, are
    kept unchanged in the default storage (the original with its SHA-256)."""

    customer_number = models.ForeignKey(CustomerNumber, on_delete=models.PROTECT, related_name="documents")
    issuer = models.ForeignKey(Issuer, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(_("type"), max_length=12, choices=DocumentKind.choices)
    number = models.CharField(_("document number"), max_length=64)
    issue_date = models.DateField(_("issue date"))
    due_date = models.DateField(_("due date"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    amount_excl_vat = models.DecimalField(_("amount excluding VAT"), max_digits=14, decimal_places=2)
    vat = models.DecimalField(_("VAT"), max_digits=14, decimal_places=2)
    amount_incl_vat = models.DecimalField(_("amount including VAT"), max_digits=14, decimal_places=2)
    amount_payable = models.DecimalField(_("amount payable"), max_digits=14, decimal_places=2)
    pdf = models.FileField(_("PDF"), upload_to="documents/pdf/%Y/%m/", blank=True)
    rendered_pdf = models.FileField(
        _("PDF rendered by Guichet"), upload_to="documents/rendered/%Y/%m/", blank=True, editable=False
    )
    original = models.FileField(_("original file"), upload_to="documents/original/%Y/%m/", blank=True)
    original_name = models.CharField(_("original file name"), max_length=255, blank=True)
    original_sha256 = models.CharField(_("original's SHA-256"), max_length=64, blank=True)
    # Taken from the e-invoice (UBL) when there is one.
    seller_name = models.CharField(_("seller"), max_length=200, blank=True)
    seller_vat = models.CharField(_("seller's VAT number"), max_length=32, blank=True)
    buyer_name = models.CharField(_("buyer"), max_length=200, blank=True)
    buyer_vat = models.CharField(_("buyer's VAT number"), max_length=32, blank=True)
    payee_iban = models.CharField(_("account to pay to"), max_length=64, blank=True)
    payment_reference = models.CharField(
        _("payment reference"),
        max_length=64,
        blank=True,
        help_text=_("The Belgian structured communication +++xxx/xxxx/xxxxx+++ when there is one."),
    )
    vat_breakdown = models.JSONField(
        _("VAT breakdown"),
        default=list,
        blank=True,
        help_text=_("One entry per VAT category and rate: category, rate, taxable amount, VAT amount."),
    )
    created_at = models.DateTimeField(_("received"), default=timezone.now)
    # Set in the transaction that told the recipients (bulk intake announces in a background task).
    announced_at = models.DateTimeField(_("announced"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["-issue_date", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["issuer", "kind", "number"], name="documents_document_unique"),
        ]
        indexes = [
            # The documents page: a user's customer numbers, newest first, and each sortable column.
            models.Index(fields=["customer_number", "-issue_date", "-id"], name="documents_by_date"),
            models.Index(fields=["customer_number", "number", "id"], name="documents_by_number"),
            models.Index(fields=["customer_number", "amount_incl_vat", "id"], name="documents_by_amount"),
            models.Index(fields=["customer_number", "due_date", "id"], name="documents_by_due_date"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"


class DocumentRead(models.Model):
    """The first time a user opened a document (unread documents are shown in bold)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="reads")
    read_at = models.DateTimeField(_("read"), default=timezone.now)

    class Meta:
        verbose_name = _("reading")
        verbose_name_plural = _("readings")
        constraints = [models.UniqueConstraint(fields=["user", "document"], name="documents_read_unique")]

    def __str__(self) -> str:
        return f"{self.user} · {self.document}"


class Frequency(models.TextChoices):
    IMMEDIATELY = "immediately", _("Immediately")
    DAILY = "daily", _("Daily digest")
    WEEKLY = "weekly", _("Weekly digest")
    NEVER = "never", _("Never")


class NotificationPreference(models.Model):
    """How often a user hears of new documents of one customer number (default: immediately)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    customer_number = models.ForeignKey(CustomerNumber, on_delete=models.CASCADE, related_name="+")
    frequency = models.CharField(
        _("notifications"), max_length=12, choices=Frequency.choices, default=Frequency.IMMEDIATELY
    )

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [
            models.UniqueConstraint(fields=["user", "customer_number"], name="documents_preference_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.customer_number} · {self.frequency}"


class PendingNotice(models.Model):
    """A new document waiting for a recipient's daily or weekly digest."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="+")
    frequency = models.CharField(max_length=12, choices=Frequency.choices)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "document"], name="documents_notice_unique")]
        indexes = [models.Index(fields=["frequency", "sent_at", "user"])]

    def __str__(self) -> str:
        return f"{self.user} · {self.document}"


class Invitation(models.Model):
    """A single-use link to activate an account: for a customer number's primary contact, or for a
    shared user. Only a hash of the token is kept."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(_("e-mail address"))
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    customer_number = models.ForeignKey(
        CustomerNumber, on_delete=models.CASCADE, null=True, blank=True, related_name="invitations"
    )
    shared_user = models.ForeignKey(
        "SharedUser", on_delete=models.CASCADE, null=True, blank=True, related_name="invitations"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("sent"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [
            models.CheckConstraint(
                condition=Q(customer_number__isnull=False, shared_user__isnull=True)
                | Q(customer_number__isnull=True, shared_user__isnull=False),
                name="documents_invitation_one_subject",
            )
        ]

    def __str__(self) -> str:
        return self.email


class SharedUser(models.Model):
    """Someone the primary contact shares documents with (a colleague, the accountant).

    ``owner`` is the primary contact's account; ``user`` the shared user's own
    account once they activated it. Shared users cannot share further.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shared_users")
    name = models.CharField(_("name"), max_length=140)
    email = models.EmailField(_("e-mail address"))
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="shared_with_me",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("shared user")
        verbose_name_plural = _("shared users")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "email"], name="documents_shared_user_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class Share(models.Model):
    """A customer number a shared user sees (ticked by the primary contact)."""

    shared_user = models.ForeignKey(SharedUser, on_delete=models.CASCADE, related_name="shares")
    customer_number = models.ForeignKey(CustomerNumber, on_delete=models.CASCADE, related_name="shares")
    created_at = models.DateTimeField(_("shared"), default=timezone.now)

    class Meta:
        verbose_name = _("share")
        verbose_name_plural = _("shares")
        constraints = [
            models.UniqueConstraint(fields=["shared_user", "customer_number"], name="documents_share_unique")
        ]

    def __str__(self) -> str:
        return f"{self.shared_user} · {self.customer_number}"


class Duplicate(models.Model):
    """A duplicate requested by a user: a copy of the PDF stamped DUPLICATE with the request date."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="duplicates")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    file = models.FileField(_("file"), upload_to="documents/duplicates/%Y/%m/")

    class Meta:
        verbose_name = _("duplicate")
        verbose_name_plural = _("duplicates")
        ordering = ["-requested_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.document} · {self.requested_at:%Y-%m-%d}"


class ActivationCode(models.Model):
    """A code printed on a letter that enrols one customer code (prefix + number) in electronic
    delivery, in one account only (seed 002, MyUnifiedPost).

    Only an HMAC of the code is used to find it; the code itself is kept
    encrypted (``identity.crypto``) for the print shop's export, and wiped once
    used or revoked.
    """

    customer_number = models.ForeignKey(
        CustomerNumber, on_delete=models.CASCADE, related_name="activation_codes"
    )
    code_hash = models.CharField(max_length=64, unique=True)
    code_encrypted = models.TextField(blank=True)
    created_at = models.DateTimeField(_("issued"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    expires_at = models.DateTimeField(_("expires"))
    exported_at = models.DateTimeField(_("exported for printing"), null=True, blank=True)
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="activation_codes_used",
        verbose_name=_("account"),
    )
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("activation code")
        verbose_name_plural = _("activation codes")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["customer_number", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.customer_number} · {self.created_at:%Y-%m-%d}"


class DeliveryChannelChange(models.Model):
    """Every opt-in to and opt-out from electronic delivery, with its time and author."""

    class Reason(models.TextChoices):
        ACTIVATION_CODE = "activation_code", _("Activation code used")
        INVITATION = "invitation", _("Account activated from an invitation")
        OPT_OUT = "opt_out", _("Opt-out by the customer")
        REACTIVATION = "reactivation", _("Re-activation by the customer")
        MERGE = "merge", _("Accounts merged by an advisor")
        ADVISOR = "advisor", _("Changed by an advisor")

    customer_number = models.ForeignKey(
        CustomerNumber, on_delete=models.CASCADE, related_name="delivery_changes"
    )
    electronic = models.BooleanField(_("electronic delivery"))
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("delivery change")
        verbose_name_plural = _("delivery changes")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.customer_number} · {self.reason} · {self.at:%Y-%m-%d %H:%M}"


class PrintBatch(models.Model):
    """One day's paper documents for the print shop: a ZIP of the PDFs with a CSV manifest."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    day = models.DateField(_("day"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    file = models.FileField(_("file"), upload_to="documents/print/%Y/%m/", blank=True)
    count = models.PositiveIntegerField(_("documents"), default=0)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    downloaded_at = models.DateTimeField(_("last downloaded"), null=True, blank=True)

    class Meta:
        verbose_name = _("print batch")
        verbose_name_plural = _("print batches")
        ordering = ["-day", "-created_at"]

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d} · {self.count}"


class PrintItem(models.Model):
    """A document sent to paper: each document is printed once."""

    batch = models.ForeignKey(PrintBatch, on_delete=models.PROTECT, related_name="items")
    document = models.OneToOneField(Document, on_delete=models.PROTECT, related_name="print_item")

    class Meta:
        verbose_name = _("printed document")
        verbose_name_plural = _("printed documents")

    def __str__(self) -> str:
        return f"{self.batch} · {self.document}"


class IntakeClient(models.Model):
    """A billing system allowed to send documents to the intake endpoint (a machine, not a person).

    It authenticates with ``Authorization: Bearer <key>``; only an HMAC of the
    key is kept. It may send documents of its issuers only.
    """

    name = models.CharField(_("name"), max_length=140)
    issuers = models.ManyToManyField(Issuer, related_name="intake_clients", verbose_name=_("issuers"))
    key_prefix = models.CharField(max_length=12, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("intake client")
        verbose_name_plural = _("intake clients")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name
