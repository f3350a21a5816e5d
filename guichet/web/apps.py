from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    name = "guichet.web"
    label = "web"
    verbose_name = _("Web shell")

    def ready(self) -> None:
        from guichet.web import checks  # noqa: F401  (registers the deployment checks)
