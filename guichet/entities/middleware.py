"""A shorter inactivity timeout for users who see payment accounts (DESIGN: 5 minutes).

Whether the user is an active member of an entity is computed once per
session (one query) and kept in it; from then on the session's expiry is
``GUICHET_PAYMENT_SESSION_SECONDS`` when that is shorter than the default.
The page's warning dialog reads the session's own expiry, so it follows.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from guichet.entities import access

SESSION_KEY = "guichet_payment_accounts"


class PaymentSessionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            shows_accounts = request.session.get(SESSION_KEY)
            if shows_accounts is None:
                shows_accounts = access.member_entities(user).exists()
                request.session[SESSION_KEY] = shows_accounts
            seconds = settings.GUICHET_PAYMENT_SESSION_SECONDS
            if shows_accounts and seconds < settings.SESSION_COOKIE_AGE:
                request.session.set_expiry(seconds)
        return self.get_response(request)
