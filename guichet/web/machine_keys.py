"""Keys of machine clients (the billing systems' intake, the lender's order systems).

A key reads ``<scheme>_<8 hex>_<secret>``. ``<scheme>_<8 hex>`` is kept in clear (the client's
``key_prefix``, to find it) and only an HMAC-SHA256 of the whole key, keyed from ``SECRET_KEY``
(Django's ``salted_hmac``, one salt per kind of client), is stored. Rotating ``SECRET_KEY`` keeps the
keys working while the old secret is in ``SECRET_KEY_FALLBACKS``. Finding a client costs the same
whether its prefix exists or not, so a prefix reveals nothing.
"""

import re
import secrets
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils.crypto import constant_time_compare, salted_hmac


class MachineKeys:
    def __init__(self, *, scheme: str, salt: str) -> None:
        self.scheme = scheme
        self.salt = salt
        self.pattern = re.compile(rf"({re.escape(scheme)}_[0-9a-f]{{8}})_([A-Za-z0-9_-]{{32,128}})")

    def hash(self, key: str, *, secret: str | None = None) -> str:
        """HMAC-SHA256 of ``key``, keyed from ``SECRET_KEY`` (or ``secret``)."""
        return salted_hmac(self.salt, key, secret=secret, algorithm="sha256").hexdigest()

    def issue(self, *, taken: Callable[[str], bool]) -> tuple[str, str, str]:
        """A new (prefix, key, hash) whose prefix is not ``taken``; the key is shown once, never kept."""
        while True:
            prefix = f"{self.scheme}_{secrets.token_hex(4)}"
            if not taken(prefix):
                break
        key = f"{prefix}_{secrets.token_urlsafe(32)}"
        return prefix, key, self.hash(key)

    def find(self, key: str, clients: QuerySet) -> Any | None:
        """The active client of ``clients`` whose key this is, or None (malformed, unknown, wrong
        secret, deactivated)."""
        match = self.pattern.fullmatch(key or "")
        if match is None:
            return None
        client = clients.filter(key_prefix=match[1]).first()
        if client is None:
            # Same work as a real comparison: an unknown prefix takes as long as a wrong secret.
            constant_time_compare(self.hash(key), "0" * 64)
            return None
        if not self._matches(client.key_hash, key) or not client.is_active:
            return None
        return client

    def shown_prefix(self, key: str) -> str:
        """What a log may say about a refused key: its public prefix, or "malformed"."""
        return key[: len(self.scheme) + 9] if self.pattern.fullmatch(key) else "malformed"

    def _matches(self, stored: str, key: str) -> bool:
        candidates = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
        # Every candidate is compared, so the time taken does not depend on which one matches.
        results = [constant_time_compare(stored, self.hash(key, secret=s)) for s in candidates]
        return any(results)
