from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from guichet.documents import access
from guichet.identity.models import AccountKind

# Account kinds that may enrol customer numbers with an activation code, even before they hold one.
ENROLLING_KINDS = (AccountKind.BUSINESS, AccountKind.CONSUMER)


def documents_menu(request: HttpRequest) -> dict[str, Any]:
    """Whether the menu offers Documents (any customer number seen), Customer numbers (also to a
    business or consumer account without any yet, to add an activation code) and sharing (primary
    contact): one query, run only if a template asks."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def menu() -> dict[str, bool]:
        owned = set(access.customer_numbers(user).values_list("account_id", flat=True).distinct())
        return {
            "any": bool(owned),
            "primary": user.pk in owned,
            "numbers": bool(owned) or getattr(user, "kind", None) in ENROLLING_KINDS,
        }

    return {"documents_menu": SimpleLazyObject(menu)}
