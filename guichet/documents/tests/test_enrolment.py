"""The enrolment pages: "I am a new user" (code → company and e-mail → e-mailed link → password),
the activation codes and delivery of an existing account, and sharing refused to consumers. Each
protected page is checked for the holder, a shared user, another customer and anonymous, with
nothing written on a refusal."""

import datetime
import re

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from guichet.audit.models import AuditEvent
from guichet.documents import codes, enrolment, sharing
from guichet.documents.codes import CodeError, CodeErrorCode
from guichet.documents.enrolment import EnrolmentError, EnrolmentErrorCode
from guichet.documents.models import (
    ActivationCode,
    CustomerNumber,
    DeliveryChannelChange,
    Invitation,
    SharedUser,
)
from guichet.documents.testing import (
    make_activation_code,
    make_customer_number,
    make_recipient,
    make_shared_user,
)
from guichet.identity.models import AccountKind, User
from guichet.identity.testing import PASSWORD, last_email
from guichet.notifications.models import Message

pytestmark = pytest.mark.django_db

LANGUAGE = "en"
NEW_PASSWORD = "Blue-Lagoon-2026!"
Reason = DeliveryChannelChange.Reason


@pytest.fixture(autouse=True)
def _fresh_counters(settings):
    cache.clear()
    # Business accounts also enrol strong authentication at login (identity's policy, tested there).
    settings.GUICHET_SCA_REQUIRED_KINDS = ["staff"]
    yield
    cache.clear()


def url(name: str, **kwargs) -> str:
    with translation.override(LANGUAGE):
        return reverse(f"documents:{name}", kwargs=kwargs or None)


def t(msgid: str) -> str:
    with translation.override(LANGUAGE):
        return gettext(msgid)


def message(code) -> str:
    with translation.override(LANGUAGE):
        return CodeError(code).message


def written() -> tuple:
    return (
        User.objects.count(),
        Invitation.objects.count(),
        Message.objects.count(),
        ActivationCode.objects.filter(used_at__isnull=False).count(),
        CustomerNumber.objects.filter(account__isnull=False).count(),
        DeliveryChannelChange.objects.count(),
        SharedUser.objects.count(),
        AuditEvent.objects.count(),
    )


@pytest.fixture
def business_number():
    return make_customer_number(
        number="123456",
        email="finance@dupont.example",
        language="fr",
        customer_name="Dupont Logistique SA",
        company_number="0403.170.701",
    )


def enter_code(client, plain: str):
    return client.post(url("enrol_code"), {"code": plain})


def link_of(email: str) -> str:
    body = last_email(email).body
    return re.search(r"https?://\S+/documents/new-user/link/\S+/", body).group(0)


# --- I am a new user ----------------------------------------------------------------------------


def test_the_code_page(client):
    response = client.get(url("enrol_code"))

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("<h1") == 1
    assert 'for="id_code"' in html
    assert 'autocomplete="off"' in html


def test_a_new_business_user_from_code_to_documents(client, business_number):
    _issued, plain = make_activation_code(business_number)

    response = enter_code(client, plain.lower())
    assert response["Location"] == url("enrol_confirm")
    page = client.get(url("enrol_confirm")).content.decode()
    assert "Dupont Logistique SA" in page and "DL2 123456" in page
    assert "BE0403170701" in page
    assert 'value="finance@dupont.example"' in page

    response = client.post(url("enrol_confirm"), {"email": "Boss@Dupont.example"})
    assert response["Location"] == url("enrol_sent")
    assert "boss@dupont.example" in client.get(url("enrol_sent")).content.decode()
    email = last_email("boss@dupont.example")
    assert "BE0403170701" in email.body and "DL2 123456" in email.body
    assert User.objects.count() == 0

    link = link_of("boss@dupont.example")
    response = client.get(link)
    assert response["Location"] == url("enrol_password")
    page = client.get(url("enrol_password")).content.decode()
    assert "BE0403170701" in page

    response = client.post(
        url("enrol_password"), {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "hint": ""}
    )

    assert response["Location"] == url("list")
    user = User.objects.get()
    assert (user.user_id, user.email, user.kind, user.preferred_language) == (
        "BE0403170701",
        "boss@dupont.example",
        AccountKind.BUSINESS,
        LANGUAGE,
    )
    assert client.session.get("_auth_user_id") == str(user.pk)
    business_number.refresh_from_db()
    assert (business_number.account, business_number.electronic_delivery) == (user, True)
    assert business_number.contact_email == "finance@dupont.example"  # the issuer's data stay
    code = ActivationCode.objects.get()
    assert (code.used_by, code.code_encrypted) == (user, "")
    assert list(DeliveryChannelChange.objects.values_list("reason", flat=True)) == [Reason.ACTIVATION_CODE]
    assert Invitation.objects.get().used_at is not None
    # The link works once.
    assert client.get(link).status_code == 200
    assert "_auth_user_id" in client.session


def test_a_consumer_logs_on_with_the_e_mail_and_a_foreign_company_with_an_identifier():
    consumer_number = make_customer_number(number="1", email="anna@example.com")
    foreign_number = make_customer_number(
        number="2", email="ops@acme.example", company_number="NL123456789B01"
    )

    assert enrolment.future_user_id(customer_number=consumer_number, email="anna@example.com") == (
        AccountKind.CONSUMER,
        "anna@example.com",
    )
    assert enrolment.future_user_id(customer_number=foreign_number, email="ops@acme.example") == (
        AccountKind.BUSINESS,
        f"G{foreign_number.customer.pk:09d}",
    )


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("unknown", CodeErrorCode.INVALID),
        ("expired", CodeErrorCode.EXPIRED),
        ("revoked", CodeErrorCode.REVOKED),
        ("used", CodeErrorCode.USED_ELSEWHERE),
    ],
)
def test_a_code_that_cannot_be_used_is_refused_at_the_first_step(client, business_number, case, expected):
    _issued, plain = make_activation_code(business_number, weeks_ago=16 if case == "expired" else 0)
    if case == "revoked":
        make_activation_code(business_number)
    if case == "used":
        codes.activation_code_redeem(code=plain, user=make_recipient(email="someone@example.com"))
    before = written()

    response = enter_code(client, "ABCD-EFGH-JKMN-PQRS" if case == "unknown" else plain)

    assert response.status_code == 200
    assert response.context["form"].errors["code"] == [message(expected)]
    assert 'role="alert"' in response.content.decode()
    assert written() == before
    assert "guichet_enrolment_code" not in client.session


def test_the_confirm_step_refuses_a_user_id_already_taken(client, business_number):
    make_recipient(email="someone@example.com", user_id="BE0403170701")
    _issued, plain = make_activation_code(business_number)
    enter_code(client, plain)
    before = written()

    response = client.post(url("enrol_confirm"), {"email": "boss@dupont.example"})

    with translation.override(LANGUAGE):
        expected = EnrolmentError(EnrolmentErrorCode.ACCOUNT_EXISTS).message
    assert response.context["form"].non_field_errors() == [expected]
    assert written() == before


def test_the_confirm_step_without_a_code_goes_back_to_the_first(client):
    assert client.get(url("enrol_confirm"))["Location"] == url("enrol_code")
    assert client.get(url("enrol_sent"))["Location"] == url("enrol_code")


def test_a_link_whose_code_was_replaced_meanwhile_says_so(client, business_number):
    _issued, plain = make_activation_code(business_number)
    enter_code(client, plain)
    client.post(url("enrol_confirm"), {"email": "boss@dupont.example"})
    link = link_of("boss@dupont.example")
    make_activation_code(business_number)  # a new letter: the first code is revoked
    before = written()

    response = client.get(link)

    assert response.status_code == 200
    assert message(CodeErrorCode.REVOKED) in response.content.decode()
    assert written() == before


def test_a_link_whose_number_was_activated_elsewhere_meanwhile_creates_nothing(client, business_number):
    _issued, plain = make_activation_code(business_number)
    enter_code(client, plain)
    client.post(url("enrol_confirm"), {"email": "boss@dupont.example"})
    client.get(link_of("boss@dupont.example"))
    codes.activation_code_redeem(code=plain, user=make_recipient(email="quick@example.com"))
    before = written()

    response = client.post(
        url("enrol_password"), {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "hint": ""}
    )

    assert message(CodeErrorCode.USED_ELSEWHERE) in response.content.decode()
    assert written() == before


def test_an_expired_or_unknown_link(client, business_number):
    _issued, plain = make_activation_code(business_number)
    enter_code(client, plain)
    client.post(url("enrol_confirm"), {"email": "boss@dupont.example"})
    link = link_of("boss@dupont.example")
    Invitation.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))

    with translation.override(LANGUAGE):
        expired = EnrolmentError(EnrolmentErrorCode.LINK_EXPIRED).message
        invalid = EnrolmentError(EnrolmentErrorCode.LINK_INVALID).message
    assert expired in client.get(link).content.decode()
    assert invalid in client.get(url("enrol_link", token="nope")).content.decode()


def test_a_weak_password_creates_nothing(client, business_number):
    _issued, plain = make_activation_code(business_number)
    enter_code(client, plain)
    client.post(url("enrol_confirm"), {"email": "boss@dupont.example"})
    client.get(link_of("boss@dupont.example"))
    before = written()

    response = client.post(url("enrol_password"), {"password1": "short", "password2": "short", "hint": ""})

    assert response.status_code == 200
    assert response.context["form"].errors["password1"]
    assert written() == before


def test_a_link_opened_while_logged_on_creates_nothing_and_switches_no_session(client, business_number):
    # Review finding: a link sent by someone else, opened in a logged-on session, went on to the
    # password step and then logged the user into the account it created.
    _issued, plain = make_activation_code(business_number)
    enter_code(client, plain)
    client.post(url("enrol_confirm"), {"email": "boss@dupont.example"})
    link = link_of("boss@dupont.example")
    client.get(link)  # the link is in the anonymous session, then its owner logs on
    someone = make_recipient(email="someone@example.com")
    client.force_login(someone)
    before = written()
    expected = t("You are logged on. To create a new account, log off first, then open the link again.")

    opened = client.get(link)
    posted = client.post(
        url("enrol_password"), {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "hint": ""}
    )

    assert (opened.status_code, posted.status_code) == (200, 200)  # a 4xx would log the token
    assert expected in opened.content.decode() and expected in posted.content.decode()
    assert "no-store" in opened["Cache-Control"]
    assert written() == before
    assert client.session["_auth_user_id"] == str(someone.pk)


def test_e_mails_per_code_are_limited(client, business_number):
    _issued, plain = make_activation_code(business_number)
    for _attempt in range(enrolment.MAILS_PER_CODE):
        enter_code(client, plain)
        assert client.post(url("enrol_confirm"), {"email": "boss@dupont.example"}).status_code == 302
    enter_code(client, plain)
    before = written()

    response = client.post(url("enrol_confirm"), {"email": "boss@dupont.example"})

    with translation.override(LANGUAGE):
        expected = EnrolmentError(EnrolmentErrorCode.TOO_MANY).message
    assert response.context["form"].non_field_errors() == [expected]
    assert written() == before


def test_user_ids_taken_cannot_be_probed_without_limit(client):
    # Review finding: with one consumer code, the confirm step told "an account with this user ID
    # exists" for any address typed, without limit: a way to learn who has an account.
    consumer_number = make_customer_number(number="654321", email="jan@example.com", company_number="")
    make_recipient(email="known@example.com", user_id="known@example.com", kind=AccountKind.CONSUMER)
    _issued, plain = make_activation_code(consumer_number)
    enter_code(client, plain)
    with translation.override(LANGUAGE):
        taken = EnrolmentError(EnrolmentErrorCode.ACCOUNT_EXISTS).message
        too_many = EnrolmentError(EnrolmentErrorCode.TOO_MANY).message
    for _attempt in range(enrolment.MAILS_PER_CODE):
        response = client.post(url("enrol_confirm"), {"email": "known@example.com"})
        assert response.context["form"].non_field_errors() == [taken]
    before = written()

    response = client.post(url("enrol_confirm"), {"email": "known@example.com"})

    assert response.context["form"].non_field_errors() == [too_many]
    assert written() == before


def test_a_logged_on_user_adds_codes_on_their_own_page(client):
    client.force_login(make_recipient())

    assert client.get(url("enrol_code"))["Location"] == url("activation_code_add")


# --- Activation codes of an existing account ----------------------------------------------------


@pytest.fixture
def owner():
    return make_recipient(email="claire.dupont@example.com", language="fr")


def test_an_account_adds_a_second_code(client, owner, business_number):
    first = make_customer_number(number="111", account=owner, electronic_delivery=True)
    _issued, plain = make_activation_code(business_number)
    client.force_login(owner)

    response = client.post(url("activation_code_add"), {"code": plain})

    assert response["Location"] == url("customer_numbers")
    business_number.refresh_from_db()
    assert (business_number.account, business_number.electronic_delivery) == (owner, True)
    page = client.get(url("customer_numbers")).content.decode()
    assert "DL2 123456" in page and first.code in page
    assert t("Electronic") in page
    assert f'href="{url("delivery", customer_number_id=business_number.pk)}"' in page


def test_a_code_used_in_another_account_is_refused_on_the_page(client, owner, business_number):
    _issued, plain = make_activation_code(business_number)
    codes.activation_code_redeem(code=plain, user=make_recipient(email="first@example.com"))
    client.force_login(owner)
    before = written()

    response = client.post(url("activation_code_add"), {"code": plain})

    assert response.context["form"].errors["code"] == [message(CodeErrorCode.USED_ELSEWHERE)]
    assert written() == before


def test_the_add_code_page_needs_a_login(client):
    response = client.get(url("activation_code_add"))

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


# --- Delivery of a customer number --------------------------------------------------------------


@pytest.fixture
def active(owner, business_number):
    _issued, plain = make_activation_code(business_number)
    codes.activation_code_redeem(code=plain, user=owner)
    business_number.refresh_from_db()
    return business_number


def test_the_holder_stops_and_reactivates_electronic_delivery(client, owner, active):
    client.force_login(owner)
    page = client.get(url("delivery", customer_number_id=active.pk)).content.decode()
    assert t("Stop electronic delivery") in page

    confirm = client.get(url("delivery_stop", customer_number_id=active.pk))
    assert confirm.status_code == 200
    assert 'method="post"' in confirm.content.decode()
    client.post(url("delivery_stop", customer_number_id=active.pk))
    active.refresh_from_db()
    assert active.electronic_delivery is False
    page = client.get(url("delivery", customer_number_id=active.pk)).content.decode()
    assert t("Re-activate electronic delivery") in page

    client.post(url("delivery_reactivate", customer_number_id=active.pk))

    active.refresh_from_db()
    assert active.electronic_delivery is True
    assert [c.reason for c in codes.delivery_history(active)] == [
        Reason.REACTIVATION,
        Reason.OPT_OUT,
        Reason.ACTIVATION_CODE,
    ]


def test_no_reactivation_button_once_the_last_code_expired(client, owner, active):
    codes.delivery_opt_out(user=owner, customer_number=active)
    ActivationCode.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    client.force_login(owner)
    before = written()

    page = client.get(url("delivery", customer_number_id=active.pk)).content.decode()
    response = client.post(url("delivery_reactivate", customer_number_id=active.pk), follow=True)

    assert t("Re-activate electronic delivery") not in page
    assert message(CodeErrorCode.NO_VALID_CODE) in response.content.decode()
    assert written() == before


@pytest.mark.parametrize("who", ["shared_user", "another_customer"])
@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("delivery", "get"),
        ("delivery_stop", "get"),
        ("delivery_stop", "post"),
        ("delivery_reactivate", "post"),
    ],
)
def test_another_customers_number_cannot_be_opted_out(client, owner, active, who, name, method):
    if who == "shared_user":
        accountant = make_recipient(email="kim@example.com")
        make_shared_user(owner, email=accountant.email, user=accountant, shares=[active])
        client.force_login(accountant)
    else:
        other = make_recipient(email="other@example.com")
        make_customer_number(number="4242", account=other, electronic_delivery=True)
        client.force_login(other)
    before = written()

    response = getattr(client, method)(url(name, customer_number_id=active.pk))

    assert response.status_code == 404
    active.refresh_from_db()
    assert active.electronic_delivery is True
    assert written() == before


@pytest.mark.parametrize("name", ["delivery", "delivery_stop"])
def test_delivery_pages_need_a_login(client, active, name):
    response = client.get(url(name, customer_number_id=active.pk))

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_notification_settings_still_work_for_a_code_account(client, owner, active):
    client.force_login(owner)

    response = client.post(url("customer_numbers"), {f"frequency_{active.pk}": "weekly"})

    assert response["Location"] == url("customer_numbers")
    page = client.get(url("customer_numbers")).content.decode()
    assert 'value="weekly" selected' in page


# --- Sharing: business accounts only ------------------------------------------------------------


def test_a_consumer_is_told_why_it_cannot_share_and_offered_nothing(client):
    consumer = make_recipient(email="anna@example.com", kind=AccountKind.CONSUMER)
    owned = make_customer_number(account=consumer)
    client.force_login(consumer)
    before = written()

    listing = client.get(url("shared_users"))
    adding = client.get(url("shared_user_add"))
    posting = client.post(
        url("shared_user_add"),
        {"name": "Kim", "email": "kim@example.com", "language": "nl", "customer_numbers": [owned.pk]},
    )

    with translation.override(LANGUAGE):
        reason = sharing.SharingError(sharing.SharingErrorCode.NOT_BUSINESS).message
    for response in (listing, adding, posting):
        assert response.status_code == 403
        content = response.content.decode()
        assert reason in content
        main = content.split("<main", 1)[1].split("</main>", 1)[0]
        assert "<a " not in main and "<form" not in main and "<button" not in main
    assert written() == before


def test_a_business_account_still_shares(client):
    owner = make_recipient(email="boss@dupont.example")
    make_customer_number(account=owner)
    client.force_login(owner)

    assert client.get(url("shared_users")).status_code == 200
    assert client.get(url("shared_user_add")).status_code == 200
    assert PASSWORD  # the factory's accounts have a usable password
