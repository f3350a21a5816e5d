"""No card number ever lands in the database or the logs (issue 8).

Guichet never receives a card number: the provider's page takes it and answers a token. This test
holds that promise end to end: after every card and payment journey (card change accepted and refused
through the sandbox card page, regularisation accepted and refused, a debit run, an order import that
carries a card number), it reads EVERY column of EVERY table (sessions decoded, audit details, messages,
the task queue's arguments included), every log record as it was emitted (before the redacting filter
of the console handler), the e-mails and the SMS, and looks for the sandbox's test card numbers (with
and without their spaces) and for any 13 to 19 digits that pass the Luhn check.

The scanner comes first, with tests of its own that plant a number in each place it reads: a scan that
finds nothing proves something only because these tests show it finds what is there.
"""

import dataclasses
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core import mail
from django.db import connection

from guichet.notifications.sms import locmem as sms_locmem

pytestmark = pytest.mark.django_db

# The sandbox's test numbers (guichet.paylater.sandbox.cards), as printed; the contract's table in case
# the sandbox module is not importable.
try:
    from guichet.paylater.sandbox.cards import TEST_CARDS

    TEST_CARD_NUMBERS: tuple[str, ...] = tuple(card.number for card in TEST_CARDS)
except ImportError:  # pragma: no cover
    TEST_CARD_NUMBERS = (
        "4242 4242 4242 4242",
        "5555 5555 5555 4444",
        "4000 0000 0000 0002",
        "4000 0000 0000 9995",
        "3782 822463 10005",
        "4000 0000 0000 0069",
        "4000 0000 0000 0119",
    )

# --- The scanner ---------------------------------------------------------------------------------

_SEPARATORS = " +\\-\u00a0\u202f"  # space, "+" (a URL-encoded space), dash, no-break spaces
# A run of digit groups separated by one separator, not glued to a letter or a digit on either side
# (so the digits inside a hash, a token or a longer number are not taken for a card number).
_DIGIT_RUN = re.compile(rf"(?<![0-9A-Za-z])\d+(?:[{_SEPARATORS}]\d+)*(?![0-9A-Za-z])")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


def luhn_valid(digits: str) -> bool:
    """The checksum every card number carries (written again here: the test must not trust the code)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _candidates(run: str) -> Iterator[str]:
    """The run's digits, and those of every stretch of consecutive groups, of 13 to 19 digits."""
    groups = re.split(rf"[{_SEPARATORS}]", run)
    for start in range(len(groups)):
        digits = ""
        for group in groups[start:]:
            digits += group
            if len(digits) > 19:
                break
            if len(digits) >= 13:
                yield digits


def card_numbers_in(text: str) -> set[str]:
    """The card numbers in ``text``: the test cards in any spacing, and any Luhn-valid 13 to 19 digits."""
    text = _UUID.sub("<uuid>", text.replace("%20", " "))
    found = set()
    for number in TEST_CARD_NUMBERS:
        digits = number.replace(" ", "")
        for form in {number, digits, number.replace(" ", "-"), number.replace(" ", "+")}:
            if form in text:
                found.add(digits)
    for match in _DIGIT_RUN.finditer(text):
        found.update(digits for digits in _candidates(match.group()) if luhn_valid(digits))
    return found


@dataclasses.dataclass(frozen=True)
class Finding:
    where: str  # "table.column", "log logger.name", "e-mail", "sms"
    number: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.where}: {self.number} in {self.excerpt[:200]!r}"


def _text(value: Any) -> str:
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _session_text(session_data: str) -> str:
    """A session as the application sees it (the column holds it signed and encoded)."""
    return repr(SessionStore().decode(session_data))


def database_findings() -> list[Finding]:
    """Every column of every table (found by introspection, not through the models), as text."""
    findings = []
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
    for table in tables:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 (introspected)
            columns = [column[0] for column in cursor.description]
            rows = cursor.fetchall()
        for row in rows:
            for column, value in zip(columns, row, strict=True):
                if value is None:
                    continue
                text = _text(value)
                if table == "django_session" and column == "session_data":
                    text += " " + _session_text(text)
                findings += [Finding(f"{table}.{column}", n, text) for n in card_numbers_in(text)]
    return findings


class RawRecords(logging.Handler):
    """Keeps every record as emitted: installed before the console handler, whose filter redacts."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.texts: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = f"{record.msg} {record.args}"
        extras = {k: v for k, v in vars(record).items() if k not in _STANDARD_RECORD}
        exception = logging.Formatter().formatException(record.exc_info) if record.exc_info else ""
        self.texts.append((record.name, f"{message} {extras!r} {exception}"))


_STANDARD_RECORD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def log_findings(raw: RawRecords, caplog: pytest.LogCaptureFixture) -> list[Finding]:
    texts = [*raw.texts, *((r.name, f"{r.getMessage()} {r.exc_text or ''}") for r in caplog.records)]
    texts.append(("caplog text", caplog.text))
    return [Finding(f"log {name}", n, text) for name, text in texts for n in card_numbers_in(text)]


def outbox_findings() -> list[Finding]:
    findings = []
    for message in mail.outbox:
        bodies = [
            message.subject,
            message.body,
            *(content for content, _type in getattr(message, "alternatives", [])),
        ]
        findings += [Finding("e-mail", n, text) for text in bodies for n in card_numbers_in(str(text))]
    for sms in sms_locmem.outbox:
        text = str(vars(sms)) if hasattr(sms, "__dict__") else str(sms)
        findings += [Finding("sms", n, text) for n in card_numbers_in(text)]
    return findings


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[tuple[RawRecords, pytest.LogCaptureFixture]]:
    """Every logger at DEBUG (its level restored after), records kept raw and through caplog."""
    raw = RawRecords()
    root = logging.getLogger()
    caplog.set_level(logging.DEBUG)
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    for logger in loggers:
        caplog.set_level(logging.DEBUG, logger=logger.name)
    root.handlers.insert(0, raw)
    # Loggers that do not propagate (django.server…) get it too.
    lonely = [logger for logger in loggers if not logger.propagate]
    for logger in lonely:
        logger.handlers.insert(0, raw)
    try:
        yield raw, caplog
    finally:
        root.removeHandler(raw)
        for logger in lonely:
            logger.removeHandler(raw)


def assert_no_card_number(logs: tuple[RawRecords, pytest.LogCaptureFixture]) -> None:
    findings = database_findings() + log_findings(*logs) + outbox_findings()
    assert not findings, "card numbers found:\n" + "\n".join(str(f) for f in findings)


# --- The scanner finds what is there ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("card 4242 4242 4242 4242 given", {"4242424242424242"}),
        ("pan=4242424242424242&x=1", {"4242424242424242"}),
        ("number=4000+0000+0000+0002", {"4000000000000002"}),
        ("number=4000%200000%200000%209995", {"4000000000009995"}),
        ("amex 3782 822463 10005.", {"378282246310005"}),
        ("dashed 5555-5555-5555-4444", {"5555555555554444"}),
        ("not a test card but Luhn-valid: 4111111111111111", {"4111111111111111"}),
        ("glued to more groups: 12 4111 1111 1111 1111 99", {"4111111111111111"}),
        ("no-break spaces 4111\u00a01111\u00a01111\u00a01111", {"4111111111111111"}),
        ("json {'number': '4000000000000119'}", {"4000000000000119"}),
    ],
)
def test_the_scanner_finds_card_numbers(text: str, expected: set[str]) -> None:
    assert card_numbers_in(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "tok_test_visa_4242 · Visa •••• 4242 · 12/2030",
        "+32470123456 on 2026-11-24 18:50:51.123456+00:00, 127.96 EUR in 3: 42,66 €",
        "4111111111111112",  # 16 digits, Luhn wrong
        "a hash 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "digits inside a token abc4111111111111111def, and 20 digits 41111111111111111110",
        "uuid 41111111-1111-1111-1111-111111111111",
        "IBAN BE68539007547034, order CMD00000001",
    ],
)
def test_the_scanner_leaves_other_numbers(text: str) -> None:
    assert card_numbers_in(text) == set()


def test_the_luhn_check_of_the_test_cards() -> None:
    assert all(luhn_valid(number.replace(" ", "")) for number in TEST_CARD_NUMBERS)
    assert len(TEST_CARD_NUMBERS) == 7


def test_the_database_scan_finds_a_number_planted_in_each_kind_of_column() -> None:
    from django_tasks_db.models import DBTaskResult

    from guichet.audit.services import record
    from guichet.identity.testing import make_consumer

    assert database_findings() == []  # a clean database: nothing to report
    user = make_consumer(email="planted@example.com")
    record(action="test.planted", target=user, details={"note": "typed 4000 0000 0000 9995"})
    session = SessionStore()
    session["typed"] = "3782 822463 10005"
    session.create()
    user.first_name = "5555555555554444"
    user.save(update_fields=["first_name"])

    found = {(f.where, f.number) for f in database_findings()}

    assert ("audit_auditevent.details", "4000000000009995") in found
    assert ("django_session.session_data", "378282246310005") in found
    assert ("identity_user.first_name", "5555555555554444") in found
    assert DBTaskResult._meta.db_table in connection.introspection.table_names()


def test_the_task_queue_and_messages_are_scanned() -> None:
    from django_tasks_db.models import DBTaskResult

    from guichet.notifications.services import notify
    from guichet.paylater.tasks import reminders_task

    assert database_findings() == []
    notify(
        template="identity_credentials_user_id",
        context={"user_id": "4000 0000 0000 0069"},
        email="planted@example.com",
        channels=("email",),
        idempotency_key="planted-1",
    )
    reminders_task.enqueue("4000-0000-0000-0119")

    found = {(f.where.split(".")[0], f.number) for f in database_findings()}

    assert ("notifications_message", "4000000000000069") in found
    assert (DBTaskResult._meta.db_table, "4000000000000119") in found


def test_the_log_scan_sees_records_before_the_redacting_filter(logs) -> None:
    logging.getLogger("guichet.paylater.anything").debug("card %s", "4242 4242 4242 4242")
    logging.getLogger("django.request").warning("typed", extra={"number": "5555555555554444"})

    found = {(f.where, f.number) for f in log_findings(*logs)}

    assert ("log guichet.paylater.anything", "4242424242424242") in found
    assert ("log django.request", "5555555555554444") in found


def test_the_outbox_scan_reads_e_mails_and_sms() -> None:
    mail.send_mail("Subject", "typed 4000 0000 0000 0002", "a@example.com", ["b@example.com"])

    assert [(f.where, f.number) for f in outbox_findings()] == [("e-mail", "4000000000000002")]


# --- The journeys ------------------------------------------------------------------------------------

VISA = "4242 4242 4242 4242"
MASTERCARD = "5555 5555 5555 4444"
DECLINED = "4000 0000 0000 0002"
INSUFFICIENT = "4000 0000 0000 9995"
AMEX = "3782 822463 10005"
EXPIRED = "4000 0000 0000 0069"
TIMEOUT = "4000 0000 0000 0119"
NOT_A_TEST_CARD = "4111 1111 1111 1111"  # Luhn-valid: refused by the sandbox page, never echoed


def _url(name: str, **kwargs: Any) -> str:
    from django.urls import reverse
    from django.utils import translation

    with translation.override("fr"):
        return reverse(name, kwargs=kwargs or None)


def _consumer_client(schedule: Any) -> Any:
    from django.test import Client

    from guichet.paylater.testing import make_consumer_with_password

    user = make_consumer_with_password(schedule.order.email)
    client = Client()
    client.force_login(user)
    return client


def _path(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _card_page(
    client: Any, provider_url: str, number: str, *, expiry: str = "12/31", cvc: str = "123"
) -> Any:
    """The customer on the sandbox's page: the form, then the card typed (the answer: back to Guichet)."""
    page = client.get(_path(provider_url))
    assert page.status_code == 200, provider_url
    return client.post(_path(provider_url), {"number": number, "expiry": expiry, "cvc": cvc})


def _card_change(client: Any, schedule: Any, number: str, **card: str) -> Any:
    """ "Change" → the sandbox's card page → back to Guichet: the response of the return."""
    response = client.post(_url("paylater:card_change", pk=schedule.pk))
    assert response.status_code == 302, response.content[:500]
    typed = _card_page(client, response.url, number, **card)
    assert typed.status_code == 302, typed.content.decode()[:2000]
    return client.get(_path(typed.url))


def _notify_provider_endpoint(client: Any, **fields: str) -> None:
    """The provider's signed notification, as the sandbox's worker would post it (GUICHET_PUBLIC_URL)."""
    from django.urls import reverse

    from guichet.paylater.sandbox.provider import SIGNATURE_HEADER, notification_body, notification_sign

    body = notification_body(**fields)
    response = client.post(
        reverse("paylater_provider_notifications"),
        body,
        content_type="application/json",
        headers={SIGNATURE_HEADER: notification_sign(body)},
    )
    assert response.status_code < 300, response.status_code


def _deliver() -> None:
    from guichet.notifications.testing import deliveries_run

    deliveries_run()


def test_card_change_accepted_and_refused_leaves_no_card_number(logs) -> None:
    import datetime

    from django.utils import timezone

    from guichet.identity.testing import signed_proof
    from guichet.paylater import cards, schedules
    from guichet.paylater.models import CardSetup, CardSetupStatus
    from guichet.paylater.testing import make_order, make_unpaid_schedule

    schedule = make_order(number="CMD-NOPAN-1").schedule
    client = _consumer_client(schedule)

    # Typos and a Luhn-valid number that is not a test card: refused on the page, never echoed.
    start = client.post(_url("paylater:card_change", pk=schedule.pk))
    for wrong in ("4242 4242 4242 4241", NOT_A_TEST_CARD):
        refused = client.post(_path(start.url), {"number": wrong, "expiry": "12/31", "cvc": "123"})
        assert refused.status_code == 200
        assert wrong.replace(" ", "") not in refused.content.decode().replace(" ", "")
    client.post(_path(start.url), {"action": "cancel"})  # then Cancel: back without a card

    # Accepted: Mastercard, signed, applied; the provider's notification arrives too.
    returned = _card_change(client, schedule, MASTERCARD)
    assert "/sign/" in returned.url
    setup = CardSetup.objects.filter(schedule=schedule, status=CardSetupStatus.RETURNED).get()
    _notify_provider_endpoint(client, kind="setup.completed", session_id=setup.provider_session)
    proof = signed_proof(schedule.order.customer, cards.card_change_operation(setup))
    confirmed = client.get(_url("paylater:card_confirm", setup=setup.pk), {"proof": proof})
    assert confirmed.status_code == 200
    assert schedules.current_card(schedule).last4 == "4444"

    # Refused: a brand not accepted, an expiry before the last instalment.
    assert _card_change(client, schedule, AMEX, cvc="1234").status_code == 200
    today = timezone.localdate()
    assert _card_change(client, schedule, VISA, expiry=f"{today:%m/%y}").status_code == 200
    # Cards the provider takes but whose charges will fail are still cards Guichet may accept.
    for number in (DECLINED, INSUFFICIENT, EXPIRED, TIMEOUT):
        assert _card_change(client, schedule, number).status_code == 302

    # Inside the cut-off, and unpaid: refused before the provider.
    soon = make_order(number="CMD-NOPAN-2", purchased_on=today - datetime.timedelta(days=25)).schedule
    assert client.post(_url("paylater:card_change", pk=soon.pk)).status_code == 200
    unpaid = make_unpaid_schedule(number="CMD-NOPAN-3")
    assert client.post(_url("paylater:card_change", pk=unpaid.pk)).status_code == 200

    _deliver()
    assert schedule.card_setups.count() >= 7
    assert_no_card_number(logs)


def _regularise(client: Any, schedule: Any, count: int, number: str) -> Any:
    """Regularise → the choice → signed → the sandbox's card page → back to Guichet: the result page."""
    from guichet.identity.testing import signed_proof
    from guichet.paylater import regularisation

    page = client.get(_url("paylater:regularise", pk=schedule.pk))
    assert page.status_code == 200
    chosen = client.post(_url("paylater:regularise", pk=schedule.pk), {"count": count})
    assert chosen.status_code == 302, chosen.content.decode()[:2000]
    operation = regularisation.regularisation_operation(schedule=schedule, count=count)
    proof = signed_proof(schedule.order.customer, operation)
    confirmed = client.get(
        _url("paylater:regularise_confirm", pk=schedule.pk), {"count": count, "proof": proof}
    )
    assert confirmed.status_code == 302, confirmed.content.decode()[:2000]
    typed = _card_page(client, confirmed.url, number, cvc="1234" if number == AMEX else "123")
    assert typed.status_code == 302, typed.content.decode()[:2000]
    return client.get(_path(typed.url))


def test_regularisations_accepted_and_refused_leave_no_card_number(logs) -> None:
    from guichet.paylater import schedules
    from guichet.paylater.models import Payment, PaymentStatus, ScheduleStatus
    from guichet.paylater.testing import make_unpaid_schedule

    accepted = make_unpaid_schedule(number="CMD-NOPAN-R1")
    client = _consumer_client(accepted)

    assert _regularise(client, accepted, 3, MASTERCARD).status_code == 200
    accepted.refresh_from_db()
    assert accepted.status == ScheduleStatus.REGULARISING
    assert schedules.current_card(accepted).last4 == "4444"

    for number, count in ((DECLINED, 1), (INSUFFICIENT, 2), (EXPIRED, 1), (AMEX, 1)):
        refused = make_unpaid_schedule(number=f"CMD-NOPAN-R{number[-4:]}")
        assert _regularise(client, refused, count, number).status_code == 200
        refused.refresh_from_db()
        assert refused.status == ScheduleStatus.UNPAID, number

    lost = make_unpaid_schedule(number="CMD-NOPAN-RT")
    result = _regularise(client, lost, 1, TIMEOUT)  # the answer is lost: asked again on "check again"
    assert result.status_code == 200
    payment = Payment.objects.filter(schedule=lost).get()
    if payment.status == PaymentStatus.PENDING:
        _notify_provider_endpoint(client, kind="charge.settled", idempotency_key=payment.idempotency_key)

    _deliver()
    assert Payment.objects.filter(status=PaymentStatus.FAILED).exists()
    assert_no_card_number(logs)


def test_debit_runs_leave_no_card_number(logs) -> None:
    import datetime
    from io import StringIO

    from django.core.management import call_command
    from django.utils import timezone

    from guichet.paylater import debits, schedules
    from guichet.paylater.models import Payment
    from guichet.paylater.testing import make_order

    today = timezone.localdate()
    due_today = today - datetime.timedelta(days=30)
    for token, last4 in (
        ("tok_test_visa_4242", "4242"),
        ("tok_test_declined_0002", "0002"),
        ("tok_test_insufficient_9995", "9995"),
        ("tok_test_expired_0069", "0069"),
        ("tok_test_timeout_0119", "0119"),
    ):
        card = schedules.CardOnFile(token=token, brand="visa", last4=last4, expiry_month=12, expiry_year=2030)
        make_order(number=f"CMD-NOPAN-D{last4}", purchased_on=due_today, card=card)
    make_order(number="CMD-NOPAN-REMIND", purchased_on=today - datetime.timedelta(days=27))  # reminder

    debits.debit_run(on=today)
    call_command("run_debits", "--date", today.isoformat(), stdout=StringIO())  # again: nothing twice
    for payment in Payment.objects.filter(status="pending"):
        debits.payment_reconcile(idempotency_key=payment.idempotency_key)

    _deliver()
    assert (
        Payment.objects.filter(status="succeeded").exists()
        and Payment.objects.filter(status="failed").exists()
    )
    assert_no_card_number(logs)


def test_an_order_carrying_a_card_number_is_refused_and_the_number_kept_nowhere(logs, tmp_path) -> None:
    import json
    from io import StringIO

    from django.core.management import CommandError, call_command
    from django.test import Client

    from guichet.paylater import clients
    from guichet.paylater.models import Order
    from guichet.paylater.testing import make_merchant

    merchant = make_merchant()
    order = {
        "merchant": merchant.code,
        "order_number": "CMD-NOPAN-I1",
        "email": "camille.martin@example.com",
        "purchase_date": "2026-11-01",
        "purchase_amount": "127.96",
        "instalments": "3",
        "first_name": "Camille",
        "last_name": "Martin",
        "language": "fr",
        "card_token": "tok_test_visa_4242",
        "card_brand": "visa",
        "card_last4": "4242",
        "card_expiry": "12/2030",
    }
    lines = [
        {**order, "card_token": VISA},
        {**order, "order_number": "CMD-NOPAN-I2", "card_token": VISA.replace(" ", "")},
        {**order, "order_number": "CMD-NOPAN-I3", "first_name": f"Camille {MASTERCARD}"},
        {**order, "order_number": "CMD-NOPAN-I4", NOT_A_TEST_CARD.replace(" ", ""): "x"},
    ]
    jsonl = tmp_path / "orders.jsonl"
    jsonl.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    csv = tmp_path / "orders.csv"
    header = list(order)
    csv.write_text(
        ";".join(header) + "\n" + ";".join({**order, "card_token": AMEX}[name] for name in header) + "\n",
        encoding="utf-8",
    )
    report = StringIO()
    with pytest.raises(CommandError):
        call_command("import_orders", str(jsonl), str(csv), stdout=report, stderr=StringIO())
    assert not card_numbers_in(report.getvalue()), report.getvalue()

    _client, key = clients.order_client_create(name="Lender", merchants=[merchant])
    api = Client()
    answer = api.post(
        "/api/v1/paylater/orders/",
        json.dumps([{**order, "order_number": "CMD-NOPAN-A1", "card_token": DECLINED}]),
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert answer.status_code == 422, answer.content
    assert not card_numbers_in(answer.content.decode())

    _deliver()
    assert not Order.objects.filter(number__startswith="CMD-NOPAN-").exists()
    assert_no_card_number(logs)
