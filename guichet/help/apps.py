from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from guichet.help.channels import parse_contact_channels


class HelpConfig(AppConfig):
    name = "guichet.help"
    label = "help"
    verbose_name = _("Help")

    def ready(self) -> None:
        # A bad channel configuration must stop the server at start, not break a page later.
        parse_contact_channels(settings.GUICHET_CONTACT_CHANNELS)
