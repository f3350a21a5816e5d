from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SandboxConfig(AppConfig):
    """The sandbox payment provider shipped for the demo and the tests (``GUICHET_PAYMENT_SANDBOX``)."""

    name = "guichet.paylater.sandbox"
    label = "paylater_sandbox"
    verbose_name = _("Sandbox payment provider")
