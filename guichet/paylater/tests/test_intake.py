"""The order intake: reading CSV and JSON lines, the strict checks and their translated reasons, the
refusal of card numbers (never echoed), idempotency and conflicts, and the customer's e-mail."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone, translation
from hypothesis import given
from hypothesis import strategies as st

from guichet.audit.models import AuditEvent
from guichet.identity.models import User
from guichet.notifications.models import Message
from guichet.notifications.testing import deliveries_run
from guichet.paylater import intake
from guichet.paylater.clients import order_client_create
from guichet.paylater.intake import Item, Outcome, Row
from guichet.paylater.models import Card, InstalmentStatus, Order, OrderSource
from guichet.paylater.testing import make_consumer_with_password, make_merchant

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
PURCHASED = TODAY - datetime.timedelta(days=2)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def public_url(settings):
    settings.GUICHET_PUBLIC_URL = "https://guichet.example.com"


@pytest.fixture
def merchant():
    return make_merchant()


def line(**changes) -> dict[str, object]:
    values: dict[str, object] = {
        "merchant": "maison-lumiere",
        "order_number": "CMD-0001",
        "email": "Camille.Martin@example.com",
        "purchase_date": PURCHASED.isoformat(),
        "purchase_amount": "127.96",
        "instalments": "3",
        "phone": "+32 470 12 34 56",
        "first_name": "Camille",
        "last_name": "Martin",
        "language": "fr",
        "card_token": "tok_test_visa_4242",
        "card_brand": "visa",
        "card_last4": "4242",
        "card_expiry": "12/2030",
    }
    values.update(changes)
    return {key: value for key, value in values.items() if value is not None}


def run(*rows: dict[str, object], client=None) -> list[Item]:
    items: list[Item] = []
    intake.orders_import(
        rows=[Row(str(n), fields=fields) for n, fields in enumerate(rows, start=1)],
        source=OrderSource.IMPORT,
        on_item=items.append,
        client=client,
    )
    return items


def one(**changes) -> Item:
    return run(line(**changes))[0]


# --- A good line ----------------------------------------------------------------------------------


def test_a_line_creates_the_order_its_schedule_and_card(merchant) -> None:
    item = one()

    order = Order.objects.get()
    assert item == Item("1", Outcome.IMPORTED, order_number="CMD-0001", order=order.pk)
    assert (order.merchant, order.number, order.email, order.phone) == (
        merchant,
        "CMD-0001",
        "camille.martin@example.com",
        "+32470123456",
    )
    assert (order.purchased_on, order.purchase_amount, order.fees, order.currency) == (
        PURCHASED,
        Decimal("127.96"),
        Decimal("0.00"),
        "EUR",
    )
    assert order.source == OrderSource.IMPORT
    assert len(order.content_hash) == 64
    assert list(order.schedule.instalments.values_list("number", "amount", "status")) == [
        (1, Decimal("42.66"), InstalmentStatus.PAID),
        (2, Decimal("42.65"), InstalmentStatus.IN_PROGRESS),
        (3, Decimal("42.65"), InstalmentStatus.IN_PROGRESS),
    ]
    card = Card.objects.get()
    assert (card.token, card.brand, card.last4, card.expiry_month, card.expiry_year) == (
        "tok_test_visa_4242",
        "visa",
        "4242",
        12,
        2030,
    )
    customer = User.objects.get(user_id="camille.martin@example.com")
    assert (customer.first_name, customer.last_name, customer.preferred_language) == (
        "Camille",
        "Martin",
        "fr",
    )


def test_defaults_and_options(merchant) -> None:
    one(fees="4.50", currency="eur", instalments="4", first_instalment_paid="false", purchase_amount="100,5")

    order = Order.objects.get()
    assert (order.fees, order.currency, order.instalment_count, order.purchase_amount) == (
        Decimal("4.50"),
        "EUR",
        4,
        Decimal("100.50"),
    )
    assert not order.schedule.instalments.filter(status=InstalmentStatus.PAID).exists()


def test_the_customer_is_told_in_their_language_with_the_table_and_the_first_login_link(merchant) -> None:
    one()
    deliveries_run()

    [email] = mail.outbox
    assert email.to == ["camille.martin@example.com"]
    assert "CMD-0001 (Maison Lumière)" in email.subject
    html = email.alternatives[0][0]
    for body in (email.body, html):
        assert "https://guichet.example.com/fr/" in body
        assert "42,66" in body and "42,65" in body
        assert "127,96" in body
    message = Message.objects.get()
    assert (message.template, message.language) == ("paylater_order_received", "fr")


def test_the_first_login_link_without_a_public_address_is_left_out(merchant, settings) -> None:
    settings.GUICHET_PUBLIC_URL = ""
    one(language="en")
    deliveries_run()

    assert "http" not in mail.outbox[0].body
    assert "Debit no. 1" in mail.outbox[0].body


# --- Idempotency ----------------------------------------------------------------------------------


def test_the_same_line_again_is_already_imported_and_nothing_more_is_written_or_sent(merchant) -> None:
    first = one()
    events = AuditEvent.objects.count()

    again = one(email="camille.martin@example.com", phone="+32470123456", purchase_amount="127.960"[:6])

    assert again == Item("1", Outcome.ALREADY, order_number="CMD-0001", order=first.order)
    assert Order.objects.count() == 1
    assert Message.objects.count() == 1
    assert AuditEvent.objects.count() == events


def test_the_same_number_with_other_content_is_a_conflict(merchant) -> None:
    one()

    item = one(purchase_amount="127.97")

    assert item.outcome == Outcome.REFUSED
    assert item.reason == (
        "This order number was already received for this merchant with other content: refused as a conflict."
    )
    assert Order.objects.get().purchase_amount == Decimal("127.96")


def test_the_same_number_at_another_merchant_is_another_order(merchant) -> None:
    make_merchant(code="atelier", name="Atelier")
    items = run(line(), line(merchant="atelier"))

    assert [item.outcome for item in items] == [Outcome.IMPORTED, Outcome.IMPORTED]


# --- Refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"merchant": "nope"}, "merchant: unknown merchant code."),
        ({"order_number": "CMD 1"}, "order_number: 1 to 40 letters, digits, dots, dashes or underscores"),
        ({"email": "camille@"}, "email: not a valid e-mail address."),
        ({"purchase_date": "2026-02-30"}, "purchase_date: not a valid date (YYYY-MM-DD)."),
        ({"purchase_date": "02/03/2026"}, "purchase_date: not a valid date (YYYY-MM-DD)."),
        ({"purchase_date": (TODAY + datetime.timedelta(days=1)).isoformat()}, "the date is in the future"),
        ({"purchase_amount": "127.955"}, "purchase_amount: an amount more than 0 with at most 2 decimals"),
        ({"purchase_amount": "0"}, "purchase_amount: an amount more than 0"),
        ({"purchase_amount": "-5"}, "purchase_amount: an amount more than 0"),
        ({"purchase_amount": "1e3"}, "purchase_amount: an amount more than 0"),
        ({"fees": "-1"}, "fees: an amount of 0 or more"),
        ({"currency": "euro"}, "currency: a 3-letter ISO 4217 code"),
        ({"instalments": "5"}, "instalments: 3 or 4."),
        ({"phone": "0470123456"}, "phone: a mobile number in international format"),
        ({"phone": "+3222222222"}, "phone: a mobile number in international format"),
        ({"language": "es"}, "language: one of fr, nl, en, de."),
        ({"card_brand": "amex"}, "card_brand: visa or mastercard"),
        ({"card_last4": "42"}, "card_last4: the last 4 digits"),
        ({"card_expiry": "13/2030"}, "card_expiry: MM/YYYY is expected"),
        ({"card_expiry": "12/30"}, "card_expiry: MM/YYYY is expected"),
        ({"card_expiry": "01/2000"}, "card_expiry: the card had expired at the purchase date."),
        ({"card_token": "tok with space"}, "card_token: the provider's token"),
        ({"first_instalment_paid": "perhaps"}, "first_instalment_paid: true or false."),
        ({"first_name": "Ca\x07mille"}, "first_name: at most 150 characters, without control characters."),
        ({"email": None}, "email is required."),
        ({"colour": "blue"}, "Unknown fields: colour."),
    ],
)
def test_each_fault_is_refused_with_its_reason_and_nothing_written(merchant, changes, reason) -> None:
    item = one(**changes)

    assert item.outcome == Outcome.REFUSED
    assert reason in item.reason
    assert not Order.objects.exists()
    assert not Message.objects.exists()


def test_all_the_faults_of_a_line_are_told_together(merchant) -> None:
    item = one(email="x", instalments="2", language="xx")

    assert item.reason == (
        "email: not a valid e-mail address. instalments: 3 or 4. language: one of fr, nl, en, de."
    )
    assert item.order_number == "CMD-0001"


def test_a_reason_names_the_field_as_sent_whatever_the_language(merchant) -> None:
    with translation.override("fr"):
        item = one(instalments="2")

    assert item.outcome == Outcome.REFUSED
    assert item.reason.startswith("instalments\u00a0: ")  # the field as sent, in French typography


def test_a_client_may_send_only_its_merchants_orders(merchant) -> None:
    other = make_merchant(code="atelier", name="Atelier")
    client, _key = order_client_create(name="Lender", merchants=[other])

    item = run(line(), client=client)[0]

    assert item.reason == "merchant: unknown, or not one of the merchants of this key."
    assert not Order.objects.exists()


# --- Card numbers ---------------------------------------------------------------------------------

CARD_REASON = "A card number was sent; only the provider's token may be. The line was not imported."


@pytest.mark.parametrize(
    "changes",
    [
        {"card_token": "4242424242424242"},
        {"card_token": "4242 4242 4242 4242"},
        {"card_token": "4242-4242-4242-4242"},
        {"first_name": "see 3782 822463 10005"},
        {"order_number": "5555555555554444"},
        {"card_last4": "4000000000000002"},
        {"extra 4242424242424242": "x"},
        {"purchase_amount": 4242424242424242},
    ],
)
def test_a_line_with_a_card_number_is_refused_without_echoing_it(merchant, changes) -> None:
    item = one(**changes)

    assert item == Item("1", Outcome.REFUSED, CARD_REASON)
    assert "4242" not in item.reason and not Order.objects.exists()


@pytest.mark.parametrize(
    "text",
    ["4242424242424242", "4242 4242 4242 4242", "ref 12 4242-4242-4242-4242 ok", "378282246310005"],
)
def test_card_numbers_are_recognised(text) -> None:
    assert intake.looks_like_card_number(text)


@pytest.mark.parametrize(
    "text",
    ["4242424242424241", "CMD-0001", "+32470123456", "127.96", "12/2030", "424242424242", "2026-03-02"],
)
def test_other_numbers_are_not_card_numbers(text) -> None:
    assert not intake.looks_like_card_number(text)


@given(st.lists(st.integers(0, 9), min_size=12, max_size=18))
def test_any_luhn_number_of_13_to_19_digits_is_caught_however_it_is_spaced(digits) -> None:
    check = next(d for d in range(10) if intake.luhn_valid("".join(map(str, [*digits, d]))))
    number = "".join(map(str, [*digits, check]))
    spaced = " ".join(number[i : i + 4] for i in range(0, len(number), 4))

    assert intake.looks_like_card_number(number)
    assert intake.looks_like_card_number(spaced)
    assert intake.looks_like_card_number(spaced.replace(" ", "-"))


# --- Reading --------------------------------------------------------------------------------------

HEADER = (
    "merchant;order_number;email;purchase_date;purchase_amount;instalments;phone;first_name;last_name;"
    "language;card_token;card_brand;card_last4;card_expiry"
)


def csv_line(number: str = "CMD-0001", amount: str = "127,96", sep: str = ";") -> str:
    values = [
        "maison-lumiere",
        number,
        "camille.martin@example.com",
        PURCHASED.isoformat(),
        f'"{amount}"' if sep == "," else amount,
        "3",
        "+32470123456",
        "Camille",
        "Martin",
        "fr",
        "tok_test_visa_4242",
        "visa",
        "4242",
        "12/2030",
    ]
    return sep.join(values)


def test_csv_with_semicolons_a_bom_and_blank_lines() -> None:
    text = "\ufeff" + HEADER + "\r\n" + csv_line("A1") + "\r\n\r\n" + csv_line("A2") + "\r\n"

    rows = list(intake.csv_rows(io.StringIO(text, newline=""), label="orders.csv"))

    assert [row.line for row in rows] == ["orders.csv:2", "orders.csv:4"]
    assert rows[0].fields["order_number"] == "A1"
    assert rows[0].fields["purchase_amount"] == "127,96"


def test_csv_with_commas() -> None:
    text = HEADER.replace(";", ",") + "\n" + csv_line(sep=",", amount="127,96") + "\n"

    [row] = intake.csv_rows(io.StringIO(text, newline=""))

    assert (row.line, row.fields["purchase_amount"], row.fields["card_expiry"]) == ("2", "127,96", "12/2030")


def test_csv_header_faults_refuse_the_file() -> None:
    missing = list(intake.csv_rows(["merchant;order_number\n", "a;b\n"]))
    unknown = list(intake.csv_rows([HEADER + ";colour\n"]))
    empty = list(intake.csv_rows([]))

    assert [row.error for row in missing] == [
        "Fields missing from the header: email, purchase_date, purchase_amount, instalments, first_name, "
        "last_name, language, card_token, card_brand, card_last4, card_expiry."
    ]
    assert unknown[0].error == "Unknown fields in the header: colour."
    assert empty[0].error == "The file is empty: a header row naming the fields is expected."


def test_csv_line_with_the_wrong_number_of_values() -> None:
    [row] = intake.csv_rows([HEADER + "\n", "a;b;c\n"])

    assert row.error == "3 values where the header names 14 fields."


def test_json_lines_keep_exact_decimals_and_report_bad_lines() -> None:
    text = (
        '{"purchase_amount": 127.96, "instalments": 3}\n'
        "\n"
        "not json\n"
        "[1, 2]\n"
        '{"card_token": 4242424242424242, oops\n'
    )

    rows = list(intake.jsonl_rows(io.StringIO(text), label="o.jsonl"))

    assert rows[0].fields == {"purchase_amount": Decimal("127.96"), "instalments": 3}
    assert [(row.line, row.error) for row in rows[1:]] == [
        ("o.jsonl:3", "This line is not valid JSON."),
        ("o.jsonl:4", "An order is a JSON object."),
        ("o.jsonl:5", CARD_REASON),
    ]


def test_json_values_of_other_types(merchant) -> None:
    item = one(purchase_amount=Decimal("127.96"), instalments=3, first_instalment_paid=True, phone=None)

    assert item.outcome == Outcome.IMPORTED
    refused = one(order_number="B", first_name=["Camille"])
    assert refused.reason == "first_name: a single value is expected."


def test_the_content_hash_ignores_the_way_a_line_is_written(merchant) -> None:
    scope = intake.MerchantScope()

    first = intake.line_clean(line(), merchants=scope)
    second = intake.line_clean(
        line(
            email="camille.martin@EXAMPLE.com",
            purchase_amount=Decimal("127.96"),
            instalments=3,
            phone="+32470123456",
            card_brand="VISA",
            fees="0",
        ),
        merchants=scope,
    )

    assert first.content_hash == second.content_hash


def test_report_rows_are_formula_safe() -> None:
    row = intake.report_row(Item("=1", Outcome.REFUSED, "=HYPERLINK()", "-x"))

    assert row == ["'=1", "refused", "'=HYPERLINK()", "'-x"]


def test_a_customer_who_has_an_access_is_sent_to_the_login_page(merchant) -> None:
    one(order_number="FIRST")
    make_consumer_with_password("camille.martin@example.com")

    one(order_number="SECOND", language="en")
    deliveries_run()

    second = next(email for email in mail.outbox if "SECOND" in email.subject)
    assert "https://guichet.example.com/en/accounts/login/" in second.body
    assert "First login" not in second.body
