"""The back office for issue 7: print batches (list, audited download, create now), activation codes
(listed without the code, re-issued and shown once), customer numbers (first code on creation,
delivery history), intake clients (key shown once, deactivation) and the issuers' e-invoice
settings; each page for an advisor with and without the permission, staff outside the group, and a
customer."""

import datetime
import re

import pytest
from django.contrib.auth.models import Permission
from django.db.models import Q
from django.test import Client
from django.utils import timezone

from guichet.audit.models import AuditEvent
from guichet.backoffice.permissions import ADVISOR_PERMISSIONS, DOCUMENTS_ISSUE_7_PERMISSIONS
from guichet.backoffice.services import advisor_group
from guichet.backoffice.tests.factories import make_advisor, make_customer, make_superuser
from guichet.backoffice.tests.test_site import InlineCode
from guichet.documents.models import (
    ActivationCode,
    Customer,
    CustomerNumber,
    DeliveryChannelChange,
    IntakeClient,
    Issuer,
    IssuerIdentifier,
    PrintBatch,
)
from guichet.documents.printing import print_batch_create
from guichet.documents.testing import make_customer_number, make_document, make_issuer
from guichet.identity.models import AccountKind, User

pytestmark = pytest.mark.django_db

BO = "/backoffice/documents"
CODE_HASH = "9" * 64
CODE_ENCRYPTED = "gAAAAABencryptedcodethatmustnevershow"


def permissions(names) -> list[Permission]:
    query = Q()
    for name in names:
        app_label, codename = name.split(".")
        query |= Q(content_type__app_label=app_label, codename=codename)
    return list(Permission.objects.filter(query))


def grant_issue_7() -> None:
    """What the issue's data migration grants the advisor group (idempotent)."""
    advisor_group().permissions.add(*permissions(DOCUMENTS_ISSUE_7_PERMISSIONS))


def make_clerk(*, user_id: str = "clerk") -> User:
    """Staff, but outside the advisor group: no permission at all."""
    return User.objects.create_user(user_id, f"{user_id}@bank.example", kind=AccountKind.STAFF, is_staff=True)


def make_limited_advisor(*, without: set[str], user_id: str = "advisor9") -> User:
    """Staff with every advisor permission but ``without``."""
    user = User.objects.create_user(user_id, f"{user_id}@bank.example", kind=AccountKind.STAFF, is_staff=True)
    user.user_permissions.set(permissions(set(ADVISOR_PERMISSIONS) - without))
    return user


def client_for(user: User | None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def advisor() -> User:
    grant_issue_7()
    return make_advisor()


def no_inline_code(response) -> bool:
    parser = InlineCode(response.wsgi_request.csp_nonce)
    parser.feed(response.content.decode())
    return parser.blocked == []


# --- Print batches ---------------------------------------------------------------------------


@pytest.fixture
def batch() -> PrintBatch:
    make_document(make_customer_number(number="123456"))
    return print_batch_create()


def test_an_advisor_lists_and_downloads_a_batch_audited(advisor, batch: PrintBatch) -> None:
    client = client_for(advisor)

    page = client.get(f"{BO}/printbatch/")
    response = client.get(f"{BO}/printbatch/{batch.pk}/download/")

    assert page.status_code == 200
    assert f"{BO}/printbatch/{batch.pk}/download/" in page.content.decode()
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == f'attachment; filename="print-{batch.day.isoformat()}.zip"'
    with batch.file.open("rb") as stored:
        assert b"".join(response.streaming_content) == stored.read()
    batch.refresh_from_db()
    assert batch.downloaded_at is not None
    event = AuditEvent.objects.get(action="documents.print_batch_downloaded")
    assert (event.actor_id, event.target_id) == (advisor.pk, str(batch.pk))


def test_an_advisor_creates_todays_batch_now(advisor) -> None:
    make_document(make_customer_number(number="123456"))
    client = client_for(advisor)

    assert "Create today&#x27;s batch now" in client.get(f"{BO}/printbatch/").content.decode()
    response = client.post(f"{BO}/printbatch/create/", follow=True)

    created = PrintBatch.objects.get()
    assert (created.day, created.count) == (timezone.localdate(), 1)
    assert "A print batch of 1 document was created." in response.content.decode()
    assert AuditEvent.objects.get(action="documents.print_batch_created").actor_id == advisor.pk
    again = client.post(f"{BO}/printbatch/create/", follow=True)
    assert "No document to print: no batch was created." in again.content.decode()
    assert PrintBatch.objects.count() == 1


def test_print_batch_rights(batch: PrintBatch) -> None:
    grant_issue_7()
    cannot_see = make_limited_advisor(without={"documents.view_printbatch"}, user_id="noview")
    cannot_create = make_limited_advisor(without={"documents.add_printbatch"}, user_id="nocreate")
    make_document(make_customer_number(number="654321"))
    download = f"{BO}/printbatch/{batch.pk}/download/"

    assert client_for(make_superuser()).get(download).status_code == 200
    for user in (cannot_see, make_clerk()):
        client = client_for(user)
        assert [client.get(f"{BO}/printbatch/").status_code, client.get(download).status_code] == [403, 403]
    assert client_for(make_clerk(user_id="clerk2")).post(f"{BO}/printbatch/create/").status_code == 403
    limited = client_for(cannot_create)
    assert "batch now" not in limited.get(f"{BO}/printbatch/").content.decode()
    assert limited.post(f"{BO}/printbatch/create/").status_code == 403
    for response in (client_for(make_customer()).get(download), client_for(None).get(download)):
        assert response.status_code == 302 and "/login/" in response["Location"]
    assert PrintBatch.objects.count() == 1
    assert (
        AuditEvent.objects.filter(action="documents.print_batch_downloaded", actor__isnull=False).count() == 1
    )
    batch.refresh_from_db()


def test_nobody_adds_changes_or_deletes_a_batch_by_hand(advisor, batch: PrintBatch) -> None:
    client = client_for(make_superuser())

    assert client.get(f"{BO}/printbatch/add/").status_code == 403
    assert client.post(f"{BO}/printbatch/{batch.pk}/delete/").status_code == 403
    assert PrintBatch.objects.count() == 1


def test_an_unknown_batch_answers_404() -> None:
    grant_issue_7()
    response = client_for(make_advisor()).get(
        f"{BO}/printbatch/00000000-0000-0000-0000-000000000000/download/"
    )

    assert response.status_code == 404


# --- Activation codes ------------------------------------------------------------------------


def make_code(number: CustomerNumber, **fields) -> ActivationCode:
    now = timezone.now()
    return ActivationCode.objects.create(
        customer_number=number,
        code_hash=fields.pop("code_hash", CODE_HASH),
        code_encrypted=CODE_ENCRYPTED,
        expires_at=now + datetime.timedelta(weeks=15),
        **fields,
    )


def test_activation_codes_are_listed_per_customer_number_never_the_code(advisor) -> None:
    number = make_customer_number(number="123456")
    other = make_customer_number(number="654321")
    make_code(number, exported_at=timezone.now())
    make_code(other, code_hash="8" * 64)

    response = client_for(advisor).get(f"{BO}/activationcode/?customer_number__id__exact={number.pk}")

    page = response.content.decode()
    assert response.status_code == 200
    assert [c.customer_number.code for c in response.context["cl"].result_list] == ["DL2 123456"]
    assert CODE_HASH not in page and CODE_ENCRYPTED not in page
    assert "valid" in page


@pytest.mark.parametrize(
    ("state", "expected"),
    [("valid", ["100001"]), ("used", ["100002"]), ("expired", ["100003"]), ("revoked", ["100004"])],
)
def test_activation_codes_are_filtered_by_state(advisor, state: str, expected: list[str]) -> None:
    now = timezone.now()
    anna = make_customer()
    make_code(make_customer_number(number="100001"), code_hash="1" * 64)
    make_code(make_customer_number(number="100002"), code_hash="2" * 64, used_at=now, used_by=anna)
    expired = make_code(make_customer_number(number="100003"), code_hash="3" * 64)
    ActivationCode.objects.filter(pk=expired.pk).update(expires_at=now - datetime.timedelta(days=1))
    make_code(make_customer_number(number="100004"), code_hash="4" * 64, revoked_at=now)

    response = client_for(advisor).get(f"{BO}/activationcode/?state={state}")

    assert [c.customer_number.number for c in response.context["cl"].result_list] == expected


def test_the_advisor_reissues_a_code_and_sees_it_once(advisor) -> None:
    number = make_customer_number(number="123456")
    client = client_for(advisor)
    url = f"{BO}/customernumber/{number.pk}/activation-code/"

    confirm = client.get(url)
    done = client.post(url)

    assert confirm.status_code == 200 and "Issue a new activation code" in confirm.content.decode()
    assert done.status_code == 200 and "no-store" in done["Cache-Control"]
    code = ActivationCode.objects.get(customer_number=number)
    shown = re.search(r'<strong id="activation-code">([^<]+)</strong>', done.content.decode())[1]
    assert (
        shown.strip() and shown not in client.get(f"{BO}/customernumber/{number.pk}/change/").content.decode()
    )
    assert code.customer_number == number
    assert all(shown not in str(e.details) for e in AuditEvent.objects.all())


def test_reissuing_takes_the_permission(advisor) -> None:
    number = make_customer_number(number="123456")
    url = f"{BO}/customernumber/{number.pk}/activation-code/"
    without = make_limited_advisor(without={"documents.add_activationcode"})

    assert url not in client_for(without).get(f"{BO}/customernumber/{number.pk}/change/").content.decode()
    assert url in client_for(advisor).get(f"{BO}/customernumber/{number.pk}/change/").content.decode()
    for user in (without, make_clerk()):
        assert [client_for(user).get(url).status_code, client_for(user).post(url).status_code] == [403, 403]
    response = client_for(make_customer()).post(url)
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert not ActivationCode.objects.exists()


def test_activation_code_pages_rights(advisor) -> None:
    without = make_limited_advisor(without={"documents.view_activationcode"})
    url = f"{BO}/activationcode/"

    assert client_for(advisor).get(url).status_code == 200
    assert client_for(without).get(url).status_code == 403
    assert client_for(make_clerk()).get(url).status_code == 403
    assert client_for(make_superuser()).get(f"{BO}/activationcode/add/").status_code == 403


# --- Customer numbers ------------------------------------------------------------------------


def test_a_new_customer_number_gets_its_first_activation_code(advisor) -> None:
    issuer, customer = make_issuer(), Customer.objects.create(name="Tilleul SRL")
    data = {
        "issuer": str(issuer.pk),
        "number": "654321",
        "customer": str(customer.pk),
        "contact_name": "Jonas Claes",
        "contact_email": "jonas.claes@example.com",
        "contact_language": "nl",
    }

    response = client_for(advisor).post(f"{BO}/customernumber/add/", data, follow=True)

    number = CustomerNumber.objects.get()
    assert response.status_code == 200
    assert ActivationCode.objects.filter(customer_number=number).count() == 1
    assert "An activation code was issued for DL2 654321" in response.content.decode()


def test_the_customer_numbers_page_shows_its_delivery_history_read_only(advisor) -> None:
    anna = make_customer()
    number = make_customer_number(number="123456")
    DeliveryChannelChange.objects.create(
        customer_number=number, electronic=True, reason="activation_code", author=anna
    )
    DeliveryChannelChange.objects.create(
        customer_number=number, electronic=False, reason="opt_out", author=anna
    )
    make_code(number, used_at=timezone.now(), used_by=anna)

    response = client_for(advisor).get(f"{BO}/customernumber/{number.pk}/change/")

    page = response.content.decode()
    assert "Activation code used" in page and "Opt-out by the customer" in page
    assert "electronic delivery" in page.lower()
    assert "electronic_delivery" not in response.context["adminform"].form.fields
    assert CODE_HASH not in page and CODE_ENCRYPTED not in page
    assert f"by {anna.user_id}, revoked" in page


# --- Intake clients --------------------------------------------------------------------------


def test_an_operator_creates_an_intake_client_and_sees_its_key_once() -> None:
    pytest.importorskip("guichet.documents.intake_auth", reason="intake_auth.py is another helper's")
    operator = make_superuser()
    issuer = make_issuer()
    client = client_for(operator)

    form = client.get(f"{BO}/intakeclient/add/")
    response = client.post(f"{BO}/intakeclient/add/", {"name": "Leasing billing", "issuers": [issuer.pk]})

    assert form.status_code == 200 and no_inline_code(form)
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    created = IntakeClient.objects.get()
    key = re.search(r'<code id="intake-key">([^<]+)</code>', response.content.decode())[1]
    assert key.startswith(created.key_prefix) and created.key_hash not in key
    assert list(created.issuers.all()) == [issuer]
    listing = client.get(f"{BO}/intakeclient/").content.decode()
    assert key not in listing and created.key_hash not in listing
    assert all(key not in str(e.details) for e in AuditEvent.objects.all())


def test_an_intake_client_without_issuer_is_refused() -> None:
    response = client_for(make_superuser()).post(f"{BO}/intakeclient/add/", {"name": "X"})

    assert response.status_code == 200 and "There is a problem" in response.content.decode()
    assert not IntakeClient.objects.exists()


def test_an_operator_deactivates_an_intake_client() -> None:
    intake_auth = pytest.importorskip("guichet.documents.intake_auth", reason="another helper's module")
    intake_client_create = intake_auth.intake_client_create

    client_row, _key = intake_client_create(name="Leasing billing", issuers=[make_issuer()])

    response = client_for(make_superuser()).post(
        f"{BO}/intakeclient/", {"action": "deactivate", "_selected_action": [client_row.pk]}, follow=True
    )

    client_row.refresh_from_db()
    assert client_row.is_active is False
    assert "1 intake client deactivated" in response.content.decode()


def test_advisors_do_not_manage_intake_clients(advisor) -> None:
    clerk = make_clerk()
    for url in (f"{BO}/intakeclient/", f"{BO}/intakeclient/add/"):
        assert client_for(advisor).get(url).status_code == 403
        assert client_for(clerk).get(url).status_code == 403
    assert client_for(advisor).post(f"{BO}/intakeclient/add/", {"name": "X"}).status_code == 403
    assert not IntakeClient.objects.exists()


# --- Issuers ----------------------------------------------------------------------------------


def issuer_form(issuer: Issuer, **overrides) -> dict[str, str]:
    data = {
        "name": issuer.name,
        "prefix": issuer.prefix,
        "customer_number_source": "buyer_party_id",
        "customer_number_pattern": r"^DL2-(\d+)$",
        "identifiers-TOTAL_FORMS": "1",
        "identifiers-INITIAL_FORMS": "0",
        "identifiers-MIN_NUM_FORMS": "0",
        "identifiers-MAX_NUM_FORMS": "1000",
        "identifiers-0-scheme": "0208",
        "identifiers-0-value": " 0403170701 ",
    }
    data.update(overrides)
    return data


def test_an_advisor_sets_the_customer_number_rule_and_the_seller_identifiers_audited(advisor) -> None:
    issuer = make_issuer()

    response = client_for(advisor).post(f"{BO}/issuer/{issuer.pk}/change/", issuer_form(issuer))

    assert response.status_code == 302
    issuer.refresh_from_db()
    assert (issuer.customer_number_source, issuer.customer_number_pattern) == (
        "buyer_party_id",
        r"^DL2-(\d+)$",
    )
    assert list(IssuerIdentifier.objects.values_list("issuer", "scheme", "value")) == [
        (issuer.pk, "0208", "0403170701")
    ]
    assert AuditEvent.objects.get(action="documents.issuer_changed").details == {
        "fields": ["customer_number_pattern", "customer_number_source"]
    }
    assert AuditEvent.objects.get(action="documents.issuer_identifiers_changed").details == {
        "added": ["0208:0403170701"],
        "changed": [],
        "deleted": [],
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"customer_number_pattern": "^DL2-(\\d+$"}, "Enter a valid regular expression"),
        ({"identifiers-0-scheme": "ABC"}, "Enter a Peppol scheme of 4 digits, or VAT, or LEGAL."),
    ],
)
def test_a_wrong_rule_or_identifier_is_refused_and_nothing_written(advisor, overrides, message) -> None:
    issuer = make_issuer()

    response = client_for(advisor).post(f"{BO}/issuer/{issuer.pk}/change/", issuer_form(issuer, **overrides))

    assert response.status_code == 200 and message in response.content.decode()
    issuer.refresh_from_db()
    assert issuer.customer_number_pattern == "" and not IssuerIdentifier.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="documents.issuer").exists()


def test_staff_without_the_identifier_permissions_do_not_see_the_inline() -> None:
    issuer = make_issuer()
    without = make_limited_advisor(without=set(DOCUMENTS_ISSUE_7_PERMISSIONS))

    response = client_for(without).get(f"{BO}/issuer/{issuer.pk}/change/")

    assert response.status_code == 200 and "identifiers-TOTAL_FORMS" not in response.content.decode()


# --- Pages under the CSP, and the group's permissions ---------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"{BO}/printbatch/",
        f"{BO}/activationcode/",
        f"{BO}/customernumber/",
        f"{BO}/issuer/add/",
        f"{BO}/customernumber/merge-accounts/",
    ],
)
def test_the_pages_run_under_the_strict_csp(advisor, url: str) -> None:
    response = client_for(advisor).get(url)

    assert response.status_code == 200 and no_inline_code(response)


def test_the_number_and_reissue_pages_run_under_the_strict_csp(advisor) -> None:
    number = make_customer_number(number="123456")
    client = client_for(advisor)

    for response in (
        client.get(f"{BO}/customernumber/{number.pk}/change/"),
        client.get(f"{BO}/customernumber/{number.pk}/activation-code/"),
        client.post(f"{BO}/customernumber/{number.pk}/activation-code/"),
    ):
        assert response.status_code == 200 and no_inline_code(response)


def test_advisors_get_the_issue_7_permissions_but_not_the_intake_clients() -> None:
    assert set(DOCUMENTS_ISSUE_7_PERMISSIONS) <= set(ADVISOR_PERMISSIONS)
    assert not {p for p in ADVISOR_PERMISSIONS if p.endswith("_intakeclient")}
