"""Settings of the worker subprocesses of the SMTP tests and of the benchmark.

The test settings with Django's SMTP backend, pointed at EMAIL_HOST/EMAIL_PORT
from the environment; DATABASE_URL selects the database, as everywhere.
"""

from guichet.settings.test import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
