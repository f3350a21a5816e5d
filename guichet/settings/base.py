"""Production settings: safe defaults, everything else from the environment.

The demo (``guichet.settings.demo``) and the tests (``guichet.settings.test``)
select their overrides explicitly on top of this module.
"""

from pathlib import Path

import dj_database_url
import phonenumbers
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from guichet.settings import env

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# --- Core -------------------------------------------------------------------
SECRET_KEY = env.string("DJANGO_SECRET_KEY")
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
    raise env.bad("DJANGO_SECRET_KEY", "…", "at least 50 random characters")
DEBUG = False
ALLOWED_HOSTS = env.string_list("DJANGO_ALLOWED_HOSTS", [])
CSRF_TRUSTED_ORIGINS = env.string_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # Before django.contrib.admin so that its templates (branding) win.
    "guichet.backoffice",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "csp",
    "phonenumber_field",
    "django_tasks",
    "django_tasks_db",
    "rest_framework",
    "drf_spectacular",
    # Before allauth so that our templates override its own.
    "guichet.web",
    "guichet.identity",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "guichet.audit",
    "guichet.notifications",
    "guichet.help",
    "guichet.entities",
    "guichet.banking",
    "guichet.documents",
    "guichet.paylater",
    "guichet.paylater.sandbox",
]

MIDDLEWARE = [
    "guichet.web.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "guichet.web.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "guichet.entities.middleware.PaymentSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "guichet.urls"
WSGI_APPLICATION = "guichet.wsgi.application"
AUTH_USER_MODEL = "identity.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "guichet.web.context_processors.branding",
                "guichet.identity.views.security.session_timing",
                "guichet.entities.context_processors.business_menu",
                "guichet.documents.context_processors.documents_menu",
                "guichet.paylater.context_processors.paylater_menu",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
_DEFAULT_DB = f"sqlite:///{BASE_DIR / 'var' / 'guichet.sqlite3'}"
_database_url = env.string("DATABASE_URL", _DEFAULT_DB)
try:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
except ValueError as exc:
    raise env.bad("DATABASE_URL", env.without_password(_database_url), f"a database URL ({exc})") from None
if DATABASES["default"]["ENGINE"] not in {
    "django.db.backends.postgresql",
    "django.db.backends.sqlite3",
}:
    raise env.bad("DATABASE_URL", env.without_password(_database_url), "a postgres:// or sqlite:// URL")
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No server-side cursors: they break behind PgBouncer in transaction mode
    # (docs/scaling.md) and cost three round trips for each .iterator().
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite is for the demo and quick local runs: wait for the writer lock
    # instead of failing, since the web server and the worker share the file.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0

# --- Cache (rate limits; shared by every web process) ------------------------
_CACHE_URL = env.string("GUICHET_CACHE_URL", "db://")
if _CACHE_URL == "db://":
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "guichet_cache"}
    }
elif _CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _CACHE_URL}}
elif _CACHE_URL == "locmem://":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    raise env.bad(
        "GUICHET_CACHE_URL", env.without_password(_CACHE_URL), "db://, redis://host:port/db or locmem://"
    )

# --- Passwords --------------------------------------------------------------
PASSWORD_HASHERS = ["guichet.identity.hashers.GuichetArgon2Hasher"]
# The seeds' rule by default: 8 characters with an upper-case letter, a
# lower-case letter, a digit and a special character; see docs/identity.md.
GUICHET_PASSWORD_MIN_LENGTH = env.integer("GUICHET_PASSWORD_MIN_LENGTH", 8, minimum=8, maximum=128)
GUICHET_PASSWORD_CHARACTER_CLASSES = env.string_list(
    "GUICHET_PASSWORD_CHARACTER_CLASSES", ["upper", "lower", "digit", "special"]
)
if _unknown := set(GUICHET_PASSWORD_CHARACTER_CLASSES) - {"upper", "lower", "digit", "special"}:
    raise env.bad(
        "GUICHET_PASSWORD_CHARACTER_CLASSES",
        ",".join(sorted(_unknown)),
        "a subset of upper,lower,digit,special",
    )
GUICHET_PASSWORD_HISTORY = env.integer("GUICHET_PASSWORD_HISTORY", 5, minimum=0, maximum=24)
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "guichet.identity.password_validation.CharacterClassValidator",
        "OPTIONS": {"min_length": GUICHET_PASSWORD_MIN_LENGTH, "classes": GUICHET_PASSWORD_CHARACTER_CLASSES},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "guichet.identity.password_validation.PersonalDataValidator"},
    {
        "NAME": "guichet.identity.password_validation.HistoryValidator",
        "OPTIONS": {"count": GUICHET_PASSWORD_HISTORY},
    },
]

# --- Identity (django-allauth is the engine; see docs/identity.md) ----------
AUTHENTICATION_BACKENDS = ["allauth.account.auth_backends.AuthenticationBackend"]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_ADAPTER = "guichet.identity.adapter.AccountAdapter"
ACCOUNT_FORMS = {
    "login": "guichet.identity.forms.login.LoginForm",
    "reset_password": "guichet.identity.forms.consumer.ConsumerResetPasswordForm",
    "reset_password_from_key": "guichet.identity.forms.consumer.ConsumerResetPasswordKeyForm",
    "change_password": "guichet.identity.forms.security.ChangePasswordForm",
}
# One identifier field: the user ID (provisioned, business) or, for consumers,
# the e-mail address, which is their user ID.
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email", "password1*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = "user_id"
ACCOUNT_USER_MODEL_EMAIL_FIELD = "email"
ACCOUNT_PRESERVE_USERNAME_CASING = True  # stored as issued; looked up ignoring case
ACCOUNT_UNIQUE_EMAIL = False
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False  # e-mails go only to addresses on file
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = True
ACCOUNT_PASSWORD_RESET_BY_CODE_MAX_ATTEMPTS = 5
ACCOUNT_PASSWORD_RESET_BY_CODE_TIMEOUT = 5 * 60
ACCOUNT_LOGIN_ON_PASSWORD_RESET = True
ACCOUNT_SESSION_REMEMBER = False  # "Remember me" remembers the identifier only
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_TIMEOUT = 30 * 60  # time to finish the onboarding steps
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
ACCOUNT_TEMPLATE_EXTENSION = "html"
USERSESSIONS_TRACK_ACTIVITY = True

# --- Strong customer authentication (allauth.mfa; see docs/sca.md) ---------
MFA_SUPPORTED_TYPES = ["totp", "webauthn"]
MFA_TOTP_PERIOD = 30
MFA_TOTP_DIGITS = 6
MFA_TOTP_TOLERANCE = 0
MFA_PASSKEY_LOGIN_ENABLED = False  # a passkey is the second factor after the password
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = False
MFA_TRUST_ENABLED = False  # no "trust this browser": every login of a required kind is strong
MFA_FORMS = {"authenticate_webauthn": "guichet.identity.forms.sca.AuthenticateWebAuthnForm"}
MFA_ADAPTER = "guichet.identity.mfa_adapter.MFAAdapter"  # 2nd factor in the one failure counter
# Account kinds that must authenticate strongly at every login and enrol at
# their first login; the others may enable it (and must use it to sign).
GUICHET_SCA_REQUIRED_KINDS = env.string_list("GUICHET_SCA_REQUIRED_KINDS", ["business", "staff"])
# Validity of the link of an advisor-started re-enrolment (lost authenticators).
GUICHET_REENROL_LINK_SECONDS = env.integer(
    "GUICHET_REENROL_LINK_SECONDS", 24 * 3600, minimum=15 * 60, maximum=7 * 24 * 3600
)
GUICHET_SIGNING_VALIDITY_SECONDS = env.integer(
    "GUICHET_SIGNING_VALIDITY_SECONDS", 300, minimum=60, maximum=900
)
# Recovery answers take at least this long, known account or not (timing
# must not reveal which); see identity/timing.py.
GUICHET_STEADY_RESPONSE_SECONDS = 0.25
# Countries of the masked numbers shown when no account matched: those of
# the institution's customers (ISO 3166 codes), e.g. "BE,FR,NL,LU,DE".
GUICHET_DECOY_PHONE_REGIONS = [r.upper() for r in env.string_list("GUICHET_DECOY_PHONE_REGIONS", ["BE"])]
if _bad_regions := [r for r in GUICHET_DECOY_PHONE_REGIONS if r not in phonenumbers.SUPPORTED_REGIONS]:
    raise env.bad("GUICHET_DECOY_PHONE_REGIONS", ",".join(_bad_regions), "ISO 3166 country codes, e.g. BE,FR")
GUICHET_TEMPORARY_PASSWORD_DAYS = env.integer("GUICHET_TEMPORARY_PASSWORD_DAYS", 14, minimum=1, maximum=90)
GUICHET_LOCKOUT_THRESHOLD = env.integer("GUICHET_LOCKOUT_THRESHOLD", 5, minimum=3, maximum=10)
GUICHET_CODE_VALIDITY_SECONDS = env.integer(
    "GUICHET_CODE_VALIDITY_SECONDS", 5 * 60, minimum=60, maximum=15 * 60
)
GUICHET_CODE_MAX_ATTEMPTS = env.integer("GUICHET_CODE_MAX_ATTEMPTS", 5, minimum=1, maximum=10)
GUICHET_CODE_MAX_RESENDS = env.integer("GUICHET_CODE_MAX_RESENDS", 3, minimum=0, maximum=10)
GUICHET_CREDENTIAL_RESET_LINK_SECONDS = env.integer(
    "GUICHET_CREDENTIAL_RESET_LINK_SECONDS", 60 * 60, minimum=5 * 60, maximum=72 * 3600
)
# Keys for the password hints (Fernet, url-safe base64, 32 bytes), newest
# first; without them a key is derived from DJANGO_SECRET_KEY.
GUICHET_FIELD_ENCRYPTION_KEYS = env.string_list("GUICHET_FIELD_ENCRYPTION_KEYS", [])
# Rate limits in allauth's syntax ("count/period/ip|key|user"); "off" turns
# them all off (benchmarks only).
_RATE_LIMITS_OFF = env.boolean("GUICHET_RATE_LIMITS_OFF", False)
ACCOUNT_RATE_LIMITS = (
    False
    if _RATE_LIMITS_OFF
    else {
        "login": env.string("GUICHET_RATE_LIMIT_LOGIN", "30/m/ip"),
        "login_failed": env.string("GUICHET_RATE_LIMIT_LOGIN_FAILED", "10/m/ip,20/h/ip,5/5m/key"),
        "reset_password": env.string("GUICHET_RATE_LIMIT_RESET_PASSWORD", "20/m/ip,5/h/key"),
        "reset_password_from_key": "20/m/ip",
        "change_password": "5/h/user",
        "reauthenticate": "5/h/user",
        # Our own actions (guichet.identity): codes sent, recovery requests.
        "guichet_code_send": env.string("GUICHET_RATE_LIMIT_CODE_SEND", "10/h/ip,5/h/key"),
        "guichet_recovery": env.string("GUICHET_RATE_LIMIT_RECOVERY", "20/h/ip,5/h/key"),
        "guichet_contact_change": env.string("GUICHET_RATE_LIMIT_CONTACT_CHANGE", "5/h/user"),
        # Pay-later: card entries opened at the provider and regularisations started, per customer
        # (each one a provider session: a stolen password must not become a card-testing tool).
        "guichet_paylater_card": env.string("GUICHET_RATE_LIMIT_PAYLATER_CARD", "20/h/key,40/d/key"),
        # Shared users added (each one an invitation e-mail), per primary contact.
        "guichet_share_invite": env.string("GUICHET_RATE_LIMIT_SHARE_INVITE", "20/h/key,50/d/key"),
    }
)

# --- Internationalisation ---------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [
    ("fr", _("French")),
    ("nl", _("Dutch")),
    ("en", _("English")),
    ("de", _("German")),
]
LOCALE_PATHS = [BASE_DIR / "guichet" / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = env.timezone("GUICHET_TIME_ZONE", "Europe/Brussels")
LANGUAGE_COOKIE_SECURE = True
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"

# --- Static files -----------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = Path(env.string("GUICHET_MEDIA_ROOT", str(BASE_DIR / "var" / "media")))

# --- API (Django REST framework) ---------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Guichet API",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- Document portal -----------------------------------------------------------
# How far back an account sees documents, and how long stored documents are kept
# (Belgian legal retention: 10 years since 2023).
GUICHET_DOCUMENTS_VISIBLE_YEARS = env.integer("GUICHET_DOCUMENTS_VISIBLE_YEARS", 7, minimum=1, maximum=30)
GUICHET_DOCUMENTS_RETENTION_YEARS = env.integer(
    "GUICHET_DOCUMENTS_RETENTION_YEARS", 10, minimum=1, maximum=50
)
# Validity of an invitation to activate an account.
GUICHET_INVITATION_DAYS = env.integer("GUICHET_INVITATION_DAYS", 30, minimum=1, maximum=365)
GUICHET_ACTIVATION_CODE_WEEKS = env.integer("GUICHET_ACTIVATION_CODE_WEEKS", 15, minimum=1, maximum=104)
# The customer space's address, for links in e-mails sent without a web request (a worker, the
# billing intake), e.g. https://guichet.example.com
GUICHET_PUBLIC_URL = env.string("GUICHET_PUBLIC_URL", "")
# Intake of the billing systems' documents (UBL, CSV manifests): docs/intake.md.
# Largest file accepted (a UBL file, a PDF, a CSV manifest).
GUICHET_INTAKE_MAX_FILE_BYTES = env.integer(
    "GUICHET_INTAKE_MAX_FILE_BYTES", 20 * 1024 * 1024, minimum=64 * 1024, maximum=1024 * 1024 * 1024
)
# Largest request body accepted by the intake endpoint (one document or a multipart batch).
GUICHET_INTAKE_MAX_REQUEST_BYTES = env.integer(
    "GUICHET_INTAKE_MAX_REQUEST_BYTES", 100 * 1024 * 1024, minimum=64 * 1024, maximum=4 * 1024 * 1024 * 1024
)
# Documents written per transaction (one audit event and one announcement task each).
GUICHET_INTAKE_CHUNK_SIZE = env.integer("GUICHET_INTAKE_CHUNK_SIZE", 200, minimum=1, maximum=5000)

# --- Pay-later space (seed 003): docs/payments.md ------------------------------
# Mounts the sandbox provider's card page (demo and tests only; never in production).
GUICHET_PAYMENT_SANDBOX = env.boolean("GUICHET_PAYMENT_SANDBOX", False)
# The payment provider (a class with paylater.gateway.PaymentGateway's methods). No default outside the
# sandbox: charges must never silently go to the sandbox.
GUICHET_PAYMENT_GATEWAY = env.string(
    "GUICHET_PAYMENT_GATEWAY",
    "guichet.paylater.sandbox.provider.SandboxGateway" if GUICHET_PAYMENT_SANDBOX else "",
)
# Shared secret of the provider's signed notifications (HMAC-SHA256 of the body).
GUICHET_PAYMENT_NOTIFICATION_SECRET = env.string("GUICHET_PAYMENT_NOTIFICATION_SECRET", "")
# Days between two instalments (the seed's schedules are 30 days apart) and between regularisation payments.
GUICHET_PAYLATER_INTERVAL_DAYS = env.integer("GUICHET_PAYLATER_INTERVAL_DAYS", 30, minimum=7, maximum=31)
# How an order's fees are spread: "first" (all on the first instalment) or "even" (over all of them).
GUICHET_PAYLATER_FEES = env.choice("GUICHET_PAYLATER_FEES", "first", {"first", "even"})
# A card can no longer be changed this many days before the next debit (it is already scheduled).
GUICHET_PAYLATER_CARD_CHANGE_CUTOFF_DAYS = env.integer(
    "GUICHET_PAYLATER_CARD_CHANGE_CUTOFF_DAYS", 7, minimum=0, maximum=30
)
# A reminder goes out this many days before each debit.
GUICHET_PAYLATER_REMINDER_DAYS = env.integer("GUICHET_PAYLATER_REMINDER_DAYS", 3, minimum=1, maximum=14)
# Instalments claimed per transaction by a debit run.
GUICHET_PAYLATER_DEBIT_CHUNK = env.integer("GUICHET_PAYLATER_DEBIT_CHUNK", 500, minimum=1, maximum=10000)
# Largest body and most lines the order endpoint takes in one request (docs/paylater-intake.md).
GUICHET_PAYLATER_MAX_REQUEST_BYTES = env.integer(
    "GUICHET_PAYLATER_MAX_REQUEST_BYTES", 5 * 1024 * 1024, minimum=64 * 1024, maximum=1024 * 1024 * 1024
)
GUICHET_PAYLATER_MAX_REQUEST_LINES = env.integer(
    "GUICHET_PAYLATER_MAX_REQUEST_LINES", 5000, minimum=1, maximum=1_000_000
)
# The collections department, offered as a click-to-call link when a regularisation payment is refused.
GUICHET_COLLECTIONS_PHONE = env.string("GUICHET_COLLECTIONS_PHONE", "+32 2 555 01 99")

# --- Business clients: transfers and their ISO 20022 export ------------------
# Validated transfers are grouped into pain.001.001.09 files, kept in the
# default storage and copied (atomically: temporary name, then rename) into
# this folder, which the bank's core system collects.
GUICHET_PAIN001_OUTBOX_DIR = Path(
    env.string("GUICHET_PAIN001_OUTBOX_DIR", str(BASE_DIR / "var" / "pain001-outbox"))
)
# The debtor institution as it appears in the files (initiating party's name is the entity's).
GUICHET_DEBTOR_BIC = env.string("GUICHET_DEBTOR_BIC", "GKCCBEBB")
# How many days ahead a transfer may be scheduled.
GUICHET_TRANSFER_MAX_DAYS_AHEAD = env.integer("GUICHET_TRANSFER_MAX_DAYS_AHEAD", 365, minimum=1)

# --- Security headers -------------------------------------------------------
SECURE_SSL_REDIRECT = env.boolean("GUICHET_SSL_REDIRECT", True)
# How many proxies in front of Guichet append to X-Forwarded-For (0: use REMOTE_ADDR).
GUICHET_TRUSTED_PROXY_COUNT = env.integer("GUICHET_TRUSTED_PROXY_COUNT", 0, maximum=5)
if GUICHET_TRUSTED_PROXY_COUNT:
    # Only a proxy we trust may tell us the request came over HTTPS; without
    # one, a client could send the header itself to dodge the redirect.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.integer("GUICHET_HSTS_SECONDS", 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.integer("GUICHET_SESSION_SECONDS", 10 * 60, minimum=60)
# The page warns this many seconds before the session ends, and offers to stay.
GUICHET_SESSION_WARNING_SECONDS = env.integer("GUICHET_SESSION_WARNING_SECONDS", 60, minimum=20)
SESSION_SAVE_EVERY_REQUEST = True  # the age is an inactivity timeout
# Members of business clients see payment accounts: their sessions end sooner.
GUICHET_PAYMENT_SESSION_SECONDS = env.integer("GUICHET_PAYMENT_SESSION_SECONDS", 5 * 60, minimum=60)
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "guichet.web.views.csrf_failure"
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=(), interest-cohort=()"
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- Institution and branding ----------------------------------------------
GUICHET_INSTITUTION_NAME = env.string("GUICHET_INSTITUTION_NAME", "Guichet")
MFA_TOTP_ISSUER = GUICHET_INSTITUTION_NAME  # the name authenticator apps show
GUICHET_BRAND_COLOUR = env.colour("GUICHET_BRAND_COLOUR", "#1d4e89")
GUICHET_BRAND_ACCENT = env.colour("GUICHET_BRAND_ACCENT", "#8a3b12")
GUICHET_LOGO = env.string("GUICHET_LOGO", "web/img/logo.svg")
GUICHET_SUPPORT_EMAIL = env.string("GUICHET_SUPPORT_EMAIL", "support@example.invalid")
GUICHET_SUPPORT_PHONE = env.string("GUICHET_SUPPORT_PHONE", "")

# Contact channels and their opening hours (seed 003's defaults). Validated at
# start by the help app; see docs/configuration.md for the format.
_WEEK_9_20_SAT_9_18 = {
    "mon": "09:00-20:00",
    "tue": "09:00-20:00",
    "wed": "09:00-20:00",
    "thu": "09:00-20:00",
    "fri": "09:00-20:00",
    "sat": "09:00-18:00",
}
GUICHET_CONTACT_CHANNELS = env.json_value(
    "GUICHET_CONTACT_CHANNELS",
    [
        {"kind": "chat", "hours": _WEEK_9_20_SAT_9_18},
        {"kind": "whatsapp", "hours": _WEEK_9_20_SAT_9_18},
        {"kind": "contact_form", "hours": _WEEK_9_20_SAT_9_18, "handled": "same_day"},
        {"kind": "chatbot", "hours": "24/7"},
        {"kind": "faq", "hours": "24/7"},
    ],
)

# --- E-mail -----------------------------------------------------------------
EMAIL_BACKEND = env.string("GUICHET_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.string("EMAIL_HOST", "localhost")
EMAIL_PORT = env.integer("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env.optional("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env.optional("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env.boolean("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env.boolean("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("Settings EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be true.")
EMAIL_TIMEOUT = env.integer("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env.string("DEFAULT_FROM_EMAIL", "noreply@example.invalid")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- SMS --------------------------------------------------------------------
GUICHET_SMS_BACKEND = env.string("GUICHET_SMS_BACKEND", "guichet.notifications.sms.http.SmsBackend")
# Read by the HTTP backend, which refuses to start without them when selected.
GUICHET_SMS_HTTP_URL = env.optional("GUICHET_SMS_HTTP_URL")
GUICHET_SMS_HTTP_TOKEN = env.optional("GUICHET_SMS_HTTP_TOKEN")
GUICHET_SMS_SENDER = env.string("GUICHET_SMS_SENDER", "Guichet")
GUICHET_SMS_TIMEOUT = env.integer("GUICHET_SMS_TIMEOUT", 10, minimum=1)

# --- Notifications delivery -------------------------------------------------
GUICHET_DELIVERY_MAX_ATTEMPTS = env.integer("GUICHET_DELIVERY_MAX_ATTEMPTS", 25, minimum=1)
GUICHET_DELIVERY_BACKOFF_BASE = env.integer("GUICHET_DELIVERY_BACKOFF_BASE", 30, minimum=1)
GUICHET_DELIVERY_BACKOFF_MAX = env.integer("GUICHET_DELIVERY_BACKOFF_MAX", 3600, minimum=1)
# One-time codes are useless once expired: an undelivered one is given up after this.
GUICHET_DELIVERY_SENSITIVE_TTL = env.integer("GUICHET_DELIVERY_SENSITIVE_TTL", 600, minimum=60)
GUICHET_DEV_OUTBOX = False  # never enabled in production; the demo turns it on

# --- Background tasks -------------------------------------------------------
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# --- Logging ----------------------------------------------------------------
LOG_LEVEL = env.choice("GUICHET_LOG_LEVEL", "INFO", {"DEBUG", "INFO", "WARNING", "ERROR"})
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "guichet.web.logging.RequestIdFilter"},
        "redact": {"()": "guichet.web.logging.RedactingFilter"},
    },
    "formatters": {"json": {"()": "guichet.web.logging.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id", "redact"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # SQL with its parameters must never reach the logs.
        "django.db.backends": {"level": "WARNING", "propagate": True},
        # WeasyPrint tells every rendering step at INFO; its warnings (missing fonts…) still count.
        "weasyprint": {"level": "WARNING", "propagate": True},
        "fontTools": {"level": "WARNING", "propagate": True},
    },
}
