"""A light, cache-based limit on contact form submissions.

The cache is shared between web processes in production (see docs/scaling.md),
so the limit holds across them; a restart of a local-memory cache forgets it,
which is acceptable for a courtesy limit against floods.
"""

import hashlib

from django.core.cache import cache

WINDOW_SECONDS = 3600
PER_ADDRESS = 10  # messages per hour from one network address
PER_EMAIL = 5  # messages per hour for one e-mail address


def _key(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    return f"help:contact:{kind}:{digest}"


def _hit(key: str, limit: int) -> bool:
    cache.add(key, 0, timeout=WINDOW_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=WINDOW_SECONDS)
        count = 1
    return count <= limit


def contact_allowed(*, address: str, email: str) -> bool:
    """Counts one submission; False once either limit is reached this hour."""
    address_ok = _hit(_key("ip", address), PER_ADDRESS)
    email_ok = _hit(_key("email", email), PER_EMAIL)
    return address_ok and email_ok
