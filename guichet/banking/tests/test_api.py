"""The read API (/api/v1/): rights for each role, 404 for another entity's IDs, filters and keyset
pagination of transactions, constant query counts, and an OpenAPI schema that builds cleanly."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from guichet.banking.tests.consultation_cast import make_cast, make_transactions
from guichet.entities.testing import ACCOUNTANT, make_entity, make_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast():
    return make_cast()


def ids(response) -> list[int]:
    return [item["id"] for item in response.json()["results"]]


@pytest.mark.parametrize("role", ["consultant", "manager", "validator"])
def test_accounts_and_contracts_of_a_consultation_holder(client, cast, role):
    client.force_login(getattr(cast, role))

    accounts = client.get(reverse("api:accounts"))
    contracts = client.get(reverse("api:contracts"))

    assert accounts.status_code == 200
    assert sorted(ids(accounts)) == sorted(cast.entity.accounts.values_list("pk", flat=True))
    first = next(item for item in accounts.json()["results"] if item["id"] == cast.account.pk)
    assert first["iban"] == cast.account.iban
    assert first["balance"] == str(cast.account.balance)
    assert first["entity"] == {"id": cast.entity.pk, "name": cast.entity.name}
    assert sorted(ids(contracts)) == sorted(cast.entity.contracts.values_list("pk", flat=True))


@pytest.mark.parametrize("role", ["no_right", "management_only", "suspended"])
def test_lists_are_empty_without_the_consultation_right(client, cast, role):
    client.force_login(getattr(cast, role))

    assert ids(client.get(reverse("api:accounts"))) == []
    assert ids(client.get(reverse("api:contracts"))) == []
    response = client.get(reverse("api:account_transactions", args=[cast.account.pk]))
    assert response.status_code == 404


def test_another_entitys_ids_answer_404(client, cast):
    make_transactions(cast.account, 2)
    client.force_login(cast.outsider)

    assert ids(client.get(reverse("api:accounts"))) == [cast.other.accounts.get().pk]
    assert client.get(reverse("api:account_transactions", args=[cast.account.pk])).status_code == 404
    assert client.get(reverse("api:account_transactions", args=[999_999])).status_code == 404


def test_anonymous_is_refused(client, cast):
    for name, args in (
        ("api:accounts", []),
        ("api:contracts", []),
        ("api:account_transactions", [cast.account.pk]),
    ):
        response = client.get(reverse(name, args=args))
        assert response.status_code == 403
        assert "results" not in response.json()


def test_writes_are_not_allowed(client, cast):
    client.force_login(cast.validator)

    assert client.post(reverse("api:accounts"), {}).status_code == 405
    assert client.delete(reverse("api:account_transactions", args=[cast.account.pk])).status_code == 405


def test_transactions_filters_and_keyset_pages(client, cast):
    make_transactions(cast.account, 130)
    client.force_login(cast.consultant)
    base = reverse("api:account_transactions", args=[cast.account.pk])

    first = client.get(base, {"direction": "credits", "amount_min": "100.50"}).json()
    second = client.get(first["next"]).json()

    assert first["previous"] is None
    assert len(first["results"]) == 50
    assert all(float(item["amount"]) >= 100.5 for item in first["results"] + second["results"])
    assert "direction=credits" in first["next"] and "amount_min=100.50" in first["next"]
    assert len(second["results"]) == 11  # credits: i = 1, 3, … 129; from 100.50: i = 9 … 129, 61 of them
    assert second["next"] is None
    back = client.get(second["previous"]).json()
    assert [item["id"] for item in back["results"]] == [item["id"] for item in first["results"]]
    assert first["results"][0] == {
        "id": first["results"][0]["id"],
        "booking_date": "2026-03-06",
        "value_date": "2026-03-06",
        "amount": "1300.50",
        "currency": "EUR",
        "counterparty_name": "Counterparty 129",
        "counterparty_iban": "",
        "description": "Invoice 129",
        "reference": "REF00129",
    }


def test_transactions_bad_filters_answer_400(client, cast):
    client.force_login(cast.consultant)

    response = client.get(
        reverse("api:account_transactions", args=[cast.account.pk]),
        {"date_from": "2026-02-01", "date_to": "2026-01-01"},
    )

    assert response.status_code == 400
    assert set(response.json()) == {"date_to"}


def test_api_amounts_use_a_dot_whatever_the_language(client, cast):
    make_transactions(cast.account, 4)
    client.force_login(cast.consultant)

    response = client.get(
        reverse("api:account_transactions", args=[cast.account.pk]),
        {"amount_min": "20.50", "amount_max": "30.50"},
        headers={"Accept-Language": "de"},
    )

    assert [item["reference"] for item in response.json()["results"]] == ["REF00002", "REF00001"]


def test_accounts_endpoint_runs_the_same_queries_for_5_and_50_accounts(client, django_assert_num_queries):
    small = make_entity(accounts=5, contracts=0)
    client.force_login(make_member(small, rights=ACCOUNTANT))
    client.get(reverse("api:accounts"))
    with CaptureQueriesContext(connection) as five:
        client.get(reverse("api:accounts"))
    expected = len(five)  # now: the next request clears the connection's query log

    large = make_entity(accounts=50, contracts=0)
    client.force_login(make_member(large, rights=ACCOUNTANT))
    client.get(reverse("api:accounts"))
    with django_assert_num_queries(expected):
        response = client.get(reverse("api:accounts"))
    assert len(response.json()["results"]) == 50


def test_the_openapi_schema_builds_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))

    schema = out.read_text()
    for endpoint in (
        "/api/v1/accounts/",
        "/api/v1/accounts/{account_id}/transactions/",
        "/api/v1/contracts/",
    ):
        assert endpoint in schema


def test_the_schema_view_answers(client, cast):
    client.force_login(cast.consultant)

    response = client.get("/api/schema/")

    assert response.status_code == 200
    assert b"/api/v1/accounts/" in response.content
