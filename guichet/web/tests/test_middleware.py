"""Security headers on every page, and the request id echoed to the client."""

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

HOME = "/fr/"


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def test_page_has_a_strict_csp_with_the_nonce_used_by_its_scripts(client):
    response = client.get(HOME)

    csp = csp_directives(response["Content-Security-Policy"])
    nonce = re.search(r'<script [^>]*nonce="([^"]+)"', response.text)[1]
    assert csp["script-src"] == ["'self'", f"'nonce-{nonce}'"]
    assert csp["style-src"] == ["'self'", f"'nonce-{nonce}'"]
    assert csp["default-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]


def test_each_response_gets_a_fresh_nonce(client):
    first = csp_directives(client.get(HOME)["Content-Security-Policy"])["script-src"]
    second = csp_directives(client.get(HOME)["Content-Security-Policy"])["script-src"]

    assert first != second


def test_page_forbids_framing_sniffing_referrers_and_powerful_features(client, settings):
    response = client.get(HOME)

    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["Permissions-Policy"] == settings.PERMISSIONS_POLICY
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]


def test_error_pages_carry_the_same_headers(client):
    response = client.get("/fr/no-such-page/")

    assert response.status_code == 404
    assert csp_directives(response["Content-Security-Policy"])["frame-ancestors"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Request-ID"]


def test_https_responses_carry_hsts_with_production_values(settings):
    settings.SECURE_HSTS_SECONDS = 31_536_000  # the demo settings turn it off for plain HTTP

    response = Client().get(HOME, secure=True)

    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


def test_request_id_is_generated_when_the_client_sends_none(client):
    first = client.get(HOME)["X-Request-ID"]
    second = client.get(HOME)["X-Request-ID"]

    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


def test_request_id_from_the_proxy_is_echoed(client):
    response = client.get(HOME, headers={"X-Request-ID": "lb-2f1c.9a_77"})

    assert response["X-Request-ID"] == "lb-2f1c.9a_77"


@pytest.mark.parametrize(
    "incoming",
    ["short", "x" * 65, "has space in it", "<script>alert(1)</script>", "id;rm -rf /"],
)
def test_unsafe_request_id_is_replaced(client, incoming):
    response = client.get(HOME, headers={"X-Request-ID": incoming})

    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_json_endpoints_carry_the_headers_too(client):
    response = client.get("/healthz")

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Permissions-Policy"]
    assert response["X-Request-ID"]
