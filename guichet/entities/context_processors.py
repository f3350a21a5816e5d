from functools import cached_property
from typing import Any

from django.http import HttpRequest

from guichet.entities import access


class BusinessMenu:
    """What the business menu offers the user; each line is one query, run only if a template asks."""

    def __init__(self, user: Any) -> None:
        self.user = user

    @cached_property
    def _summary(self) -> dict[str, bool]:
        return access.rights_summary(self.user)

    def __getattr__(self, name: str) -> bool:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._summary.get(name, False)

    @cached_property
    def any(self) -> bool:
        return any(self._summary.values())


def business_menu(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"business_menu": BusinessMenu(user)}
