"""SMS backends, chosen like Django's mail backends by ``settings.GUICHET_SMS_BACKEND``."""

from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from guichet.notifications.sms.base import BaseSmsBackend, Sms
from guichet.notifications.sms.segments import sms_segments

__all__ = ["BaseSmsBackend", "Sms", "get_backend", "sms_segments"]


def get_backend(path: str | None = None, **kwargs: Any) -> BaseSmsBackend:
    backend_class = import_string(path or settings.GUICHET_SMS_BACKEND)
    return backend_class(**kwargs)
