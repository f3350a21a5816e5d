"""The institution's branding on Django's default admin site, which is the back office.

Configured from ``BackofficeConfig.ready()`` so that every app keeps
registering its models on ``django.contrib.admin.site`` as usual.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
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
    # Staff log in through the customer space's login, so that its every rule
    # applies: the one failure counter and lock, onboarding, and strong
    # authentication (enrolment at the first login, then at every login).
    site.login = login_redirect  # type: ignore[method-assign]
    site.password_change_done = refuse_password_change  # type: ignore[method-assign]


def refuse_password_change(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
    raise PermissionDenied(_("Passwords cannot be changed in the back office."))


def login_redirect(request: HttpRequest, extra_context: object = None) -> HttpResponse:
    """``/backoffice/login/`` → the identity login, coming back to the back office (``next``)."""
    next_url = request.GET.get("next", "")
    if not next_url.startswith("/backoffice/") or not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("admin:index")
    if request.user.is_authenticated:
        if request.user.is_active and request.user.is_staff:
            return HttpResponseRedirect(next_url)
        # Logged in to the customer space, but not staff: going to the login would loop.
        raise PermissionDenied(_("This account cannot use the back office."))
    return HttpResponseRedirect(f"{reverse('account_login')}?{urlencode({'next': next_url})}")
