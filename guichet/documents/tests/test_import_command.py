"""``manage.py import_documents``: the streamed CSV report, the summary, the exit codes (0, 1 when
anything was refused, 2 on a usage error), ``--report``, ``--quiet``; and ``manage.py intake_client``."""

import csv
import datetime
import io
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone, translation

from guichet.documents import testing_ubl
from guichet.documents.intake_auth import intake_client_for_key
from guichet.documents.models import Document, IntakeClient, IssuerIdentifier
from guichet.documents.testing import make_customer_number, make_issuer

pytestmark = pytest.mark.django_db

ISSUED = timezone.localdate() - datetime.timedelta(days=2)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def clean_media():
    yield
    shutil.rmtree(Path(settings.MEDIA_ROOT) / "documents", ignore_errors=True)


@pytest.fixture
def batch(tmp_path) -> Path:
    issuer = make_issuer(prefix="DL2")
    IssuerIdentifier.objects.create(issuer=issuer, scheme="0208", value="0403170701")
    make_customer_number(issuer=issuer, number="100001")
    (tmp_path / "1.xml").write_bytes(testing_ubl.invoice_xml(number="F1", issue_date=ISSUED))
    (tmp_path / "2.xml").write_bytes(b"<Invoice>")
    (tmp_path / "3.xml").write_bytes(testing_ubl.invoice_xml(number="F3", issue_date=ISSUED))
    return tmp_path


def import_documents(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_documents", *args, "--jobs", "1", stdout=out, stderr=err)
    except CommandError as error:
        err.write(str(error))
        return error.returncode, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_a_broken_file_among_good_ones_is_reported_and_exits_1(batch) -> None:
    code, out, err = import_documents(str(batch))

    ids = dict(Document.objects.values_list("number", "pk"))
    report = rows(out)
    assert code == 1
    assert report[0] == ["file", "outcome", "reason", "document"]
    assert [(Path(r[0]).name, r[1], r[3]) for r in report[1:]] == [
        ("1.xml", "imported", str(ids["F1"])),
        ("2.xml", "refused", ""),
        ("3.xml", "imported", str(ids["F3"])),
    ]
    assert report[2][2].startswith("The file is not well-formed XML: ")
    assert "Documents: 3, imported: 2, already imported: 0, refused: 1." in err
    assert "Some documents were refused: see the report." in err


def test_all_good_exits_0_and_again_is_already_imported(batch) -> None:
    (batch / "2.xml").unlink()

    first = import_documents(str(batch / "1.xml"), str(batch / "3.xml"))
    second = import_documents(str(batch))

    assert first[0] == 0 and second[0] == 0
    assert [r[1] for r in rows(second[1])[1:]] == ["already imported", "already imported"]
    assert "Documents: 2, imported: 0, already imported: 2, refused: 0." in second[2]
    assert Document.objects.count() == 2


def test_the_report_goes_to_a_file_and_quiet_shows_only_refusals(batch, tmp_path_factory) -> None:
    report = tmp_path_factory.mktemp("out") / "report.csv"

    code, out, _err = import_documents(str(batch), "--report", str(report))
    quiet_code, quiet_out, _err = import_documents(str(batch), "--quiet")

    assert (code, out) == (1, "")
    assert [r[1] for r in rows(report.read_text(encoding="utf-8"))[1:]] == ["imported", "refused", "imported"]
    assert quiet_code == 1
    assert [(Path(r[0]).name, r[1]) for r in rows(quiet_out)[1:]] == [("2.xml", "refused")]


def test_a_missing_path_is_a_usage_error(batch) -> None:
    code, _out, err = import_documents(str(batch / "1.xml"), str(batch / "nope"))

    assert code == 2
    assert f"No such file or folder: {batch / 'nope'}" in err
    assert not Document.objects.exists()


def test_intake_client_create_prints_the_key_once_and_deactivate_stops_it() -> None:
    make_issuer(prefix="DL2")
    out, err = io.StringIO(), io.StringIO()

    call_command(
        "intake_client", "create", "--name", "Leasing billing", "--issuer", "DL2", stdout=out, stderr=err
    )

    key = out.getvalue().strip()
    client = IntakeClient.objects.get()
    assert key.startswith(f"{client.key_prefix}_") and client.key_hash not in key
    assert intake_client_for_key(key) == client
    call_command("intake_client", "deactivate", str(client.pk), stdout=io.StringIO(), stderr=io.StringIO())
    assert intake_client_for_key(key) is None
    listing = io.StringIO()
    call_command("intake_client", "list", stdout=listing)
    assert listing.getvalue() == f"{client.pk}\tLeasing billing\tDL2\t{client.key_prefix}\tdeactivated\t-\n"


def test_intake_client_with_an_unknown_issuer_is_refused() -> None:
    with pytest.raises(CommandError, match="Unknown issuer: ZZ9") as caught:
        call_command("intake_client", "create", "--name", "X", "--issuer", "ZZ9", stdout=io.StringIO())

    assert caught.value.returncode == 2
    assert not IntakeClient.objects.exists()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_progress_bar_is_drawn_on_a_terminal_but_not_with_quiet(batch) -> None:
    loud, quiet = Terminal(), Terminal()

    for err, extra in ((loud, []), (quiet, ["--quiet"])):
        with pytest.raises(CommandError):
            call_command(
                "import_documents", str(batch), "--jobs", "1", *extra, stdout=io.StringIO(), stderr=err
            )

    assert "\r[##############################] 3/3\n" in loud.getvalue()
    assert "[#" not in quiet.getvalue()


def test_the_report_never_holds_a_spreadsheet_formula():
    from guichet.documents import intake

    row = intake.report_row(
        intake.Item(file="=HYPERLINK(1).xml", outcome=intake.Outcome.REFUSED, reason="-x")
    )

    assert row == ["'=HYPERLINK(1).xml", "refused", "'-x", ""]
