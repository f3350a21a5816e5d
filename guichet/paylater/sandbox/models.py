"""The sandbox provider's own records. It keeps what a real provider would keep, minus the card number:
the test card's brand, last 4 digits, expiry and behaviour under a token, its card-entry sessions and
every charge under its idempotency key (so the same key never charges twice)."""

import uuid

from django.db import models
from django.utils import timezone

MONEY = {"max_digits": 12, "decimal_places": 2}


class SandboxSession(models.Model):
    """A card-entry session: created by Guichet with a return URL, completed on the sandbox's card page."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(max_length=100)
    return_url = models.CharField(max_length=500)
    language = models.CharField(max_length=8, default="fr")
    status = models.CharField(max_length=12, default="open")  # open, completed, cancelled
    token = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return str(self.id)


class SandboxCard(models.Model):
    """What the sandbox answers for a token. ``behaviour`` comes from the test card number entered."""

    token = models.CharField(max_length=200, unique=True)
    brand = models.CharField(max_length=12)
    last4 = models.CharField(max_length=4)
    expiry_month = models.PositiveSmallIntegerField()
    expiry_year = models.PositiveSmallIntegerField()
    behaviour = models.CharField(max_length=24, default="success")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.brand} {self.last4}"


class SandboxCharge(models.Model):
    """One charge or refund; the unique idempotency key is what makes a repeated request harmless."""

    idempotency_key = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=8, default="charge")  # charge, refund
    token = models.CharField(max_length=200)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    outcome = models.CharField(max_length=12)  # succeeded, failed
    reason = models.CharField(max_length=40, blank=True)
    reference = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.reference
