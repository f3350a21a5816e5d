"""Answers that take the same time whether or not an account matched.

Recovery steps do real work (look-ups, a code, an audit row) only for an
existing account; without padding, the response time would tell. POST
answers are held until a fixed minimum has passed, which is far above the
work's cost, so known and unknown accounts are indistinguishable by time.
Rate limits keep the cost of the waiting bounded.
"""

import functools
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


def steady_post(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if request.method != "POST":
            return view(request, *args, **kwargs)
        started = time.monotonic()
        response = view(request, *args, **kwargs)
        remaining = getattr(settings, "GUICHET_STEADY_RESPONSE_SECONDS", 0.25) - (time.monotonic() - started)
        if remaining > 0:
            time.sleep(remaining)
        return response

    return wrapper
