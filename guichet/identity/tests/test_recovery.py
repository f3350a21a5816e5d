"""Forgot your User ID? and Reset logon credentials? (seed 000): the steps, the codes,
the single-use link, and the same answers whether or not an account matches."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from guichet.audit.models import AuditEvent
from guichet.identity import crypto
from guichet.identity.models import AccountKind, CodePurpose, OneTimeCode, User
from guichet.identity.recovery import reset_token_generator
from guichet.identity.testing import PASSWORD, last_email, last_sms_code, make_consumer, make_provisioned
from guichet.notifications.sms import locmem
from guichet.notifications.testing import deliveries_run

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Blue-Bicycle-2027?"
HINT = "the colour of my first bike"
EMAIL = "lucie.dubois@example.com"


@pytest.fixture(autouse=True)
def _fresh_rate_limits_and_outbox():
    cache.clear()
    locmem.outbox.clear()
    yield
    cache.clear()


def url(name: str, **kwargs) -> str:
    with translation.override("fr"):
        return reverse(name, kwargs=kwargs or None)


def t(msgid: str) -> str:
    with translation.override("fr"):
        return gettext(msgid)


def get(client, name: str, **kwargs):
    return client.get(url(name, **kwargs), secure=True)


def post(client, name: str, data: dict | None = None):
    return client.post(url(name), data or {}, secure=True)


def sent_sms() -> list:
    deliveries_run()
    return list(locmem.outbox)


def sent_mail() -> list:
    deliveries_run()
    return list(mail.outbox)


def normalised(response) -> str:
    """The page without what differs between any two requests (tokens, nonces) and the
    masked numbers (a decoy for an unknown account, the real ones otherwise)."""
    html = response.content.decode()
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    html = re.sub(r'nonce="[^"]+"', "", html)
    return re.sub(r"\+\d+ [\d•  ]+\d\d", "PHONE", html)


def start_user_id(client, email: str = EMAIL) -> None:
    assert post(client, "identity:forgot_user_id", {"email": email}).url == url(
        "identity:forgot_user_id_phone"
    )


def start_reset(client, user_id: str = "CC100001", email: str = EMAIL) -> None:
    response = post(client, "identity:reset_credentials", {"user_id": user_id, "email": email})
    assert response.url == url("identity:reset_credentials_phone")


def choose_phone(client, flow: str, index: int = 0) -> None:
    response = post(client, f"identity:{flow}_phone", {"phone": index})
    assert response.url == url(f"identity:{flow}_code")


def reset_link(user: User) -> str:
    body = last_email(user.email).body
    return re.search(r"https?://\S+/credentials/link/\S+/", body).group(0)


def open_link(client, link: str):
    path = link.split("://", 1)[1].split("/", 1)[1]
    return client.get("/" + path, secure=True)


# --- Forgot your User ID? ---------------------------------------------------------------


def test_forgot_user_id_emails_every_user_id_sharing_the_address(client):
    make_provisioned(user_id="CC100001", phone="+32470123412")
    make_provisioned(user_id="CC100002", phone="+32470999988", last_name="Dubois-Martin")
    make_consumer(email=EMAIL)  # a consumer's identifier is the e-mail already: not listed

    start_user_id(client, "  Lucie.Dubois@Example.com ")
    page = get(client, "identity:forgot_user_id_phone").content.decode()
    assert "+32 4•• •• •• 12" in page and "+32 4•• •• •• 88" in page
    assert "470123412" not in page
    choose_phone(client, "forgot_user_id", 1)
    response = post(client, "identity:forgot_user_id_code", {"code": last_sms_code("+32470999988")})

    assert response.url == url("identity:forgot_user_id_done")
    message = last_email(EMAIL)
    assert "CC100001" in message.body and "CC100002" in message.body
    assert "camille" not in message.body
    assert "CC100001" in message.alternatives[0][0]
    page = get(client, "identity:forgot_user_id_done")
    assert page.status_code == 200
    assert t("We have sent your user ID by e-mail") in page.content.decode()
    assert "CC100001" not in page.content.decode()  # only by e-mail


def test_forgot_user_id_for_an_unknown_address_sends_nothing_and_accepts_no_code(client):
    make_provisioned()

    start_user_id(client, "nobody@example.com")
    choose_phone(client, "forgot_user_id")
    response = post(client, "identity:forgot_user_id_code", {"code": "123456"})

    assert response.status_code == 200
    with translation.override("fr"):
        wrong = ngettext(
            "This code is not correct. You have %(count)d try left.",
            "This code is not correct. You have %(count)d tries left.",
            4,
        ) % {"count": 4}
    assert wrong in (response.content.decode())
    assert sent_sms() == [] and sent_mail() == []
    assert OneTimeCode.objects.count() == 0
    assert get(client, "identity:forgot_user_id_done").url == url("identity:forgot_user_id")


def test_consumers_are_not_found_by_forgot_user_id(client):
    make_consumer(email="camille.martin@example.com")

    start_user_id(client, "camille.martin@example.com")
    choose_phone(client, "forgot_user_id")

    assert sent_sms() == []


# --- Identical answers ------------------------------------------------------------------


def _walk_user_id(client, email: str) -> list:
    pages = [get(client, "identity:forgot_user_id")]
    pages.append(post(client, "identity:forgot_user_id", {"email": email}))
    pages.append(get(client, "identity:forgot_user_id_phone"))
    pages.append(post(client, "identity:forgot_user_id_phone", {}))  # no choice: error
    pages.append(post(client, "identity:forgot_user_id_phone", {"phone": 0}))
    pages.append(get(client, "identity:forgot_user_id_code"))
    pages.extend(post(client, "identity:forgot_user_id_code", {"code": "000000"}) for _ in range(6))
    pages.append(post(client, "identity:forgot_user_id_resend"))
    pages.append(get(client, "identity:forgot_user_id_code"))
    return pages


def _walk_reset(client, user_id: str, email: str) -> list:
    pages = [post(client, "identity:reset_credentials", {"user_id": user_id, "email": email})]
    pages.append(get(client, "identity:reset_credentials_phone"))
    pages.append(post(client, "identity:reset_credentials_phone", {"phone": 0}))
    pages.extend(post(client, "identity:reset_credentials_code", {"code": "000000"}) for _ in range(6))
    return pages


def assert_same(known: list, unknown: list) -> None:
    assert [r.status_code for r in known] == [r.status_code for r in unknown]
    assert [r.get("Location") for r in known] == [r.get("Location") for r in unknown]
    for known_page, unknown_page in zip(known, unknown, strict=True):
        assert normalised(known_page) == normalised(unknown_page)


def test_forgot_user_id_answers_the_same_for_known_and_unknown_addresses(client, django_user_model):
    make_provisioned(phone="+32470123412")
    known = _walk_user_id(client, EMAIL)
    client.cookies.clear()
    cache.clear()

    unknown = _walk_user_id(client, "nobody@example.com")

    assert_same(known, unknown)
    body = normalised(known[10])
    assert t("Too many wrong codes. Ask for a new code below.") in body


@pytest.mark.parametrize(
    ("user_id", "email"),
    [("XX999999", EMAIL), ("CC100001", "other@example.com"), ("nobody", "x@example.com")],
)
def test_reset_answers_the_same_for_unknown_accounts_and_wrong_addresses(client, user_id, email):
    make_provisioned(phone="+32470123412")
    known = _walk_reset(client, "CC100001", EMAIL)
    client.cookies.clear()
    cache.clear()
    sent_sms()  # delivers what the known walk queued
    locmem.outbox.clear()

    unknown = _walk_reset(client, user_id, email)

    assert_same(known, unknown)
    assert sent_sms() == []  # only the contact details on file receive anything


def test_decoy_numbers_change_with_the_address_so_the_right_one_does_not_stand_out(client):
    make_provisioned(phone="+32470123412")

    def phone_page(email: str) -> str:
        cache.clear()
        start_reset(client, "CC100001", email)
        return re.search(
            r"\+\d+ [\d•  ]+\d\d", get(client, "identity:reset_credentials_phone").content.decode()
        )[0]

    decoys = {phone_page(f"guess{n}@example.com") for n in range(6)}

    assert len(decoys) > 1


# --- Codes: tries and expiry -------------------------------------------------------------


def test_five_wrong_codes_exhaust_the_code_even_the_right_one_then(client):
    make_provisioned()
    start_user_id(client)
    choose_phone(client, "forgot_user_id")
    code = last_sms_code()

    for _ in range(settings.GUICHET_CODE_MAX_ATTEMPTS):
        post(client, "identity:forgot_user_id_code", {"code": "000000"})
    response = post(client, "identity:forgot_user_id_code", {"code": code})

    assert response.status_code == 200
    assert t("Too many wrong codes. Ask for a new code below.") in response.content.decode()
    assert sent_mail() == []


def test_an_expired_code_is_refused_and_a_new_one_works(client):
    make_provisioned()
    start_user_id(client)
    choose_phone(client, "forgot_user_id")
    old = last_sms_code()
    OneTimeCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    refused = post(client, "identity:forgot_user_id_code", {"code": old})
    post(client, "identity:forgot_user_id_resend")
    accepted = post(client, "identity:forgot_user_id_code", {"code": last_sms_code()})

    assert t("This code has expired. Ask for a new code below.") in refused.content.decode()
    assert accepted.url == url("identity:forgot_user_id_done")


def test_resends_are_limited(client):
    make_provisioned()
    start_user_id(client)
    choose_phone(client, "forgot_user_id")

    statuses = [post(client, "identity:forgot_user_id_resend").status_code for _ in range(5)]

    assert statuses == [302] * settings.GUICHET_CODE_MAX_RESENDS + [429] * (
        5 - settings.GUICHET_CODE_MAX_RESENDS
    )


# --- Steps cannot be skipped ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "method", "expected"),
    [
        ("identity:forgot_user_id_phone", "get", "identity:forgot_user_id"),
        ("identity:forgot_user_id_code", "get", "identity:forgot_user_id_phone"),
        ("identity:forgot_user_id_code", "post", "identity:forgot_user_id_phone"),
        ("identity:forgot_user_id_resend", "post", "identity:forgot_user_id_phone"),
        ("identity:forgot_user_id_done", "get", "identity:forgot_user_id"),
        ("identity:reset_credentials_phone", "get", "identity:reset_credentials"),
        ("identity:reset_credentials_code", "post", "identity:reset_credentials_phone"),
        ("identity:reset_credentials_done", "get", "identity:reset_credentials"),
        ("identity:reset_credentials_complete", "get", "identity:reset_credentials"),
    ],
)
def test_no_step_can_be_reached_before_its_turn(client, name, method, expected):
    make_provisioned()

    response = getattr(client, method)(url(name), {"code": "123456", "phone": 0}, secure=True)

    assert response.status_code == 302
    assert response.url == url(expected)


def test_one_flow_at_a_time_the_other_flow_steps_are_closed(client):
    make_provisioned()
    start_user_id(client)

    assert get(client, "identity:reset_credentials_phone").url == url("identity:reset_credentials")
    start_reset(client)
    assert get(client, "identity:forgot_user_id_phone").url == url("identity:forgot_user_id")


def test_the_password_page_needs_a_valid_link(client):
    make_provisioned()

    response = get(client, "identity:reset_credentials_password")

    assert response.status_code == 200
    assert t("This link no longer works") in response.content.decode()
    assert 'name="password1"' not in response.content.decode()


# --- Reset logon credentials ----------------------------------------------------------------


def _request_link(client, user: User) -> str:
    start_reset(client, user.user_id, user.email)
    choose_phone(client, "reset_credentials")
    response = post(client, "identity:reset_credentials_code", {"code": last_sms_code()})
    assert response.url == url("identity:reset_credentials_done")
    return reset_link(user)


def test_reset_unlocks_ends_the_temporary_password_and_the_link_works_once(client):
    # Lower case: allauth looks user IDs up lower-cased (ACCOUNT_PRESERVE_USERNAME_CASING = False).
    user = make_provisioned(user_id="cc100042", temporary=True)
    User.objects.filter(pk=user.pk).update(locked_at=timezone.now(), failed_login_count=5)
    link = _request_link(client, user)

    opened = open_link(client, link)
    assert opened.url == url("identity:reset_credentials_password")
    page = get(client, "identity:reset_credentials_password")
    assert 'name="password1"' in page.content.decode()
    done = post(
        client,
        "identity:reset_credentials_password",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "hint": HINT},
    )

    assert done.url == url("identity:reset_credentials_complete")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert (user.locked_at, user.failed_login_count, user.password_is_temporary) == (None, 0, False)
    assert crypto.decrypt(user.password_hint_encrypted) == HINT
    assert get(client, "identity:reset_credentials_complete").status_code == 200
    again = open_link(client, link)
    assert again.status_code == 200 and t("This link no longer works") in again.content.decode()
    login = client.post(url("account_login"), {"login": user.user_id, "password": NEW_PASSWORD}, secure=True)
    assert login.status_code == 302, login.context["form"].errors
    assert client.session.get("_auth_user_id") == str(user.pk)


def test_the_link_email_carries_the_hint_after_the_code_and_no_page_shows_it(client):
    user = make_provisioned()
    User.objects.filter(pk=user.pk).update(password_hint_encrypted=crypto.encrypt("grandma's cat"))
    pages = []
    pages.append(post(client, "identity:reset_credentials", {"user_id": user.user_id, "email": user.email}))
    pages.append(get(client, "identity:reset_credentials_phone"))
    choose_phone(client, "reset_credentials")
    pages.append(get(client, "identity:reset_credentials_code"))
    assert all("@example.com" not in m.to[0] for m in sent_mail() if "grandma" in m.body)  # not yet
    pages.append(post(client, "identity:reset_credentials_code", {"code": last_sms_code()}))
    pages.append(get(client, "identity:reset_credentials_done"))
    pages.append(open_link(client, reset_link(user)))
    pages.append(get(client, "identity:reset_credentials_password"))

    message = last_email(user.email)
    assert "grandma's cat" in message.body and "grandma&#x27;s cat" in message.alternatives[0][0]
    assert all("grandma" not in page.content.decode() for page in pages)


def test_a_newer_link_voids_the_older_one(client):
    user = make_provisioned()
    first = _request_link(client, user)
    cache.clear()
    second = _request_link(client, user)

    assert t("This link no longer works") in open_link(client, first).content.decode()
    assert open_link(client, second).url == url("identity:reset_credentials_password")


def test_an_expired_link_is_refused(client, monkeypatch):
    user = make_provisioned()
    link = _request_link(client, user)
    later = reset_token_generator._now() + timedelta(
        seconds=settings.GUICHET_CREDENTIAL_RESET_LINK_SECONDS + 1
    )
    monkeypatch.setattr(reset_token_generator, "_now", lambda: later)

    response = open_link(client, link)

    assert t("This link no longer works") in response.content.decode()


def test_a_tampered_link_is_refused(client):
    user = make_provisioned()
    link = _request_link(client, user)

    response = open_link(client, link[:-3] + "zz/")

    assert t("This link no longer works") in response.content.decode()


def test_the_new_password_must_follow_the_policy(client):
    user = make_provisioned()
    open_link(client, _request_link(client, user))

    response = post(
        client,
        "identity:reset_credentials_password",
        {"password1": "short", "password2": "short", "hint": ""},
    )

    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_business_accounts_can_reset_but_consumers_use_forgot_password(client):
    business = make_provisioned(user_id="BE0403170701", email="boss@example.com")
    User.objects.filter(pk=business.pk).update(kind=AccountKind.BUSINESS)
    _request_link(client, business)
    consumer = make_consumer(email="camille.martin@example.com", password=PASSWORD)
    User.objects.filter(pk=consumer.pk).update(mobile_phone="+32470555555")
    cache.clear()

    start_reset(client, consumer.user_id, consumer.email)
    choose_phone(client, "reset_credentials")

    assert [str(sms.to) for sms in sent_sms()] == ["+32470123412"]


# --- Rate limits and audit --------------------------------------------------------------------


@pytest.mark.parametrize("email", [EMAIL, "nobody@example.com"])
def test_recovery_requests_are_rate_limited_per_address(client, email):
    make_provisioned()

    statuses = [post(client, "identity:forgot_user_id", {"email": email}).status_code for _ in range(6)]

    assert statuses == [302] * 5 + [429]


def test_code_sends_are_rate_limited_per_account_across_restarts(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "guichet_recovery": "100/h/key"}
    make_provisioned()
    statuses = []
    for _ in range(6):
        start_user_id(client)
        statuses.append(post(client, "identity:forgot_user_id_phone", {"phone": 0}).status_code)

    assert statuses == [302] * 5 + [429]
    assert len(sent_sms()) == 5


def test_the_audit_trail_records_the_requests_but_no_secret(client):
    user = make_provisioned()
    _request_link(client, user)
    code = OneTimeCode.objects.get(purpose=CodePurpose.RESET_CREDENTIALS)

    actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    assert actions[:4] == [
        "identity.recovery_requested",
        "identity.code_sent",
        "identity.code_verified",
        "identity.reset_link_sent",
    ]
    dumped = str(list(AuditEvent.objects.values()))
    assert code.code_hash not in dumped and "link" not in str(AuditEvent.objects.last().details).lower()
