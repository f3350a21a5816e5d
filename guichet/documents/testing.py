"""Factories for tests of the document portal: issuers, customer numbers, documents (straight into
the database, without notifications; ``services.document_add`` is tested on its own)."""

import datetime
import io
import itertools
from decimal import Decimal

from django.core.files.base import ContentFile
from pypdf import PdfWriter

from guichet.documents import codes
from guichet.documents.models import (
    ActivationCode,
    Customer,
    CustomerNumber,
    Document,
    DocumentKind,
    Issuer,
    Share,
    SharedUser,
)
from guichet.identity.models import AccountKind, User
from guichet.identity.testing import PASSWORD

_counter = itertools.count(1)


def pdf_bytes() -> bytes:
    """A valid one-page blank A4 PDF."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


PDF = pdf_bytes()


def make_issuer(*, prefix: str = "DL2", name: str = "Aubépine Lease Services") -> Issuer:
    return Issuer.objects.get_or_create(prefix=prefix, defaults={"name": name})[0]


def make_customer_number(
    *,
    issuer: Issuer | None = None,
    number: str | None = None,
    email: str = "anna.schmidt@example.com",
    language: str = "de",
    account: User | None = None,
    customer_name: str = "Schmidt Transport GmbH",
    company_number: str = "",
    electronic_delivery: bool = False,
) -> CustomerNumber:
    n = next(_counter)
    customer = Customer.objects.create(name=customer_name, company_number=company_number)
    return CustomerNumber.objects.create(
        issuer=issuer or make_issuer(),
        number=number or f"{100000 + n}",
        customer=customer,
        contact_name="Anna Schmidt",
        contact_email=email,
        contact_language=language,
        account=account,
        electronic_delivery=electronic_delivery,
    )


def make_recipient(
    *,
    email: str = "anna.schmidt@example.com",
    language: str = "de",
    kind: str = AccountKind.BUSINESS,
    user_id: str | None = None,
) -> User:
    """An activated document recipient: a business account by default (it may share documents),
    identified by the e-mail address unless ``user_id`` says otherwise (e.g. BE0403170701)."""
    return User.objects.create_user(
        user_id or email, email, password=PASSWORD, kind=kind, preferred_language=language
    )


def make_activation_code(
    customer_number: CustomerNumber, *, weeks_ago: int = 0, by: User | None = None
) -> tuple[ActivationCode, str]:
    """A code issued ``weeks_ago`` weeks ago (through the service), and the plain code."""
    issued, plain = codes.activation_code_issue(customer_number=customer_number, by=by)
    if weeks_ago:
        shift = datetime.timedelta(weeks=weeks_ago)
        ActivationCode.objects.filter(pk=issued.pk).update(
            created_at=issued.created_at - shift, expires_at=issued.expires_at - shift
        )
        issued.refresh_from_db()
    return issued, plain


def make_document(
    customer_number: CustomerNumber,
    *,
    number: str | None = None,
    kind: str = DocumentKind.INVOICE,
    issue_date: datetime.date = datetime.date(2026, 10, 1),
    amount: Decimal = Decimal("121.00"),
    with_pdf: bool = True,
) -> Document:
    n = next(_counter)
    vat = (amount / Decimal("1.21") * Decimal("0.21")).quantize(Decimal("0.01"))
    document = Document(
        customer_number=customer_number,
        issuer=customer_number.issuer,
        kind=kind,
        number=number or f"F2026-{n:06d}",
        issue_date=issue_date,
        due_date=issue_date + datetime.timedelta(days=30),
        currency="EUR",
        amount_excl_vat=amount - vat,
        vat=vat,
        amount_incl_vat=amount,
        amount_payable=amount,
    )
    if with_pdf:
        document.pdf.save(f"{document.number}.pdf", ContentFile(PDF), save=False)
    document.save()
    return document


def make_shared_user(
    owner: User,
    *,
    email: str = "accountant@example.com",
    language: str = "nl",
    user: User | None = None,
    shares: list[CustomerNumber] = (),
) -> SharedUser:
    shared = SharedUser.objects.create(
        owner=owner, name="Kim Accountant", email=email, language=language, user=user
    )
    for number in shares:
        Share.objects.create(shared_user=shared, customer_number=number)
    return shared
