from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from guichet.web.health import check_health


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


def _error(request: HttpRequest, status: int) -> HttpResponse:
    return render(request, f"web/errors/{status}.html", status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    return _error(request, 500)
