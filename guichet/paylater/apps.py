from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaylaterConfig(AppConfig):
    name = "guichet.paylater"
    label = "paylater"
    verbose_name = _("Pay later")

    def ready(self) -> None:
        from guichet.paylater import checks  # noqa: F401  (registers the deployment checks)
