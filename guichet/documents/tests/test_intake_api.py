"""The intake endpoint ``/api/v1/intake/documents/``: the permission matrix (no key, a customer's and
a staff session, a malformed, wrong or deactivated key, another issuer's client, the right client),
one UBL document, a multipart batch with PDFs and a manifest, the refusals (422), the size limit,
and the audit of each call without the key."""

import datetime
import json
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone, translation
from django_tasks_db.models import DBTaskResult

from guichet.audit.models import AuditEvent
from guichet.backoffice.tests.factories import make_superuser
from guichet.documents import testing_ubl
from guichet.documents.intake_auth import intake_client_create, intake_client_deactivate
from guichet.documents.models import Document, IntakeClient, IssuerIdentifier
from guichet.documents.testing import PDF, make_customer_number, make_issuer, make_recipient

pytestmark = pytest.mark.django_db

URL = "/api/v1/intake/documents/"
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
def world():
    dl2 = make_issuer(prefix="DL2", name="Aubépine Lease Services")
    dl5 = make_issuer(prefix="DL5", name="Other brand")
    IssuerIdentifier.objects.create(issuer=dl2, scheme="0208", value="0403170701")
    IssuerIdentifier.objects.create(issuer=dl5, scheme="0208", value="0202239951")
    make_customer_number(issuer=dl2, number="100001")
    make_customer_number(issuer=dl5, number="500001")
    client, key = intake_client_create(name="DL2 billing", issuers=[dl2])
    other, other_key = intake_client_create(name="DL5 billing", issuers=[dl5])
    return {"client": client, "key": key, "other": other, "other_key": other_key}


def xml(number: str = "F1", **options) -> bytes:
    return testing_ubl.invoice_xml(number=number, issue_date=ISSUED, **options)


def post_xml(client: Client, content: bytes, key: str | None = None, **headers):
    headers.setdefault("HTTP_ACCEPT_LANGUAGE", "en")
    if key is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    return client.post(URL, data=content, content_type="application/xml", **headers)


def nothing_written() -> bool:
    return not Document.objects.exists() and not DBTaskResult.objects.exists()


# --- Who may call ---------------------------------------------------------------------------------


def test_without_a_key_401_with_the_scheme(world) -> None:
    response = post_xml(Client(), xml())

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="intake"'
    assert nothing_written()


@pytest.mark.parametrize("who", ["customer", "staff"])
def test_a_session_is_refused_even_staff_and_even_with_a_key(world, who) -> None:
    user = make_recipient() if who == "customer" else make_superuser()
    browser = Client()
    browser.force_login(user)

    without_key = post_xml(browser, xml())
    with_key = post_xml(browser, xml(), world["key"])

    assert (without_key.status_code, with_key.status_code) == (403, 403)
    assert nothing_written()


@pytest.mark.parametrize(
    "key",
    ["gik_0000", "gik_00000000_" + "a" * 43, "not-a-key", "right-prefix-wrong-secret"],
    ids=["malformed", "unknown", "other scheme", "wrong secret"],
)
def test_a_bad_key_is_401(world, key) -> None:
    if key == "right-prefix-wrong-secret":
        key = world["client"].key_prefix + "_" + "b" * 43

    response = post_xml(Client(), xml(), key)

    assert response.status_code == 401
    assert nothing_written()


def test_a_deactivated_key_is_401(world) -> None:
    intake_client_deactivate(client=world["client"])

    response = post_xml(Client(), xml(), world["key"])

    assert response.status_code == 401
    assert nothing_written()


def test_another_issuers_client_is_refused_the_document(world) -> None:
    response = post_xml(Client(), xml(), world["other_key"])

    assert response.status_code == 422
    assert response.json() == {
        "imported": 0,
        "already": 0,
        "refused": 1,
        "items": [
            {
                "file": "document.xml",
                "outcome": "refused",
                "reason": "Not allowed for this client.",
                "document": None,
            }
        ],
    }
    assert nothing_written()


# --- One document, a batch ------------------------------------------------------------------------


def test_the_right_client_imports_one_document_and_the_call_is_audited(world) -> None:
    response = post_xml(
        Client(), xml(pdf=PDF), world["key"], HTTP_CONTENT_DISPOSITION='attachment; filename="F1.xml"'
    )

    document = Document.objects.get()
    assert response.status_code == 200
    assert response.json() == {
        "imported": 1,
        "already": 0,
        "refused": 0,
        "items": [{"file": "F1.xml", "outcome": "imported", "reason": "", "document": document.pk}],
    }
    assert (document.number, document.original_name, document.customer_number.number) == (
        "F1",
        "F1.xml",
        "100001",
    )
    call = AuditEvent.objects.get(action="documents.intake_call")
    assert (call.target_type, call.target_id, call.actor_id) == (
        "documents.intakeclient",
        str(world["client"].pk),
        None,
    )
    assert call.details == {"files": 1, "imported": 1, "already": 0, "refused": 0}
    imported = AuditEvent.objects.get(action="documents.imported")
    assert imported.details["client"] == "DL2 billing"
    assert all(world["key"] not in json.dumps(e.details) for e in AuditEvent.objects.all())
    assert IntakeClient.objects.get(pk=world["client"].pk).last_used_at is not None


def test_a_multipart_batch_with_pdfs_a_manifest_and_errors(world) -> None:
    manifest = (
        "issuer;customer_number;type;number;issue_date;due_date;currency;amount_excl_vat;vat;"
        "amount_incl_vat;amount_payable;pdf\n"
        f"DL2;100001;invoice;M-1;{ISSUED};;EUR;100.00;21.00;121.00;121.00;m1.pdf\n"
        f"DL2;100001;invoice;M-2;{ISSUED};;EUR;100.00;21.00;121.00;121.00;absent.pdf\n"
        f"DL5;500001;invoice;M-3;{ISSUED};;EUR;100.00;21.00;121.00;121.00;m1.pdf\n"
    )
    files = [
        SimpleUploadedFile("F1.xml", xml("F1"), "application/xml"),
        SimpleUploadedFile("F1.pdf", PDF, "application/pdf"),
        SimpleUploadedFile("F2.xml", b"<Invoice/>", "application/xml"),
        SimpleUploadedFile("m1.pdf", PDF, "application/pdf"),
        SimpleUploadedFile("batch.csv", manifest.encode(), "text/csv"),
        SimpleUploadedFile("notes.txt", b"hello", "text/plain"),
    ]

    response = Client().post(
        URL, {"files": files}, HTTP_AUTHORIZATION=f"Bearer {world['key']}", HTTP_ACCEPT_LANGUAGE="en"
    )

    body = response.json()
    ids = dict(Document.objects.values_list("number", "pk"))
    assert response.status_code == 422
    assert (body["imported"], body["already"], body["refused"]) == (2, 0, 4)
    assert [(i["file"], i["outcome"], i["document"]) for i in body["items"]] == [
        ("F1.xml", "imported", ids["F1"]),
        ("F2.xml", "refused", None),
        ("batch.csv:2", "imported", ids["M-1"]),
        ("batch.csv:3", "refused", None),
        ("batch.csv:4", "refused", None),
        ("notes.txt", "refused", None),
    ]
    reasons = [i["reason"] for i in body["items"]]
    assert reasons[1] == "The file is not a UBL 2.1 invoice or credit note: root element Invoice"
    assert reasons[3:] == [
        "pdf: absent.pdf is not among the files sent.",
        "Not allowed for this client.",
        "Not a UBL file (.xml), a PDF or a CSV manifest (.csv).",
    ]
    assert Document.objects.get(number="F1").pdf


def test_the_same_document_again_is_200_already_imported(world) -> None:
    post_xml(Client(), xml(), world["key"])

    response = post_xml(Client(), xml(), world["key"])

    assert response.status_code == 200
    assert response.json()["items"][0]["outcome"] == "already imported"
    assert Document.objects.count() == 1


def test_an_empty_body_is_400(world) -> None:
    response = post_xml(Client(), b"", world["key"])

    assert response.status_code == 400
    assert nothing_written()


def test_a_request_above_the_limit_is_413(world, settings) -> None:
    settings.GUICHET_INTAKE_MAX_REQUEST_BYTES = 1024

    response = post_xml(Client(), xml(), world["key"])

    assert response.status_code == 413
    assert nothing_written()


def test_csrf_does_not_apply_to_a_key(world) -> None:
    response = post_xml(Client(enforce_csrf_checks=True), xml(), world["key"])

    assert response.status_code == 200
