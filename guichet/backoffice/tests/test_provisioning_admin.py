"""Provisioning in the back office: the form, re-issue, unlock, CSV import, agreements; who may do what."""

import re
from unittest import mock

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone, translation

from guichet.audit.models import AuditEvent
from guichet.backoffice.tests.factories import make_advisor, make_customer, make_superuser
from guichet.backoffice.tests.test_site import InlineCode
from guichet.identity.error_codes import IdentityErrorCode
from guichet.identity.exceptions import MESSAGES as IDENTITY_MESSAGES
from guichet.identity.models import (
    AccountKind,
    AgreementAcceptance,
    ProvisioningImport,
    ProvisioningImportStatus,
    User,
    UserAgreement,
)
from guichet.identity.provisioning import MESSAGES, ProvisioningErrorCode
from guichet.identity.services import agreement_accept, credentials_issue
from guichet.identity.testing import agreement_publish, make_consumer, make_provisioned
from guichet.notifications.models import Message
from guichet.notifications.testing import deliveries_run

pytestmark = pytest.mark.django_db

TEMPORARY = "Tmp-Secret-5521!"  # what the mocked generator issues; nobody may see it
PROVISION_URL = "/backoffice/identity/user/provision/"
IMPORT_URL = "/backoffice/identity/provisioningimport/add/"
FORM = {
    "user_id": "CC100077",
    "email": "marc.leroy@example.com",
    "mobile_phone": "+32 470 12 34 56",
    "alternate_mobile_phone": "",
    "language": "nl",
    "first_name": "Marc",
    "last_name": "Leroy",
}
GOOD_AND_BAD = (
    "user_id;email;mobile_phone;alternate_mobile_phone;language;first_name;last_name\n"
    "CC500001;anne@example.com;+32470111111;;fr;Anne;Lenoir\n"
    "CC500002;bart@example.com;12;;nl;Bart;Peeters\n"
)


@pytest.fixture(autouse=True)
def known_password():
    with mock.patch("guichet.identity.services.temporary_password_generate", return_value=TEMPORARY):
        yield


def client_for(user: User | None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_login(user)
    return client


def en(text: object) -> str:
    with translation.override("en"):
        return str(text)


ROLES = {
    "anonymous": lambda: None,
    "customer": lambda: make_customer(user_id="CC999999", email="other@example.com"),
    "advisor": make_advisor,
    "superuser": make_superuser,
}


def nothing_was_written_or_sent() -> bool:
    return (
        not User.objects.filter(user_id__in=["CC100077", "CC500001"]).exists()
        and not Message.objects.exists()
        and not ProvisioningImport.objects.exists()
    )


# --- Provision a user ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "allowed"), [("anonymous", False), ("customer", False), ("advisor", True), ("superuser", True)]
)
def test_who_may_provision_a_user(role: str, allowed: bool) -> None:
    client = client_for(ROLES[role]())

    get = client.get(PROVISION_URL)
    post = client.post(PROVISION_URL, FORM)

    if allowed:
        assert get.status_code == 200
        assert post.status_code == 302
        assert User.objects.filter(user_id="CC100077").exists()
    else:
        assert (get.status_code, post.status_code) == (302, 302)
        assert get["Location"].startswith("/backoffice/login/")
        assert nothing_was_written_or_sent()


def test_an_advisor_provisions_a_user_and_never_sees_the_password() -> None:
    advisor = make_advisor()
    client = client_for(advisor)

    response = client.post(PROVISION_URL, FORM, follow=True)

    user = User.objects.get(user_id="CC100077")
    html = response.content.decode()
    assert response.redirect_chain == [(f"/backoffice/identity/user/{user.pk}/change/", 302)]
    assert (
        "CC100077 is provisioned. Two e-mails were sent to marc.leroy@example.com: the user ID, "
        "then a temporary password that nobody else sees."
    ) in html
    assert TEMPORARY not in html
    assert user.password not in html
    assert (user.kind, user.preferred_language, str(user.mobile_phone), user.password_is_temporary) == (
        AccountKind.PROVISIONED,
        "nl",
        "+32470123456",
        True,
    )
    event = AuditEvent.objects.get(action="identity.user_provisioned")
    assert (event.actor_label, event.target_label) == ("advisor1", "CC100077")
    deliveries_run()
    assert [message.to for message in mail.outbox] == [["marc.leroy@example.com"]] * 2


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"user_id": "CC 1"}, "user_id", IdentityErrorCode.INVALID_USER_ID),
        ({"mobile_phone": "12"}, "mobile_phone", IdentityErrorCode.INVALID_PHONE),
    ],
)
def test_the_provision_form_says_what_is_wrong(changes: dict, field: str, code: IdentityErrorCode) -> None:
    client = client_for(make_advisor())

    response = client.post(PROVISION_URL, {**FORM, **changes})

    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["form"].errors == {field: [en(IDENTITY_MESSAGES[code])]}
    assert 'role="alert"' in html
    assert re.search(rf'aria-describedby="[^"]*\bid_{field}_error"[^>]*id="id_{field}"', html)
    assert nothing_was_written_or_sent()


def test_the_provision_form_refuses_a_taken_user_id() -> None:
    make_provisioned(user_id="CC100077")
    client = client_for(make_advisor())

    response = client.post(PROVISION_URL, FORM)

    assert response.context["form"].errors == {"user_id": ["A user with this user ID already exists."]}
    assert not Message.objects.exists()


# --- The user's page: credentials state, never the password ---------------------------------


def test_the_user_page_shows_the_credentials_state_and_never_the_password_or_hint() -> None:
    advisor = make_advisor()
    client_for(advisor).post(PROVISION_URL, FORM)
    user = User.objects.get(user_id="CC100077")
    User.objects.filter(pk=user.pk).update(password_hint_encrypted="gAAAAAB-cipher-of-the-hint")

    response = client_for(advisor).get(f"/backoffice/identity/user/{user.pk}/change/")

    html = response.content.decode()
    form_fields = set(response.context["adminform"].form.fields)
    assert not form_fields & {"password", "password_hint_encrypted"}
    assert 'name="password' not in html
    assert user.password not in html and "cipher-of-the-hint" not in html and TEMPORARY not in html
    assert "Temporary password, valid until" in html
    assert "Open (0 failed logons since the last success)." in html
    assert "Re-issue credentials" in html
    assert "/unlock/" not in html  # not locked


def test_a_consumer_page_explains_why_there_is_no_reissue_nor_unlock() -> None:
    consumer = make_consumer(password="Consumer-Pass-2026!")
    User.objects.filter(pk=consumer.pk).update(locked_at=timezone.now(), failed_login_count=5)
    client = client_for(make_advisor())

    html = client.get(f"/backoffice/identity/user/{consumer.pk}/change/").content.decode()
    answers = [
        client.get(f"/backoffice/identity/user/{consumer.pk}/reissue/").status_code,
        client.post(f"/backoffice/identity/user/{consumer.pk}/reissue/").status_code,
        client.post(f"/backoffice/identity/user/{consumer.pk}/unlock/").status_code,
    ]

    assert en(IDENTITY_MESSAGES[IdentityErrorCode.CONSUMER_CREDENTIALS]) in html
    assert "/reissue/" not in html and "/unlock/" not in html
    assert answers == [403, 403, 403]
    consumer.refresh_from_db()
    assert consumer.is_locked and consumer.check_password("Consumer-Pass-2026!")
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("role", "status"), [("anonymous", 302), ("customer", 302), ("advisor", 302), ("superuser", 302)]
)
def test_reissue_rights(role: str, status: int) -> None:
    user = make_provisioned(user_id="CC100078", temporary=True)
    old_password = user.password
    actor = ROLES[role]()

    response = client_for(actor).post(f"/backoffice/identity/user/{user.pk}/reissue/")

    user.refresh_from_db()
    assert response.status_code == status
    if role in ("advisor", "superuser"):
        assert response["Location"] == f"/backoffice/identity/user/{user.pk}/change/"
        assert user.password != old_password and user.check_password(TEMPORARY)
        assert AuditEvent.objects.get(action="identity.credentials_issued").actor_label == actor.user_id
    else:
        assert response["Location"].startswith("/backoffice/login/")
        assert user.password == old_password
        assert not Message.objects.exists()


def test_reissue_asks_for_confirmation_and_the_old_temporary_password_stops_working() -> None:
    user = make_provisioned(user_id="CC100078", temporary=True)
    client = client_for(make_advisor())

    confirmation = client.get(f"/backoffice/identity/user/{user.pk}/reissue/")
    client.post(f"/backoffice/identity/user/{user.pk}/reissue/")

    assert confirmation.status_code == 200
    assert "<h1>Re-issue credentials</h1>" in confirmation.content.decode()
    user.refresh_from_db()
    from guichet.identity.testing import TEMPORARY_PASSWORD

    assert not user.check_password(TEMPORARY_PASSWORD)
    assert user.password_is_temporary
    assert Message.objects.filter(template__startswith="identity_credentials_").count() == 2


def test_an_advisor_cannot_reissue_a_staff_account() -> None:
    other = make_advisor(user_id="advisor2")
    User.objects.filter(pk=other.pk).update(kind=AccountKind.PROVISIONED)  # even mislabelled
    password = other.password

    response = client_for(make_advisor()).post(f"/backoffice/identity/user/{other.pk}/reissue/")

    other.refresh_from_db()
    assert (response.status_code, other.password) == (403, password)


def test_an_advisor_unlocks_a_locked_provisioned_user() -> None:
    user = make_provisioned(user_id="CC100079")
    User.objects.filter(pk=user.pk).update(locked_at=timezone.now(), failed_login_count=5)
    client = client_for(make_advisor())

    page = client.get(f"/backoffice/identity/user/{user.pk}/change/").content.decode()
    response = client.post(f"/backoffice/identity/user/{user.pk}/unlock/")

    assert f"/backoffice/identity/user/{user.pk}/unlock/" in page
    assert "Locked since" in page
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.is_locked, user.failed_login_count) == (False, 0)
    event = AuditEvent.objects.get(action="identity.unlocked")
    assert (event.actor_label, event.target_label) == ("advisor1", "CC100079")
    # Unlocked, not locked again: a second click is refused
    assert client.post(f"/backoffice/identity/user/{user.pk}/unlock/").status_code == 403


# --- CSV import ---------------------------------------------------------------------------


def upload(client: Client, content: bytes, name: str = "users.csv"):
    return client.post(IMPORT_URL, {"file": SimpleUploadedFile(name, content, content_type="text/csv")})


@pytest.mark.parametrize(
    ("role", "allowed"), [("anonymous", False), ("customer", False), ("advisor", True), ("superuser", True)]
)
def test_who_may_import(role: str, allowed: bool) -> None:
    client = client_for(ROLES[role]())

    get = client.get(IMPORT_URL)
    post = upload(client, GOOD_AND_BAD.encode())

    if allowed:
        assert (get.status_code, post.status_code) == (200, 302)
        assert ProvisioningImport.objects.count() == 1
    else:
        assert (get.status_code, post.status_code) == (302, 302)
        assert nothing_was_written_or_sent()


def test_an_import_end_to_end_with_progress_report_and_download() -> None:
    client = client_for(make_advisor())

    response = upload(client, ("\ufeff" + GOOD_AND_BAD).encode())
    provisioning_import = ProvisioningImport.objects.get()
    status_url = f"/backoffice/identity/provisioningimport/{provisioning_import.pk}/change/"
    assert response["Location"] == status_url
    queued = client.get(status_url).content.decode()
    assert 'hx-trigger="every 1s"' in queued
    assert '<progress id="import-progress-bar" max="2" value="0">' in queued
    assert f'<a href="{status_url}">Refresh</a>' in queued

    deliveries_run()  # the worker: the import task, then the e-mails it queued

    done = client.get(status_url).content.decode()
    fragment = client.get(status_url, HTTP_HX_REQUEST="true")
    report = client.get(f"/backoffice/identity/provisioningimport/{provisioning_import.pk}/report.csv")
    assert '<progress id="import-progress-bar" max="2" value="2">' in done
    assert "Finished. Users created: 1. Lines refused: 1." in done
    assert "hx-trigger" not in done
    assert fragment.content.decode().lstrip().startswith('<div id="import-progress"')
    assert "<html" not in fragment.content.decode()
    assert report["Content-Type"] == "text/csv; charset=utf-8"
    assert report.content.decode() == (
        "line,user_id,result,field,message\n"
        "2,CC500001,created,,\n"
        f'3,CC500002,refused,mobile_phone,"{en(IDENTITY_MESSAGES[IdentityErrorCode.INVALID_PHONE])}"\n'
    )
    assert list(User.objects.filter(user_id__startswith="CC5").values_list("user_id", flat=True)) == [
        "CC500001"
    ]
    assert TEMPORARY not in done
    assert [message.to for message in mail.outbox] == [["anne@example.com"]] * 2


def test_an_unreadable_file_is_refused_at_once() -> None:
    client = client_for(make_advisor())

    response = upload(client, "user_id;e\xe9\n".encode("latin-1"))

    assert response.status_code == 200
    assert response.context["form"].errors == {"file": [en(MESSAGES[ProvisioningErrorCode.NOT_UTF8])]}
    assert 'role="alert"' in response.content.decode()
    assert nothing_was_written_or_sent()


@pytest.mark.parametrize("role", ["anonymous", "customer"])
def test_outsiders_see_no_import_nor_its_report(role: str) -> None:
    provisioning_import = ProvisioningImport.objects.create(file_name="x.csv", uploaded_by=make_superuser())
    client = client_for(ROLES[role]())

    for suffix in ("change/", "report.csv"):
        response = client.get(f"/backoffice/identity/provisioningimport/{provisioning_import.pk}/{suffix}")
        assert response.status_code == 302
        assert response["Location"].startswith("/backoffice/login/")


def test_nobody_changes_or_deletes_an_import() -> None:
    provisioning_import = ProvisioningImport.objects.create(
        file_name="x.csv", status=ProvisioningImportStatus.DONE
    )
    client = client_for(make_superuser())

    response = client.post(f"/backoffice/identity/provisioningimport/{provisioning_import.pk}/delete/")

    assert response.status_code == 403
    assert ProvisioningImport.objects.count() == 1


# --- Agreements ---------------------------------------------------------------------------


def test_an_operator_publishes_an_agreement_version_and_sees_its_languages() -> None:
    client = client_for(make_superuser())

    response = client.post(
        "/backoffice/identity/useragreement/add/",
        {
            "version": "2",
            "language": "fr",
            "title": "Conditions v2",
            "text": "Article 1.",
            "published_at_0": "2026-01-01",
            "published_at_1": "00:00:00",
        },
    )
    listing = client.get("/backoffice/identity/useragreement/").content.decode()

    assert response.status_code == 302
    assert UserAgreement.objects.get().title == "Conditions v2"
    assert "fr (missing: nl, en, de)" in listing
    assert AuditEvent.objects.filter(action="identity.agreement_published").count() == 1


def test_an_accepted_version_can_no_longer_be_changed() -> None:
    agreement = agreement_publish()[0]
    agreement_accept(user=make_provisioned(), agreement=agreement)
    client = client_for(make_superuser())

    page = client.get(f"/backoffice/identity/useragreement/{agreement.pk}/change/")
    post = client.post(f"/backoffice/identity/useragreement/{agreement.pk}/change/", {"title": "Other"})

    assert page.status_code == 200
    assert 'name="title"' not in page.content.decode()  # read-only
    assert post.status_code == 403
    agreement.refresh_from_db()
    assert agreement.title.startswith("User agreement v1")


def test_advisors_read_agreements_and_acceptances_but_change_nothing() -> None:
    agreement = agreement_publish()[0]
    agreement_accept(user=make_provisioned(), agreement=agreement)
    client = client_for(make_advisor())

    answers = {
        url: client.get(url).status_code
        for url in (
            "/backoffice/identity/useragreement/",
            "/backoffice/identity/agreementacceptance/",
            "/backoffice/identity/useragreement/add/",
            "/backoffice/identity/agreementacceptance/add/",
        )
    }

    assert list(answers.values()) == [200, 200, 403, 403]
    acceptance = AgreementAcceptance.objects.get()
    listing = client.get("/backoffice/identity/agreementacceptance/").content.decode()
    assert "CC100001" in listing and str(acceptance.version) in listing


# --- Under the strict CSP --------------------------------------------------------------------


def test_the_new_pages_run_under_the_strict_csp() -> None:
    superuser = make_superuser()
    user = make_provisioned(user_id="CC100080")
    User.objects.filter(pk=user.pk).update(locked_at=timezone.now())
    consumer = make_consumer()
    provisioning_import = ProvisioningImport.objects.create(file_name="x.csv", uploaded_by=superuser)
    agreement_publish()
    client = client_for(superuser)
    urls = [
        PROVISION_URL,
        f"/backoffice/identity/user/{user.pk}/reissue/",
        f"/backoffice/identity/user/{user.pk}/unlock/",
        f"/backoffice/identity/user/{consumer.pk}/change/",
        IMPORT_URL,
        "/backoffice/identity/provisioningimport/",
        f"/backoffice/identity/provisioningimport/{provisioning_import.pk}/change/",
        "/backoffice/identity/useragreement/",
        "/backoffice/identity/agreementacceptance/",
    ]

    for url in urls:
        response = client.get(url)
        nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
        parser = InlineCode(nonce)
        parser.feed(response.content.decode())
        assert response.status_code == 200, url
        assert parser.blocked == [], url


def test_credentials_issue_is_still_refused_for_consumers_by_the_service() -> None:
    """The back office hides the button; the service refuses anyway (defence in depth)."""
    from guichet.identity.exceptions import IdentityError

    with pytest.raises(IdentityError):
        credentials_issue(user=make_consumer())
