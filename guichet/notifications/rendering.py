"""Renders a named notification template in one language.

Templates live at ``notifications/<template>/`` in any app's ``templates/``
directory: ``subject.txt``, ``body.txt`` and ``body.html`` for e-mail,
``sms.txt`` for SMS. Text templates are rendered without HTML escaping.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template import Context, TemplateDoesNotExist
from django.template.loader import get_template
from django.utils import translation

from guichet.notifications.error_codes import NotificationErrorCode
from guichet.notifications.exceptions import NotificationError
from guichet.notifications.models import Channel

_TEMPLATE_NAME = re.compile(r"^[a-z0-9_]{1,100}$")
_FILES_PER_CHANNEL = {
    Channel.EMAIL: ("subject.txt", "body.txt", "body.html"),
    Channel.SMS: ("sms.txt",),
}


@dataclass(frozen=True)
class Rendered:
    subject: str = ""
    text: str = ""
    html: str = ""
    sms: str = ""


def branding_context() -> dict[str, Any]:
    return {
        "institution_name": settings.GUICHET_INSTITUTION_NAME,
        "brand_colour": settings.GUICHET_BRAND_COLOUR,
        "support_email": settings.GUICHET_SUPPORT_EMAIL,
        "support_phone": settings.GUICHET_SUPPORT_PHONE,
    }


def render_notification(
    *, template: str, context: dict[str, Any], language: str, channels: Iterable[str]
) -> Rendered:
    """Renders the files the channels need, inside ``translation.override(language)``."""
    if not _TEMPLATE_NAME.match(template):
        raise NotificationError(NotificationErrorCode.UNKNOWN_TEMPLATE, template)
    names = {name for channel in channels for name in _FILES_PER_CHANNEL[Channel(channel)]}
    full_context = {**branding_context(), **context, "language": language}
    with translation.override(language):
        parts = {name: _render(f"notifications/{template}/{name}", full_context) for name in names}
    return Rendered(
        subject=" ".join(parts.get("subject.txt", "").split()),
        text=parts.get("body.txt", "").strip() + "\n" if "body.txt" in parts else "",
        html=parts.get("body.html", "").strip(),
        sms=parts.get("sms.txt", "").strip(),
    )


def _render(name: str, context: dict[str, Any]) -> str:
    try:
        template = get_template(name)
    except TemplateDoesNotExist:
        raise NotificationError(NotificationErrorCode.UNKNOWN_TEMPLATE, name) from None
    if name.endswith(".html"):
        return template.render(context)
    # The backend-independent wrapper always escapes; text needs the raw engine template.
    return template.template.render(Context(context, autoescape=False))  # type: ignore[attr-defined]
