import pytest
from django.core.cache import cache

from guichet.notifications.sms import locmem


@pytest.fixture(autouse=True)
def _fresh_counters():
    """Rate limits and failure counters live in the cache: each test starts from zero."""
    cache.clear()
    locmem.outbox.clear()
    yield
    cache.clear()
