from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField


class AccountKind(models.TextChoices):
    PROVISIONED = "provisioned", _("Provisioned by the institution")
    BUSINESS = "business", _("Business account")
    CONSUMER = "consumer", _("Consumer account")
    STAFF = "staff", _("Staff")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, user_id: str, email: str = "", password: str | None = None, **extra):
        user = self.model(user_id=user_id, email=self.normalize_email(email), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, user_id: str, email: str = "", password: str | None = None, **extra):
        extra.setdefault("kind", AccountKind.STAFF)
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(user_id, email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in to Guichet.

    ``user_id`` is the login identifier: issued by the institution for
    provisioned users, the company number for business accounts, the e-mail
    for consumers. It is distinct from ``email``, the contact address.
    """

    user_id = models.CharField(
        _("user ID"),
        max_length=150,
        unique=True,
        error_messages={"unique": _("A user with this user ID already exists.")},
    )
    email = models.EmailField(_("e-mail address"), blank=True)
    mobile_phone = PhoneNumberField(_("mobile phone"), blank=True)
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("surname"), max_length=150, blank=True)
    preferred_language = models.CharField(
        _("preferred language"),
        max_length=8,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
    )
    kind = models.CharField(
        _("account kind"), max_length=16, choices=AccountKind.choices, default=AccountKind.PROVISIONED
    )
    is_staff = models.BooleanField(_("staff status"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "user_id"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        indexes = [models.Index(fields=["email"])]

    def __str__(self) -> str:
        return self.user_id

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.user_id

    def get_short_name(self) -> str:
        return self.first_name or self.user_id
