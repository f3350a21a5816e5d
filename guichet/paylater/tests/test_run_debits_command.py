"""``manage.py run_debits``: the day's run and its reminders, with a summary a cron job's mail shows."""

import datetime
import io
import re
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from guichet.paylater import schedules
from guichet.paylater.models import Instalment, InstalmentStatus, Payment
from guichet.paylater.testing import make_order

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 3, 2)
DAY = datetime.timedelta(days=1)


def run_debits(*args: str) -> str:
    out = io.StringIO()
    call_command("run_debits", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@override_settings(GUICHET_PUBLIC_URL="https://guichet.example.com")
def test_the_run_of_a_date_prints_its_summary_and_sends_the_reminders() -> None:
    make_order(purchased_on=TODAY - 30 * DAY)
    make_order(
        purchased_on=TODAY - 30 * DAY,
        card=schedules.CardOnFile(
            token="tok_test_declined_0002", brand="visa", last4="0002", expiry_month=12, expiry_year=2030
        ),
    )
    make_order(purchased_on=TODAY - 27 * DAY)

    out = run_debits("--date", TODAY.isoformat())

    assert out == (
        "Debit run of 2026-03-02: 2 presented, 1 paid, 1 refused, 0 left pending.\n1 reminder(s) sent.\n"
    )
    assert Payment.objects.count() == 2


def test_no_reminders_and_a_pending_payment_is_announced() -> None:
    make_order(
        purchased_on=TODAY - 30 * DAY,
        card=schedules.CardOnFile(
            token="tok_test_timeout_0119", brand="visa", last4="0119", expiry_month=12, expiry_year=2030
        ),
    )
    make_order(purchased_on=TODAY - 27 * DAY)

    out = run_debits("--date", TODAY.isoformat(), "--no-reminders")

    assert out == (
        "Debit run of 2026-03-02: 1 presented, 0 paid, 0 refused, 1 left pending.\n"
        "1 payment(s) wait for the provider's answer: the next run asks again.\n"
    )
    assert not Instalment.objects.filter(reminded_at__isnull=False).exists()
    assert run_debits("--date", TODAY.isoformat(), "--no-reminders").startswith(
        "Debit run of 2026-03-02: 1 presented, 1 paid, 0 refused, 0 left pending."
    )


def test_today_by_default() -> None:
    order = make_order()  # bought today: instalment 2 in 30 days
    assert run_debits().startswith("Debit run of ")
    assert order.schedule.instalments.filter(status=InstalmentStatus.IN_PROGRESS).count() == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "02/03/2026"], "Not a date (YYYY-MM-DD): 02/03/2026"),
        (["--workers", "0"], "--workers must be between 1 and 64."),
    ],
)
def test_a_usage_error_exits_2(args, message) -> None:
    with pytest.raises(CommandError, match=re.escape(message)) as caught:
        run_debits(*args)

    assert caught.value.returncode == 2
    assert not Payment.objects.exists()


def test_from_the_command_line_a_bad_option_exits_2() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "run_debits", "--workers", "x"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 2
    assert "invalid int value" in result.stderr
