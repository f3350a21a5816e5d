"""The payment provider's deployment checks (``manage.py check --deploy``)."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from guichet.paylater.checks import check_payment_provider

PRODUCTION = {
    "GUICHET_DEV_OUTBOX": False,
    "GUICHET_PAYMENT_SANDBOX": False,
    "GUICHET_PAYMENT_GATEWAY": "acme_payments.gateway.AcmeGateway",
    "GUICHET_PAYMENT_NOTIFICATION_SECRET": "a-long-shared-secret",
}


def ids(**overrides: object) -> list[str]:
    with override_settings(**{**PRODUCTION, **overrides}):
        return [error.id for error in check_payment_provider()]


def test_a_real_provider_passes() -> None:
    assert ids() == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"GUICHET_PAYMENT_SANDBOX": True}, ["paylater.E001"]),
        ({"GUICHET_PAYMENT_GATEWAY": "guichet.paylater.sandbox.provider.SandboxGateway"}, ["paylater.E002"]),
        ({"GUICHET_PAYMENT_NOTIFICATION_SECRET": ""}, ["paylater.E003"]),
    ],
)
def test_the_sandbox_or_no_secret_is_refused_in_production(overrides: dict, expected: list[str]) -> None:
    assert ids(**overrides) == expected


def test_the_demo_may_use_the_sandbox() -> None:
    assert (
        ids(GUICHET_DEV_OUTBOX=True, GUICHET_PAYMENT_SANDBOX=True, GUICHET_PAYMENT_NOTIFICATION_SECRET="")
        == []
    )


def test_the_check_is_registered_for_deploy() -> None:
    with (
        override_settings(**{**PRODUCTION, "GUICHET_PAYMENT_SANDBOX": True}),
        pytest.raises(SystemCheckError, match=r"paylater\.E001"),
    ):
        call_command("check", "--deploy", "--fail-level", "ERROR")
