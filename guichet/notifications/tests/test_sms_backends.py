import io
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from guichet.notifications.exceptions import DeliveryError
from guichet.notifications.models import OutboxEntry
from guichet.notifications.sms import Sms, get_backend, locmem
from guichet.notifications.sms import console as console_backend
from guichet.notifications.sms import http as http_backend

SMS = Sms(to="+32470123456", text="Votre code : 123456", sender="Aubépine", idempotency_key="otp-7:sms")


class Provider(ThreadingHTTPServer):
    """A fake SMS provider: answers each request with the next (status, body, delay[, headers])."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ProviderHandler)
        self.answers: list[tuple] = []
        self.requests: list[tuple[dict[str, str], dict]] = []
        self.hits: list[str] = []  # "METHOD /path" of every request, whatever its method

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1/sms"


class ProviderHandler(BaseHTTPRequestHandler):
    server: Provider

    def do_POST(self) -> None:
        self.server.hits.append(f"{self.command} {self.path}")
        length = int(self.headers["Content-Length"] or 0)
        body = json.loads(self.rfile.read(length)) if length else {}
        self.server.requests.append((dict(self.headers), body))
        status, answer, delay, *extra = self.server.answers.pop(0)
        headers = extra[0] if extra else {}
        time.sleep(delay)
        payload = json.dumps(answer).encode()
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            pass  # the client gave up (timeout test)

    do_GET = do_HEAD = do_PUT = do_POST  # a followed redirect may change the method

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def provider() -> Iterator[Provider]:
    server = Provider()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _backend(provider: Provider, **kwargs: Any) -> http_backend.SmsBackend:
    return http_backend.SmsBackend(url=provider.url, token="s3cret-token", **kwargs)


def test_http_backend_posts_json_with_bearer_token_and_idempotency_key(provider: Provider) -> None:
    provider.answers.append((201, {"id": "prov-991"}, 0))

    reference = _backend(provider).send(SMS)

    assert reference == "prov-991"
    [(headers, body)] = provider.requests
    assert body == {"to": "+32470123456", "from": "Aubépine", "text": "Votre code : 123456"}
    assert headers["Authorization"] == "Bearer s3cret-token"
    assert headers["Idempotency-Key"] == "otp-7:sms"
    assert headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("status", "permanent"),
    [
        (400, True),
        (401, True),
        (404, True),
        (422, True),
        (408, False),
        (429, False),
        (500, False),
        (503, False),
    ],
)
def test_http_errors_are_permanent_for_4xx_and_temporary_for_5xx(
    provider: Provider, status: int, permanent: bool
) -> None:
    provider.answers.append((status, {"error": "nope"}, 0))

    with pytest.raises(DeliveryError) as raised:
        _backend(provider).send(SMS)

    assert (raised.value.reason, raised.value.permanent) == (f"HTTP {status}", permanent)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_refused_as_a_temporary_failure_and_never_followed(
    provider: Provider, status: int
) -> None:
    # Given a provider that redirects the POST elsewhere, where a 200 would be waiting
    provider.answers.append((status, {}, 0, {"Location": "/elsewhere"}))
    provider.answers.append((200, {"id": "not-really-sent"}, 0))

    # When an SMS is sent
    with pytest.raises(DeliveryError) as raised:
        _backend(provider).send(SMS)

    # Then it is a temporary failure, and neither the request nor the token went to the other path
    assert (raised.value.reason, raised.value.permanent) == (f"HTTP {status} redirect refused", False)
    assert provider.hits == ["POST /v1/sms"]


def test_a_redirect_to_another_host_does_not_leak_the_token(provider: Provider) -> None:
    other = Provider()
    thread = threading.Thread(target=other.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        provider.answers.append((302, {}, 0, {"Location": other.url.replace("127.0.0.1", "localhost")}))
        other.answers.append((200, {"id": "stolen"}, 0))

        with pytest.raises(DeliveryError) as raised:
            _backend(provider).send(SMS)
    finally:
        other.shutdown()
        other.server_close()

    assert raised.value.reason == "HTTP 302 redirect refused"
    assert other.hits == []


def test_a_timeout_is_temporary(provider: Provider) -> None:
    provider.answers.append((200, {"id": "late"}, 0.5))

    with pytest.raises(DeliveryError) as raised:
        _backend(provider, timeout=0.1).send(SMS)

    assert raised.value.permanent is False
    assert raised.value.reason.startswith("connection error: ")


def test_a_refused_connection_is_temporary() -> None:
    backend = http_backend.SmsBackend(url="http://127.0.0.1:9/sms", token="t")

    with pytest.raises(DeliveryError) as raised:
        backend.send(SMS)

    assert (raised.value.reason, raised.value.permanent) == (
        "connection error: [Errno 111] Connection refused",
        False,
    )


@pytest.mark.parametrize(
    ("url", "token"),
    [
        ("", "t"),
        ("https://sms.example/send", ""),
        ("http://sms.example/send", "t"),
        ("ftp://127.0.0.1/x", "t"),
    ],
)
def test_http_backend_refuses_a_bad_configuration(settings: Any, url: str, token: str) -> None:
    settings.GUICHET_SMS_HTTP_URL = url
    settings.GUICHET_SMS_HTTP_TOKEN = token

    with pytest.raises(ImproperlyConfigured):
        http_backend.SmsBackend()


@pytest.mark.parametrize(
    "url", ["https://sms.example/send", "http://127.0.0.1:8080/send", "http://localhost/x"]
)
def test_http_backend_accepts_https_and_plain_http_on_loopback(settings: Any, url: str) -> None:
    settings.GUICHET_SMS_HTTP_URL = url
    settings.GUICHET_SMS_HTTP_TOKEN = "t"

    assert http_backend.SmsBackend().url == url


def test_get_backend_reads_the_setting(settings: Any) -> None:
    assert isinstance(get_backend(), locmem.SmsBackend)

    settings.GUICHET_SMS_BACKEND = "guichet.notifications.sms.console.SmsBackend"

    assert isinstance(get_backend(), console_backend.SmsBackend)


def test_locmem_keeps_every_sms() -> None:
    assert get_backend().send(SMS) == "locmem-1"

    assert locmem.outbox == [SMS]


def test_console_prints_the_sms() -> None:
    stream = io.StringIO()

    console_backend.SmsBackend(stream=stream).send(SMS)

    assert stream.getvalue() == f"SMS from Aubépine to +32470123456\nVotre code : 123456\n{'-' * 40}\n"


@pytest.mark.django_db
def test_outbox_stores_the_sms() -> None:
    reference = get_backend("guichet.notifications.sms.outbox.SmsBackend").send(SMS)

    entry = OutboxEntry.objects.get()
    assert (entry.channel, entry.recipient, entry.body, entry.reference) == (
        "sms",
        "+32470123456",
        "Votre code : 123456",
        "otp-7:sms",
    )
    assert reference == f"outbox-{entry.pk}"
