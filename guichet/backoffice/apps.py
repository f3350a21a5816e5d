from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BackofficeConfig(AppConfig):
    name = "guichet.backoffice"
    label = "backoffice"
    verbose_name = _("Back office")

    def ready(self) -> None:
        from django.contrib import admin

        from guichet.backoffice import checks  # noqa: F401  (registers the system checks)
        from guichet.backoffice.site import configure_admin_site

        configure_admin_site(admin.site)
