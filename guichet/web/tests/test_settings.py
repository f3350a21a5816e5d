"""Settings from the environment: bad values stop the process, naming the variable.

The loading tests start a fresh interpreter, because settings are read once
at import; each case changes one variable of an otherwise valid production
environment.
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from guichet.settings import env

ROOT = Path(__file__).resolve().parents[3]
_OWN_PREFIXES = ("DJANGO_", "GUICHET_", "DATABASE_URL", "EMAIL_", "DEFAULT_FROM_EMAIL")


def production_env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    """A valid production environment, without anything inherited from ours."""
    base = {key: value for key, value in os.environ.items() if not key.startswith(_OWN_PREFIXES)}
    base.update(
        DJANGO_SETTINGS_MODULE="guichet.settings.base",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(48),
        DJANGO_ALLOWED_HOSTS="guichet.example",
        GUICHET_SMS_HTTP_URL="https://sms.example/send",
        GUICHET_SMS_HTTP_TOKEN="x",
        GUICHET_PAYMENT_GATEWAY="acme_payments.gateway.AcmeGateway",
        GUICHET_PAYMENT_NOTIFICATION_SECRET="x",
        DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}",
    )
    for key, value in overrides.items():
        if value is None:
            base.pop(key, None)
        else:
            base[key] = value
    return base


def run_python(code: str, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


SETUP = "import django; django.setup()"


def test_valid_production_environment_loads(tmp_path):
    result = run_python(SETUP, production_env(tmp_path))

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "mysql://user:pass@db/guichet"),
        ("GUICHET_BRAND_COLOUR", "blue"),
        ("GUICHET_BRAND_ACCENT", "#ffff00"),  # 1.07:1 against white text
        ("GUICHET_TIME_ZONE", "Europe/Atlantis"),
        ("GUICHET_SSL_REDIRECT", "maybe"),
        ("GUICHET_HSTS_SECONDS", "a year"),
        ("GUICHET_SESSION_SECONDS", "10"),  # below the 60-second minimum
        ("GUICHET_PASSWORD_CHARACTER_CLASSES", "upper,emoji"),
        ("GUICHET_LOCKOUT_THRESHOLD", "1"),  # below the minimum of 3
        ("GUICHET_RATE_LIMITS_OFF", "perhaps"),
        ("GUICHET_DECOY_PHONE_REGIONS", "BE,XX"),
        ("EMAIL_PORT", "70000"),
        ("GUICHET_LOG_LEVEL", "CHATTY"),
        ("GUICHET_CONTACT_CHANNELS", "[{"),
        ("DJANGO_SECRET_KEY", None),
        ("DJANGO_SECRET_KEY", "too-short"),
        ("DJANGO_SECRET_KEY", "a" * 60),  # long but not random
    ],
)
def test_bad_value_stops_loading_and_names_the_variable(tmp_path, variable, value):
    result = run_python(SETUP, production_env(tmp_path, **{variable: value}))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr.strip().splitlines()[-1]


def test_bad_secret_key_is_not_echoed(tmp_path):
    result = run_python(SETUP, production_env(tmp_path, DJANGO_SECRET_KEY="short-but-secret"))

    assert result.returncode != 0
    assert "short-but-secret" not in result.stderr


def test_production_settings_pass_the_deployment_checks(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(tmp_path, DJANGO_SECRET_KEY=secrets.token_urlsafe(60)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


# --- The readers themselves, in process ------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("TRUE", True), (" yes ", True), ("on", True), ("0", False), ("off", False), ("", False)],
)
def test_boolean_reads_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("GUICHET_FLAG", raw)

    assert env.boolean("GUICHET_FLAG", not expected) is expected


def test_boolean_defaults_when_unset(monkeypatch):
    monkeypatch.delenv("GUICHET_FLAG", raising=False)

    assert env.boolean("GUICHET_FLAG", True) is True


def test_integer_enforces_its_bounds(monkeypatch):
    monkeypatch.setenv("GUICHET_N", "5")

    assert env.integer("GUICHET_N", 1, minimum=1, maximum=5) == 5
    with pytest.raises(ImproperlyConfigured, match=r"GUICHET_N='5'.*between 6 and 9"):
        env.integer("GUICHET_N", 7, minimum=6, maximum=9)


def test_colour_is_lowered_and_checked_for_contrast(monkeypatch):
    monkeypatch.setenv("GUICHET_C", "#1D4E89")

    assert env.colour("GUICHET_C", "#000000") == "#1d4e89"
    monkeypatch.setenv("GUICHET_C", "#777777")  # 4.48:1, just under the 4.5:1 rule
    with pytest.raises(ImproperlyConfigured, match=r"GUICHET_C=.*contrast"):
        env.colour("GUICHET_C", "#000000")


def test_contrast_ratio_matches_wcag_reference_values():
    assert env.contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert env.contrast_ratio("#ffffff", "#ffffff") == pytest.approx(1.0)
    assert round(env.contrast_ratio("#767676", "#ffffff"), 2) == 4.54


def test_required_string_names_the_missing_variable(monkeypatch):
    monkeypatch.setenv("GUICHET_EMPTY", "")

    with pytest.raises(ImproperlyConfigured, match="GUICHET_EMPTY is required"):
        env.string("GUICHET_EMPTY")


def test_string_list_drops_blanks(monkeypatch):
    monkeypatch.setenv("GUICHET_HOSTS", " a.example, ,b.example,")

    assert env.string_list("GUICHET_HOSTS", []) == ["a.example", "b.example"]


def test_timezone_accepts_iana_names_only(monkeypatch):
    monkeypatch.setenv("GUICHET_TZ", "Europe/Brussels")
    assert env.timezone("GUICHET_TZ", "UTC") == "Europe/Brussels"

    monkeypatch.setenv("GUICHET_TZ", "../etc/passwd")
    with pytest.raises(ImproperlyConfigured, match="GUICHET_TZ"):
        env.timezone("GUICHET_TZ", "UTC")


def test_a_bad_database_url_is_named_without_its_password() -> None:
    from guichet.settings.env import without_password

    assert without_password("postgres://app:s3cret@db:5432/guichet") == "postgres://app:***@db:5432/guichet"
    assert without_password("sqlite:///var/x.sqlite3") == "sqlite:///var/x.sqlite3"
