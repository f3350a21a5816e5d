from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from guichet.paylater.selectors import schedules_visible_to


def paylater_menu(request: HttpRequest) -> dict[str, Any]:
    """Whether the menu offers "My schedules" (the user has an order paid later): one query, run only
    if a template asks (``{% if paylater_menu %}``)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"paylater_menu": SimpleLazyObject(lambda: schedules_visible_to(user=user).exists())}
