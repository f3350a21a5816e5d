"""pain.001.001.09: built files validate against the shipped official XSD and pass the consistency
checks; the checks catch corrupted control sums, counts and duplicated identifiers; the two shared
php-sepa-xml examples (one consistent, one with a wrong control sum)."""

import datetime
import hashlib
import re
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from guichet.banking import pain001

DATA = Path(__file__).parent / "data"
FIXTURE = DATA / "example_pain.001.001.09_php-sepa-xml_fixture.xml"
NL_MIN_MAX = DATA / "example_pain.001.001.09_php-sepa-xml_nl-min-max.xml"
CREATED = datetime.datetime(2026, 3, 2, 9, 30, tzinfo=datetime.UTC)
DAY = datetime.date(2026, 3, 5)
NS = {"p": pain001.NS}


def payment(n: int, **fields: object) -> pain001.Payment:
    values: dict[str, object] = {
        "end_to_end_id": f"GTE2E{n:05d}",
        "debtor_iban": "BE68539007547034",
        "debtor_bic": "GKCCBEBB",
        "execution_date": DAY,
        "amount": Decimal("125.40"),
        "currency": "EUR",
        "creditor_name": f"Fournisseur Zoë {n}",
        "creditor_iban": "NL91ABNA0417164300",
        "remittance_information": f"Facture {n}",
        **fields,
    }
    return pain001.Payment(**values)  # type: ignore[arg-type]


def build(payments: list[pain001.Payment], message_id: str = "GCH20260302093000ABCDEF") -> bytes:
    return pain001.build(
        initiating_party="Aubépine Logistique SA",
        message_id=message_id,
        created_at=CREATED,
        payments=payments,
    )


def tree(xml: bytes) -> ET.Element:
    return ET.fromstring(xml)  # noqa: S314 - our own output


def git_blob_hash(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


# --- The shipped schema --------------------------------------------------------------------------


def test_shipped_xsd_is_the_unmodified_official_copy() -> None:
    assert git_blob_hash(pain001.XSD_PATH.read_bytes()) == "d9675134f0c640011c4d4c5b790d8182df75cd78"
    assert (pain001.XSD_PATH.parent / "PROVENANCE.md").exists()


# --- Built files are valid ------------------------------------------------------------------------


def test_one_transfer_gives_a_valid_file() -> None:
    xml = build([payment(1)])

    assert pain001.problems(xml) == []
    root = tree(xml)
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:MsgId", namespaces=NS) == "GCH20260302093000ABCDEF"
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs", namespaces=NS) == "1"
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=NS) == "125.40"
    block = root.find("p:CstmrCdtTrfInitn/p:PmtInf", NS)
    assert block is not None
    assert block.findtext("p:PmtInfId", namespaces=NS) == "GCH20260302093000ABCDEF-1"
    assert block.findtext("p:BtchBookg", namespaces=NS) == "false"
    assert block.findtext("p:ReqdExctnDt/p:Dt", namespaces=NS) == "2026-03-05"
    assert block.findtext("p:DbtrAcct/p:Id/p:IBAN", namespaces=NS) == "BE68539007547034"
    assert block.findtext("p:DbtrAgt/p:FinInstnId/p:BICFI", namespaces=NS) == "GKCCBEBB"
    tx = block.find("p:CdtTrfTxInf", NS)
    assert tx is not None
    assert tx.findtext("p:PmtId/p:EndToEndId", namespaces=NS) == "GTE2E00001"
    assert tx.findtext("p:Cdtr/p:Nm", namespaces=NS) == "Fournisseur Zoe 1"  # SEPA Latin set
    assert tx.findtext("p:RmtInf/p:Ustrd", namespaces=NS) == "Facture 1"


def test_many_transfers_several_accounts_dates_and_batches() -> None:
    payments = [
        payment(1, amount=Decimal("0.01")),
        payment(2, amount=Decimal("999999999.99")),
        payment(3, execution_date=DAY + datetime.timedelta(days=1)),
        payment(4, debtor_iban="BE71096123456769", creditor_bic="ABNANL2A"),
        payment(5, debtor_iban="BE71096123456769", in_batch=True, amount=Decimal("1500.00")),
        payment(6, debtor_iban="BE62510007547061", in_batch=True, amount=Decimal("10.10")),
        payment(7, debtor_iban="BE62510007547061", in_batch=True, amount=Decimal("20.20")),
        payment(8, remittance_information="", structured_reference="RF18539007547034"),
        payment(9, remittance_information="", structured_reference="010806817183"),
        payment(10, remittance_information=""),
    ]

    xml = build(payments)

    assert pain001.problems(xml) == []
    root = tree(xml)
    blocks = root.findall("p:CstmrCdtTrfInitn/p:PmtInf", NS)
    summary = [
        (
            b.findtext("p:DbtrAcct/p:Id/p:IBAN", namespaces=NS),
            b.findtext("p:ReqdExctnDt/p:Dt", namespaces=NS),
            b.findtext("p:BtchBookg", namespaces=NS),
            b.findtext("p:NbOfTxs", namespaces=NS),
            b.findtext("p:CtrlSum", namespaces=NS),
        )
        for b in blocks
    ]
    assert summary == [
        ("BE62510007547061", "2026-03-05", "true", "2", "30.30"),
        ("BE68539007547034", "2026-03-05", "false", "5", "1000000376.20"),
        ("BE68539007547034", "2026-03-06", "false", "1", "125.40"),
        ("BE71096123456769", "2026-03-05", "false", "2", "1625.40"),
    ]
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs", namespaces=NS) == "10"
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=NS) == "1000002157.30"
    ids = [b.findtext("p:PmtInfId", namespaces=NS) for b in blocks]
    assert ids == [f"GCH20260302093000ABCDEF-{n}" for n in range(1, 5)]
    by_e2e = {
        tx.findtext("p:PmtId/p:EndToEndId", namespaces=NS): tx
        for tx in root.iterfind("p:CstmrCdtTrfInitn/p:PmtInf/p:CdtTrfTxInf", NS)
    }
    rf = by_e2e["GTE2E00008"].find("p:RmtInf/p:Strd/p:CdtrRefInf", NS)
    assert rf is not None
    assert rf.findtext("p:Tp/p:CdOrPrtry/p:Cd", namespaces=NS) == "SCOR"
    assert rf.findtext("p:Tp/p:Issr", namespaces=NS) == "ISO"
    assert rf.findtext("p:Ref", namespaces=NS) == "RF18539007547034"
    assert by_e2e["GTE2E00009"].findtext("p:RmtInf/p:Strd/p:CdtrRefInf/p:Tp/p:Issr", namespaces=NS) == "BBA"
    assert by_e2e["GTE2E00010"].find("p:RmtInf", NS) is None
    assert by_e2e["GTE2E00004"].findtext("p:CdtrAgt/p:FinInstnId/p:BICFI", namespaces=NS) == "ABNANL2A"
    assert by_e2e["GTE2E00001"].findtext("p:Amt/p:InstdAmt", namespaces=NS) == "0.01"


def test_a_mixed_block_is_not_batch_booked() -> None:
    xml = build([payment(1, in_batch=True), payment(2)])

    assert tree(xml).findtext("p:CstmrCdtTrfInitn/p:PmtInf/p:BtchBookg", namespaces=NS) == "false"


@pytest.mark.parametrize(
    ("amount", "cents"),
    [("0.01", 1), ("0.10", 10), ("1", 100), ("125.4", 12540), ("999999999.99", 99999999999)],
)
def test_cents_are_exact(amount: str, cents: int) -> None:
    assert pain001.cents(Decimal(amount)) == cents


@pytest.mark.parametrize("amount", ["0", "-1.00", "0.001", "12.345", "NaN", "Infinity"])
def test_cents_refuse_what_is_not_a_positive_amount_in_cents(amount: str) -> None:
    with pytest.raises(ValueError, match="not a positive amount"):
        pain001.cents(Decimal(amount))


def test_no_payment_no_file() -> None:
    with pytest.raises(ValueError, match="at least one"):
        build([])


# --- The checks catch corruption ------------------------------------------------------------------


@pytest.fixture
def good() -> bytes:
    xml = build([payment(1), payment(2, amount=Decimal("74.60")), payment(3, debtor_iban="BE71096123456769")])
    assert pain001.problems(xml) == []
    return xml


def replace_once(xml: bytes, old: str, new: str) -> bytes:
    assert xml.count(old.encode()) >= 1, old
    return xml.replace(old.encode(), new.encode(), 1)


def test_corrupted_group_control_sum_is_caught(good: bytes) -> None:
    xml = replace_once(good, "<CtrlSum>325.40</CtrlSum>", "<CtrlSum>325.41</CtrlSum>")

    assert pain001.xsd_errors(xml) == []  # the XSD cannot see it
    assert pain001.check(xml) == ["GrpHdr: CtrlSum is 325.41, the transactions total 325.40"]


def test_corrupted_block_control_sum_is_caught(good: bytes) -> None:
    xml = replace_once(good, "<CtrlSum>200.00</CtrlSum>", "<CtrlSum>20.00</CtrlSum>")

    assert pain001.xsd_errors(xml) == []
    assert pain001.check(xml) == [
        "PmtInf 1 (GCH20260302093000ABCDEF-1): CtrlSum is 20.00, the transactions total 200.00"
    ]


def test_corrupted_counts_are_caught(good: bytes) -> None:
    xml = replace_once(good, "<NbOfTxs>3</NbOfTxs>", "<NbOfTxs>2</NbOfTxs>")
    xml = replace_once(xml, "<NbOfTxs>2</NbOfTxs><CtrlSum>200.00", "<NbOfTxs>7</NbOfTxs><CtrlSum>200.00")

    assert pain001.xsd_errors(xml) == []
    assert pain001.check(xml) == [
        "PmtInf 1 (GCH20260302093000ABCDEF-1): NbOfTxs is 7, the transactions number 2",
        "GrpHdr: NbOfTxs is 2, the transactions number 3",
    ]


def test_a_transaction_removed_is_caught(good: bytes) -> None:
    xml = re.sub(rb"<CdtTrfTxInf><PmtId><EndToEndId>GTE2E00002.*?</CdtTrfTxInf>", b"", good)

    assert pain001.xsd_errors(xml) == []
    assert len(pain001.check(xml)) == 4  # count and sum, in the block and in the header


def test_duplicated_identifiers_are_caught(good: bytes) -> None:
    xml = good.replace(b"GTE2E00002", b"GTE2E00001").replace(b"ABCDEF-2", b"ABCDEF-1")

    assert pain001.xsd_errors(xml) == []
    assert pain001.check(xml) == [
        "payment-information ID 'GCH20260302093000ABCDEF-1' appears 2 times",
        "end-to-end ID 'GTE2E00001' appears 2 times",
    ]


def test_amounts_and_ibans_are_checked(good: bytes) -> None:
    xml = replace_once(good, '<InstdAmt Ccy="EUR">74.60</InstdAmt>', '<InstdAmt Ccy="EUR">74.605</InstdAmt>')
    xml = replace_once(xml, "<CtrlSum>200.00</CtrlSum>", "<CtrlSum>200.005</CtrlSum>")
    xml = replace_once(xml, "<CtrlSum>325.40</CtrlSum>", "<CtrlSum>325.405</CtrlSum>")
    xml = replace_once(xml, "<IBAN>NL91ABNA0417164300</IBAN>", "<IBAN>NL91ABNA0417164301</IBAN>")

    assert pain001.xsd_errors(xml) == []
    assert pain001.check(xml) == [
        "PmtInf 1 (GCH20260302093000ABCDEF-1), transaction GTE2E00002: "
        "amount 74.605 has more than 2 decimals",
        "creditor IBAN 'NL91ABNA0417164301': wrong checksum",
    ]


def test_a_wrong_debtor_iban_keeps_a_file_from_being_sent(good: bytes) -> None:
    xml = good.replace(b"<IBAN>BE68539007547034</IBAN>", b"<IBAN>BE68539007547035</IBAN>")

    assert pain001.check(xml) == []
    assert pain001.problems(xml) == ["debtor IBAN 'BE68539007547035': wrong checksum"]


def test_xsd_errors_are_reported(good: bytes) -> None:
    xml = replace_once(good, "<PmtMtd>TRF</PmtMtd>", "<PmtMtd>CHK</PmtMtd><Bogus/>")

    assert pain001.xsd_errors(xml) != []


@pytest.mark.parametrize(
    "xml",
    [
        b"<Document",
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><Document>&a;</Document>',
    ],
)
def test_unreadable_documents_are_refused(xml: bytes) -> None:
    assert len(pain001.check(xml)) == 1
    assert len(pain001.xsd_errors(xml)) == 1


def test_another_message_type_is_refused() -> None:
    assert pain001.check(b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"/>') == [
        "not a pain.001.001.09 message "
        "(root element {urn:iso:std:iso:20022:tech:xsd:pain.001.001.03}Document)"
    ]


# --- The shared examples --------------------------------------------------------------------------


def test_the_consistent_example_is_accepted() -> None:
    xml = FIXTURE.read_bytes()

    assert git_blob_hash(xml) == "8cc8e440b743a58501aa912f1fd5a3801deb45b5"
    assert pain001.xsd_errors(xml) == []
    assert pain001.check(xml) == []


def test_the_example_with_a_wrong_control_sum_is_caught() -> None:
    xml = NL_MIN_MAX.read_bytes()

    assert git_blob_hash(xml) == "6d970a20547a15783867085750a7baf149c64fec"
    assert pain001.xsd_errors(xml) == []  # valid against the XSD…
    problems = pain001.check(xml)  # …but inconsistent
    assert "GrpHdr: NbOfTxs is 1, the transactions number 2" in problems
    assert "GrpHdr: CtrlSum is 10.1, the transactions total 30.3" in problems


# --- manage.py check_pain001 -------------------------------------------------------------------------


def test_check_command_accepts_good_files(good: bytes, tmp_path: Path) -> None:
    ours = tmp_path / "ours.xml"
    ours.write_bytes(good)

    call_command("check_pain001", str(ours), str(FIXTURE))


def test_check_command_fails_on_any_bad_file(
    good: bytes, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    ours = tmp_path / "ours.xml"
    ours.write_bytes(good)

    with pytest.raises(CommandError, match="2 of 3 file"):
        call_command("check_pain001", str(ours), str(NL_MIN_MAX), str(tmp_path / "missing.xml"))

    out = capsys.readouterr().out
    assert f"{ours}: OK" in out
    assert f"{NL_MIN_MAX}: GrpHdr: CtrlSum is 10.1, the transactions total 30.3" in out
    assert "missing.xml: cannot read" in out
