"""Provisioning many users from a CSV file: reading, checking and creating each line.

Used by ``manage.py provision_users`` (in the process) and by the back
office's import (``ProvisioningImport``, run by a task). Each line is created
in its own transaction with its two credential e-mails (``services.user_provision``),
so a bad line creates nothing and leaves the other lines alone.

Format: UTF-8 with or without BOM, ``,`` or ``;`` between fields, a header
naming the columns in ``COLUMNS`` (in any order; ``alternate_mobile_phone``,
``first_name`` and ``last_name`` may be left out).
"""

import csv
import enum
import io
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.phonenumber import PhoneNumber, to_python

from guichet.audit.services import record
from guichet.identity.error_codes import IdentityErrorCode
from guichet.identity.exceptions import MESSAGES as IDENTITY_MESSAGES
from guichet.identity.exceptions import IdentityError
from guichet.identity.models import (
    ProvisioningImport,
    ProvisioningImportLine,
    ProvisioningImportStatus,
    User,
)
from guichet.identity.services import user_provision
from guichet.identity.tasks import provisioning_import_run

COLUMNS = (
    "user_id",
    "email",
    "mobile_phone",
    "alternate_mobile_phone",
    "language",
    "first_name",
    "last_name",
)
REQUIRED_COLUMNS = ("user_id", "email", "mobile_phone", "language")
NAME_MAX_LENGTH = 150
MAX_FILE_BYTES = 5 * 1024 * 1024
# Spreadsheets run a cell that starts with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class ProvisioningErrorCode(enum.StrEnum):
    NOT_UTF8 = "not_utf8"
    NO_HEADER = "no_header"
    MISSING_COLUMNS = "missing_columns"
    NO_LINES = "no_lines"
    TOO_LARGE = "too_large"
    FIELD_COUNT = "field_count"
    DUPLICATE_USER_ID = "duplicate_user_id"
    NAME_TOO_LONG = "name_too_long"
    NOT_CREATED = "not_created"


MESSAGES = {
    ProvisioningErrorCode.NOT_UTF8: _("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again."),
    ProvisioningErrorCode.NO_HEADER: _("The file is empty: its first line must name the columns."),
    ProvisioningErrorCode.MISSING_COLUMNS: _(
        "The first line must name the columns: user_id, email, mobile_phone and language at least, "
        "and alternate_mobile_phone, first_name, last_name if used."
    ),
    ProvisioningErrorCode.NO_LINES: _("The file has no line after its header."),
    ProvisioningErrorCode.TOO_LARGE: _("The file is larger than 5 MB. Split it into several files."),
    ProvisioningErrorCode.FIELD_COUNT: _("This line does not have as many fields as the header."),
    ProvisioningErrorCode.DUPLICATE_USER_ID: _(
        "This user ID is on several lines of the file; none of them was created."
    ),
    ProvisioningErrorCode.NAME_TOO_LONG: _("A name has at most 150 characters."),
    ProvisioningErrorCode.NOT_CREATED: _("The user could not be created. Try this line again."),
}


def error_message(code: str) -> str:
    """The translated message of a provisioning or identity error code."""
    if code in ProvisioningErrorCode.__members__.values():
        return str(MESSAGES[ProvisioningErrorCode(code)])
    return str(IDENTITY_MESSAGES[IdentityErrorCode(code)])


class ProvisioningFileError(Exception):
    """The whole file is refused (encoding, header); no line was looked at."""

    def __init__(self, code: ProvisioningErrorCode) -> None:
        self.code = code
        super().__init__(str(code))

    @property
    def message(self) -> str:
        return str(MESSAGES[self.code])


@dataclass(frozen=True)
class CsvLine:
    number: int  # the line of the file where the record starts; the header is line 1
    values: dict[str, str]
    complete: bool  # as many fields as the header

    @property
    def user_id(self) -> str:
        return self.values.get("user_id", "").strip()


@dataclass(frozen=True)
class LineOutcome:
    line: int
    user_id: str
    created: bool
    field: str = ""
    code: str = ""

    @property
    def message(self) -> str:
        return error_message(self.code) if self.code else ""


# --- Reading -----------------------------------------------------------------


def csv_decode(data: bytes) -> str:
    if len(data) > MAX_FILE_BYTES:
        raise ProvisioningFileError(ProvisioningErrorCode.TOO_LARGE)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ProvisioningFileError(ProvisioningErrorCode.NOT_UTF8) from None


def csv_read(text: str) -> list[CsvLine]:
    """The data lines of a CSV text, blank lines skipped; raises ``ProvisioningFileError``."""
    text = text.removeprefix("\ufeff")
    header_line = next((line for line in text.splitlines() if line.strip()), None)
    if header_line is None:
        raise ProvisioningFileError(ProvisioningErrorCode.NO_HEADER)
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    lines: list[CsvLine] = []
    start = 1
    for fields in reader:
        if not any(field.strip() for field in fields):
            start = reader.line_num + 1
            continue
        if header is None:
            header = [name.strip().lower() for name in fields]
            if not set(REQUIRED_COLUMNS) <= set(header):
                raise ProvisioningFileError(ProvisioningErrorCode.MISSING_COLUMNS)
        else:
            values = {name: value.strip() for name, value in zip(header, fields, strict=False)}
            lines.append(CsvLine(number=start, values=values, complete=len(fields) == len(header)))
        start = reader.line_num + 1
    if not lines:
        raise ProvisioningFileError(ProvisioningErrorCode.NO_LINES)
    return lines


def duplicate_user_ids(lines: Iterable[CsvLine]) -> set[str]:
    """User IDs (case-insensitive) found on more than one line: which one is right, nobody knows."""
    seen: dict[str, int] = defaultdict(int)
    for line in lines:
        if line.user_id:
            seen[line.user_id.casefold()] += 1
    return {user_id for user_id, count in seen.items() if count > 1}


# --- Checking and creating ---------------------------------------------------


def _line_error(line: CsvLine, duplicates: set[str]) -> tuple[str, str] | None:
    """(field, code) of what the services' checks cannot name precisely, or None."""
    if not line.complete:
        return "", ProvisioningErrorCode.FIELD_COUNT
    if line.user_id.casefold() in duplicates:
        return "user_id", ProvisioningErrorCode.DUPLICATE_USER_ID
    for column in ("mobile_phone", "alternate_mobile_phone"):
        raw = line.values.get(column, "")
        number = to_python(raw) if raw else None
        if raw and not (isinstance(number, PhoneNumber) and number.is_valid()):
            return column, IdentityErrorCode.INVALID_PHONE
    for column in ("first_name", "last_name"):
        if len(line.values.get(column, "")) > NAME_MAX_LENGTH:
            return column, ProvisioningErrorCode.NAME_TOO_LONG
    return None


def line_provision(
    line: CsvLine,
    *,
    duplicates: set[str],
    acting_user: User | None = None,
    on_outcome: Callable[[LineOutcome], None] | None = None,
) -> LineOutcome:
    """Checks and creates one line in its own transaction; ``on_outcome`` runs in that transaction."""
    user_id = line.user_id
    error = _line_error(line, duplicates)
    if error is None:
        try:
            with transaction.atomic():
                user_provision(
                    user_id=user_id,
                    email=line.values.get("email", ""),
                    phones=[
                        line.values.get("mobile_phone", ""),
                        line.values.get("alternate_mobile_phone", ""),
                    ],
                    language=line.values.get("language", "").lower(),
                    first_name=line.values.get("first_name", ""),
                    last_name=line.values.get("last_name", ""),
                    acting_user=acting_user,
                )
                outcome = LineOutcome(line=line.number, user_id=user_id, created=True)
                if on_outcome is not None:
                    on_outcome(outcome)
                return outcome
        except IdentityError as refused:
            field = "mobile_phone" if refused.field == "phones" else refused.field or ""
            error = (field, refused.code)
        except IntegrityError:  # the same user ID created meanwhile by someone else
            error = ("user_id", IdentityErrorCode.USER_ID_TAKEN)
    outcome = LineOutcome(line=line.number, user_id=user_id, created=False, field=error[0], code=error[1])
    if on_outcome is not None:
        with transaction.atomic():
            on_outcome(outcome)
    return outcome


def lines_provision(
    lines: list[CsvLine],
    *,
    acting_user: User | None = None,
    on_outcome: Callable[[LineOutcome], None] | None = None,
) -> list[LineOutcome]:
    duplicates = duplicate_user_ids(lines)
    return [
        line_provision(line, duplicates=duplicates, acting_user=acting_user, on_outcome=on_outcome)
        for line in lines
    ]


# --- Report ------------------------------------------------------------------


def _cell(value: object) -> str:
    text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def report_csv(outcomes: Iterable[LineOutcome]) -> str:
    """The per-line report: line, user_id, result (created|refused), field, message."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["line", "user_id", "result", "field", "message"])
    for outcome in outcomes:
        result = "created" if outcome.created else "refused"
        writer.writerow([outcome.line, _cell(outcome.user_id), result, outcome.field, _cell(outcome.message)])
    return out.getvalue()


# --- Back-office imports -------------------------------------------------------


def import_create(*, file_name: str, data: bytes, acting_user: User) -> ProvisioningImport:
    """Stores an uploaded file and queues its task, in one transaction; raises ``ProvisioningFileError``."""
    text = csv_decode(data)
    total = len(csv_read(text))
    with transaction.atomic():
        provisioning_import = ProvisioningImport.objects.create(
            file_name=file_name[:255], content=text, uploaded_by=acting_user, total=total
        )
        record(
            action="identity.provisioning_import_started",
            actor=acting_user,
            target=provisioning_import,
            details={"lines": total},
        )
        provisioning_import_run.enqueue(provisioning_import.pk)
    return provisioning_import


def import_process(*, import_id: int) -> str:
    """Runs an import: every line not yet done, each with its outcome in the same transaction.

    Idempotent: run again after a crash, it resumes after the last recorded line.
    """
    provisioning_import = ProvisioningImport.objects.get(pk=import_id)
    if provisioning_import.status in (ProvisioningImportStatus.DONE, ProvisioningImportStatus.FAILED):
        return provisioning_import.status
    try:
        lines = csv_read(provisioning_import.content)
    except ProvisioningFileError as refused:
        _import_finish(provisioning_import, ProvisioningImportStatus.FAILED, error=refused.code)
        return ProvisioningImportStatus.FAILED
    ProvisioningImport.objects.filter(pk=import_id).update(
        status=ProvisioningImportStatus.RUNNING, total=len(lines)
    )
    done = set(provisioning_import.lines.values_list("line", flat=True))
    duplicates = duplicate_user_ids(lines)

    def record_outcome(outcome: LineOutcome) -> None:
        ProvisioningImportLine.objects.create(
            provisioning_import_id=import_id,
            line=outcome.line,
            user_id=outcome.user_id[:150],
            created=outcome.created,
            field=outcome.field,
            code=outcome.code,
        )
        counter = "created_count" if outcome.created else "failed_count"
        ProvisioningImport.objects.filter(pk=import_id).update(
            processed=F("processed") + 1, **{counter: F(counter) + 1}
        )

    for line in lines:
        if line.number not in done:
            line_provision(
                line,
                duplicates=duplicates,
                acting_user=provisioning_import.uploaded_by,
                on_outcome=record_outcome,
            )
    _import_finish(provisioning_import, ProvisioningImportStatus.DONE)
    return ProvisioningImportStatus.DONE


def _import_finish(provisioning_import: ProvisioningImport, status: str, error: str = "") -> None:
    with transaction.atomic():
        ProvisioningImport.objects.filter(pk=provisioning_import.pk).update(
            status=status, error=error, content="", finished_at=timezone.now()
        )
        provisioning_import.refresh_from_db()
        record(
            action="identity.provisioning_import_finished",
            actor=provisioning_import.uploaded_by,
            target=provisioning_import,
            details={
                "created": provisioning_import.created_count,
                "refused": provisioning_import.failed_count,
            },
        )


def import_outcomes(provisioning_import: ProvisioningImport) -> list[LineOutcome]:
    return [
        LineOutcome(line=row.line, user_id=row.user_id, created=row.created, field=row.field, code=row.code)
        for row in provisioning_import.lines.all()
    ]
