"""Banking in the back office: read-only lists with filters, rejecting orders with a reason,
downloading an export file; who may do what, and that refusals write nothing."""

import datetime
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.test import Client

from guichet.audit.models import AuditEvent
from guichet.backoffice.tests.factories import make_advisor, make_customer, make_superuser
from guichet.backoffice.tests.test_site import InlineCode
from guichet.banking.models import Batch, ExportFile, Transaction, Transfer, TransferStatus
from guichet.banking.tests.transfer_factories import make_team, prepare, prepare_batch, snapshot
from guichet.identity.models import AccountKind, User

pytestmark = pytest.mark.django_db

TRANSFERS = "/backoffice/banking/transfer/"
BATCHES = "/backoffice/banking/batch/"
REASON = "Beneficiary's account closed: call your advisor."


def client_for(user: User | None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_login(user)
    return client


def make_clerk() -> User:
    """Staff, but outside the advisor group: no permission at all."""
    return User.objects.create_user("clerk", "clerk@bank.example", kind=AccountKind.STAFF, is_staff=True)


def export_file(entity, transfers: list[Transfer]) -> ExportFile:
    file = ExportFile(
        entity=entity,
        message_id="MSG-2026-0001",
        sha256="0" * 64,
        transaction_count=len(transfers),
        control_sum=sum((t.amount for t in transfers), Decimal("0")),
    )
    file.file.save("MSG-2026-0001.xml", ContentFile(b"<Document>pain.001</Document>"), save=False)
    file.save()
    Transfer.objects.filter(pk__in=[t.pk for t in transfers]).update(
        export_file=file, status=TransferStatus.EXPORTED
    )
    return file


# --- Lists --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        TRANSFERS,
        f"{TRANSFERS}?status__exact=prepared",
        BATCHES,
        "/backoffice/banking/exportfile/",
        "/backoffice/banking/transaction/",
    ],
)
def test_advisors_read_the_banking_lists_others_cannot(url: str) -> None:
    team = make_team()
    prepare(team)
    client = client_for(make_advisor())

    response = client.get(url)

    assert response.status_code == 200
    assert client_for(make_clerk()).get(url).status_code == 403
    assert client_for(make_customer()).get(url).status_code == 302
    assert client_for(None).get(url).status_code == 302
    parser = InlineCode(response.wsgi_request.csp_nonce)
    parser.feed(response.content.decode())
    assert parser.blocked == []


def test_the_transfer_list_filters_by_status_and_entity() -> None:
    team = make_team()
    prepared = prepare(team)
    other = prepare(team, beneficiary_name="Second SA", amount=Decimal("10.00"))
    Transfer.objects.filter(pk=other.pk).update(status=TransferStatus.REJECTED)
    client = client_for(make_advisor())

    by_status = client.get(TRANSFERS, {"status__exact": "prepared"})
    by_entity = client.get(TRANSFERS, {"entity__id__exact": team.entity.pk + 1000})

    assert list(by_status.context["cl"].result_list) == [prepared]
    assert list(by_entity.context["cl"].result_list) == []


def test_transfers_and_transactions_are_read_only_even_for_an_operator() -> None:
    team = make_team()
    transfer = prepare(team)
    tx = Transaction.objects.create(
        account=team.account,
        booking_date=datetime.date(2026, 3, 2),
        value_date=datetime.date(2026, 3, 2),
        amount=Decimal("-12.50"),
        counterparty_name="Proximus",
    )
    client = client_for(make_superuser())

    page = client.get(f"{TRANSFERS}{transfer.pk}/change/")
    responses = [
        client.post(f"{TRANSFERS}{transfer.pk}/change/", {"amount": "1.00"}),
        client.get(f"{TRANSFERS}add/"),
        client.post(f"/backoffice/banking/transaction/{tx.pk}/change/", {"amount": "1.00"}),
        client.post(f"{TRANSFERS}{transfer.pk}/delete/", {"post": "yes"}),
    ]

    assert page.status_code == 200 and 'name="amount"' not in page.content.decode()
    assert [r.status_code for r in responses] == [403, 403, 403, 403]
    transfer.refresh_from_db()
    assert transfer.amount == Decimal("1250.50")


# --- Rejecting ----------------------------------------------------------------------------------


def reject(client: Client, url: str, pks: list[int], **extra: str):
    return client.post(url, {"action": "reject", "_selected_action": pks, **extra}, follow=True)


def test_the_reject_action_asks_for_the_reason_then_rejects_with_it() -> None:
    team = make_team()
    transfer = prepare(team)
    advisor = make_advisor()
    client = client_for(advisor)

    asked = reject(client, TRANSFERS, [transfer.pk])
    done = reject(client, TRANSFERS, [transfer.pk], reject="1", reason=f"  {REASON}  ")

    assert 'name="reason"' in asked.content.decode()
    assert "1 order rejected." in done.content.decode()
    transfer.refresh_from_db()
    assert (transfer.status, transfer.rejection_reason) == (TransferStatus.REJECTED, REASON)
    event = AuditEvent.objects.get(action="banking.transfer_rejected")
    assert (event.actor_id, event.details["reason"]) == (advisor.pk, REASON)


def test_rejecting_without_a_reason_shows_the_error_and_writes_nothing() -> None:
    team = make_team()
    transfer = prepare(team)
    client = client_for(make_advisor())
    before = snapshot()

    response = reject(client, TRANSFERS, [transfer.pk], reject="1", reason="   ")

    html = response.content.decode()
    assert "<title>Error:" in html and "This field is required." in html
    assert snapshot() == before


def test_a_rejected_transfer_cannot_be_rejected_again() -> None:
    team = make_team()
    transfer = prepare(team)
    Transfer.objects.filter(pk=transfer.pk).update(status=TransferStatus.CANCELLED)
    client = client_for(make_advisor())
    before = snapshot()

    response = reject(client, TRANSFERS, [transfer.pk], reject="1", reason=REASON)

    assert "can no longer be rejected in its current status" in response.content.decode()
    assert snapshot() == before


def test_rejecting_a_batch_rejects_all_its_lines() -> None:
    team = make_team()
    batch = prepare_batch(team, lines=3)

    response = reject(client_for(make_advisor()), BATCHES, [batch.pk], reject="1", reason=REASON)

    assert "1 order rejected." in response.content.decode()
    batch.refresh_from_db()
    assert batch.status == TransferStatus.REJECTED
    assert set(batch.transfers.values_list("status", flat=True)) == {TransferStatus.REJECTED}
    assert AuditEvent.objects.filter(action="banking.batch_rejected").count() == 1


def test_a_staff_member_without_the_permission_has_no_reject_action() -> None:
    team = make_team()
    transfer = prepare(team)
    before = snapshot()

    response = client_for(make_clerk()).post(
        TRANSFERS, {"action": "reject", "_selected_action": [transfer.pk], "reject": "1", "reason": REASON}
    )

    assert response.status_code == 403
    assert snapshot() == before


# --- Export files -------------------------------------------------------------------------------


def test_an_advisor_downloads_an_export_file_and_it_is_audited() -> None:
    team = make_team()
    file = export_file(team.entity, [prepare(team)])
    advisor = make_advisor()
    client = client_for(advisor)

    listing = client.get("/backoffice/banking/exportfile/")
    response = client.get(f"/backoffice/banking/exportfile/{file.pk}/download/")

    assert f'href="/backoffice/banking/exportfile/{file.pk}/download/"' in listing.content.decode()
    assert response.status_code == 200
    assert response.content == b"<Document>pain.001</Document>"
    assert response["Content-Disposition"] == 'attachment; filename="MSG-2026-0001.xml"'
    event = AuditEvent.objects.get(action="banking.export_downloaded")
    assert (event.actor_id, event.details["message_id"]) == (advisor.pk, "MSG-2026-0001")


def test_a_staff_member_without_the_permission_cannot_download() -> None:
    team = make_team()
    file = export_file(team.entity, [prepare(team)])

    response = client_for(make_clerk()).get(f"/backoffice/banking/exportfile/{file.pk}/download/")

    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="banking.export_downloaded").exists()


def test_an_exported_transfer_can_be_rejected_when_the_bank_rejected_it() -> None:
    team = make_team()
    transfer = prepare(team)
    export_file(team.entity, [transfer])

    reject(client_for(make_advisor()), TRANSFERS, [transfer.pk], reject="1", reason=REASON)

    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.REJECTED
    assert AuditEvent.objects.get(action="banking.transfer_rejected").details["by_bank"] is True
    assert Batch.objects.count() == 0


def test_the_reject_page_runs_under_the_strict_csp_and_says_what_happens() -> None:
    team = make_team()
    transfer = prepare(team)

    response = reject(client_for(make_advisor()), TRANSFERS, [transfer.pk])

    html = response.content.decode()
    assert "rejects its whole batch" in html and str(transfer) in html
    parser = InlineCode(response.wsgi_request.csp_nonce)
    parser.feed(html)
    assert parser.blocked == []
