from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks

ADMIN_APP = "django.contrib.admin"
BACKOFFICE_APP = "guichet.backoffice"


@checks.register(checks.Tags.templates)
def backoffice_before_admin(app_configs: list[AppConfig] | None, **kwargs: Any) -> list[checks.CheckMessage]:
    return app_order_warnings(installed_apps=list(settings.INSTALLED_APPS))


def app_order_warnings(*, installed_apps: list[str]) -> list[checks.CheckMessage]:
    """The back office overrides admin templates, which only works when it is listed first."""
    if ADMIN_APP not in installed_apps or installed_apps.index(BACKOFFICE_APP) < installed_apps.index(
        ADMIN_APP
    ):
        return []
    return [
        checks.Warning(
            f"'{BACKOFFICE_APP}' comes after '{ADMIN_APP}' in INSTALLED_APPS: "
            "the back office's branding and template overrides are ignored.",
            hint=f"List '{BACKOFFICE_APP}' before '{ADMIN_APP}'.",
            id="backoffice.W001",
        )
    ]
