"""Demo settings: the production settings with local conveniences, chosen explicitly.

Runs over plain HTTP on 127.0.0.1 with a SQLite file, and every e-mail and
SMS lands in the development outbox (/dev/outbox/).
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "demo-only-not-secret-5c8f0b8e1d7a4a3f9e2b6c1d0a9f8e7d6c5b4a39")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
os.environ.setdefault("GUICHET_INSTITUTION_NAME", "Banque Aubépine")
os.environ.setdefault("GUICHET_SUPPORT_EMAIL", "contact@aubepine.example")
os.environ.setdefault("GUICHET_SUPPORT_PHONE", "+32 2 555 01 00")
os.environ.setdefault("DEFAULT_FROM_EMAIL", "Banque Aubépine <noreply@aubepine.example>")

from guichet.settings.base import *  # noqa: F403
from guichet.settings.base import BASE_DIR, STORAGES

# The SQLite file, the media and the demo's e-invoices live in var/ (not in git): a fresh clone has none.
(BASE_DIR / "var").mkdir(exist_ok=True)

SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
LANGUAGE_COOKIE_SECURE = False
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}

EMAIL_BACKEND = "guichet.notifications.email.OutboxEmailBackend"
GUICHET_SMS_BACKEND = "guichet.notifications.sms.outbox.SmsBackend"
GUICHET_DEV_OUTBOX = True
GUICHET_DELIVERY_BACKOFF_BASE = 5
# Passkeys over plain HTTP on this machine only: open the demo at
# http://localhost:8000/ (WebAuthn refuses an IP address as the site's name).
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True
GUICHET_PUBLIC_URL = "http://localhost:8000"  # links in e-mails of the demo
# The sandbox payment provider (its card page and test cards) instead of a real one.
GUICHET_PAYMENT_SANDBOX = True
GUICHET_PAYMENT_GATEWAY = (
    os.environ.get("GUICHET_PAYMENT_GATEWAY") or "guichet.paylater.sandbox.provider.SandboxGateway"
)
GUICHET_PAYMENT_NOTIFICATION_SECRET = "demo-sandbox-notifications-not-a-secret"  # noqa: S105 (demo only)
