"""Test settings: the demo settings, with a fast password hasher.

``DATABASE_URL`` selects PostgreSQL (CI) or SQLite (default).
"""

import tempfile
from pathlib import Path

from guichet.settings.demo import *  # noqa: F403
from guichet.settings.demo import BASE_DIR, DATABASES

# A fast hasher keeps the suite in seconds; production's Argon2id parameters
# are tested on their own in guichet/identity/tests/test_hashers.py.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
GUICHET_SMS_BACKEND = "guichet.notifications.sms.locmem.SmsBackend"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not :memory:, so that a worker in another process (the delivery
    # tests) sees the same database.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / "test.sqlite3")}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Recovery answers are padded to a steady duration in production; the
# padding has its own test (identity/tests/test_timing.py).
GUICHET_STEADY_RESPONSE_SECONDS = 0
# Files written by tests (pain.001 exports, documents) never land in the checkout.
_FILES = Path(tempfile.mkdtemp(prefix="guichet-test-files-"))
MEDIA_ROOT = _FILES / "media"
GUICHET_PAIN001_OUTBOX_DIR = _FILES / "pain001-outbox"
