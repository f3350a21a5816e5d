from django.db import models
from django.utils.translation import gettext_lazy as _

MESSAGE_MAX_LENGTH = 2000


class Topic(models.TextChoices):
    ACCESS = "access", _("Logging on and access")
    CARDS = "cards", _("My card")
    PAYMENTS = "payments", _("Payment schedules and unpaid amounts")
    INVOICES = "invoices", _("Invoices and documents")
    USERS = "users", _("User administration")
    OTHER = "other", _("Something else")


class ContactMessage(models.Model):
    class Status(models.TextChoices):
        NEW = "new", _("New")
        HANDLED = "handled", _("Handled")

    name = models.CharField(_("name"), max_length=100)
    email = models.EmailField(_("e-mail address"))
    customer_reference = models.CharField(_("customer reference"), max_length=40, blank=True)
    topic = models.CharField(_("topic"), max_length=20, choices=Topic.choices)
    message = models.TextField(_("message"), max_length=MESSAGE_MAX_LENGTH)
    language = models.CharField(_("language"), max_length=8)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.NEW)
    created_at = models.DateTimeField(_("received at"), auto_now_add=True, db_index=True)
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("contact message")
        verbose_name_plural = _("contact messages")
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return self.tracking_number

    @property
    def tracking_number(self) -> str:
        """What the customer quotes when calling about the message."""
        return f"CM-{self.pk:06d}"
