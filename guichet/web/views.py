import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.i18n import set_language as django_set_language

from guichet.web import request_id
from guichet.web.health import check_health

logger = logging.getLogger(__name__)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "web/home.html")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    health = check_health()
    body = {
        "status": "ok" if health.ok else "error",
        "database": "ok" if health.database_ok else "unreachable",
        "tasks": {"backlog": health.backlog, "oldest_age_seconds": health.oldest_age_seconds},
    }
    return JsonResponse(body, status=200 if health.ok else 503)


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's set_language, with the language of ``next`` active first.

    Django translates ``next`` by resolving it in the request's language; a
    French page (/fr/…) opened by a browser preferring English would not
    resolve, and the visitor would land back on the French page.
    """
    next_url = request.POST.get("next", "")
    with translation.override(translation.get_language_from_path(next_url) or translation.get_language()):
        return django_set_language(request)


def _error(request: HttpRequest, status: int) -> HttpResponse:
    return render(request, f"web/errors/{status}.html", {"status_code": status}, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 403)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A stale or missing CSRF token: the translated 403 page, not Django's English one."""
    return _error(request, 403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 404)


def too_many_requests(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """A rate limit was reached (allauth calls ``handler429``)."""
    return _error(request, 429)


def server_error(request: HttpRequest) -> HttpResponse:
    """Renders without the request context: its processors may be what failed."""
    context = {"institution_name": settings.GUICHET_INSTITUTION_NAME, "request_id": request_id.get()}
    try:
        body = loader.get_template("web/errors/500.html").render(context)
    except Exception:  # the page of last resort must not fail in turn
        logger.exception("The 500 page could not be rendered")
        body = "<!DOCTYPE html><title>Server error</title><h1>Server error (500)</h1>"
    return HttpResponseServerError(body)
