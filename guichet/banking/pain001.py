"""ISO 20022 pain.001.001.09 (customer credit transfer initiation): building a file from validated
transfers, validating it against the official XSD shipped in ``banking/xsd/``, and the consistency
checks the XSD cannot make (control sums, counts, unique identifiers, amounts, IBAN checksums).

The transaction and payment-information nodes are written by ``sepaxml``. It knows one debtor account
per document, so each (debtor account, execution date) block is built on its own and the blocks are
assembled into one message here, with our identifiers: the message ID (unique, also the file name),
``<message ID>-<n>`` for the payment-information blocks and each transfer's ``end_to_end_id``. The group
header's count and control sum are recomputed from the assembled transactions, in ``Decimal``.
"""

import dataclasses
import datetime
import functools
import itertools
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path

import xmlschema
from sepaxml import SepaTransfer

SCHEMA = "pain.001.001.09"
NS = f"urn:iso:std:iso:20022:tech:xsd:{SCHEMA}"
XSD_PATH = Path(__file__).resolve().parent / "xsd" / f"{SCHEMA}.xsd"
CENT = Decimal("0.01")
ID_MAX = 35
# Issuer of a structured creditor reference (SCOR): ISO 11649 "RF…" or Belgian "+++…+++" (BBA).
ISSUER_ISO = "ISO"
ISSUER_BELGIAN = "BBA"
_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")
_DTD = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class Payment:
    """One transaction of the file: what a validated transfer pays."""

    end_to_end_id: str
    debtor_iban: str
    debtor_bic: str
    execution_date: datetime.date
    amount: Decimal
    currency: str
    creditor_name: str
    creditor_iban: str
    creditor_bic: str = ""
    remittance_information: str = ""
    structured_reference: str = ""
    in_batch: bool = False


def cents(amount: Decimal) -> int:
    """The amount in cents, exactly (``sepaxml`` wants an int); refuses fractions of cents and amounts ≤ 0."""
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(CENT):
        raise ValueError(f"not a positive amount in cents: {amount}")
    return int(amount.scaleb(2).to_integral_exact())


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _path(*tags: str) -> str:
    return "/".join(_q(tag) for tag in tags)


# --- Building -----------------------------------------------------------------------------------------


def build(
    *, initiating_party: str, message_id: str, created_at: datetime.datetime, payments: Sequence[Payment]
) -> bytes:
    """The pain.001.001.09 message: one payment-information block per (debtor account, execution date).

    A block is booked as one debit (``BtchBookg`` true) only when all its transactions are lines of
    validated batches; single transfers are booked one by one, as they were signed one by one.
    """
    if not payments:
        raise ValueError("a pain.001 message holds at least one transaction")
    if len(message_id) > ID_MAX - 4:
        raise ValueError("message ID too long to derive payment-information IDs")
    ordered = sorted(payments, key=lambda p: (p.debtor_iban, p.execution_date, p.end_to_end_id))
    groups = itertools.groupby(ordered, key=lambda p: (p.debtor_iban, p.debtor_bic, p.execution_date))
    document: ET.Element | None = None
    for number, ((iban, bic, _date), group) in enumerate(groups, start=1):
        block_payments = list(group)
        block_doc = _block_document(initiating_party, iban, bic, block_payments)
        block = block_doc.find(_path("CstmrCdtTrfInitn", "PmtInf"))
        assert block is not None  # noqa: S101 - sepaxml always writes one block in batch mode
        _finish_block(block, f"{message_id}-{number}", block_payments)
        if document is None:
            document = block_doc
        else:
            initiation = document.find(_q("CstmrCdtTrfInitn"))
            assert initiation is not None  # noqa: S101
            initiation.append(block)
    assert document is not None  # noqa: S101
    _finish_header(document, message_id, created_at, ordered)
    # Attributes (Ccy) are unqualified, so ``default_namespace=`` cannot be used: register the prefix.
    ET.register_namespace("", NS)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(
        document, encoding="utf-8", xml_declaration=False
    )


def _block_document(initiating_party: str, iban: str, bic: str, payments: Sequence[Payment]) -> ET.Element:
    config = {"name": initiating_party, "IBAN": iban, "batch": True, "currency": payments[0].currency}
    if bic:
        config["BIC"] = bic
    sepa = SepaTransfer(config, schema=SCHEMA)
    for payment in payments:
        fields: dict[str, object] = {
            "name": payment.creditor_name,
            "IBAN": payment.creditor_iban,
            "amount": cents(payment.amount),
            "currency": payment.currency,
            "execution_date": payment.execution_date,
            "description": payment.remittance_information,
            "endtoend_id": payment.end_to_end_id,
        }
        if payment.creditor_bic:
            fields["BIC"] = payment.creditor_bic
        sepa.add_payment(fields)
    return ET.fromstring(sepa.export(validate=False))  # noqa: S314 - our own output


def _finish_block(block: ET.Element, block_id: str, payments: Sequence[Payment]) -> None:
    _set(block, "PmtInfId", block_id)
    _set(block, "BtchBookg", "true" if all(p.in_batch for p in payments) else "false")
    _set(block, "NbOfTxs", str(len(payments)))
    _set(block, "CtrlSum", _amount_text(sum((p.amount for p in payments), Decimal("0.00"))))
    by_id = {p.end_to_end_id: p for p in payments}
    for tx in block.findall(_q("CdtTrfTxInf")):
        end_to_end = tx.findtext(_path("PmtId", "EndToEndId"), default="")
        _set(tx, "Amt/InstdAmt", _amount_text(by_id[end_to_end].amount))
        _remittance(tx, by_id[end_to_end])


def _remittance(tx: ET.Element, payment: Payment) -> None:
    """Free text stays in ``Ustrd``; a structured reference becomes ``Strd/CdtrRefInf`` (SCOR);
    neither: no ``RmtInf`` (an empty ``Ustrd`` is invalid)."""
    remittance = tx.find(_q("RmtInf"))
    assert remittance is not None  # noqa: S101
    if payment.remittance_information:
        return
    tx.remove(remittance)
    if not payment.structured_reference:
        return
    remittance = ET.SubElement(tx, _q("RmtInf"))
    ref_info = ET.SubElement(ET.SubElement(remittance, _q("Strd")), _q("CdtrRefInf"))
    kind = ET.SubElement(ref_info, _q("Tp"))
    ET.SubElement(ET.SubElement(kind, _q("CdOrPrtry")), _q("Cd")).text = "SCOR"
    issuer = ISSUER_ISO if payment.structured_reference.upper().startswith("RF") else ISSUER_BELGIAN
    ET.SubElement(kind, _q("Issr")).text = issuer
    ET.SubElement(ref_info, _q("Ref")).text = payment.structured_reference


def _finish_header(
    document: ET.Element, message_id: str, created_at: datetime.datetime, payments: Sequence[Payment]
) -> None:
    header = document.find(_path("CstmrCdtTrfInitn", "GrpHdr"))
    assert header is not None  # noqa: S101
    _set(header, "MsgId", message_id)
    _set(header, "CreDtTm", created_at.replace(microsecond=0).isoformat())
    _set(header, "NbOfTxs", str(len(payments)))
    _set(header, "CtrlSum", _amount_text(sum((p.amount for p in payments), Decimal("0.00"))))


def _set(parent: ET.Element, path: str, text: str) -> None:
    node = parent.find("/".join(_q(tag) for tag in path.split("/")))
    assert node is not None, path  # noqa: S101
    node.text = text


def _amount_text(amount: Decimal) -> str:
    return str(amount.quantize(CENT))


# --- Checking -------------------------------------------------------------------------------------------


class Unreadable(ValueError):
    """Not well-formed XML, or XML with a DTD (refused: entity expansion)."""


def parse(xml: bytes) -> ET.Element:
    if _DTD.search(xml):
        raise Unreadable("documents with a DTD or entities are refused")
    try:
        return ET.fromstring(xml)  # noqa: S314 - no DTD, so no entity expansion
    except ET.ParseError as error:
        raise Unreadable(f"not well-formed XML: {error}") from None


@functools.cache
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(XSD_PATH))


def xsd_errors(xml: bytes) -> list[str]:
    """What makes ``xml`` invalid against the shipped official XSD (empty: valid)."""
    try:
        root = parse(xml)
    except Unreadable as error:
        return [str(error)]
    return [f"XSD: {error.reason} (at {error.path})" for error in schema().iter_errors(root)]


def check(xml: bytes) -> list[str]:
    """The consistency problems of a pain.001.001.09 message that the XSD cannot see (empty: consistent).

    Control sums and counts of the group header and of each payment-information block recomputed
    from the transactions; message, payment-information and end-to-end IDs unique; amounts > 0 in
    euro with at most 2 decimals; IBAN checksums (ISO 7064 mod 97-10).
    """
    try:
        root = parse(xml)
    except Unreadable as error:
        return [str(error)]
    if root.tag != _q("Document"):
        return [f"not a {SCHEMA} message (root element {root.tag})"]
    initiation = root.find(_q("CstmrCdtTrfInitn"))
    if initiation is None:
        return ["no CstmrCdtTrfInitn element"]
    problems: list[str] = []
    blocks = initiation.findall(_q("PmtInf"))
    all_amounts: list[Decimal] = []
    for index, block in enumerate(blocks, start=1):
        label = f"PmtInf {index} ({block.findtext(_q('PmtInfId'), default='?')})"
        amounts = [_tx_amount(tx, label, problems) for tx in block.findall(_q("CdtTrfTxInf"))]
        amounts = [amount for amount in amounts if amount is not None]
        problems += _totals(block, label, len(block.findall(_q("CdtTrfTxInf"))), amounts)
        all_amounts += amounts
    header = initiation.find(_q("GrpHdr"))
    transaction_count = len(initiation.findall(_path("PmtInf", "CdtTrfTxInf")))
    if header is None:
        problems.append("no group header")
    else:
        problems += _totals(header, "GrpHdr", transaction_count, all_amounts)
    problems += _duplicates("message ID", initiation.findall(_path("GrpHdr", "MsgId")))
    problems += _duplicates("payment-information ID", initiation.findall(_path("PmtInf", "PmtInfId")))
    transactions = initiation.findall(_path("PmtInf", "CdtTrfTxInf"))
    problems += _duplicates("end-to-end ID", [tx.find(_path("PmtId", "EndToEndId")) for tx in transactions])
    problems += _duplicates("instruction ID", [tx.find(_path("PmtId", "InstrId")) for tx in transactions])
    problems += _iban_problems(
        "creditor", initiation.findall(_path("PmtInf", "CdtTrfTxInf", "CdtrAcct", "Id", "IBAN"))
    )
    return problems


def debtor_iban_problems(xml: bytes) -> list[str]:
    """Debtor IBANs with a wrong checksum. Not part of ``check``: the debtor account is the bank's own
    customer's, which the core system knows; the php-sepa-xml fixture the checks must accept has a
    debtor IBAN (BG87 2005 …) whose check digits are wrong. Guichet's own files must pass it too."""
    try:
        root = parse(xml)
    except Unreadable as error:
        return [str(error)]
    return _iban_problems(
        "debtor", root.findall(_path("CstmrCdtTrfInitn", "PmtInf", "DbtrAcct", "Id", "IBAN"))
    )


def _iban_problems(kind: str, nodes: Iterable[ET.Element]) -> list[str]:
    return [
        f"{kind} IBAN {node.text!r}: wrong checksum"
        for node in nodes
        if not iban_checksum_ok(node.text or "")
    ]


def problems(xml: bytes) -> list[str]:
    """Everything that keeps ``xml`` from being sent: the XSD errors, the consistency problems and
    the debtor IBAN checksums. Every generated file must have none before it is stored."""
    return xsd_errors(xml) + check(xml) + debtor_iban_problems(xml)


def _tx_amount(tx: ET.Element, label: str, problems: list[str]) -> Decimal | None:
    end_to_end = tx.findtext(_path("PmtId", "EndToEndId"), default="?")
    node = tx.find(_path("Amt", "InstdAmt"))
    if node is None:
        problems.append(f"{label}, transaction {end_to_end}: no instructed amount")
        return None
    amount = _decimal(node.text)
    if amount is None:
        problems.append(f"{label}, transaction {end_to_end}: amount {node.text!r} is not a number")
        return None
    if amount <= 0:
        problems.append(f"{label}, transaction {end_to_end}: amount {amount} is not positive")
    if amount != amount.quantize(CENT):
        problems.append(f"{label}, transaction {end_to_end}: amount {amount} has more than 2 decimals")
    if node.get("Ccy") != "EUR":
        problems.append(f"{label}, transaction {end_to_end}: currency {node.get('Ccy')!r} is not EUR")
    return amount


def _totals(node: ET.Element, label: str, count: int, amounts: Iterable[Decimal]) -> list[str]:
    found: list[str] = []
    stated_count = node.findtext(_q("NbOfTxs"))
    if stated_count is None or not stated_count.strip().isdigit() or int(stated_count) != count:
        found.append(f"{label}: NbOfTxs is {stated_count}, the transactions number {count}")
    total = sum(amounts, Decimal("0"))
    stated_sum = node.findtext(_q("CtrlSum"))
    stated = _decimal(stated_sum)
    if stated is None:
        found.append(
            f"{label}: CtrlSum {stated_sum!r} missing or not a number, the transactions total {total}"
        )
    elif stated != total:
        found.append(f"{label}: CtrlSum is {stated_sum}, the transactions total {total}")
    return found


def _duplicates(kind: str, nodes: Iterable[ET.Element | None]) -> list[str]:
    counts = Counter((node.text or "").strip() for node in nodes if node is not None)
    return [f"{kind} {value!r} appears {n} times" for value, n in counts.items() if n > 1]


def _decimal(text: str | None) -> Decimal | None:
    try:
        value = Decimal((text or "").strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def iban_checksum_ok(value: str) -> bool:
    """The ISO 13616 check digits (ISO 7064 mod 97-10). The national account structure is not judged:
    the bank's core system knows its own; ``schwifty`` (which the transfer forms use) would also refuse a
    well-formed IBAN whose country layout it does not recognise."""
    compact = "".join(value.split()).upper()
    if not _IBAN_SHAPE.fullmatch(compact):
        return False
    return int("".join(str(int(char, 36)) for char in compact[4:] + compact[:4])) % 97 == 1
