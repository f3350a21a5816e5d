"""Provisioning: the services, the commands and the CSV import (seed 000, "two separate e-mails")."""

import io
import json
import logging
from pathlib import Path
from unittest import mock

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone, translation

from guichet.audit.models import AuditEvent
from guichet.identity.error_codes import IdentityErrorCode
from guichet.identity.exceptions import MESSAGES as IDENTITY_MESSAGES
from guichet.identity.models import AccountKind, ProvisioningImport, ProvisioningImportStatus, User
from guichet.identity.provisioning import (
    MESSAGES,
    ProvisioningErrorCode,
    ProvisioningFileError,
    csv_decode,
    csv_read,
    import_create,
    import_process,
    report_csv,
)
from guichet.identity.services import credentials_issue, user_provision
from guichet.identity.testing import make_consumer
from guichet.notifications.testing import deliveries_run

pytestmark = pytest.mark.django_db

KNOWN_PASSWORD = "Tmp-Known-7342!"
SECOND_PASSWORD = "Tmp-Other-9051?"
HEADER = "user_id,email,mobile_phone,alternate_mobile_phone,language,first_name,last_name\n"


@pytest.fixture
def known_passwords():
    """The random temporary passwords, made predictable so that tests can look for them."""
    with mock.patch(
        "guichet.identity.services.temporary_password_generate",
        side_effect=[KNOWN_PASSWORD, SECOND_PASSWORD, *[f"Tmp-Pass-{n:04d}!" for n in range(100)]],
    ) as generate:
        yield generate


def provision(**overrides: object) -> User:
    data = {
        "user_id": "CC100042",
        "email": "marc.leroy@example.com",
        "phones": ["+32470123456"],
        "language": "fr",
        "first_name": "Marc",
        "last_name": "Leroy",
    }
    return user_provision(**{**data, **overrides})


def sent_emails() -> list[mail.EmailMessage]:
    deliveries_run()
    return list(mail.outbox)


def credential_emails(language: str = "fr") -> tuple[mail.EmailMessage, mail.EmailMessage]:
    """The user-ID e-mail and the password e-mail, told apart by their subjects (not their order)."""
    from guichet.notifications.rendering import render_notification

    def subject(template: str) -> str:
        context = {"days": 14, "expires_at": timezone.now()}
        return render_notification(
            template=template, context=context, language=language, channels=["email"]
        ).subject

    by_subject = {message.subject: message for message in sent_emails()}
    assert len(by_subject) == 2
    return by_subject[subject("identity_credentials_user_id")], by_subject[
        subject("identity_credentials_password")
    ]


def whole(message: mail.EmailMessage) -> str:
    """Subject, text and HTML of an e-mail."""
    html = "".join(content for content, _type in getattr(message, "alternatives", []))
    return f"{message.subject}\n{message.body}\n{html}"


def en(text: object) -> str:
    with translation.override("en"):
        return str(text)


# --- Services ----------------------------------------------------------------------


def test_provisioning_sends_the_user_id_and_the_password_in_two_separate_emails(known_passwords) -> None:
    user = provision()

    first, second = credential_emails()
    assert (first.to, second.to) == (["marc.leroy@example.com"], ["marc.leroy@example.com"])
    assert "CC100042" in first.body and "CC100042" in whole(first)
    assert KNOWN_PASSWORD not in whole(first)
    assert KNOWN_PASSWORD in second.body and KNOWN_PASSWORD in whole(second)
    assert "CC100042" not in whole(second)
    assert first.subject != second.subject
    user.refresh_from_db()
    assert (user.kind, user.password_is_temporary, user.check_password(KNOWN_PASSWORD)) == (
        AccountKind.PROVISIONED,
        True,
        True,
    )
    assert user.credentials_issued_at is not None
    assert user.password_expires_at is not None


def test_the_password_email_never_shows_the_user_id_even_without_a_name(known_passwords) -> None:
    provision(first_name="", last_name="")

    _first, second = credential_emails()

    assert "CC100042" not in whole(second)


def test_the_password_email_says_how_long_it_is_valid(known_passwords, settings) -> None:
    settings.GUICHET_TEMPORARY_PASSWORD_DAYS = 14
    provision(language="en")

    _first, second = credential_emails("en")

    assert "It is valid for 14 days, until" in second.body
    assert "only for your first logon" in second.body
    assert "Never share it" in second.body


def test_the_password_is_nowhere_in_the_audit_trail_nor_the_logs(known_passwords, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    user = provision()
    credentials_issue(user=user)
    sent_emails()

    events = AuditEvent.objects.filter(target_label="CC100042")
    assert sorted(events.values_list("action", flat=True)) == [
        "identity.credentials_issued",
        "identity.credentials_issued",
        "identity.user_provisioned",
    ]
    dumped = json.dumps(list(AuditEvent.objects.values()), default=str)
    for password in (KNOWN_PASSWORD, SECOND_PASSWORD):
        assert password not in dumped
        assert password not in caplog.text


def test_reissuing_credentials_invalidates_the_previous_temporary_password(known_passwords) -> None:
    user = provision()

    credentials_issue(user=user)

    user.refresh_from_db()
    assert not user.check_password(KNOWN_PASSWORD)
    assert user.check_password(SECOND_PASSWORD)
    assert len(sent_emails()) == 4


def test_consumers_never_get_credentials_from_the_institution() -> None:
    consumer = make_consumer()

    with pytest.raises(Exception) as raised:
        credentials_issue(user=consumer)

    assert raised.value.code == IdentityErrorCode.CONSUMER_CREDENTIALS
    assert sent_emails() == []


# --- provision_user ---------------------------------------------------------------------


def provision_user(*args: str) -> str:
    out = io.StringIO()
    with translation.override("en"):
        call_command("provision_user", *args, stdout=out)
    return out.getvalue()


ARGS = ["--user-id", "CC100042", "--email", "marc.leroy@example.com", "--phone", "+32470123456"]


def test_provision_user_prints_the_user_id_and_never_the_password(known_passwords) -> None:
    output = provision_user(
        *ARGS, "--phone", "+32470654321", "--language", "nl", "--first-name", "Marc", "--last-name", "Leroy"
    )

    assert output == (
        "User CC100042 provisioned: two e-mails queued (the user ID, then the temporary password).\n"
    )
    assert KNOWN_PASSWORD not in output
    user = User.objects.get(user_id="CC100042")
    assert (str(user.alternate_mobile_phone), user.preferred_language, user.last_name) == (
        "+32470654321",
        "nl",
        "Leroy",
    )
    assert len(sent_emails()) == 2


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--email", "nope"], "--email: " + en(IDENTITY_MESSAGES[IdentityErrorCode.INVALID_EMAIL])),
        (["--phone", "12"], "--phone: " + en(IDENTITY_MESSAGES[IdentityErrorCode.INVALID_PHONE])),
        (["--user-id", "a b"], "--user-id: " + en(IDENTITY_MESSAGES[IdentityErrorCode.INVALID_USER_ID])),
    ],
)
def test_provision_user_refuses_bad_input_and_creates_nothing(arguments: list[str], message: str) -> None:
    values = dict(zip(ARGS[::2], ARGS[1::2], strict=True))
    values.update(dict(zip(arguments[::2], arguments[1::2], strict=True)))
    flat = [item for pair in values.items() for item in pair]

    with pytest.raises(CommandError) as raised:
        provision_user(*flat, "--language", "fr")

    assert str(raised.value) == message
    assert raised.value.returncode == 1
    assert User.objects.count() == 0
    assert sent_emails() == []


def test_provision_user_refuses_a_taken_user_id() -> None:
    provision()

    with pytest.raises(CommandError, match=r"--user-id: A user with this user ID already exists\."):
        provision_user(*ARGS, "--language", "fr")


# --- reissue_credentials ------------------------------------------------------------------


def test_reissue_credentials_command(known_passwords) -> None:
    user = provision()
    out = io.StringIO()

    with translation.override("en"):
        call_command("reissue_credentials", "cc100042", stdout=out)

    assert out.getvalue() == (
        "New credentials issued to CC100042: two e-mails queued. "
        "The previous temporary password no longer works.\n"
    )
    user.refresh_from_db()
    assert not user.check_password(KNOWN_PASSWORD)
    assert user.check_password(SECOND_PASSWORD)
    assert SECOND_PASSWORD not in out.getvalue()


@pytest.mark.parametrize(
    ("user_id", "message"),
    [
        ("XX999999", "No user has the user ID XX999999."),
        ("camille.martin@example.com", en(IDENTITY_MESSAGES[IdentityErrorCode.CONSUMER_CREDENTIALS])),
    ],
)
def test_reissue_credentials_refuses_unknown_users_and_consumers(user_id: str, message: str) -> None:
    make_consumer()

    with pytest.raises(CommandError) as raised, translation.override("en"):
        call_command("reissue_credentials", user_id)

    assert str(raised.value) == message
    assert sent_emails() == []


# --- Reading CSV files ------------------------------------------------------------------


def test_reads_a_file_with_bom_and_semicolons() -> None:
    data = "\ufeff" + HEADER.replace(",", ";") + "CC1;a@example.com;+32470123456;;fr;Anne;Lenoir\n"

    (line,) = csv_read(csv_decode(data.encode("utf-8")))

    assert (line.number, line.values["email"], line.values["first_name"], line.complete) == (
        2,
        "a@example.com",
        "Anne",
        True,
    )


def test_columns_may_come_in_any_order_and_blank_lines_are_skipped() -> None:
    data = "email,user_id,language,mobile_phone\n\nb@example.com,CC2,nl,+32470123456\n\n"

    (line,) = csv_read(data)

    assert (line.number, line.user_id, line.values["language"]) == (3, "CC2", "nl")


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", ProvisioningErrorCode.NO_HEADER),
        (b"user_id,email\nCC1,a@example.com\n", ProvisioningErrorCode.MISSING_COLUMNS),
        (HEADER.encode(), ProvisioningErrorCode.NO_LINES),
        ("user_id;é\n".encode("latin-1"), ProvisioningErrorCode.NOT_UTF8),
    ],
)
def test_refuses_files_it_cannot_read(data: bytes, code: ProvisioningErrorCode) -> None:
    with pytest.raises(ProvisioningFileError) as raised:
        csv_read(csv_decode(data))

    assert raised.value.code == code


def test_the_report_neutralises_spreadsheet_formulas() -> None:
    from guichet.identity.provisioning import LineOutcome

    with translation.override("en"):
        report = report_csv(
            [LineOutcome(line=2, user_id="=cmd", created=False, field="user_id", code="invalid_user_id")]
        )
    assert report.splitlines()[1].startswith("2,'=cmd,refused,user_id,")


# --- provision_users ------------------------------------------------------------------


MIXED_FILE = (
    "\ufeff"
    + HEADER.replace(",", ";")
    + "CC200001;anne@example.com;+32470111111;+32470222222;fr;Anne;Lenoir\n"
    + "CC200002;not-an-email;+32470333333;;nl;Bart;Peeters\n"
    + "CC200003;carl@example.com;+32470444444;12;de;Carl;Braun\n"
    + "CC200004;dora@example.com;+32470555555;;en;Dora;Smith\n"
    + "CC200005;eve@example.com;+32470666666;;en;Eve;One\n"
    + "cc200005;eve2@example.com;+32470777777;;en;Eve;Two\n"
    + "CC200006;fay@example.com;+32470888888;;xx;Fay;Moon\n"
    + "CC200007;gus@example.com\n"
)


class TtyStringIO(io.StringIO):
    def isatty(self) -> bool:
        return True


def provision_users(tmp_path: Path, content: str, *args: str, stderr: io.StringIO | None = None) -> str:
    path = tmp_path / "users.csv"
    path.write_text(content, encoding="utf-8")
    out = io.StringIO()
    with translation.override("en"):
        call_command("provision_users", str(path), *args, stdout=out, stderr=stderr or io.StringIO())
    return out.getvalue()


def expected_report() -> str:
    def refused(code: object) -> str:
        return en(MESSAGES.get(code) or IDENTITY_MESSAGES[code])

    return (
        "line,user_id,result,field,message\n"
        "2,CC200001,created,,\n"
        f"3,CC200002,refused,email,{refused(IdentityErrorCode.INVALID_EMAIL)}\n"
        f'4,CC200003,refused,alternate_mobile_phone,"{refused(IdentityErrorCode.INVALID_PHONE)}"\n'
        "5,CC200004,created,,\n"
        f"6,CC200005,refused,user_id,{refused(ProvisioningErrorCode.DUPLICATE_USER_ID)}\n"
        f"7,cc200005,refused,user_id,{refused(ProvisioningErrorCode.DUPLICATE_USER_ID)}\n"
        f"8,CC200006,refused,language,{refused(IdentityErrorCode.INVALID_LANGUAGE)}\n"
        f"9,CC200007,refused,,{refused(ProvisioningErrorCode.FIELD_COUNT)}\n"
    )


def test_provision_users_creates_the_good_lines_and_reports_the_bad_ones(tmp_path, known_passwords) -> None:
    stderr = io.StringIO()

    with pytest.raises(CommandError) as raised:
        provision_users(tmp_path, MIXED_FILE, "--report", str(tmp_path / "report.csv"), stderr=stderr)

    assert raised.value.returncode == 1
    assert (tmp_path / "report.csv").read_text(encoding="utf-8") == expected_report()
    assert stderr.getvalue() == "Lines: 8, users created: 2, lines refused: 6.\n"
    assert sorted(User.objects.values_list("user_id", flat=True)) == ["CC200001", "CC200004"]
    anne = User.objects.get(user_id="CC200001")
    assert (str(anne.mobile_phone), str(anne.alternate_mobile_phone), anne.first_name) == (
        "+32470111111",
        "+32470222222",
        "Anne",
    )
    assert sorted(message.to[0] for message in sent_emails()) == [
        "anne@example.com",
        "anne@example.com",
        "dora@example.com",
        "dora@example.com",
    ]


def test_provision_users_writes_the_report_to_stdout_and_a_progress_bar_on_a_terminal(tmp_path) -> None:
    good = HEADER + "".join(f"CC30000{n},u{n}@example.com,+3247012345{n},,fr,,\n" for n in range(4))
    terminal = TtyStringIO()

    output = provision_users(tmp_path, good, stderr=terminal)

    assert output.splitlines()[1:] == [f"{n + 2},CC30000{n},created,," for n in range(4)]
    progress = terminal.getvalue()
    assert progress.startswith("\r[#######-----------------------] 1/4")
    assert "\r[##############################] 4/4\n" in progress
    assert progress.endswith("Lines: 4, users created: 4, lines refused: 0.\n")
    assert User.objects.count() == 4


def test_provision_users_without_a_terminal_prints_no_progress_bar(tmp_path) -> None:
    stderr = io.StringIO()

    provision_users(tmp_path, HEADER + "CC1000,a@example.com,+32470123456,,fr,,\n", stderr=stderr)

    assert stderr.getvalue() == "Lines: 1, users created: 1, lines refused: 0.\n"


def test_provision_users_refuses_an_unreadable_file(tmp_path) -> None:
    with pytest.raises(CommandError) as raised:
        provision_users(tmp_path, "user_id,email\nCC1,a@example.com\n")

    assert str(raised.value) == en(MESSAGES[ProvisioningErrorCode.MISSING_COLUMNS])
    assert User.objects.count() == 0


def test_a_line_that_fails_when_created_leaves_nothing_behind(tmp_path, known_passwords) -> None:
    """The second e-mail fails to queue: neither the user nor the first e-mail may stay."""
    from guichet.notifications import services as notification_services

    real_notify = notification_services.notify

    def failing_notify(**kwargs):
        if kwargs["template"] == "identity_credentials_password" and kwargs["user"].user_id == "CC400002":
            raise RuntimeError("outbox unavailable")
        return real_notify(**kwargs)

    content = (
        HEADER + "CC400001,a@example.com,+32470123456,,fr,,\nCC400002,b@example.com,+32470123457,,fr,,\n"
    )
    with (
        mock.patch("guichet.identity.services.notify", side_effect=failing_notify),
        pytest.raises(RuntimeError),
    ):
        provision_users(tmp_path, content)

    assert list(User.objects.values_list("user_id", flat=True)) == ["CC400001"]
    assert [message.to for message in sent_emails()] == [["a@example.com"], ["a@example.com"]]


# --- The back-office import, run by its task ---------------------------------------------


def test_an_import_runs_in_its_task_and_records_each_line(known_passwords) -> None:
    from guichet.backoffice.tests.factories import make_advisor

    advisor = make_advisor()
    provisioning_import = import_create(
        file_name="users.csv", data=MIXED_FILE.encode("utf-8"), acting_user=advisor
    )
    assert (provisioning_import.status, provisioning_import.total, provisioning_import.processed) == (
        ProvisioningImportStatus.QUEUED,
        8,
        0,
    )

    deliveries_run()

    provisioning_import.refresh_from_db()
    assert (
        provisioning_import.status,
        provisioning_import.processed,
        provisioning_import.created_count,
        provisioning_import.failed_count,
        provisioning_import.content,
    ) == (ProvisioningImportStatus.DONE, 8, 2, 6, "")
    with translation.override("en"):
        from guichet.identity.provisioning import import_outcomes

        assert report_csv(import_outcomes(provisioning_import)) == expected_report()
    created = AuditEvent.objects.filter(action="identity.user_provisioned")
    assert set(created.values_list("actor_label", flat=True)) == {"advisor1"}
    assert len(mail.outbox) == 4


def test_an_import_run_again_resumes_and_creates_nothing_twice(known_passwords) -> None:
    from guichet.backoffice.tests.factories import make_advisor

    provisioning_import = import_create(
        file_name="users.csv", data=MIXED_FILE.encode("utf-8"), acting_user=make_advisor()
    )
    import_process(import_id=provisioning_import.pk)
    ProvisioningImport.objects.filter(pk=provisioning_import.pk).update(
        status=ProvisioningImportStatus.RUNNING, content=MIXED_FILE
    )

    import_process(import_id=provisioning_import.pk)

    assert provisioning_import.lines.count() == 8
    assert User.objects.filter(kind=AccountKind.PROVISIONED).count() == 2
