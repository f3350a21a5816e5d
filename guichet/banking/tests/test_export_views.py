"""The payment files page and the download, per role: a file is listed and downloadable with the
consultation or validation right on every debtor account in it; anything else answers 404 and writes
nothing. Downloads are audited."""

from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from guichet.audit.models import AuditEvent
from guichet.banking import export
from guichet.banking.models import ExportFile
from guichet.banking.tests.export_factories import Team, make_team, make_validated
from guichet.banking.views.exports import PAGE_SIZE
from guichet.entities.models import Person, PersonStatus, Right
from guichet.entities.testing import ACCOUNTANT, DIRECTOR, make_member

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def files(settings: object, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"  # type: ignore[attr-defined]
    settings.GUICHET_PAIN001_OUTBOX_DIR = tmp_path / "outbox"  # type: ignore[attr-defined]


@pytest.fixture
def team() -> Team:
    return make_team()


@pytest.fixture
def two_accounts_file(team: Team) -> ExportFile:
    make_validated(team, account=team.accounts[0], amount="10.00")
    make_validated(team, account=team.accounts[1], amount="20.00")
    [export_file] = export.export_run(entity_id=team.entity.pk).files
    return export_file


def url(name: str, *args: object) -> str:
    with translation.override("en"):
        return reverse(name, args=args or None)


def downloads() -> int:
    return AuditEvent.objects.filter(action="banking.export_downloaded").count()


def member(team: Team, rights: tuple[str, ...], accounts: int | None = None) -> object:
    on = team.accounts if accounts is None else team.accounts[:accounts]
    return make_member(team.entity, rights=rights, on_accounts=on, on_contracts=[])


@pytest.mark.parametrize(
    ("rights", "accounts"),
    [
        (DIRECTOR, None),
        (ACCOUNTANT, None),  # consultation
        ((Right.VALIDATION,), None),  # validation only
        ((Right.CONSULTATION,), 2),  # exactly the file's two accounts
    ],
)
def test_holders_of_the_right_see_and_download_the_file(
    client: Client, team: Team, two_accounts_file: ExportFile, rights: tuple[str, ...], accounts: int | None
) -> None:
    user = member(team, rights, accounts)
    client.force_login(user)

    page = client.get(url("banking:exports"))

    assert page.status_code == 200
    html = page.content.decode()
    assert two_accounts_file.message_id in html
    assert two_accounts_file.sha256 in html
    assert "<caption>" in html
    assert html.count("<h1") == 1

    response = client.get(url("banking:export_download", two_accounts_file.pk))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml"
    assert response["Content-Disposition"] == f'attachment; filename="{two_accounts_file.message_id}.xml"'
    assert response["Cache-Control"] == "no-store"
    with two_accounts_file.file.open("rb") as stored:
        assert response.content == stored.read()
    event = AuditEvent.objects.get(action="banking.export_downloaded")
    assert event.actor_id == user.pk  # type: ignore[attr-defined]
    assert event.target_id == str(two_accounts_file.pk)
    assert event.details["message_id"] == two_accounts_file.message_id


@pytest.mark.parametrize("who", ["management_only", "one_account_only", "suspended", "other_entity"])
def test_others_get_404_and_nothing_is_written(
    client: Client, team: Team, two_accounts_file: ExportFile, who: str
) -> None:
    if who == "management_only":
        user = member(team, (Right.MANAGEMENT,))
    elif who == "one_account_only":
        user = member(team, DIRECTOR, accounts=1)  # the file also pays from the second account
    elif who == "suspended":
        user = member(team, DIRECTOR)
        Person.objects.filter(user=user).update(status=PersonStatus.SUSPENDED)
    else:
        other = make_team()
        make_validated(other)
        export.export_run(entity_id=other.entity.pk)
        user = member(other, DIRECTOR)
    client.force_login(user)

    page = client.get(url("banking:exports"))
    response = client.get(url("banking:export_download", two_accounts_file.pk))

    assert page.status_code == 200
    assert two_accounts_file.message_id not in page.content.decode()
    assert response.status_code == 404
    assert downloads() == 0


def test_an_unknown_file_is_404(client: Client, team: Team) -> None:
    client.force_login(member(team, DIRECTOR))

    assert client.get(url("banking:export_download", 999999)).status_code == 404
    assert downloads() == 0


def test_the_pages_need_a_logon(client: Client, two_accounts_file: ExportFile) -> None:
    for target in (url("banking:exports"), url("banking:export_download", two_accounts_file.pk)):
        response = client.get(target)
        assert response.status_code == 302
        assert "login" in response["Location"]
    assert downloads() == 0


def test_downloads_are_get_only(client: Client, team: Team, two_accounts_file: ExportFile) -> None:
    client.force_login(member(team, DIRECTOR))

    assert client.post(url("banking:export_download", two_accounts_file.pk)).status_code == 405
    assert downloads() == 0


def test_an_empty_list_says_so(client: Client, team: Team) -> None:
    client.force_login(member(team, DIRECTOR))

    response = client.get(url("banking:exports"))

    assert response.status_code == 200
    assert "No payment file yet" in response.content.decode()


def test_the_list_is_paginated_newest_first(client: Client, team: Team) -> None:
    made = []
    for _ in range(PAGE_SIZE + 1):
        make_validated(team)
        made += export.export_run(entity_id=team.entity.pk).files
    client.force_login(member(team, DIRECTOR))

    first = client.get(url("banking:exports")).content.decode()
    second = client.get(url("banking:exports") + "?page=2").content.decode()

    assert made[-1].message_id in first
    assert made[0].message_id not in first
    assert made[0].message_id in second
    assert "Page 2 of 2" in second
