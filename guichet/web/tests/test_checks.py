import pytest
from django.test import override_settings

from guichet.web.checks import HTTP_SMS_BACKEND, check_delivery_backends

PRODUCTION = {
    "GUICHET_DEV_OUTBOX": False,
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "GUICHET_SMS_BACKEND": HTTP_SMS_BACKEND,
    "GUICHET_SMS_HTTP_URL": "https://sms.example/send",
    "GUICHET_SMS_HTTP_TOKEN": "token",
}


def ids(**overrides: object) -> list[str]:
    with override_settings(**{**PRODUCTION, **overrides}):
        return [error.id for error in check_delivery_backends()]


def test_production_backends_pass() -> None:
    assert ids() == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}, ["guichet.E001"]),
        ({"EMAIL_BACKEND": "guichet.notifications.email.OutboxEmailBackend"}, ["guichet.E001"]),
        ({"GUICHET_SMS_BACKEND": "guichet.notifications.sms.console.SmsBackend"}, ["guichet.E002"]),
        ({"GUICHET_SMS_BACKEND": "guichet.notifications.sms.outbox.SmsBackend"}, ["guichet.E002"]),
        ({"GUICHET_SMS_HTTP_URL": ""}, ["guichet.E003"]),
        ({"GUICHET_SMS_HTTP_TOKEN": ""}, ["guichet.E003"]),
    ],
)
def test_development_or_unconfigured_backends_are_refused(overrides: dict, expected: list[str]) -> None:
    assert ids(**overrides) == expected


def test_the_demo_outbox_may_use_development_backends() -> None:
    assert (
        ids(GUICHET_DEV_OUTBOX=True, GUICHET_SMS_BACKEND="guichet.notifications.sms.outbox.SmsBackend") == []
    )
