import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Upper
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
    alternate_mobile_phone = PhoneNumberField(_("second mobile phone"), blank=True)
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
    # Credentials state. A temporary password allows only the onboarding
    # journey and expires; the hint is Fernet-encrypted (identity.crypto).
    password_is_temporary = models.BooleanField(_("temporary password"), default=False)
    password_expires_at = models.DateTimeField(_("temporary password expires"), null=True, blank=True)
    password_changed_at = models.DateTimeField(_("password changed"), null=True, blank=True)
    password_hint_encrypted = models.TextField(_("password hint (encrypted)"), blank=True, editable=False)
    credentials_issued_at = models.DateTimeField(_("credentials issued"), null=True, blank=True)
    failed_login_count = models.PositiveSmallIntegerField(_("consecutive failed logins"), default=0)
    sca_required = models.BooleanField(
        _("strong authentication required"),
        default=False,
        help_text=_("Must enrol a passkey or an authenticator app and use it at every login (entity users)."),
    )
    locked_at = models.DateTimeField(_("locked since"), null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "user_id"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        indexes = [models.Index(fields=["email"])]
        constraints = [
            # Logins match the user ID ignoring case (UPPER(user_id) = UPPER(%s)):
            # unique that way, and indexed for that look-up.
            models.UniqueConstraint(
                Upper("user_id"),
                name="identity_user_user_id_ci_unique",
                violation_error_message=_("A user with this user ID already exists."),
            ),
        ]

    def __str__(self) -> str:
        return self.user_id

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.user_id

    def get_short_name(self) -> str:
        return self.first_name or self.user_id

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None

    @property
    def mobile_phones(self) -> list:
        """The registered mobile numbers a code may be sent to, in order."""
        return [number for number in (self.mobile_phone, self.alternate_mobile_phone) if number]


class PasswordHistory(models.Model):
    """Hashes of a user's previous passwords, for the no-reuse rule."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="password_history"
    )
    password = models.CharField(_("password hash"), max_length=128)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("previous password")
        verbose_name_plural = _("previous passwords")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user} {self.created_at:%Y-%m-%d}"


class CodePurpose(models.TextChoices):
    ONBOARDING = "onboarding", _("first login")
    FORGOT_USER_ID = "forgot_user_id", _("forgotten user ID")
    RESET_CREDENTIALS = "reset_credentials", _("reset of logon credentials")
    CHANGE_EMAIL = "change_email", _("change of e-mail address")
    CHANGE_PHONE = "change_phone", _("change of mobile number")
    REENROLMENT = "reenrolment", _("new strong authentication")


class OneTimeCode(models.Model):
    """A 6-digit code sent by SMS or e-mail, stored as a keyed hash only.

    Valid for a few minutes, a few wrong tries at most, single use. The
    flow that asked for it keeps its id in the session (identity.codes).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="one_time_codes"
    )
    purpose = models.CharField(_("purpose"), max_length=32, choices=CodePurpose.choices)
    channel = models.CharField(_("channel"), max_length=8)
    destination = models.CharField(_("sent to"), max_length=254)
    code_hash = models.CharField(_("code hash"), max_length=64)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    failed_attempts = models.PositiveSmallIntegerField(_("wrong tries"), default=0)
    used_at = models.DateTimeField(_("used"), null=True, blank=True)

    class Meta:
        verbose_name = _("one-time code")
        verbose_name_plural = _("one-time codes")
        indexes = [models.Index(fields=["user", "purpose", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} {self.created_at:%Y-%m-%d %H:%M}"


class UserAgreement(models.Model):
    """One version of the user agreement in one language, managed in the back office."""

    version = models.PositiveIntegerField(_("version"))
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    title = models.CharField(_("title"), max_length=200)
    text = models.TextField(_("text"))
    published_at = models.DateTimeField(
        _("in force from"),
        default=timezone.now,
        help_text=_("Users are asked to accept it from this moment."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("user agreement")
        verbose_name_plural = _("user agreements")
        ordering = ["-version", "language"]
        constraints = [
            models.UniqueConstraint(fields=["version", "language"], name="agreement_version_language")
        ]

    def __str__(self) -> str:
        return f"v{self.version} ({self.language}) {self.title}"


class AgreementAcceptance(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agreement_acceptances"
    )
    version = models.PositiveIntegerField(_("version"))
    language = models.CharField(_("language"), max_length=8)
    accepted_at = models.DateTimeField(_("accepted"), default=timezone.now)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        verbose_name = _("agreement acceptance")
        verbose_name_plural = _("agreement acceptances")
        ordering = ["-accepted_at"]
        constraints = [models.UniqueConstraint(fields=["user", "version"], name="acceptance_user_version")]

    def __str__(self) -> str:
        return f"{self.user} v{self.version}"


class ProvisioningImportStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    DONE = "done", _("done")
    FAILED = "failed", _("file refused")


class ProvisioningImport(models.Model):
    """A CSV file of users to provision, uploaded in the back office and run by a task.

    The file's text is kept only until the task has read it; the outcome of
    each line is a ``ProvisioningImportLine``.
    """

    file_name = models.CharField(_("file"), max_length=255)
    content = models.TextField(_("content"), blank=True, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=ProvisioningImportStatus.choices,
        default=ProvisioningImportStatus.QUEUED,
    )
    error = models.CharField(_("file error"), max_length=64, blank=True)
    total = models.PositiveIntegerField(_("lines"), default=0)
    processed = models.PositiveIntegerField(_("lines processed"), default=0)
    created_count = models.PositiveIntegerField(_("users created"), default=0)
    failed_count = models.PositiveIntegerField(_("lines refused"), default=0)
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("provisioning import")
        verbose_name_plural = _("provisioning imports")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.file_name} {self.created_at:%Y-%m-%d %H:%M}"


class ProvisioningImportLine(models.Model):
    """The outcome of one line of a provisioning import: created, or refused with the field and why."""

    provisioning_import = models.ForeignKey(
        ProvisioningImport, on_delete=models.CASCADE, related_name="lines"
    )
    line = models.PositiveIntegerField(_("line"))
    user_id = models.CharField(_("user ID"), max_length=150, blank=True)
    created = models.BooleanField(_("created"), default=False)
    field = models.CharField(_("field"), max_length=32, blank=True)
    code = models.CharField(_("reason"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("provisioning import line")
        verbose_name_plural = _("provisioning import lines")
        ordering = ["provisioning_import", "line"]
        constraints = [
            models.UniqueConstraint(fields=["provisioning_import", "line"], name="provisioning_import_line")
        ]

    def __str__(self) -> str:
        return f"{self.provisioning_import_id}:{self.line}"


class SigningChallenge(models.Model):
    """An operation waiting for the user's signature (PSD2 RTS art. 5, dynamic linking).

    ``operation`` holds the canonical JSON exactly as signed and ``digest`` its
    SHA-256; a passkey signs SHA-256(digest || nonce), a TOTP or SMS code is
    accepted for this row only. Single use, valid a few minutes
    (identity.signing).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="signing_challenges"
    )
    kind = models.CharField(_("operation"), max_length=32)
    operation = models.TextField(_("operation signed (canonical JSON)"))
    digest = models.CharField(_("digest"), max_length=64)
    nonce = models.CharField(_("nonce"), max_length=64)
    next_url = models.CharField(_("next page"), max_length=500, blank=True)
    code_hash = models.CharField(_("SMS code hash"), max_length=64, blank=True)
    code_sent_at = models.DateTimeField(_("SMS code sent"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)

    class Meta:
        verbose_name = _("signing challenge")
        verbose_name_plural = _("signing challenges")
        indexes = [models.Index(fields=["user", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.digest[:12]}"


class SigningMethod(models.TextChoices):
    WEBAUTHN = "webauthn", _("passkey")
    TOTP = "totp", _("authenticator app")
    SMS = "sms", _("SMS code")


class SignedProof(models.Model):
    """The user's signature of one challenge; consumed once by the operation it allows."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    challenge = models.OneToOneField(SigningChallenge, on_delete=models.CASCADE, related_name="proof")
    method = models.CharField(_("method"), max_length=16, choices=SigningMethod.choices)
    signed_at = models.DateTimeField(_("signed"), default=timezone.now)
    consumed_at = models.DateTimeField(_("consumed"), null=True, blank=True)

    class Meta:
        verbose_name = _("signed proof")
        verbose_name_plural = _("signed proofs")

    def __str__(self) -> str:
        return f"{self.challenge} {self.method}"
