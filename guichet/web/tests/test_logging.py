"""Passwords, one-time codes and card numbers never reach the logs.

The tests write through the project's own ``console`` handler (its JSON
formatter and filters, as configured by ``settings.LOGGING``) into a buffer,
and drive real request paths: CSRF failures, 404s, a crash, a careless
``logger.debug(request.POST)``.
"""

import io
import json
import logging

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path

from guichet import urls as project_urls
from guichet.web.logging import REDACTED, redact_text, redact_value

logger = logging.getLogger("guichet.tests.logging")

PASSWORD = "Hunter2-Correct!"
CODE = "482915"
CARD = "4111 1111 1111 1111"
CARD_DIGITS = "4111111111111111"
SECRETS = [PASSWORD, CODE, CARD, CARD_DIGITS, "4111+1111+1111+1111", "4111%201111%201111%201111"]


def careless_view(request: HttpRequest) -> HttpResponse:
    """Everything a developer should not log, logged."""
    logger.debug("form data %s", request.POST)
    logger.info("code=%s", CODE)
    logger.warning("login failed", extra={"password": PASSWORD, "user_id": "CC100001"})
    logger.info("payload", extra={"data": {"card_number": CARD, "otp": CODE, "amount": "12.50"}})
    try:
        raise ValueError(f"card {CARD} declined")
    except ValueError:
        logger.exception("payment failed")
    return HttpResponse("ok")


def crashing_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(f"could not charge {CARD} with password={PASSWORD}")


urlpatterns = [
    path("careless/", careless_view),
    path("crash/", crashing_view),
    *project_urls.urlpatterns,
]


@pytest.fixture
def log_output(monkeypatch) -> io.StringIO:
    """What the project's console handler writes, at DEBUG level."""
    buffer = io.StringIO()
    root = logging.getLogger()
    handlers = [handler for handler in root.handlers if handler.get_name() == "console"]
    assert len(handlers) == 1, "settings.LOGGING should give the root logger one 'console' handler"
    previous = handlers[0].setStream(buffer)
    monkeypatch.setattr(root, "level", logging.DEBUG)
    yield buffer
    handlers[0].setStream(previous)


def lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def assert_no_secret(output: str) -> None:
    leaked = [secret for secret in SECRETS if secret in output]
    assert leaked == [], f"secrets in the logs: {leaked}\n{output}"
    assert REDACTED in output


pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


def test_csrf_failure_on_set_language_logs_no_secret_of_the_body(log_output):
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        "/i18n/setlang/?password=" + PASSWORD,
        {"language": "nl", "password": PASSWORD, "card_number": CARD, "code": CODE},
    )

    assert response.status_code == 403
    entry = next(e for e in lines(log_output) if e["logger"] == "django.security.csrf")
    assert entry["level"] == "WARNING"
    assert entry["status_code"] == 403
    assert entry["request_id"] == response["X-Request-ID"]
    assert_no_secret(log_output.getvalue())


def test_not_found_logs_neither_card_number_in_the_path_nor_secrets_in_the_query(log_output):
    response = Client().get(f"/fr/cards/{CARD_DIGITS}/", {"password": PASSWORD, "card": CARD, "otp": CODE})

    assert response.status_code == 404
    entry = next(e for e in lines(log_output) if e["logger"] == "django.request")
    assert entry["message"] == f"Not Found: /fr/cards/{REDACTED}/"
    assert entry["status_code"] == 404
    assert entry["request_id"] == response["X-Request-ID"]
    assert_no_secret(log_output.getvalue())


def test_careless_logging_in_a_view_is_redacted(log_output):
    response = Client().post("/careless/", {"password": PASSWORD, "card_number": CARD, "code": CODE})

    assert response.status_code == 200
    entries = lines(log_output)
    assert_no_secret(log_output.getvalue())
    assert {entry["request_id"] for entry in entries} == {response["X-Request-ID"]}
    by_message = {entry["message"]: entry for entry in entries}
    assert by_message[f"code={REDACTED}"]["level"] == "INFO"
    assert by_message["login failed"]["password"] == REDACTED
    assert by_message["login failed"]["user_id"] == "CC100001"
    assert by_message["payload"]["data"] == {"card_number": REDACTED, "otp": REDACTED, "amount": "12.50"}
    assert f"ValueError: card {REDACTED} declined" in by_message["payment failed"]["exception"]


def test_a_crash_logs_its_traceback_without_the_secrets_in_its_message(log_output):
    client = Client(raise_request_exception=False)

    response = client.get("/crash/")

    assert response.status_code == 500
    entry = next(e for e in lines(log_output) if e["logger"] == "django.request")
    assert entry["level"] == "ERROR"
    assert entry["status_code"] == 500
    assert "Traceback" in entry["exception"]
    assert "RuntimeError: could not charge" in entry["exception"]
    assert_no_secret(log_output.getvalue())


def test_lines_outside_a_request_have_a_placeholder_request_id(log_output):
    logger.info("worker started")

    assert lines(log_output)[0]["request_id"] == "-"


def test_a_bad_logging_call_does_not_break_the_caller(log_output, capsys):
    logger.info("two placeholders %s %s", "only one")  # the logging module reports, never raises

    assert "only one" not in log_output.getvalue()


@pytest.mark.parametrize(
    "text",
    [
        f"password={PASSWORD}",
        f"new_password: {PASSWORD}",
        f'{{"password": "{PASSWORD}"}}',
        f"{{'password': '{PASSWORD}'}}",
        f"<QueryDict: {{'password': ['{PASSWORD}']}}>",
        f"otp_code={CODE}&next=/",
        f"card_number={CARD_DIGITS}",
        f"paid with {CARD}",
        "paid with 4111-1111-1111-1111",
        "paid with 4111+1111+1111+1111",
        "paid with 4111%201111%201111%201111",
        "amex 3782 822463 10005",
    ],
)
def test_redact_text_hides_the_secret(text):
    redacted = redact_text(text)

    assert REDACTED in redacted
    assert not any(secret in redacted for secret in [*SECRETS, "3782 822463 10005"])


@pytest.mark.parametrize(
    "text",
    [
        "GET /fr/help/ 200",
        "status code 404 after 12 ms",
        "instalment 42.66 EUR due 2026-11-24 08:59:00",
        "user CC100001 logged in from +32470123412",
    ],
)
def test_redact_text_leaves_ordinary_lines_alone(text):
    assert redact_text(text) == text


def test_the_reset_link_token_is_redacted_from_paths():
    line = "Too Many Requests: /fr/accounts/recovery/credentials/link/3f/cdk9x2-4b1a8e0f2c7d9a1b/"
    redacted = redact_text(line)
    assert "cdk9x2" not in redacted
    assert "/credentials/link/" in redacted


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("password", PASSWORD, REDACTED),
        ("session_key", "abc", REDACTED),
        ("otp", CODE, REDACTED),
        ("Authorization", "Bearer x", REDACTED),
        ("status_code", 404, 404),
        ("company", "Acme", "Acme"),
        ("shipping", "express", "express"),
        ("user_id", "CC100001", "CC100001"),
        ("details", {"pin": "1234", "amount": 3}, {"pin": REDACTED, "amount": 3}),
        ("notes", [f"card {CARD}"], [f"card {REDACTED}"]),
    ],
)
def test_redact_value_by_key_and_content(key, value, expected):
    assert redact_value(key, value) == expected
