"""Consultation pages: accounts, an account's transactions (filters, pagination, CSV export) and
contracts, for each role; refusals answer 404 and write nothing."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import formats, translation

from guichet.audit.models import AuditEvent
from guichet.banking.consultation import csv_safe
from guichet.banking.models import Transaction
from guichet.banking.tests.consultation_cast import make_cast, make_transactions
from guichet.entities.testing import ACCOUNTANT, make_entity, make_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast():
    return make_cast()


def url(name: str, *args: object) -> str:
    with translation.override("fr"):
        return reverse(name, args=args or None)


def money(value: Decimal) -> str:
    with translation.override("fr"):
        return formats.number_format(value, 2, use_l10n=True, force_grouping=True)


# --- Accounts page -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["consultant", "manager", "validator"])
def test_accounts_page_lists_the_accounts_of_a_consultation_holder(client, cast, role):
    client.force_login(getattr(cast, role))

    response = client.get(url("banking:accounts"))

    assert response.status_code == 200
    page = response.content.decode()
    assert cast.entity.name in page
    for account in cast.entity.accounts.all():
        assert account.label in page
        assert account.iban_display in page
        assert f"{money(account.balance)} EUR" in page
    assert cast.other.accounts.get().iban_display not in page


@pytest.mark.parametrize("role", ["no_right", "management_only", "suspended", "outsider"])
def test_accounts_page_shows_none_of_the_entity_accounts_without_the_right(client, cast, role):
    client.force_login(getattr(cast, role))

    response = client.get(url("banking:accounts"))

    assert response.status_code == 200
    page = response.content.decode()
    for account in cast.entity.accounts.all():
        assert account.iban_display not in page


def test_accounts_page_needs_a_logon(client, cast):
    response = client.get(url("banking:accounts"))

    assert response.status_code == 302
    assert response["Location"].startswith(url("account_login"))


def test_accounts_page_groups_by_entity_and_formats_in_the_active_language(client):
    first = make_entity(name="Alpha SA", accounts=1, contracts=0)
    second = make_entity(name="Beta SA", accounts=1, contracts=0)
    user = make_member(first, rights=ACCOUNTANT)
    from guichet.entities.models import Grant, Person, PersonStatus, Right

    Person.objects.create(
        entity=second, first_name="P", last_name="J", birth_date=datetime.date(1980, 1, 1),
        mobile_phone="+32470111222", user=user, status=PersonStatus.ACTIVE,
    )  # fmt: skip
    Grant.objects.create(entity=second, user=user, account=second.accounts.get(), right=Right.CONSULTATION)
    first.accounts.update(balance=Decimal("1234567.89"))
    client.force_login(user)

    with translation.override("en"):
        page = client.get(reverse("banking:accounts")).content.decode()

    assert page.index("Alpha SA") < page.index("Beta SA")
    assert "1,234,567.89 EUR" in page


def test_accounts_page_runs_the_same_queries_for_5_and_50_accounts(client, django_assert_num_queries):
    small = make_entity(accounts=5, contracts=0)
    client.force_login(make_member(small, rights=ACCOUNTANT))
    with CaptureQueriesContext(connection) as five:
        assert client.get(url("banking:accounts")).status_code == 200

    large = make_entity(accounts=50, contracts=0)
    client.force_login(make_member(large, rights=ACCOUNTANT))
    with django_assert_num_queries(len(five)):
        response = client.get(url("banking:accounts"))
    assert response.content.decode().count('<th scope="row"><a href=') == 50


def test_accounts_page_shows_50_accounts_per_page_with_the_same_queries_on_each(
    client, django_assert_num_queries
):
    entity = make_entity(accounts=120, contracts=0)
    client.force_login(make_member(entity, rights=ACCOUNTANT))
    client.get(url("banking:accounts"))  # the session's first request sets it up (more queries)
    with CaptureQueriesContext(connection) as first:
        page_one = client.get(url("banking:accounts")).content.decode()
    with django_assert_num_queries(len(first)):
        page_three = client.get(url("banking:accounts") + "?page=3").content.decode()

    assert page_one.count('<th scope="row"><a href=') == 50
    assert page_three.count('<th scope="row"><a href=') == 20
    assert "?page=2" in page_one and "?page=2" in page_three


def test_accounts_search_by_label_or_iban_ignoring_spaces(client):
    entity = make_entity(accounts=3, contracts=0)
    client.force_login(make_member(entity, rights=ACCOUNTANT))
    savings = entity.accounts.get(label="Compte épargne")

    by_label = client.get(url("banking:accounts"), {"q": "épargne"}).content.decode()
    by_iban = client.get(url("banking:accounts"), {"q": savings.iban_display[5:14]}).content.decode()
    nothing = client.get(url("banking:accounts"), {"q": "no such account"}).content.decode()

    for page in (by_label, by_iban):
        assert page.count('<th scope="row"><a href=') == 1
        assert savings.iban_display in page
    assert nothing.count('<th scope="row"><a href=') == 0


def test_accounts_search_never_reaches_another_entitys_account(client, cast):
    client.force_login(cast.consultant)
    other = cast.other.accounts.get()

    page = client.get(url("banking:accounts"), {"q": other.iban}).content.decode()

    assert other.iban_display not in page


# --- Account detail -----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["consultant", "manager", "validator"])
def test_account_page_shows_its_transactions(client, cast, role):
    make_transactions(cast.account, 3)
    client.force_login(getattr(cast, role))

    response = client.get(url("banking:account", cast.account.pk))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Counterparty 0" in page and "Invoice 2" in page and "REF00001" in page
    assert url("banking:account_export", cast.account.pk) in page


@pytest.mark.parametrize("role", ["no_right", "management_only", "suspended", "outsider"])
def test_account_page_and_export_answer_404_without_the_right(client, cast, role):
    client.force_login(getattr(cast, role))

    assert client.get(url("banking:account", cast.account.pk)).status_code == 404
    assert client.get(url("banking:account_export", cast.account.pk)).status_code == 404
    assert client.get(url("banking:account_export", cast.account.pk) + "?date_from=x").status_code == 404
    assert not AuditEvent.objects.filter(action="banking.transactions_exported").exists()


def test_another_entitys_account_answers_404(client, cast):
    client.force_login(cast.validator)
    other_account = cast.other.accounts.get()

    assert client.get(url("banking:account", other_account.pk)).status_code == 404
    assert client.get(url("banking:account_export", other_account.pk)).status_code == 404
    assert client.get(url("banking:account", 999_999)).status_code == 404
    assert not AuditEvent.objects.filter(action="banking.transactions_exported").exists()


def test_account_page_and_export_need_a_logon(client, cast):
    assert client.get(url("banking:account", cast.account.pk)).status_code == 302
    assert client.get(url("banking:account_export", cast.account.pk)).status_code == 302
    assert not AuditEvent.objects.filter(action="banking.transactions_exported").exists()


def listed_references(response) -> list[str]:
    return [item.reference for item in response.context["page"].items]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("date_from=2026-01-02&date_to=2026-01-02", ["REF00003", "REF00002"]),
        ("amount_min=20&amount_max=40", ["REF00002", "REF00001"]),  # 40.50 is out
        ("amount_min=20&amount_max=40.50", ["REF00003", "REF00002", "REF00001"]),
        ("amount_min=20&amount_max=41&direction=debits", ["REF00002"]),
        ("direction=credits&date_to=2026-01-02", ["REF00003", "REF00001"]),
        ("text=counterparty 4", ["REF00004"]),
        ("text=invoice 5", ["REF00005"]),
        ("text=ref00000", ["REF00000"]),
        ("text=nothing like it", []),
    ],
)
def test_transactions_filters(client, cast, query, expected):
    make_transactions(cast.account, 6)  # REF00000 -10.50 … REF00005 +60.50, two per day from 1 Jan
    make_transactions(cast.entity.accounts.order_by("pk")[1], 6)  # another account: never listed
    client.force_login(cast.consultant)

    response = client.get(url("banking:account", cast.account.pk) + "?" + query)

    assert response.status_code == 200
    assert listed_references(response) == expected


def test_amount_filter_reads_the_decimal_comma_in_french(client, cast):
    make_transactions(cast.account, 4)  # 10.50, 20.50, 30.50, 40.50
    client.force_login(cast.consultant)

    response = client.get(url("banking:account", cast.account.pk) + "?amount_min=20,50&amount_max=30,50")

    assert listed_references(response) == ["REF00002", "REF00001"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("date_from=2026-02-01&date_to=2026-01-01", "date_to"),
        ("amount_min=50&amount_max=10", "amount_max"),
        ("date_from=yesterday", "date_from"),
        ("amount_min=-5", "amount_min"),
        ("direction=sideways", "direction"),
    ],
)
def test_bad_filters_are_explained_and_list_nothing(client, cast, query, field):
    make_transactions(cast.account, 3)
    client.force_login(cast.consultant)

    response = client.get(url("banking:account", cast.account.pk) + "?" + query)

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert response.context["page"] is None
    page = response.content.decode()
    assert "<title>Erreur" in page or "<title>Error:" in page
    assert 'class="error-summary"' in page


def test_htmx_filter_answers_the_list_only_and_a_full_reload_on_bad_input(client, cast):
    make_transactions(cast.account, 3)
    client.force_login(cast.consultant)
    detail = url("banking:account", cast.account.pk)

    partial = client.get(detail + "?text=invoice 1", headers={"HX-Request": "true"})
    bad = client.get(detail + "?amount_min=x", headers={"HX-Request": "true"})

    assert partial.status_code == 200
    assert partial.content.decode().lstrip().startswith('<section id="transactions"')
    assert listed_references(partial) == ["REF00001"]
    assert bad.status_code == 204
    assert bad["HX-Redirect"] == detail + "?amount_min=x"


def test_keyset_pagination_walks_forward_and_back(client, cast):
    make_transactions(cast.account, 120)
    client.force_login(cast.consultant)
    detail = url("banking:account", cast.account.pk)
    expected = list(Transaction.objects.filter(account=cast.account).values_list("reference", flat=True))

    first = client.get(detail + "?text=counterparty")
    second = client.get(detail + f"?text=counterparty&after={first.context['page'].older}")
    third = client.get(detail + f"?text=counterparty&after={second.context['page'].older}")
    back = client.get(detail + f"?text=counterparty&before={third.context['page'].newer}")

    assert listed_references(first) == expected[:50]
    assert first.context["page"].newer is None
    assert listed_references(second) == expected[50:100]
    assert listed_references(third) == expected[100:]
    assert third.context["page"].older is None
    assert listed_references(back) == expected[50:100]
    assert back.context["page"].newer is not None
    first_again = client.get(detail + f"?text=counterparty&before={back.context['page'].newer}")
    assert listed_references(first_again) == expected[:50]
    assert first_again.context["page"].newer is None
    # The links keep the filters and carry one cursor.
    page = second.content.decode()
    assert f"?text=counterparty&amp;after={second.context['page'].older}" in page
    assert f"?text=counterparty&amp;before={second.context['page'].newer}" in page


def test_a_deep_page_costs_the_same_queries_as_the_first(client, cast, django_assert_num_queries):
    make_transactions(cast.account, 400)
    client.force_login(cast.consultant)
    detail = url("banking:account", cast.account.pk)
    client.get(detail)  # the session's first request does some one-off work
    with CaptureQueriesContext(connection) as first:
        client.get(detail)
    deep = Transaction.objects.filter(account=cast.account).order_by("booking_date", "pk")[60]  # near the end

    with django_assert_num_queries(len(first)):
        response = client.get(detail + f"?after={deep.booking_date.isoformat()}.{deep.pk}")

    assert len(response.context["page"].items) == 50


def test_a_malformed_cursor_shows_the_first_page(client, cast):
    make_transactions(cast.account, 3)
    client.force_login(cast.consultant)

    response = client.get(url("banking:account", cast.account.pk) + "?after=tomorrow.x&before=1")

    assert listed_references(response) == ["REF00002", "REF00001", "REF00000"]


# --- CSV export ---------------------------------------------------------------------------


def export_rows(response) -> tuple[str, list[list[str]]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    return body, list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))


def test_csv_export_of_the_filtered_transactions_is_audited(client, cast):
    make_transactions(cast.account, 6)
    client.force_login(cast.consultant)

    response = client.get(url("banking:account_export", cast.account.pk) + "?direction=credits&after=x")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith(
        f'attachment; filename="transactions-{cast.account.iban}-'
    )
    body, rows = export_rows(response)
    assert body.startswith("\ufeffDate comptable,") or body.startswith("\ufeff")
    assert len(rows[0]) == 8
    assert rows[1:] == [
        ["2026-01-03", "2026-01-03", "60.50", "EUR", "Counterparty 5", "", "Invoice 5", "REF00005"],
        ["2026-01-02", "2026-01-02", "40.50", "EUR", "Counterparty 3", "", "Invoice 3", "REF00003"],
        ["2026-01-01", "2026-01-01", "20.50", "EUR", "Counterparty 1", "", "Invoice 1", "REF00001"],
    ]
    event = AuditEvent.objects.get(action="banking.transactions_exported")
    assert event.actor_id == cast.consultant.pk
    assert event.target_id == str(cast.account.pk)
    assert event.details == {"filters": {"direction": "credits"}}


def test_csv_export_header_follows_the_language(client, cast):
    client.force_login(cast.consultant)
    with translation.override("en"):
        response = client.get(reverse("banking:account_export", args=[cast.account.pk]))

    body, rows = export_rows(response)

    assert body.startswith("\ufeffBooking date,")
    assert rows == [
        [
            "Booking date",
            "Value date",
            "Amount",
            "Currency",
            "Counterparty",
            "Counterparty's account",
            "Description",
            "Reference",
        ]
    ]


def test_csv_export_defuses_formulas(client, cast):
    day = datetime.date(2026, 3, 1)
    for i, text in enumerate(['=HYPERLINK("http://evil.example","x")', "+32 470", "-2+3", "@SUM(A1)", "\tx"]):
        Transaction.objects.create(
            account=cast.account, booking_date=day, value_date=day, amount=Decimal("-1.00"),
            counterparty_name=text, description=text, reference=f"R{i}", counterparty_iban=text[:34],
        )  # fmt: skip
    client.force_login(cast.consultant)

    _body, rows = export_rows(client.get(url("banking:account_export", cast.account.pk)))

    for row in rows[1:]:
        assert row[2] == "-1.00"  # our own number, not text: left as is
        for cell in row[4:7]:
            assert cell.startswith("'"), cell
    assert rows[-1][4] == '\'=HYPERLINK("http://evil.example","x")'


@pytest.mark.parametrize(
    ("value", "expected"),
    [("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@A1", "'@A1"), ("a=b", "a=b"), ("", "")],
)
def test_csv_safe(value, expected):
    assert csv_safe(value) == expected


def test_csv_export_with_bad_filters_goes_back_to_the_page_and_records_nothing(client, cast):
    client.force_login(cast.consultant)

    response = client.get(url("banking:account_export", cast.account.pk) + "?amount_min=x")

    assert response.status_code == 302
    assert response["Location"] == url("banking:account", cast.account.pk) + "?amount_min=x"
    assert not AuditEvent.objects.filter(action="banking.transactions_exported").exists()


def test_csv_export_streams_every_row_in_chunks(client, cast, monkeypatch):
    from guichet.banking import selectors

    make_transactions(cast.account, 25)
    monkeypatch.setattr(selectors, "EXPORT_CHUNK", 10)
    monkeypatch.setattr(selectors.transactions_all, "__defaults__", (10,))
    client.force_login(cast.consultant)

    _body, rows = export_rows(client.get(url("banking:account_export", cast.account.pk)))

    assert [row[7] for row in rows[1:]] == [f"REF{i:05d}" for i in range(24, -1, -1)]


# --- Contracts ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["consultant", "manager", "validator"])
def test_contracts_page_and_detail(client, cast, role):
    contract = cast.entity.contracts.order_by("pk").first()
    contract.details = "Plafond: 10 000 EUR\nRenouvellement annuel"
    contract.started_on = datetime.date(2024, 5, 1)
    contract.save()
    client.force_login(getattr(cast, role))

    listing = client.get(url("banking:contracts")).content.decode()
    detail = client.get(url("banking:contract", contract.pk))

    for item in cast.entity.contracts.all():
        assert item.reference in listing and item.label in listing
    assert cast.other.contracts.get().reference not in listing
    assert detail.status_code == 200
    page = detail.content.decode()
    assert "Plafond: 10 000 EUR<br>Renouvellement annuel" in page
    assert contract.reference in page and contract.get_kind_display() in page
    assert "2024" in page


@pytest.mark.parametrize("role", ["no_right", "management_only", "suspended", "outsider"])
def test_contracts_without_the_right(client, cast, role):
    contract = cast.entity.contracts.order_by("pk").first()
    client.force_login(getattr(cast, role))

    listing = client.get(url("banking:contracts"))

    assert listing.status_code == 200
    assert contract.reference not in listing.content.decode()
    assert client.get(url("banking:contract", contract.pk)).status_code == 404


def test_contracts_need_a_logon(client, cast):
    contract = cast.entity.contracts.order_by("pk").first()
    assert client.get(url("banking:contracts")).status_code == 302
    assert client.get(url("banking:contract", contract.pk)).status_code == 302


def test_contracts_page_runs_the_same_queries_for_5_and_50_contracts(client, django_assert_num_queries):
    small = make_entity(accounts=1, contracts=5)
    client.force_login(make_member(small, rights=ACCOUNTANT))
    with CaptureQueriesContext(connection) as five:
        client.get(url("banking:contracts"))

    large = make_entity(accounts=1, contracts=50)
    client.force_login(make_member(large, rights=ACCOUNTANT))
    with django_assert_num_queries(len(five)):
        assert client.get(url("banking:contracts")).status_code == 200
