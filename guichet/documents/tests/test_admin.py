"""The document portal in the back office: issuers, customers and customer numbers (advisors add and
change them), documents and invitations read-only, audited downloads; who may do what."""

import datetime
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone

from guichet.audit.models import AuditEvent
from guichet.backoffice.tests.factories import make_advisor, make_customer, make_superuser
from guichet.backoffice.tests.test_site import InlineCode
from guichet.documents.models import Customer, CustomerNumber, Document, DocumentKind, Invitation, Issuer
from guichet.documents.testing import (
    PDF,
    make_customer_number,
    make_document,
    make_issuer,
    make_recipient,
    make_shared_user,
)
from guichet.identity.models import AccountKind, User

pytestmark = pytest.mark.django_db

BO = "/backoffice/documents"


def client_for(user: User | None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_login(user)
    return client


def make_clerk() -> User:
    """Staff, but outside the advisor group: no permission at all."""
    return User.objects.create_user("clerk", "clerk@bank.example", kind=AccountKind.STAFF, is_staff=True)


HASH = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"


def make_invitation(number: CustomerNumber, token_hash: str = HASH) -> Invitation:
    now = timezone.now()
    return Invitation.objects.create(
        email=number.contact_email,
        language=number.contact_language,
        customer_number=number,
        token_hash=token_hash,
        created_at=now,
        expires_at=now + timedelta(days=30),
    )


@pytest.fixture
def document() -> Document:
    return make_document(make_customer_number(number="123456"), number="F2026-000001")


def document_state() -> list[tuple]:
    return list(
        Document.objects.order_by("pk").values_list("number", "kind", "amount_incl_vat", "issue_date")
    )


def issuer_data(*, name: str, prefix: str) -> dict[str, str]:
    """The issuer form as posted: its fields, the e-invoice rule left as it is, no seller identifier."""
    return {
        "name": name,
        "prefix": prefix,
        "customer_number_source": "buyer_reference",
        "customer_number_pattern": "",
        "identifiers-TOTAL_FORMS": "0",
        "identifiers-INITIAL_FORMS": "0",
        "identifiers-MIN_NUM_FORMS": "0",
        "identifiers-MAX_NUM_FORMS": "1000",
    }


# --- Who may use the pages --------------------------------------------------------------------


PAGES = [
    f"{BO}/issuer/",
    f"{BO}/issuer/add/",
    f"{BO}/customer/",
    f"{BO}/customer/add/",
    f"{BO}/customernumber/",
    f"{BO}/customernumber/add/",
    f"{BO}/document/",
    f"{BO}/invitation/",
]


@pytest.mark.parametrize("url", PAGES)
def test_advisors_and_operators_open_the_pages_others_do_not(url: str, document: Document) -> None:
    anonymous, customer, clerk = client_for(None), client_for(make_customer()), client_for(make_clerk())

    assert client_for(make_advisor()).get(url).status_code == 200
    assert client_for(make_superuser()).get(url).status_code == 200
    assert anonymous.get(url).status_code == 302
    assert customer.get(url).status_code == 302
    assert clerk.get(url).status_code == 403


def test_a_document_recipient_never_reaches_the_back_office(document: Document) -> None:
    anna = make_recipient()
    CustomerNumber.objects.filter(pk=document.customer_number_id).update(account=anna)
    client = client_for(anna)

    for url in (
        f"{BO}/document/",
        f"{BO}/document/{document.pk}/change/",
        f"{BO}/document/{document.pk}/pdf/",
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]
    assert not AuditEvent.objects.filter(action="documents.document_downloaded").exists()


def test_staff_outside_the_advisor_group_write_nothing_and_download_nothing(document: Document) -> None:
    client = client_for(make_clerk())
    issuer = document.issuer

    responses = [
        client.post(f"{BO}/issuer/add/", issuer_data(name="Aubépine Lease Belgium", prefix="DL5")),
        client.post(f"{BO}/customer/add/", {"name": "Tilleul SRL", "company_number": ""}),
        client.post(f"{BO}/issuer/{issuer.pk}/change/", issuer_data(name="Renamed", prefix=issuer.prefix)),
        client.get(f"{BO}/document/{document.pk}/pdf/"),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403, 403]
    assert list(Issuer.objects.values_list("name", flat=True)) == ["Aubépine Lease Services"]
    assert Customer.objects.count() == 1
    assert not AuditEvent.objects.filter(action__startswith="documents.").exists()


def test_the_dashboard_shows_the_documents_to_advisors(document: Document) -> None:
    page = client_for(make_advisor()).get("/backoffice/").content.decode()

    for name in ("Issuers", "Customers", "Customer numbers", "Documents", "Invitations"):
        assert name in page


@pytest.mark.parametrize(
    "url",
    [f"{BO}/document/", f"{BO}/customernumber/", f"{BO}/invitation/", f"{BO}/customer/add/"],
)
def test_the_pages_run_under_the_strict_csp(url: str, document: Document) -> None:
    make_invitation(document.customer_number)

    response = client_for(make_advisor()).get(url)

    parser = InlineCode(response.wsgi_request.csp_nonce)
    parser.feed(response.content.decode())
    assert parser.blocked == []


# --- Issuers and customers --------------------------------------------------------------------


def test_an_advisor_adds_an_issuer_with_a_normalised_prefix_audited() -> None:
    advisor = make_advisor()

    response = client_for(advisor).post(
        f"{BO}/issuer/add/", issuer_data(name="Aubépine Lease Belgium", prefix="dl5")
    )

    assert response.status_code == 302
    issuer = Issuer.objects.get()
    assert (issuer.name, issuer.prefix) == ("Aubépine Lease Belgium", "DL5")
    event = AuditEvent.objects.get(action="documents.issuer_created")
    assert (event.actor_id, event.target_id, event.details) == (
        advisor.pk,
        str(issuer.pk),
        {"fields": ["name", "prefix"]},
    )


@pytest.mark.parametrize("prefix", ["D", "DL 2!", "2DL", "DL2345678"])
def test_a_wrong_prefix_is_refused_and_nothing_written(prefix: str) -> None:
    response = client_for(make_advisor()).post(f"{BO}/issuer/add/", issuer_data(name="X", prefix=prefix))

    assert response.status_code == 200
    assert "<title>Error: Add issuer" in response.content.decode()
    assert (
        not Issuer.objects.exists()
        and not AuditEvent.objects.filter(action__startswith="documents.").exists()
    )


def test_an_issuer_prefix_is_fixed_once_it_has_customer_numbers(document: Document) -> None:
    issuer = document.issuer
    client = client_for(make_advisor())

    response = client.post(
        f"{BO}/issuer/{issuer.pk}/change/", issuer_data(name="Aubépine Lease", prefix="ZZ9")
    )

    assert response.status_code == 302
    issuer.refresh_from_db()
    assert (issuer.name, issuer.prefix) == ("Aubépine Lease", "DL2")
    assert AuditEvent.objects.get(action="documents.issuer_changed").details == {"fields": ["name"]}


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("BE 0403.170.701", "0403170701"),
        ("0403 170 701", "0403170701"),
        ("FR 732 829 320", "FR732829320"),
        ("HRB 12345", "HRB12345"),
        ("", ""),
    ],
)
def test_a_customers_company_number_is_checked_when_belgian_and_kept_otherwise(
    typed: str, stored: str
) -> None:
    response = client_for(make_advisor()).post(
        f"{BO}/customer/add/", {"name": "Tilleul SRL", "company_number": typed}
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Customer.objects.get().company_number == stored
    assert AuditEvent.objects.filter(action="documents.customer_created").count() == 1


@pytest.mark.parametrize("typed", ["BE 0403.170.702", "0403170702", "BE12"])
def test_a_wrong_belgian_company_number_is_refused_and_nothing_written(typed: str) -> None:
    response = client_for(make_advisor()).post(
        f"{BO}/customer/add/", {"name": "Tilleul SRL", "company_number": typed}
    )

    assert response.status_code == 200
    assert "Enter a valid Belgian enterprise number" in response.content.decode()
    assert (
        not Customer.objects.exists()
        and not AuditEvent.objects.filter(action__startswith="documents.").exists()
    )


def test_a_customer_is_found_by_its_company_number_as_printed() -> None:
    Customer.objects.create(name="Tilleul SRL", company_number="0403170701")
    Customer.objects.create(name="Autre SA", company_number="0417497106")

    response = client_for(make_advisor()).get(f"{BO}/customer/", {"q": "BE 0403.170.701"})

    assert [c.name for c in response.context["cl"].result_list] == ["Tilleul SRL"]


# --- Customer numbers -------------------------------------------------------------------------


def customer_number_form(issuer: Issuer, customer: Customer, **overrides: str) -> dict[str, str]:
    data = {
        "issuer": str(issuer.pk),
        "number": " 654 321 ",
        "customer": str(customer.pk),
        "contact_name": "Jonas Claes",
        "contact_email": "Jonas.Claes@Example.com",
        "contact_language": "nl",
    }
    data.update(overrides)
    return data


def test_an_advisor_adds_a_customer_number_with_its_primary_contact_audited() -> None:
    issuer, customer = make_issuer(), Customer.objects.create(name="Tilleul SRL")
    advisor = make_advisor()

    response = client_for(advisor).post(f"{BO}/customernumber/add/", customer_number_form(issuer, customer))

    assert response.status_code == 302
    number = CustomerNumber.objects.get()
    assert (number.code, number.contact_email, number.contact_language, number.account) == (
        "DL2 654321",
        "jonas.claes@example.com",
        "nl",
        None,
    )
    event = AuditEvent.objects.get(action="documents.customernumber_created")
    assert event.actor_id == advisor.pk and "contact_email" in event.details["fields"]


def test_the_same_customer_number_twice_is_refused_and_nothing_written() -> None:
    number = make_customer_number(number="654321")

    response = client_for(make_advisor()).post(
        f"{BO}/customernumber/add/", customer_number_form(number.issuer, number.customer)
    )

    assert response.status_code == 200
    assert (
        CustomerNumber.objects.count() == 1
        and not AuditEvent.objects.filter(action__startswith="documents.").exists()
    )


def test_the_account_and_the_code_are_read_only_on_a_customer_number() -> None:
    anna = make_recipient()
    number = make_customer_number(number="123456", account=anna)
    other = make_issuer(prefix="DL5", name="Aubépine Lease Belgium")
    client = client_for(make_advisor())
    page = client.get(f"{BO}/customernumber/{number.pk}/change/")
    assert set(page.context["adminform"].form.fields) == {
        "customer",
        "contact_name",
        "contact_email",
        "contact_language",
    }
    assert anna.user_id in page.content.decode()

    data = customer_number_form(other, number.customer, number="999", contact_email=anna.email)
    data["account"] = str(make_customer().pk)
    response = client.post(f"{BO}/customernumber/{number.pk}/change/", data)

    assert response.status_code == 302
    number.refresh_from_db()
    assert (number.code, number.account, number.contact_name) == ("DL2 123456", anna, "Jonas Claes")


def test_another_e_mail_for_the_primary_contact_detaches_the_account_audited() -> None:
    anna = make_recipient()
    number = make_customer_number(number="123456", account=anna)
    make_shared_user(anna, user=make_recipient(email="kim@example.com"), shares=[number])
    client = client_for(make_advisor())

    response = client.post(
        f"{BO}/customernumber/{number.pk}/change/",
        customer_number_form(number.issuer, number.customer, contact_email="jonas@example.com"),
        follow=True,
    )

    number.refresh_from_db()
    assert number.account is None
    assert "no longer sees it" in response.content.decode()
    event = AuditEvent.objects.get(action="documents.customernumber_changed")
    assert event.details["account_detached"] == anna.pk
    assert "contact_email" in event.details["fields"]


def test_correcting_the_contact_name_keeps_the_account() -> None:
    anna = make_recipient()
    number = make_customer_number(number="123456", account=anna)

    client_for(make_advisor()).post(
        f"{BO}/customernumber/{number.pk}/change/",
        customer_number_form(number.issuer, number.customer, contact_email=anna.email.upper()),
    )

    number.refresh_from_db()
    assert (number.account, number.contact_name) == (anna, "Jonas Claes")
    assert "account_detached" not in AuditEvent.objects.get(action="documents.customernumber_changed").details


@pytest.mark.parametrize("typed", ["DL2 123456", "dl2123456", "DL2-123456", "123456"])
def test_a_customer_number_is_found_by_its_code(typed: str) -> None:
    make_customer_number(number="123456")
    make_customer_number(number="777777")

    response = client_for(make_advisor()).get(f"{BO}/customernumber/", {"q": typed})

    assert [n.code for n in response.context["cl"].result_list] == ["DL2 123456"]


def test_nobody_deletes_issuers_customers_or_customer_numbers(document: Document) -> None:
    number = document.customer_number
    client = client_for(make_superuser())

    responses = [
        client.post(f"{BO}/issuer/{number.issuer_id}/delete/", {"post": "yes"}),
        client.post(f"{BO}/customer/{number.customer_id}/delete/", {"post": "yes"}),
        client.post(f"{BO}/customernumber/{number.pk}/delete/", {"post": "yes"}),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403]
    assert CustomerNumber.objects.count() == 1


# --- Documents, read-only ---------------------------------------------------------------------


def test_nobody_adds_changes_or_deletes_a_document(document: Document) -> None:
    before = document_state()

    for client in (client_for(make_advisor()), client_for(make_superuser())):
        page = client.get(f"{BO}/document/{document.pk}/change/")
        assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
        change = client.post(
            f"{BO}/document/{document.pk}/change/",
            {"number": "X", "amount_incl_vat": "1.00", "kind": "invoice"},
        )
        assert change.status_code == 403
        assert client.post(f"{BO}/document/{document.pk}/delete/", {"post": "yes"}).status_code == 403
        assert client.get(f"{BO}/document/add/").status_code == 403

    assert document_state() == before
    assert not AuditEvent.objects.filter(action__startswith="documents.").exists()


def test_the_pdf_download_is_audited(document: Document) -> None:
    advisor = make_advisor()

    response = client_for(advisor).get(f"{BO}/document/{document.pk}/pdf/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert 'filename="F2026-000001.pdf"' in response["Content-Disposition"]
    assert response.content == PDF
    event = AuditEvent.objects.get(action="documents.document_downloaded")
    assert (event.actor_id, event.target_id, event.details) == (
        advisor.pk,
        str(document.pk),
        {"file": "pdf", "backoffice": True, "customer_number": document.customer_number_id},
    )


def test_a_document_without_a_pdf_is_rendered_for_the_back_office_too() -> None:
    document = make_document(make_customer_number(), with_pdf=False)

    response = client_for(make_advisor()).get(f"{BO}/document/{document.pk}/pdf/")

    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert AuditEvent.objects.filter(action="documents.document_downloaded").count() == 1


def test_the_original_download_is_audited_and_a_missing_one_answers_404(document: Document) -> None:
    client = client_for(make_advisor())
    assert client.get(f"{BO}/document/{document.pk}/original/").status_code == 404
    assert not AuditEvent.objects.filter(action__startswith="documents.").exists()
    document.original_name = "F2026-000001.xml"
    document.original.save("F2026-000001.xml", ContentFile(b"<Invoice/>"), save=True)

    response = client.get(f"{BO}/document/{document.pk}/original/")

    assert response.status_code == 200 and response.content == b"<Invoice/>"
    assert 'filename="F2026-000001.xml"' in response["Content-Disposition"]
    assert AuditEvent.objects.get(action="documents.document_downloaded").details["file"] == "original"


def test_an_unknown_document_answers_404_and_records_nothing() -> None:
    response = client_for(make_advisor()).get(f"{BO}/document/999999/pdf/")

    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action__startswith="documents.").exists()


@pytest.fixture
def two_issuers_documents() -> dict[str, Document]:
    dl2 = make_customer_number(number="123456")
    dl5 = make_customer_number(
        issuer=make_issuer(prefix="DL5", name="Aubépine Lease Belgium"), number="123456"
    )
    return {
        "invoice": make_document(dl2, number="F2026-000001", issue_date=datetime.date(2026, 3, 1)),
        "credit": make_document(
            dl2, number="CN2026-000001", kind=DocumentKind.CREDIT_NOTE, issue_date=datetime.date(2025, 3, 1)
        ),
        "dl5": make_document(dl5, number="F2026-000002", issue_date=datetime.date(2026, 3, 2)),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "F2026-000001"}, ["invoice"]),
        ({"q": "f2026-000001"}, ["invoice"]),
        ({"q": "DL2 123456"}, ["credit", "invoice"]),
        ({"q": "dl5123456"}, ["dl5"]),
        ({"q": "123456"}, ["credit", "dl5", "invoice"]),
        ({"q": "nothing"}, []),
        ({"kind__exact": "credit_note"}, ["credit"]),
        ({"issue_date__gte": "2026-01-01", "issue_date__lt": "2027-01-01"}, ["dl5", "invoice"]),
    ],
)
def test_documents_are_searched_and_filtered(
    two_issuers_documents: dict, query: dict, expected: list
) -> None:
    response = client_for(make_advisor()).get(f"{BO}/document/", query)

    found = {d.pk for d in response.context["cl"].result_list}
    assert sorted(name for name, d in two_issuers_documents.items() if d.pk in found) == expected


def test_documents_are_filtered_by_issuer(two_issuers_documents: dict) -> None:
    dl5 = Issuer.objects.get(prefix="DL5")

    response = client_for(make_advisor()).get(f"{BO}/document/", {"issuer__id__exact": dl5.pk})

    assert [d.number for d in response.context["cl"].result_list] == ["F2026-000002"]


def test_a_customer_numbers_page_links_to_its_documents(two_issuers_documents: dict) -> None:
    number = two_issuers_documents["invoice"].customer_number
    client = client_for(make_advisor())
    page = client.get(f"{BO}/customernumber/{number.pk}/change/").content.decode()
    assert f"?customer_number__id__exact={number.pk}" in page and "2 documents" in page

    response = client.get(f"{BO}/document/", {"customer_number__id__exact": number.pk})

    assert sorted(d.number for d in response.context["cl"].result_list) == ["CN2026-000001", "F2026-000001"]


# --- Invitations, read-only and without tokens ------------------------------------------------


def test_invitations_are_listed_without_their_hash_and_cannot_be_changed(document: Document) -> None:
    invitation = make_invitation(document.customer_number)
    client = client_for(make_superuser())

    listing = client.get(f"{BO}/invitation/").content.decode()
    page = client.get(f"{BO}/invitation/{invitation.pk}/change/").content.decode()

    assert "anna.schmidt@example.com" in listing and "primary contact of DL2 123456" in listing
    assert "waiting" in page
    assert HASH not in listing + page and "token_hash" not in page
    assert (
        client.post(f"{BO}/invitation/{invitation.pk}/change/", {"email": "x@example.com"}).status_code == 403
    )
    assert client.post(f"{BO}/invitation/{invitation.pk}/delete/", {"post": "yes"}).status_code == 403
    invitation.refresh_from_db()
    assert invitation.email == "anna.schmidt@example.com"


@pytest.mark.parametrize(
    ("state", "expected"), [("waiting", ["fresh"]), ("used", ["used"]), ("expired", ["old"])]
)
def test_invitations_are_filtered_by_state(document: Document, state: str, expected: list[str]) -> None:
    number = document.customer_number
    fresh, used, old = (make_invitation(number, token_hash=c * 64) for c in "abc")
    Invitation.objects.filter(pk=used.pk).update(used_at=timezone.now())
    Invitation.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(days=1))
    names = {fresh.pk: "fresh", used.pk: "used", old.pk: "old"}

    response = client_for(make_advisor()).get(f"{BO}/invitation/", {"state": state})

    assert [names[i.pk] for i in response.context["cl"].result_list] == expected
