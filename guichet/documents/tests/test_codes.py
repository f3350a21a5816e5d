"""Activation codes and the delivery channel (seed 002, MyUnifiedPost): issuing, the print shop's
export, using a code in an existing account (every refusal, the rate limit), opt-out and
re-activation with their history, and the kind of account a customer leads to."""

import csv
import datetime
import io
import re
import threading
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test import RequestFactory
from django.utils import timezone

from guichet.audit.models import AuditEvent
from guichet.backoffice.tests.factories import make_advisor, make_superuser
from guichet.documents import codes, invitations, sharing
from guichet.documents.codes import CodeError, CodeErrorCode
from guichet.documents.models import ActivationCode, Customer, CustomerNumber, DeliveryChannelChange
from guichet.documents.testing import (
    make_activation_code,
    make_customer_number,
    make_issuer,
    make_recipient,
    make_shared_user,
)
from guichet.identity import crypto
from guichet.identity.models import AccountKind, User
from guichet.notifications.models import Message

pytestmark = pytest.mark.django_db

CODE_SHAPE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$")
Reason = DeliveryChannelChange.Reason


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def owner():
    return make_recipient(email="claire.dupont@example.com", language="fr")


@pytest.fixture
def number():
    return make_customer_number(number="123456", customer_name="Dupont Logistique SA")


def post_request(user=None, ip="192.0.2.7"):
    request = RequestFactory().post("/", REMOTE_ADDR=ip)
    request.user = user
    return request


def snapshot() -> tuple:
    return (
        ActivationCode.objects.filter(used_at__isnull=False).count(),
        CustomerNumber.objects.filter(account__isnull=False).count(),
        CustomerNumber.objects.filter(electronic_delivery=True).count(),
        DeliveryChannelChange.objects.count(),
        AuditEvent.objects.count(),
    )


def audit_text() -> str:
    return " ".join(str(details) for details in AuditEvent.objects.values_list("details", flat=True))


# --- The code -----------------------------------------------------------------------------------


def test_typing_is_forgiving():
    assert codes.code_normalise(" abcd-efgh jkmn_pqrs ") == "ABCDEFGHJKMNPQRS"
    assert codes.code_normalise("O0Il-1234") == "00111234"
    assert codes.code_format("abcdefghjkmnpqrs") == "ABCD-EFGH-JKMN-PQRS"
    assert codes.code_hash("abcd-efgh-jkmn-pqrs") == codes.code_hash("ABCDEFGHJKMNPQRS")


def test_a_code_is_issued_for_15_weeks_stored_hashed_and_encrypted_and_audited_without_it(number):
    before = timezone.now()

    issued, plain = codes.activation_code_issue(customer_number=number)

    assert CODE_SHAPE.match(plain)
    assert issued.code_hash == codes.code_hash(plain)
    assert crypto.decrypt(issued.code_encrypted) == codes.code_normalise(plain)
    assert plain.replace("-", "") not in issued.code_encrypted
    assert (
        before + datetime.timedelta(weeks=15)
        <= issued.expires_at
        <= timezone.now() + datetime.timedelta(weeks=15)
    )
    event = AuditEvent.objects.get(action="documents.activation_code_issued")
    assert event.details == {
        "customer_number": "DL2 123456",
        "expires_at": issued.expires_at.isoformat(),
        "revoked": 0,
    }
    assert codes.code_normalise(plain) not in audit_text() and plain not in audit_text()


def test_the_validity_is_a_setting(number, settings):
    settings.GUICHET_ACTIVATION_CODE_WEEKS = 2

    issued, _plain = codes.activation_code_issue(customer_number=number)

    assert issued.expires_at - issued.created_at == datetime.timedelta(weeks=2)


def test_a_new_code_revokes_and_wipes_the_earlier_unused_ones_only(number, owner):
    used, used_plain = codes.activation_code_issue(customer_number=number)
    codes.activation_code_redeem(code=used_plain, user=owner)
    unused, _plain = codes.activation_code_issue(customer_number=number)

    newest, _plain = codes.activation_code_issue(customer_number=number)

    used.refresh_from_db()
    unused.refresh_from_db()
    assert (used.revoked_at, unused.revoked_at is not None, unused.code_encrypted) == (None, True, "")
    assert newest.revoked_at is None
    assert (
        AuditEvent.objects.filter(action="documents.activation_code_issued")
        .order_by("pk")
        .last()
        .details["revoked"]
        == 1
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_issues_at_once_leave_one_valid_code(number):
    # Review finding: two issues at once (an advisor's double click) did not see each other's new
    # code, and both stayed valid: the second must wait for the first and revoke its code.
    holding, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first_issue() -> None:
        try:
            with transaction.atomic():
                codes.activation_code_issue(customer_number=number)
                holding.set()
                release.wait(10)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    def second_issue() -> None:
        try:
            codes.activation_code_issue(customer_number=number)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    first = threading.Thread(target=first_issue)
    first.start()
    holding.wait(10)
    second = threading.Thread(target=second_issue)
    second.start()
    second.join(0.3)  # blocked on the customer number's lock, or done without waiting (the finding)
    release.set()
    first.join()
    second.join()

    assert errors == []
    assert ActivationCode.objects.filter(used_at__isnull=True, revoked_at__isnull=True).count() == 1
    assert ActivationCode.objects.filter(revoked_at__isnull=False, code_encrypted="").count() == 1


def test_creating_a_customer_number_issues_its_first_code():
    issuer = make_issuer()
    customer = Customer.objects.create(name="Peeters BV", company_number="BE0403170701")

    created = codes.customer_number_create(
        issuer=issuer,
        number=" 777001 ",
        customer=customer,
        contact_name="Jan Peeters",
        contact_email="Jan@Peeters.example",
        contact_language="nl",
    )

    assert (created.number, created.contact_email, created.electronic_delivery) == (
        "777001",
        "jan@peeters.example",
        False,
    )
    assert ActivationCode.objects.filter(customer_number=created, revoked_at__isnull=True).count() == 1
    assert list(AuditEvent.objects.values_list("action", flat=True).order_by("pk")) == [
        "documents.customer_number_created",
        "documents.activation_code_issued",
    ]
    with pytest.raises(CodeError) as caught:
        codes.customer_number_create(
            issuer=issuer,
            number="777001",
            customer=customer,
            contact_name="Jan Peeters",
            contact_email="jan@peeters.example",
            contact_language="nl",
        )
    assert caught.value.code == CodeErrorCode.DUPLICATE_NUMBER
    assert CustomerNumber.objects.count() == 1


# --- Export for the print shop ------------------------------------------------------------------


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_the_export_lists_the_new_valid_codes_for_the_letters_and_marks_them(number, owner):
    fresh, fresh_plain = make_activation_code(number)
    other = make_customer_number(
        issuer=make_issuer(prefix="DL5", name="Lease BE"),
        number="555",
        customer_name="Other NV",
        language="nl",
    )
    _other_code, other_plain = make_activation_code(other)
    used_number = make_customer_number(number="888")
    _used, used_plain = make_activation_code(used_number)
    codes.activation_code_redeem(code=used_plain, user=owner)
    expired_number = make_customer_number(number="999")
    make_activation_code(expired_number, weeks_ago=16)
    revoked_number = make_customer_number(number="998")
    make_activation_code(revoked_number)
    make_activation_code(revoked_number)  # revokes the first: only this one is exported
    out = io.StringIO()

    count = codes.activation_codes_export(out=out)

    rows = read_csv(out.getvalue())
    expires = timezone.localtime(fresh.expires_at).date().isoformat()
    assert count == 3
    assert rows[0] == [
        "customer_code",
        "customer_name",
        "contact_name",
        "language",
        "activation_code",
        "expires",
    ]
    assert rows[1] == ["DL2 123456", "Dupont Logistique SA", "Anna Schmidt", "de", fresh_plain, expires]
    assert [row[0] for row in rows[1:]] == ["DL2 123456", "DL2 998", "DL5 555"]
    assert rows[3][4] == other_plain and rows[3][3] == "nl"
    assert ActivationCode.objects.filter(exported_at__isnull=False).count() == 3
    assert ActivationCode.objects.filter(exported_at__isnull=False).exclude(code_encrypted="").count() == 3
    event = AuditEvent.objects.filter(action="documents.activation_codes_exported").get()
    assert event.details == {"count": 3, "issuer": "", "only_new": True}
    assert fresh_plain not in audit_text()

    again = io.StringIO()
    assert codes.activation_codes_export(out=again) == 0
    assert read_csv(again.getvalue()) == [rows[0]]
    assert codes.activation_codes_export(out=io.StringIO(), only_new=False) == 3


def test_the_export_never_holds_a_spreadsheet_formula():
    # Review finding: the names come from the issuers' files; the print shop opens the CSV in a
    # spreadsheet, where a cell starting with = + - @ would run as a formula.
    formula = make_customer_number(number="4", customer_name='=HYPERLINK("http://evil.example")')
    CustomerNumber.objects.filter(pk=formula.pk).update(contact_name="+SUM(A1)")
    _issued, plain = make_activation_code(formula)
    out = io.StringIO()

    codes.activation_codes_export(out=out)

    assert read_csv(out.getvalue())[1][:5] == [
        "DL2 4",
        '\'=HYPERLINK("http://evil.example")',
        "'+SUM(A1)",
        "de",
        plain,
    ]


def test_the_export_of_one_issuer(number):
    make_activation_code(number)
    make_activation_code(make_customer_number(issuer=make_issuer(prefix="DL5", name="Lease BE"), number="5"))
    out = io.StringIO()

    assert codes.activation_codes_export(out=out, issuer="dl5") == 1
    assert read_csv(out.getvalue())[1][0] == "DL5 5"


def test_the_export_command_writes_a_private_file_and_refuses_an_unknown_issuer(number, tmp_path: Path):
    _issued, plain = make_activation_code(number)
    target = tmp_path / "letters.csv"

    call_command("export_activation_codes", "--issuer", "DL2", "--output", str(target), stdout=io.StringIO())

    assert read_csv(target.read_text(encoding="utf-8"))[1][4] == plain
    assert target.stat().st_mode & 0o777 == 0o600
    with pytest.raises(CommandError):
        call_command("export_activation_codes", "--output", str(target), stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("export_activation_codes", "--issuer", "XX9", stdout=io.StringIO())
    out = io.StringIO()
    call_command("export_activation_codes", "--all", stdout=out, stderr=io.StringIO())
    assert read_csv(out.getvalue())[1][4] == plain


# --- Using a code in an existing account --------------------------------------------------------


def test_a_code_binds_the_number_and_opts_it_in(number, owner):
    issued, plain = make_activation_code(number)

    result = codes.activation_code_redeem(
        code=plain.lower().replace("-", " "), user=owner, request=post_request(owner)
    )

    number.refresh_from_db()
    issued.refresh_from_db()
    assert result == number
    assert (number.account, number.electronic_delivery) == (owner, True)
    assert (issued.used_by, issued.used_at is not None, issued.code_encrypted) == (owner, True, "")
    change = DeliveryChannelChange.objects.get()
    assert (change.customer_number, change.electronic, change.reason, change.author) == (
        number,
        True,
        Reason.ACTIVATION_CODE,
        owner,
    )
    assert list(AuditEvent.objects.values_list("action", flat=True).order_by("pk")) == [
        "documents.activation_code_issued",
        "documents.customer_number_attached",
        "documents.activation_code_used",
        "documents.delivery_channel_changed",
    ]
    assert codes.code_normalise(plain) not in audit_text()


def test_using_a_code_again_in_the_same_account_is_harmless(number, owner):
    _issued, plain = make_activation_code(number)
    codes.activation_code_redeem(code=plain, user=owner)
    before = snapshot()

    assert codes.activation_code_redeem(code=plain, user=owner) == number
    assert snapshot() == before


def test_a_code_already_used_in_another_account_is_refused(number, owner):
    _issued, plain = make_activation_code(number)
    codes.activation_code_redeem(code=plain, user=owner)
    second = make_recipient(email="someone.else@example.com")
    before = snapshot()

    with pytest.raises(CodeError) as caught:
        codes.activation_code_redeem(code=plain, user=second)

    assert caught.value.code == CodeErrorCode.USED_ELSEWHERE
    assert "already active in another account" in caught.value.message
    assert snapshot() == before


def test_a_fresh_code_of_a_number_active_in_another_account_is_refused(number, owner):
    number.account = owner
    number.save()
    _issued, plain = make_activation_code(number)
    before = snapshot()

    with pytest.raises(CodeError) as caught:
        codes.activation_code_redeem(code=plain, user=make_recipient(email="someone.else@example.com"))

    assert caught.value.code == CodeErrorCode.USED_ELSEWHERE
    assert snapshot() == before


def test_the_owner_of_a_number_attached_by_invitation_uses_its_code_to_opt_in(number, owner):
    number.account = owner
    number.save()
    _issued, plain = make_activation_code(number)

    codes.activation_code_redeem(code=plain, user=owner)

    number.refresh_from_db()
    assert number.electronic_delivery is True
    assert list(DeliveryChannelChange.objects.values_list("reason", flat=True)) == [Reason.ACTIVATION_CODE]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("unknown", CodeErrorCode.INVALID),
        ("malformed", CodeErrorCode.INVALID),
        ("expired", CodeErrorCode.EXPIRED),
        ("revoked", CodeErrorCode.REVOKED),
    ],
)
def test_refusals_write_nothing(number, owner, case, expected):
    _issued, plain = make_activation_code(number, weeks_ago=16 if case == "expired" else 0)
    if case == "revoked":
        make_activation_code(number)
    typed = {"unknown": "ABCD-EFGH-JKMN-PQRS", "malformed": "short!"}.get(case, plain)
    before = snapshot()

    with pytest.raises(CodeError) as caught:
        codes.activation_code_redeem(code=typed, user=owner, request=post_request(owner))

    assert caught.value.code == expected
    assert snapshot() == before


@pytest.mark.parametrize("who", ["advisor", "operator", "staff_kind"])
def test_a_staff_account_never_takes_a_customer_number(number, who):
    # Review finding: an advisor who re-issues a code sees it; entering it in their own staff account
    # must not give them the customer's documents nor change the customer's delivery.
    staff = {
        "advisor": lambda: make_advisor(authenticator=False),
        "operator": lambda: make_superuser(authenticator=False),
        "staff_kind": lambda: make_recipient(email="clerk@bank.example", kind=AccountKind.STAFF),
    }[who]()
    _issued, plain = make_activation_code(number)
    before = snapshot()

    with pytest.raises(CodeError) as caught:
        codes.activation_code_redeem(code=plain, user=staff, request=post_request(staff))

    assert caught.value.code == CodeErrorCode.STAFF_ACCOUNT
    assert snapshot() == before
    number.refresh_from_db()
    assert (number.account_id, number.electronic_delivery) == (None, False)


def test_the_messages_say_why():
    assert "not valid" in CodeError(CodeErrorCode.INVALID).message
    assert "expired" in CodeError(CodeErrorCode.EXPIRED).message
    assert "newer code" in CodeError(CodeErrorCode.REVOKED).message


def test_wrong_codes_are_rate_limited_per_account(number, owner):
    _issued, plain = make_activation_code(number)
    for attempt in range(codes.WRONG_CODES_PER_ACCOUNT):
        with pytest.raises(CodeError) as caught:
            codes.activation_code_redeem(
                code="ABCD-EFGH-JKMN-PQRS", user=owner, request=post_request(owner, ip=f"192.0.2.{attempt}")
            )
        assert caught.value.code == CodeErrorCode.INVALID

    with pytest.raises(CodeError) as caught:
        codes.activation_code_redeem(code=plain, user=owner, request=post_request(owner, ip="198.51.100.1"))

    assert caught.value.code == CodeErrorCode.TOO_MANY
    number.refresh_from_db()
    assert number.account is None
    # Another account, from another address, is not held back.
    other = make_recipient(email="other@example.com")
    assert codes.activation_code_redeem(
        code=plain, user=other, request=post_request(other, ip="198.51.100.2")
    )


def test_wrong_codes_are_rate_limited_per_address(number):
    _issued, plain = make_activation_code(number)
    for _attempt in range(codes.WRONG_CODES_PER_ADDRESS):
        with pytest.raises(CodeError):
            codes.activation_code_check(code="ABCD-EFGH-JKMN-PQRS", request=post_request())

    with pytest.raises(CodeError) as caught:
        codes.activation_code_check(code=plain, request=post_request())

    assert caught.value.code == CodeErrorCode.TOO_MANY
    assert (
        codes.activation_code_check(code=plain, request=post_request(ip="198.51.100.9")).customer_number
        == number
    )


def test_precise_states_do_not_count_against_the_limit(number):
    _issued, plain = make_activation_code(number, weeks_ago=16)
    for _attempt in range(codes.WRONG_CODES_PER_ADDRESS + 1):
        with pytest.raises(CodeError) as caught:
            codes.activation_code_check(code=plain, request=post_request())
        assert caught.value.code == CodeErrorCode.EXPIRED


def test_no_limit_when_rate_limits_are_off(number, settings):
    settings.ACCOUNT_RATE_LIMITS = False
    _issued, plain = make_activation_code(number)
    for _attempt in range(codes.WRONG_CODES_PER_ADDRESS + 1):
        with pytest.raises(CodeError):
            codes.activation_code_check(code="ABCD-EFGH-JKMN-PQRS", request=post_request())

    assert codes.activation_code_check(code=plain, request=post_request()).customer_number == number


# --- Opt-out and re-activation ------------------------------------------------------------------


@pytest.fixture
def active(number, owner):
    _issued, plain = make_activation_code(number)
    codes.activation_code_redeem(code=plain, user=owner)
    number.refresh_from_db()
    return number


def test_opt_out_returns_to_paper_with_a_history_row(active, owner):
    codes.delivery_opt_out(user=owner, customer_number=active, request=post_request(owner))

    active.refresh_from_db()
    assert active.electronic_delivery is False
    assert [(c.electronic, c.reason, c.author) for c in codes.delivery_history(active)] == [
        (False, Reason.OPT_OUT, owner),
        (True, Reason.ACTIVATION_CODE, owner),
    ]
    event = AuditEvent.objects.filter(action="documents.delivery_channel_changed").order_by("pk").last()
    assert event.details == {"customer_number": "DL2 123456", "electronic": False, "reason": "opt_out"}


def test_opting_out_twice_writes_once(active, owner):
    codes.delivery_opt_out(user=owner, customer_number=active)
    before = snapshot()

    codes.delivery_opt_out(user=owner, customer_number=active.pk)

    assert snapshot() == before


@pytest.mark.parametrize("who", ["shared_user", "another_customer", "anonymous"])
def test_only_the_account_holding_the_number_opts_out_or_reactivates(active, owner, who):
    if who == "shared_user":
        accountant = make_recipient(email="kim@example.com")
        make_shared_user(owner, email=accountant.email, user=accountant, shares=[active])
        user = accountant
    elif who == "another_customer":
        user = make_recipient(email="other@example.com")
        make_customer_number(number="4242", account=user)
    else:
        from django.contrib.auth.models import AnonymousUser

        user = AnonymousUser()
    before = snapshot()

    for service in (codes.delivery_opt_out, codes.delivery_reactivate):
        with pytest.raises(CodeError) as caught:
            service(user=user, customer_number=active.pk)
        assert caught.value.code == CodeErrorCode.NOT_FOUND

    active.refresh_from_db()
    assert active.electronic_delivery is True
    assert snapshot() == before


def test_reactivation_with_the_last_code_while_valid(active, owner):
    codes.delivery_opt_out(user=owner, customer_number=active)
    assert codes.delivery_reactivation_allowed(active) is True

    codes.delivery_reactivate(user=owner, customer_number=active, request=post_request(owner))

    active.refresh_from_db()
    assert active.electronic_delivery is True
    assert [c.reason for c in codes.delivery_history(active)] == [
        Reason.REACTIVATION,
        Reason.OPT_OUT,
        Reason.ACTIVATION_CODE,
    ]


def test_no_reactivation_once_the_last_code_expired(active, owner):
    codes.delivery_opt_out(user=owner, customer_number=active)
    ActivationCode.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    before = snapshot()

    assert codes.delivery_reactivation_allowed(active) is False
    with pytest.raises(CodeError) as caught:
        codes.delivery_reactivate(user=owner, customer_number=active)

    assert caught.value.code == CodeErrorCode.NO_VALID_CODE
    assert "new activation code" in caught.value.message
    assert snapshot() == before


def test_a_new_code_reactivates_after_expiry(active, owner):
    codes.delivery_opt_out(user=owner, customer_number=active)
    ActivationCode.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    _issued, plain = codes.activation_code_issue(customer_number=active)

    codes.activation_code_redeem(code=plain, user=owner)

    active.refresh_from_db()
    assert active.electronic_delivery is True


def test_typing_the_last_code_again_reactivates_while_valid(active, owner):
    codes.delivery_opt_out(user=owner, customer_number=active)
    _issued, plain_code = codes.activation_code_issue(customer_number=active)
    codes.activation_code_redeem(code=plain_code, user=owner)
    codes.delivery_opt_out(user=owner, customer_number=active)

    codes.activation_code_redeem(code=plain_code, user=owner)

    active.refresh_from_db()
    assert active.electronic_delivery is True


# --- Account kinds ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("company_number", "expected_kind", "expected_user_id"),
    [
        ("BE0403170701", AccountKind.BUSINESS, "BE0403170701"),
        ("0403.170.701", AccountKind.BUSINESS, "BE0403170701"),
        ("be 403 170 701", AccountKind.BUSINESS, "BE0403170701"),
        ("NL123456789B01", AccountKind.BUSINESS, "G{pk:09d}"),
        ("BE0403170702", AccountKind.BUSINESS, "G{pk:09d}"),  # a wrong check digit: not a Belgian number
        ("", AccountKind.CONSUMER, "anna@example.com"),
    ],
)
def test_the_account_kind_follows_the_company_number(company_number, expected_kind, expected_user_id):
    customer = Customer.objects.create(name="X", company_number=company_number)

    kind, user_id = codes.account_identity(customer=customer, email=" Anna@Example.com ")

    assert (kind, user_id) == (expected_kind, expected_user_id.format(pk=customer.pk))


def test_an_invitation_to_a_belgian_company_opens_a_business_account_and_opts_in():
    number = make_customer_number(email="anna@example.com", company_number="0403.170.701")
    second = make_customer_number(email="anna@example.com", issuer=make_issuer(prefix="DL5", name="Lease BE"))
    _invitation, token = invitations.invitation_issue(customer_number=number)

    user = invitations.account_activate(token=token, password="Blue-Lagoon-2026!")

    assert (user.user_id, user.email, user.kind) == ("BE0403170701", "anna@example.com", AccountKind.BUSINESS)
    assert set(CustomerNumber.objects.filter(account=user, electronic_delivery=True)) == {number, second}
    assert sorted(DeliveryChannelChange.objects.values_list("reason", "author")) == [
        (Reason.INVITATION, user.pk),
        (Reason.INVITATION, user.pk),
    ]
    # The next invitation of that address joins this account (its owner logs on).
    later = make_customer_number(email="anna@example.com", number="31337")
    invitation, _token = invitations.invitation_issue(customer_number=later)
    assert invitations.existing_account(invitation) == user


def test_an_invitation_to_a_company_already_with_an_account_asks_for_its_password():
    first = make_customer_number(email="anna@example.com", company_number="BE0403170701")
    user = invitations.account_activate(
        token=invitations.invitation_issue(customer_number=first)[1], password="Blue-Lagoon-2026!"
    )
    colleague = make_customer_number(email="piet@example.com", company_number="BE0403170701")
    colleague.customer = first.customer
    colleague.save()
    invitation, token = invitations.invitation_issue(customer_number=colleague)

    assert invitations.existing_account(invitation) == user
    invitations.invitation_accept(token=token, user=user)
    colleague.refresh_from_db()
    assert (colleague.account, colleague.electronic_delivery) == (user, True)


def test_an_invitation_without_a_company_number_opens_a_consumer_account():
    number = make_customer_number(email="anna@example.com")

    user = invitations.account_activate(
        token=invitations.invitation_issue(customer_number=number)[1], password="Blue-Lagoon-2026!"
    )

    assert (user.user_id, user.kind) == ("anna@example.com", AccountKind.CONSUMER)


# --- Sharing is for business accounts -----------------------------------------------------------


def test_a_consumer_account_cannot_invite_third_parties():
    consumer = make_recipient(email="anna@example.com", kind=AccountKind.CONSUMER)
    owned = make_customer_number(account=consumer)
    before = (snapshot(), Message.objects.count(), User.objects.count())

    with pytest.raises(sharing.SharingError) as caught:
        sharing.shared_user_create(
            owner=consumer, name="Kim", email="kim@example.com", language="nl", customer_number_ids=[owned.pk]
        )

    assert caught.value.code == sharing.SharingErrorCode.NOT_BUSINESS
    assert "Only business accounts" in caught.value.message
    assert (snapshot(), Message.objects.count(), User.objects.count()) == before
    assert sharing.may_invite(consumer) is False
    assert sharing.may_invite(make_recipient(email="biz@example.com")) is True
