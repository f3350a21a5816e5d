from typing import Any

from django.http import HttpRequest


def paylater_menu(request: HttpRequest) -> dict[str, Any]:
    """Whether the menu offers "My schedules" (filled in by the consumer pages)."""
    return {}
