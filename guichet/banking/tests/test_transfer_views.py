"""Transfer pages for each role: preparer, validator, consultation only, another entity, anonymous;
the list's query count does not grow with the number of rights or orders."""

from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from guichet.banking import transfers
from guichet.banking.models import Batch, Transfer, TransferStatus, Validation
from guichet.banking.tests.transfer_factories import (
    PAYEE_IBAN,
    make_team,
    prepare,
    prepare_batch,
    snapshot,
    tomorrow,
)
from guichet.entities.models import BankAccount, Grant, Right
from guichet.entities.testing import make_entity, make_member
from guichet.identity.models import SignedProof, SigningChallenge
from guichet.identity.testing import signed_proof

pytestmark = pytest.mark.django_db


def url(name: str, *args) -> str:
    with translation.override("en"):
        return reverse(name, args=args or None)


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def team():
    return make_team()


def transfer_post(team, **overrides) -> dict:
    data = {
        "debtor_account": team.account.pk,
        "beneficiary_name": "Dupont SRL",
        "beneficiary_iban": "BE71 0961 2345 6769",
        "beneficiary_bic": "",
        "amount": "1250.50",
        "execution_date": tomorrow().isoformat(),
        "remittance_information": "Invoice 42",
        "structured_reference": "",
    }
    data.update(overrides)
    return data


# --- Anonymous ------------------------------------------------------------------------------------


def test_anonymous_is_sent_to_log_on(team):
    transfer = prepare(team)
    batch = prepare_batch(team)
    for name, args in [
        ("banking:transfers", ()),
        ("banking:transfer_new", ()),
        ("banking:batch_new", ()),
        ("banking:transfer_detail", (transfer.pk,)),
        ("banking:transfer_edit", (transfer.pk,)),
        ("banking:transfer_cancel", (transfer.pk,)),
        ("banking:transfer_validate", (transfer.pk,)),
        ("banking:transfer_validate_complete", (transfer.pk,)),
        ("banking:batch_detail", (batch.pk,)),
        ("banking:batch_validate", (batch.pk,)),
    ]:
        response = Client().get(url(name, *args))
        assert response.status_code == 302 and "login" in response["Location"], name


# --- Preparer ----------------------------------------------------------------------------------------


def test_preparer_prepares_a_transfer(team):
    client = client_for(team.preparer)
    page = client.get(url("banking:transfer_new"))
    assert page.status_code == 200
    assert b"Prepare a transfer" in page.content

    response = client.post(url("banking:transfer_new"), transfer_post(team))

    transfer = Transfer.objects.get()
    assert response["Location"] == url("banking:transfer_detail", transfer.pk)
    assert (transfer.beneficiary_iban, transfer.amount) == (PAYEE_IBAN, Decimal("1250.50"))
    detail = client.get(response["Location"])
    assert b"Dupont SRL" in detail.content
    assert url("banking:transfer_validate", transfer.pk).encode() not in detail.content
    assert b"another user with the validation right must validate it" in detail.content


def test_bad_input_shows_errors_and_writes_nothing(team):
    client = client_for(team.preparer)
    before = snapshot()
    response = client.post(
        url("banking:transfer_new"),
        transfer_post(
            team, beneficiary_iban="BE00 1234", amount="-3", structured_reference="RF18539007547034"
        ),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('aria-invalid="true"') == 3
    assert "<title>Error:" in html
    assert snapshot() == before


def test_french_amount_and_saved_beneficiary(team):
    from guichet.banking.models import Beneficiary

    saved = Beneficiary.objects.create(entity=team.entity, name="Lemaire SA", iban=PAYEE_IBAN)
    client = client_for(team.preparer)
    data = transfer_post(
        team, beneficiary=saved.pk, beneficiary_name="", beneficiary_iban="", amount="1 234,56"
    )
    with translation.override("fr"):
        response = client.post(reverse("banking:transfer_new"), data)
    assert response.status_code == 302, response.context["form"].errors
    transfer = Transfer.objects.get()
    assert (transfer.beneficiary_name, transfer.amount) == ("Lemaire SA", Decimal("1234.56"))


def test_preparer_edits_and_cancels(team):
    transfer = prepare(team)
    client = client_for(team.preparer)
    assert client.get(url("banking:transfer_edit", transfer.pk)).status_code == 200
    response = client.post(url("banking:transfer_edit", transfer.pk), transfer_post(team, amount="10.00"))
    assert response.status_code == 302
    transfer.refresh_from_db()
    assert (transfer.version, transfer.amount) == (2, Decimal("10.00"))

    assert client.get(url("banking:transfer_cancel", transfer.pk)).status_code == 200
    client.post(url("banking:transfer_cancel", transfer.pk))
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.CANCELLED


def test_batch_form_add_rows_then_save(team):
    client = client_for(team.preparer)
    page = client.get(url("banking:batch_new"))
    assert page.content.decode().count('name="lines-') >= 5 * 6
    data = {
        "label": "Salaries",
        "debtor_account": team.account.pk,
        "execution_date": tomorrow().isoformat(),
        "lines-TOTAL_FORMS": "5",
        "lines-INITIAL_FORMS": "5",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "200",
        "lines-0-beneficiary_name": "Alice",
        "lines-0-beneficiary_iban": PAYEE_IBAN,
        "lines-0-amount": "100.00",
        "lines-2-beneficiary_name": "Bob",
        "lines-2-beneficiary_iban": "BE68539007547034",
        "lines-2-amount": "50.25",
        "lines-2-structured_reference": "+++010/8068/17183+++",
    }
    more = client.post(url("banking:batch_new"), {**data, "add_rows": "1"})
    assert more.status_code == 200
    assert 'name="lines-6-amount"' in more.content.decode()  # 2 typed rows + 5 new ones
    assert Batch.objects.count() == 0

    response = client.post(url("banking:batch_new"), {**data, "save": "1"})
    batch = Batch.objects.get()
    assert response["Location"] == url("banking:batch_detail", batch.pk)
    assert [line.beneficiary_name for line in batch.transfers.order_by("pk")] == ["Alice", "Bob"]
    detail = client.get(response["Location"])
    assert b"+++010/8068/17183+++" in detail.content
    assert b"150.25" in detail.content

    edit = client.get(url("banking:batch_edit", batch.pk))
    assert 'value="Alice"' in edit.content.decode()


def test_batch_form_errors(team):
    client = client_for(team.preparer)
    data = {
        "label": "Salaries",
        "debtor_account": team.account.pk,
        "execution_date": tomorrow().isoformat(),
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "2",
        "lines-0-beneficiary_name": "Alice",
        "lines-0-beneficiary_iban": "BE00",
        "lines-0-amount": "100.00",
        "save": "1",
    }
    response = client.post(url("banking:batch_new"), data)
    assert response.status_code == 200
    assert "Transfer 1, Beneficiary&#x27;s IBAN" in response.content.decode()
    empty = client.post(
        url("banking:batch_new"), {**data, "lines-0-beneficiary_iban": "", "lines-0-amount": ""}
    )
    assert empty.status_code == 200
    assert Batch.objects.count() == 0


# --- Validator ------------------------------------------------------------------------------------------


def test_validator_reviews_signs_and_completes(team):
    transfer = prepare(team)
    client = client_for(team.validator)
    review = client.get(url("banking:transfer_validate", transfer.pk))
    assert review.status_code == 200
    html = review.content.decode()
    assert "BE71 0961 2345 6769" in html and "Vandenbroucke SPRL" in html

    started = client.post(url("banking:transfer_validate", transfer.pk), {"version": "1"})
    challenge = SigningChallenge.objects.get(user=team.validator)
    assert started["Location"] == url("identity:sign", challenge.pk)
    assert challenge.next_url == url("banking:transfer_validate_complete", transfer.pk) + "?version=1"
    proof = signed_proof(team.validator, transfers.transfer_operation(transfer))

    done = client.get(challenge.next_url + f"&proof={proof}")

    assert done["Location"] == url("banking:transfer_detail", transfer.pk)
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.VALIDATED
    detail = client.get(done["Location"]).content.decode()
    assert "Validated by Vera Validator" in detail


def test_a_stale_review_is_refused(team):
    transfer = prepare(team)
    client = client_for(team.validator)
    response = client.post(url("banking:transfer_validate", transfer.pk), {"version": "0"})
    assert response["Location"] == url("banking:transfer_validate", transfer.pk)
    assert not SigningChallenge.objects.exists()


def test_completion_with_a_bad_proof_writes_nothing(team):
    transfer = prepare(team)
    client = client_for(team.validator)
    before = snapshot()
    response = client.get(url("banking:transfer_validate_complete", transfer.pk) + "?version=1&proof=nope")
    assert response.status_code == 302
    assert snapshot() == before


def test_batch_validation_pages(team):
    batch = prepare_batch(team, lines=2)
    client = client_for(team.validator)
    review = client.get(url("banking:batch_validate", batch.pk)).content.decode()
    assert "Employee 0" in review and "Employee 1" in review and "201.50" in review
    client.post(url("banking:batch_validate", batch.pk), {"version": "1"})
    proof = signed_proof(team.validator, transfers.batch_operation(batch))
    client.get(url("banking:batch_validate_complete", batch.pk) + f"?version=1&proof={proof}")
    batch.refresh_from_db()
    assert batch.status == TransferStatus.VALIDATED


# --- Refusals: preparer validating, consultation only, another entity ---------------------------------------


def test_the_preparer_cannot_reach_the_validation(team):
    director = team.validator
    transfer = transfers.transfer_prepare(
        acting_user=director,
        debtor_account=team.account,
        execution_date=tomorrow(),
        payment=transfers.Payment(beneficiary_name="X", beneficiary_iban=PAYEE_IBAN, amount=Decimal("1.00")),
    )
    client = client_for(director)
    before = snapshot()
    response = client.get(url("banking:transfer_validate", transfer.pk))
    assert response["Location"] == url("banking:transfer_detail", transfer.pk)
    client.post(url("banking:transfer_validate", transfer.pk), {"version": "1"})
    assert snapshot() == before
    assert not SigningChallenge.objects.exists()


def test_consultation_only_sees_but_cannot_act(team):
    transfer = prepare(team)
    batch = prepare_batch(team)
    client = client_for(team.accountant)
    assert client.get(url("banking:transfers")).status_code == 200
    detail = client.get(url("banking:transfer_detail", transfer.pk))
    assert detail.status_code == 200
    assert url("banking:transfer_edit", transfer.pk).encode() not in detail.content
    assert client.get(url("banking:batch_detail", batch.pk)).status_code == 200
    assert client.get(url("banking:transfer_new")).status_code == 403
    assert client.get(url("banking:batch_new")).status_code == 403
    before = snapshot()
    client.post(url("banking:transfer_new"), transfer_post(team))
    client.post(url("banking:transfer_edit", transfer.pk), transfer_post(team))
    client.post(url("banking:transfer_cancel", transfer.pk))
    client.post(url("banking:batch_cancel", batch.pk))
    client.post(url("banking:transfer_validate", transfer.pk), {"version": "1"})
    client.get(url("banking:transfer_validate_complete", transfer.pk) + "?version=1&proof=x")
    assert snapshot() == before
    assert not SigningChallenge.objects.exists()


def test_another_entity_gets_404_and_writes_nothing(team):
    transfer = prepare(team)
    batch = prepare_batch(team)
    client = client_for(team.outsider)
    before = snapshot()
    for name, pk, method in [
        ("banking:transfer_detail", transfer.pk, "get"),
        ("banking:transfer_edit", transfer.pk, "get"),
        ("banking:transfer_edit", transfer.pk, "post"),
        ("banking:transfer_cancel", transfer.pk, "post"),
        ("banking:transfer_validate", transfer.pk, "get"),
        ("banking:transfer_validate", transfer.pk, "post"),
        ("banking:transfer_validate_complete", transfer.pk, "get"),
        ("banking:batch_detail", batch.pk, "get"),
        ("banking:batch_edit", batch.pk, "post"),
        ("banking:batch_cancel", batch.pk, "post"),
        ("banking:batch_validate", batch.pk, "post"),
        ("banking:batch_validate_complete", batch.pk, "get"),
    ]:
        response = getattr(client, method)(url(name, pk), transfer_post(team) if method == "post" else None)
        assert response.status_code == 404, (name, method)
    # Another entity's account as the debtor: refused by the form (not in the choices).
    response = client.post(url("banking:transfer_new"), transfer_post(team))
    assert response.status_code == 200 and b'aria-invalid="true"' in response.content
    assert snapshot() == before
    assert client.get(url("banking:transfers")).content.count(b"Vandenbroucke") == 0


# --- The list ---------------------------------------------------------------------------------


def test_list_filters(team):
    single = prepare(team)
    batch = prepare_batch(team)
    transfers.transfer_cancel(transfer=prepare(team), acting_user=team.preparer)
    client = client_for(team.validator)
    waiting = client.get(url("banking:transfers") + "?show=waiting").content.decode()
    assert url("banking:transfer_detail", single.pk) in waiting
    assert url("banking:batch_detail", batch.pk) in waiting
    cancelled = client.get(url("banking:transfers") + "?status=cancelled").content.decode()
    assert url("banking:transfer_detail", single.pk) not in cancelled
    assert cancelled.count("/transfers/") >= 1
    preparer_waiting = client_for(team.preparer).get(url("banking:transfers") + "?show=waiting")
    assert b"Nothing waits for your validation." in preparer_waiting.content


def test_list_paginates(team):
    for _ in range(27):
        prepare(team)
    client = client_for(team.accountant)
    first = client.get(url("banking:transfers")).content.decode()
    second = client.get(url("banking:transfers") + "?page=2").content.decode()
    assert first.count("<tr>") == 26  # header + 25
    assert second.count("<tr>") == 3
    assert "page=2" in first


def _list_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url("banking:transfers"))
    assert response.status_code == 200
    return len(queries)


def test_list_query_count_does_not_depend_on_rights_or_rows():
    small = make_entity(accounts=1)
    few = make_member(small, rights=(Right.CONSULTATION, Right.MANAGEMENT))
    prepare_for = make_member(small, rights=(Right.MANAGEMENT,))
    transfers.transfer_prepare(
        acting_user=prepare_for,
        debtor_account=small.accounts.get(),
        execution_date=tomorrow(),
        payment=transfers.Payment(beneficiary_name="X", beneficiary_iban=PAYEE_IBAN, amount=Decimal("1.00")),
    )
    baseline = _list_queries(client_for(few))

    big = make_entity(accounts=40, name="Big SA")
    many = make_member(big, rights=(Right.CONSULTATION, Right.MANAGEMENT, Right.VALIDATION))
    author = make_member(big, rights=(Right.MANAGEMENT,))
    for account in BankAccount.objects.filter(entity=big)[:30]:
        transfers.transfer_prepare(
            acting_user=author,
            debtor_account=account,
            execution_date=tomorrow(),
            payment=transfers.Payment(
                beneficiary_name="Y", beneficiary_iban=PAYEE_IBAN, amount=Decimal("2.00")
            ),
        )
        transfers.batch_prepare(
            acting_user=author,
            debtor_account=account,
            label="B",
            execution_date=tomorrow(),
            payments=[
                transfers.Payment(beneficiary_name="Z", beneficiary_iban=PAYEE_IBAN, amount=Decimal("3.00"))
            ],
        )
    assert Grant.objects.filter(user=many).count() >= 120
    assert _list_queries(client_for(many)) == baseline
    with CaptureQueriesContext(connection):
        pass
    assert Validation.objects.count() == 0 and SignedProof.objects.count() == 0


def test_query_string_keeps_filters(team):
    for _ in range(26):
        prepare(team)
    page = (
        client_for(team.validator)
        .get(url("banking:transfers") + "?show=waiting&status=prepared")
        .content.decode()
    )
    href = next(part for part in page.split('href="') if "page=2" in part).split('"')[0]
    assert parse_qs(urlsplit(href.replace("&amp;", "&")).query) == {
        "status": ["prepared"],
        "show": ["waiting"],
        "page": ["2"],
    }
