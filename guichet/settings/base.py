"""Production settings: safe defaults, everything else from the environment.

The demo (``guichet.settings.demo``) and the tests (``guichet.settings.test``)
select their overrides explicitly on top of this module.
"""

from pathlib import Path

import dj_database_url
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
    "guichet.web",
    "guichet.identity",
    "guichet.audit",
    "guichet.notifications",
    "guichet.help",
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
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

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
MEDIA_ROOT = BASE_DIR / "var" / "media"

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
SESSION_COOKIE_AGE = env.integer("GUICHET_SESSION_SECONDS", 15 * 60, minimum=60)
SESSION_SAVE_EVERY_REQUEST = True  # the age is an inactivity timeout
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
    },
}
