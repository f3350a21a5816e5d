"""``manage.py import_orders`` and ``manage.py order_client``: files read as they go, the per-line
report (formula-safe), the exit codes, a second run idempotent; keys printed once."""

import csv
import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from guichet.paylater.clients import order_client_for_key
from guichet.paylater.models import Order, OrderClient, OrderSource
from guichet.paylater.testing import make_merchant
from guichet.paylater.tests.test_intake import HEADER, csv_line, line

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def merchant():
    return make_merchant()


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_orders", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def report(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_a_csv_file_is_imported_with_a_report(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "\ufeff" + HEADER + "\n" + csv_line("A1") + "\n" + csv_line("A2") + "\n", encoding="utf-8"
    )

    out, err = run(str(path))

    orders = dict(Order.objects.values_list("number", "pk"))
    assert report(out) == [
        ["line", "outcome", "reason", "order_number"],
        ["orders.csv:2", "imported", "", "A1"],
        ["orders.csv:3", "imported", "", "A2"],
    ]
    assert set(orders) == {"A1", "A2"}
    assert set(Order.objects.values_list("source", flat=True)) == {OrderSource.IMPORT}
    assert err.strip() == "Lines: 2, imported: 2, already imported: 0, refused: 0."


def test_json_lines_and_a_second_run_is_already_imported(tmp_path: Path) -> None:
    path = tmp_path / "orders.jsonl"
    path.write_text("\n".join(json.dumps(line(order_number=f"J{n}")) for n in range(3)) + "\n")
    run(str(path))

    out, err = run("--format", "jsonl", str(path))

    assert [row[1] for row in report(out)[1:]] == ["already imported"] * 3
    assert Order.objects.count() == 3
    assert "already imported: 3" in err


def test_refused_lines_exit_1_and_the_report_file_is_formula_safe(tmp_path: Path) -> None:
    path = tmp_path / "orders.jsonl"
    path.write_text(
        json.dumps(line(order_number="OK1"))
        + "\n"
        + json.dumps(line(order_number="=HYPERLINK(1)"))
        + "\n"
        + json.dumps(line(order_number="K2", card_token="4242424242424242"))
        + "\n"
    )
    report_path = tmp_path / "report.csv"

    with pytest.raises(CommandError) as failed:
        run(str(path), "--report", str(report_path))

    assert failed.value.returncode == 1
    rows = report(report_path.read_text(encoding="utf-8"))
    assert rows[1] == ["orders.jsonl:1", "imported", "", "OK1"]
    assert rows[2][0:2] == ["orders.jsonl:2", "refused"]
    assert rows[2][2].startswith("order_number: 1 to 40 letters")
    assert rows[2][3] == ""  # an invalid number is not echoed
    assert rows[3] == [
        "orders.jsonl:3",
        "refused",
        "A card number was sent; only the provider's token may be. The line was not imported.",
        "",
    ]
    assert "4242424242424242" not in report_path.read_text()


def test_quiet_prints_only_the_refused_lines(tmp_path: Path, capsys) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(HEADER + "\n" + csv_line("Q1") + "\n" + "a;b\n")
    out = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import_orders", "--quiet", str(path), stdout=out, stderr=io.StringIO())

    assert report(out.getvalue()) == [
        ["line", "outcome", "reason", "order_number"],
        ["orders.csv:3", "refused", "2 values where the header names 14 fields.", ""],
    ]


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError) as failed:
        run(str(tmp_path / "nope.csv"))

    assert failed.value.returncode == 2


def test_a_file_that_is_not_utf8_is_refused_from_there_on(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes((HEADER + "\n" + csv_line("U1") + "\n").encode() + b"\xff\xfe;;\n")
    out = io.StringIO()

    with pytest.raises(CommandError) as failed:
        call_command("import_orders", str(path), stdout=out, stderr=io.StringIO())

    assert failed.value.returncode == 1
    assert report(out.getvalue())[-1] == [
        "orders.csv",
        "refused",
        "The file is not UTF-8 from here on: the rest was not read.",
        "",
    ]


# --- order_client ---------------------------------------------------------------------------------


def test_order_client_create_prints_the_key_once_then_list_and_deactivate() -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "order_client", "create", "--name", "Lender", "--merchant", "maison-lumiere", stdout=out, stderr=err
    )
    key = out.getvalue().strip()
    client = OrderClient.objects.get()

    assert key.startswith(client.key_prefix + "_")
    assert order_client_for_key(key) == client
    assert key not in err.getvalue()

    listing = io.StringIO()
    call_command("order_client", "list", stdout=listing)
    assert listing.getvalue().split("\t")[:5] == [
        str(client.pk),
        "Lender",
        "maison-lumiere",
        client.key_prefix,
        "active",
    ]
    assert key.split("_", 2)[2] not in listing.getvalue()

    call_command("order_client", "deactivate", str(client.pk), stderr=io.StringIO())
    assert order_client_for_key(key) is None


@pytest.mark.parametrize("args", [["create", "--name", "X", "--merchant", "nope"], ["deactivate", "999"]])
def test_order_client_usage_errors(args) -> None:
    with pytest.raises(CommandError) as failed:
        call_command("order_client", *args, stdout=io.StringIO(), stderr=io.StringIO())

    assert failed.value.returncode == 2
