"""Encryption of small secrets at rest (password hints).

Fernet (AES-128-CBC + HMAC-SHA256) from ``cryptography``. Keys come from
``GUICHET_FIELD_ENCRYPTION_KEYS`` (newest first, so keys can be rotated);
without them one is derived from ``SECRET_KEY`` with HKDF.
"""

import base64
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@cache
def _fernet() -> MultiFernet:
    keys = list(settings.GUICHET_FIELD_ENCRYPTION_KEYS)
    if not keys:
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"guichet.field-encryption", info=b"v1"
        ).derive(settings.SECRET_KEY.encode())
        keys = [base64.urlsafe_b64encode(derived).decode()]
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "GUICHET_FIELD_ENCRYPTION_KEYS: each key must be 32 url-safe base64 bytes"
        ) from exc


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode() if plaintext else ""


def decrypt(token: str) -> str:
    """The plaintext, or "" when there is none or it cannot be read (lost key)."""
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        return ""
