"""The export service: grouping into one file per entity, statuses, rights and four-eyes checked again,
idempotency, the file kept and dropped in the outbox (and dropped again after a failure), refused
files, concurrent exports on PostgreSQL, back-office rejection, and the task run by a worker."""

import hashlib
import logging
import threading
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django_tasks_db.models import DBTaskResult

from guichet.audit.models import AuditEvent
from guichet.banking import export, pain001
from guichet.banking.models import Batch, ExportFile, Transfer, TransferStatus, Validation
from guichet.banking.tasks import export_validated
from guichet.banking.tests.export_factories import (
    Team,
    execution_day,
    make_team,
    make_validated,
    make_validated_batch,
)
from guichet.entities.models import Entity, Grant, Person, PersonStatus, Right
from guichet.entities.testing import VALIDATOR, make_member
from guichet.identity.testing import make_provisioned
from guichet.notifications.testing import deliveries_run

pytestmark = pytest.mark.django_db
NS = {"p": pain001.NS}


@pytest.fixture(autouse=True)
def files(settings: object, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"  # type: ignore[attr-defined]
    settings.GUICHET_PAIN001_OUTBOX_DIR = tmp_path / "outbox"  # type: ignore[attr-defined]
    return tmp_path / "outbox"


@pytest.fixture
def team() -> Team:
    return make_team()


def stored(export_file: ExportFile) -> bytes:
    with export_file.file.open("rb") as f:
        return f.read()


def statuses(*objects: Transfer | Batch) -> list[str]:
    return [type(o).objects.get(pk=o.pk).status for o in objects]


def actions(prefix: str = "banking.") -> list[str]:
    return list(
        AuditEvent.objects.filter(action__startswith=prefix).order_by("seq").values_list("action", flat=True)
    )


# --- Grouping and statuses ---------------------------------------------------------------------------


def test_validated_transfers_of_an_entity_go_into_one_file(team: Team, files: Path) -> None:
    a, b = team.accounts[0], team.accounts[1]
    singles = [
        make_validated(team, account=a, amount="100.00", days=1),
        make_validated(team, account=a, amount="0.01", days=1),
        make_validated(team, account=a, amount="250.00", days=3),
        make_validated(
            team,
            account=b,
            amount="12.34",
            days=1,
            structured_reference="RF18539007547034",
            remittance_information="",
        ),
    ]
    batch = make_validated_batch(team, account=b, amounts=("1500.00", "1750.50"), days=1)
    prepared = make_validated(team, status=TransferStatus.PREPARED)

    result = export.export_run(entity_id=team.entity.pk)

    [export_file] = result.files
    assert ExportFile.objects.count() == 1
    xml = stored(export_file)
    assert pain001.problems(xml) == []
    assert export_file.sha256 == hashlib.sha256(xml).hexdigest()
    assert export_file.transaction_count == 6
    assert export_file.control_sum == Decimal("3612.85")
    assert export_file.entity == team.entity
    assert statuses(*singles, batch, *batch.transfers.all()) == [TransferStatus.EXPORTED] * 7
    assert set(Transfer.objects.filter(export_file=export_file)) == {*singles, *batch.transfers.all()}
    assert statuses(prepared) == [TransferStatus.PREPARED]
    # One block per (debtor account, execution date): a on day 1 and day 3, b on day 1.
    root = ET.fromstring(xml)  # noqa: S314
    blocks = root.findall("p:CstmrCdtTrfInitn/p:PmtInf", NS)
    assert sorted(
        (b.findtext("p:DbtrAcct/p:Id/p:IBAN", namespaces=NS), b.findtext("p:ReqdExctnDt/p:Dt", namespaces=NS))
        for b in blocks
    ) == sorted(
        [(a.iban, str(execution_day(1))), (a.iban, str(execution_day(3))), (b.iban, str(execution_day(1)))]
    )
    end_to_end = [e.text for e in root.iterfind(".//p:EndToEndId", NS)]
    assert sorted(end_to_end) == sorted(
        t.end_to_end_id for t in Transfer.objects.filter(export_file=export_file)
    )
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:MsgId", namespaces=NS) == export_file.message_id
    # Dropped in the outbox, atomically (no temporary file left).
    assert sorted(p.name for p in files.iterdir()) == [f"{export_file.message_id}.xml"]
    assert (files / f"{export_file.message_id}.xml").read_bytes() == xml
    export_file.refresh_from_db()
    assert export_file.delivered_at is not None
    assert actions() == ["banking.export_created", "banking.export_delivered"]
    created = AuditEvent.objects.get(action="banking.export_created")
    assert created.details["control_sum"] == "3612.85"
    assert created.details["batches"] == [batch.pk]


def test_one_file_per_entity_and_nothing_of_another_entity(team: Team) -> None:
    other = make_team()
    mine = make_validated(team)
    theirs = make_validated(other)

    only_mine = export.export_run(entity_id=team.entity.pk)

    assert [f.entity_id for f in only_mine.files] == [team.entity.pk]
    assert statuses(mine, theirs) == [TransferStatus.EXPORTED, TransferStatus.VALIDATED]

    everyone = export.export_run()

    assert [f.entity_id for f in everyone.files] == [other.entity.pk]
    assert statuses(theirs) == [TransferStatus.EXPORTED]


def test_identifiers_are_unique_across_files(team: Team) -> None:
    make_validated(team)
    first = export.export_run(entity_id=team.entity.pk).files[0]
    make_validated(team)
    second = export.export_run(entity_id=team.entity.pk).files[0]

    ids = []
    for export_file in (first, second):
        root = ET.fromstring(stored(export_file))  # noqa: S314
        ids += [e.text for e in root.iterfind(".//p:MsgId", NS)]
        ids += [e.text for e in root.iterfind(".//p:PmtInfId", NS)]
        ids += [e.text for e in root.iterfind(".//p:EndToEndId", NS)]
    assert len(ids) == 6
    assert len(set(ids)) == 6


def test_an_export_is_idempotent(team: Team, files: Path) -> None:
    transfer = make_validated(team)
    export.export_run(entity_id=team.entity.pk)
    before = actions()

    again = export.export_run(entity_id=team.entity.pk)

    assert again.files == []
    assert again.summary() == "files=0 transfers=0 rejected=0 failed=0 delivered=0 undelivered=0"
    assert ExportFile.objects.count() == 1
    assert len(list(files.iterdir())) == 1
    assert actions() == before
    assert Transfer.objects.get(pk=transfer.pk).status == TransferStatus.EXPORTED


def test_nothing_validated_nothing_written(team: Team, files: Path) -> None:
    make_validated(team, status=TransferStatus.PREPARED)

    result = export.export_run(entity_id=team.entity.pk)

    assert result.files == []
    assert ExportFile.objects.count() == 0
    assert actions() == []
    assert not files.exists()


# --- Rights checked again at export -------------------------------------------------------------------


def test_a_validator_who_lost_the_right_gets_the_transfer_rejected(team: Team) -> None:
    doubtful = make_validated(team, amount="40.00")
    # The validator was suspended after signing: a suspended person holds no right.
    Person.objects.filter(user=team.validator).update(status=PersonStatus.SUSPENDED)

    result = export.export_run(entity_id=team.entity.pk)

    assert result.files == []
    assert result.rejected == 1
    doubtful.refresh_from_db()
    assert doubtful.status == TransferStatus.REJECTED
    assert doubtful.export_file is None
    assert doubtful.rejection_reason == export.reason_text(export.REASON_NO_RIGHT)
    event = AuditEvent.objects.get(action="banking.transfer_rejected")
    assert event.target_id == str(doubtful.pk)
    assert event.details["at_export"] is True
    assert event.details["validator"] == team.validator.pk
    assert ExportFile.objects.count() == 0


def test_only_the_doubtful_transfers_are_rejected(team: Team) -> None:
    good = make_validated(team, account=team.accounts[0])
    # This validator holds the validation right on the first account only.
    partial = make_member(team.entity, rights=VALIDATOR, on_accounts=[team.accounts[0]], on_contracts=[])
    doubtful = make_validated(team, account=team.accounts[1], validator=partial)
    batch = make_validated_batch(team, account=team.accounts[1], validator=partial)

    result = export.export_run(entity_id=team.entity.pk)

    [export_file] = result.files
    assert export_file.transaction_count == 1
    assert result.rejected == 3
    assert statuses(good, doubtful, batch, *batch.transfers.all()) == [
        TransferStatus.EXPORTED,
        *[TransferStatus.REJECTED] * 4,
    ]
    assert all(
        t.rejection_reason == export.reason_text(export.REASON_NO_RIGHT)
        for t in Transfer.objects.filter(status=TransferStatus.REJECTED)
    )
    assert sorted(actions()) == sorted(
        [
            "banking.transfer_rejected",
            "banking.batch_rejected",
            "banking.export_created",
            "banking.export_delivered",
        ]
    )


def test_four_eyes_is_checked_again(team: Team) -> None:
    # The preparer also holds the validation right, and the signature is theirs.
    Grant.objects.create(
        entity=team.entity, user=team.preparer, account=team.accounts[0], right=Right.VALIDATION
    )
    self_validated = make_validated(team, validator=team.preparer)

    export.export_run(entity_id=team.entity.pk)

    self_validated.refresh_from_db()
    assert self_validated.status == TransferStatus.REJECTED
    assert self_validated.rejection_reason == export.reason_text(export.REASON_FOUR_EYES)
    assert ExportFile.objects.count() == 0


def test_self_validation_allowed_by_the_entity_is_exported() -> None:
    team = make_team(allow_self_validation=True)
    Grant.objects.create(
        entity=team.entity, user=team.preparer, account=team.accounts[0], right=Right.VALIDATION
    )
    transfer = make_validated(team, validator=team.preparer)

    export.export_run(entity_id=team.entity.pk)

    assert statuses(transfer) == [TransferStatus.EXPORTED]


def test_a_voided_or_outdated_signature_does_not_count(team: Team) -> None:
    voided = make_validated(team)
    Validation.objects.filter(transfer=voided).update(voided_at=voided.created_at)
    outdated = make_validated(team)
    Transfer.objects.filter(pk=outdated.pk).update(version=2)

    result = export.export_run(entity_id=team.entity.pk)

    assert result.files == []
    assert statuses(voided, outdated) == [TransferStatus.REJECTED] * 2
    reason = export.reason_text(export.REASON_NO_VALIDATION)
    assert all(t.rejection_reason == reason for t in Transfer.objects.all())


# --- Files that fail the checks are not stored ------------------------------------------------------------


def test_a_file_failing_the_checks_is_not_stored(
    team: Team, files: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = make_validated(team)
    broken = make_validated(team, beneficiary_iban="NL91ABNA0417164301")  # wrong check digits

    with caplog.at_level(logging.ERROR, logger="guichet.banking.export"):
        result = export.export_run(entity_id=team.entity.pk)

    assert result.files == []
    assert result.failed_entities == [team.entity.pk]
    assert ExportFile.objects.count() == 0
    assert statuses(good, broken) == [TransferStatus.VALIDATED] * 2
    assert not files.exists()
    event = AuditEvent.objects.get(action="banking.export_failed")
    assert event.details["transfers"] == [good.pk, broken.pk]
    assert event.details["problems"] == ["creditor IBAN 'NL91ABNA0417164301': wrong checksum"]
    assert "file not stored" in caplog.text
    with pytest.raises(CommandError, match="export refused"):
        call_command("export_transfers", "--entity", str(team.entity.pk))


# --- Delivery to the outbox ------------------------------------------------------------------------------


def test_delivery_fails_then_is_retried_by_the_next_run(team: Team, settings: object, tmp_path: Path) -> None:
    in_the_way = tmp_path / "not-a-folder"
    in_the_way.write_text("a file where the outbox folder should be")
    settings.GUICHET_PAIN001_OUTBOX_DIR = in_the_way  # type: ignore[attr-defined]
    make_validated(team)

    result = export.export_run(entity_id=team.entity.pk)

    [export_file] = result.files
    assert result.undelivered == 1
    export_file.refresh_from_db()
    assert export_file.delivered_at is None
    assert statuses(*Transfer.objects.all()) == [TransferStatus.EXPORTED]  # the export itself stands
    assert actions() == ["banking.export_created", "banking.export_delivery_failed"]

    fixed = tmp_path / "outbox-fixed"
    settings.GUICHET_PAIN001_OUTBOX_DIR = fixed  # type: ignore[attr-defined]
    call_command("export_transfers")

    export_file.refresh_from_db()
    assert export_file.delivered_at is not None
    assert (fixed / f"{export_file.message_id}.xml").read_bytes() == stored(export_file)
    assert [p.name for p in fixed.iterdir()] == [f"{export_file.message_id}.xml"]
    assert ExportFile.objects.count() == 1
    assert actions()[-1] == "banking.export_delivered"


def test_a_tampered_stored_file_is_not_delivered(team: Team, settings: object, tmp_path: Path) -> None:
    in_the_way = tmp_path / "blocked"
    in_the_way.write_text("")
    settings.GUICHET_PAIN001_OUTBOX_DIR = in_the_way  # type: ignore[attr-defined]
    make_validated(team)
    [export_file] = export.export_run(entity_id=team.entity.pk).files
    Path(export_file.file.path).write_bytes(b"<Document/>")
    settings.GUICHET_PAIN001_OUTBOX_DIR = tmp_path / "outbox2"  # type: ignore[attr-defined]

    assert export.exports_deliver_pending() == (0, 1)

    assert not (tmp_path / "outbox2" / f"{export_file.message_id}.xml").exists()
    failure = AuditEvent.objects.filter(action="banking.export_delivery_failed").order_by("seq").last()
    assert failure is not None
    assert "SHA-256" in failure.details["error"]


# --- Back-office rejection --------------------------------------------------------------------------------


@pytest.fixture
def advisor() -> object:
    return make_provisioned(user_id="A0000001", is_staff=True, is_superuser=True)


def test_the_back_office_rejects_a_validated_transfer(team: Team, advisor: object) -> None:
    transfer = make_validated(team)

    export.transfer_reject(transfer=transfer, reason="  Suspected   fraud ", acting_user=advisor)

    transfer.refresh_from_db()
    assert (transfer.status, transfer.rejection_reason) == (TransferStatus.REJECTED, "Suspected fraud")
    event = AuditEvent.objects.get(action="banking.transfer_rejected")
    assert event.actor_id == advisor.pk  # type: ignore[attr-defined]
    assert event.details["by_bank"] is False
    assert export.export_run(entity_id=team.entity.pk).files == []


def test_an_exported_transfer_rejected_by_the_bank(team: Team, advisor: object) -> None:
    transfer = make_validated(team)
    export.export_run(entity_id=team.entity.pk)

    export.transfer_reject(transfer=transfer.pk, reason="AC04 closed account", acting_user=advisor)

    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.REJECTED
    assert transfer.export_file is not None  # the file it was sent in stays known
    assert AuditEvent.objects.get(action="banking.transfer_rejected").details["by_bank"] is True


def test_a_batch_line_rejected_before_export_rejects_the_batch(team: Team, advisor: object) -> None:
    batch = make_validated_batch(team, amounts=("1.00", "2.00", "3.00"))
    line = batch.transfers.first()

    export.transfer_reject(transfer=line, reason="Batch withdrawn by the client", acting_user=advisor)

    assert statuses(batch, *batch.transfers.all()) == [TransferStatus.REJECTED] * 4
    assert actions() == ["banking.batch_rejected"]


@pytest.mark.parametrize(
    ("staff", "reason", "status", "code"),
    [
        (False, "Fraud", TransferStatus.VALIDATED, export.ExportErrorCode.NOT_ALLOWED),
        (True, "   ", TransferStatus.VALIDATED, export.ExportErrorCode.REASON_MISSING),
        (True, "x" * 281, TransferStatus.VALIDATED, export.ExportErrorCode.REASON_TOO_LONG),
        (True, "Fraud", TransferStatus.CANCELLED, export.ExportErrorCode.WRONG_STATUS),
        (True, "Fraud", TransferStatus.REJECTED, export.ExportErrorCode.WRONG_STATUS),
    ],
)
def test_refused_rejections_write_nothing(
    team: Team, staff: bool, reason: str, status: str, code: str
) -> None:
    transfer = make_validated(team, status=status)
    acting = (
        make_provisioned(user_id="A0000002", is_staff=staff, is_superuser=staff) if staff else team.validator
    )
    before = Transfer.objects.values_list("status", "rejection_reason", "updated_at").get(pk=transfer.pk)

    with pytest.raises(export.ExportError) as refused:
        export.transfer_reject(transfer=transfer, reason=reason, acting_user=acting)

    assert refused.value.code == code
    assert refused.value.message
    assert (
        Transfer.objects.values_list("status", "rejection_reason", "updated_at").get(pk=transfer.pk) == before
    )
    assert actions() == []


def test_an_unknown_transfer_cannot_be_rejected(advisor: object) -> None:
    with pytest.raises(export.ExportError) as refused:
        export.transfer_reject(transfer=999999, reason="Fraud", acting_user=advisor)

    assert refused.value.code == export.ExportErrorCode.NOT_FOUND
    assert actions() == []


# --- The task, run by a worker ----------------------------------------------------------------------------


def test_the_task_exports_when_a_worker_runs_it(team: Team, files: Path) -> None:
    transfer = make_validated(team)
    export_validated.enqueue(entity_id=team.entity.pk)

    assert deliveries_run() == 1

    task = DBTaskResult.objects.get()
    assert task.status == "SUCCESSFUL"
    assert task.return_value == "files=1 transfers=1 rejected=0 failed=0 delivered=1 undelivered=0"
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.EXPORTED
    assert (files / f"{transfer.export_file.message_id}.xml").exists()


def test_validating_a_transfer_enqueues_its_export(team: Team, files: Path) -> None:
    """End to end through the transfer services: prepare, sign and validate, then the worker exports."""
    from guichet.banking import transfers
    from guichet.identity.testing import signed_proof

    prepared = transfers.transfer_prepare(
        acting_user=team.preparer,
        debtor_account=team.accounts[0],
        execution_date=execution_day(2),
        payment=transfers.Payment(
            beneficiary_name="Imprimerie Lambert",
            beneficiary_iban="BE71 0961 2345 6769",
            beneficiary_bic="",
            amount=Decimal("1234.56"),
            remittance_information="",
            structured_reference="+++010/8068/17183+++",
        ),
    )
    transfers.transfer_validate(
        transfer=prepared,
        acting_user=team.validator,
        version=prepared.version,
        proof_id=signed_proof(team.validator, transfers.transfer_operation(prepared)),
    )

    deliveries_run()

    prepared.refresh_from_db()
    assert prepared.status == TransferStatus.EXPORTED
    xml = (files / f"{prepared.export_file.message_id}.xml").read_bytes()
    assert pain001.problems(xml) == []
    assert b"<Ref>010806817183</Ref>" in xml
    assert b'<InstdAmt Ccy="EUR">1234.56</InstdAmt>' in xml


# --- Concurrency (PostgreSQL) ----------------------------------------------------------------------------


def _in_thread(target, *args):  # type: ignore[no-untyped-def]
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["result"] = target(*args)
        except BaseException as error:
            outcome["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    return thread, outcome


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_exports_never_export_a_transfer_twice() -> None:
    team = make_team()
    made = [make_validated(team, amount=f"{n}.00") for n in range(1, 21)]
    made_batch = make_validated_batch(team, amounts=("5.00", "6.00"))
    barrier = threading.Barrier(2)

    def worker() -> export.ExportResult:
        barrier.wait()
        return export.export_run(entity_id=team.entity.pk)

    threads = [_in_thread(worker) for _ in range(2)]
    for thread, _ in threads:
        thread.start()
    for thread, _ in threads:
        thread.join(timeout=60)

    assert [outcome.get("error") for _, outcome in threads] == [None, None]
    assert ExportFile.objects.count() == 1
    export_file = ExportFile.objects.get()
    assert export_file.transaction_count == 22
    assert Transfer.objects.filter(export_file=export_file).count() == 22
    assert statuses(*made, made_batch) == [TransferStatus.EXPORTED] * 21
    assert AuditEvent.objects.filter(action="banking.export_created").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_transfers_locked_elsewhere_wait_for_the_next_run() -> None:
    team = make_team()
    free = make_validated(team)
    busy = make_validated(team)
    batch = make_validated_batch(team, amounts=("5.00", "6.00"))
    busy_line = batch.transfers.first()
    entered, release = threading.Event(), threading.Event()

    def hold_locks() -> None:
        with transaction.atomic():
            list(Transfer.objects.select_for_update().filter(pk__in=[busy.pk, busy_line.pk]))
            entered.set()
            release.wait(30)

    holder, outcome = _in_thread(hold_locks)
    holder.start()
    assert entered.wait(30)
    try:
        first = export.export_run(entity_id=team.entity.pk)
    finally:
        release.set()
        holder.join(30)
    assert "error" not in outcome

    assert [f.transaction_count for f in first.files] == [1]
    assert statuses(free, busy, batch) == [
        TransferStatus.EXPORTED,
        TransferStatus.VALIDATED,
        TransferStatus.VALIDATED,
    ]

    second = export.export_run(entity_id=team.entity.pk)

    assert [f.transaction_count for f in second.files] == [3]
    assert statuses(busy, batch, *batch.transfers.all()) == [TransferStatus.EXPORTED] * 4


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_entity_being_exported_is_skipped_by_another_worker() -> None:
    team = make_team()
    transfer = make_validated(team)
    entered, release = threading.Event(), threading.Event()

    def hold_entity() -> None:
        with transaction.atomic():
            Entity.objects.select_for_update(no_key=True).get(pk=team.entity.pk)
            entered.set()
            release.wait(30)

    holder, _ = _in_thread(hold_entity)
    holder.start()
    assert entered.wait(30)
    try:
        skipped = export.export_run(entity_id=team.entity.pk)
        # Adding a transfer (a row referencing the entity) is not blocked by the export lock.
        make_validated(team)
    finally:
        release.set()
        holder.join(30)

    assert skipped.files == []
    assert statuses(transfer) == [TransferStatus.VALIDATED]
    assert len(export.export_run(entity_id=team.entity.pk).files) == 1
