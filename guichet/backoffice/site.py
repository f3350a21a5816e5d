"""The institution's branding on Django's default admin site, which is the back office.

Configured from ``BackofficeConfig.ready()`` so that every app keeps
registering its models on ``django.contrib.admin.site`` as usual.
"""

from django.conf import settings
from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _


def configure_admin_site(site: AdminSite) -> None:
    title = format_lazy(_("{institution} back office"), institution=settings.GUICHET_INSTITUTION_NAME)
    site.site_header = title
    site.site_title = title
    site.index_title = _("Dashboard")
    # Nobody sets a password in the back office, not even their own: staff
    # change theirs through the identity journeys, under the password policy.
    site.password_change = refuse_password_change  # type: ignore[method-assign]
    site.password_change_done = refuse_password_change  # type: ignore[method-assign]


def refuse_password_change(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
    raise PermissionDenied(_("Passwords cannot be changed in the back office."))
