from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from guichet.web import request_id

Handler = Callable[[HttpRequest], HttpResponse]


class RequestIdMiddleware:
    """Tags every log line of a request with one id and echoes it to the client."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = request_id.start(request.headers.get("X-Request-ID"))
        try:
            request.request_id = request_id.get()  # type: ignore[attr-defined]
            response = self.get_response(request)
            response["X-Request-ID"] = request_id.get()
            return response
        finally:
            request_id.reset(token)


class PermissionsPolicyMiddleware:
    """Denies powerful browser features that no Guichet page uses."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response
