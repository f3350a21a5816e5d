"""The Security page, the header of logged-in pages, the home page and the password change."""

from pathlib import Path

import pytest
from allauth.usersessions.models import UserSession
from django.contrib.auth.hashers import check_password
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext, ngettext

from guichet.audit.models import AuditEvent
from guichet.audit.services import record
from guichet.help.tests.html import elements
from guichet.identity import crypto, services, signing
from guichet.identity.forms.security import PASSWORD_OPERATION, ChangePasswordForm
from guichet.identity.models import PasswordHistory, User
from guichet.identity.testing import PASSWORD, last_email, last_sms_code, make_provisioned
from guichet.identity.views.security import device_label, security_events_of

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Blue-Harbour-7731?"
CHROME_LINUX = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
)
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
PROTECTED_GET = [
    "identity:security",
    "identity:contact_email",
    "identity:contact_email_confirm",
    "identity:contact_mobile",
    "identity:contact_mobile_confirm",
    "identity:contact_email_complete",
    "identity:contact_mobile_complete",
    "account_change_password",
]


def url(name: str, language: str = "fr") -> str:
    with translation.override(language):
        return reverse(name)


def t(msgid: str, language: str = "fr") -> str:
    with translation.override(language):
        return gettext(msgid)


def logged_in(user: User, user_agent: str = CHROME_LINUX) -> Client:
    """A browser of ``user``, with its session tracked (the first request records it)."""
    client = Client(HTTP_USER_AGENT=user_agent)
    client.force_login(user)
    client.get(url("home"))
    return client


def password_proof(user: User) -> str:
    """A fresh signed proof for a password change (SMS: the user has no authenticator)."""
    challenge = signing.signing_start(user=user, operation=PASSWORD_OPERATION, request=None)
    signing.signing_sms_send(challenge=challenge, request=None)
    proof = signing.signing_verify(
        challenge_id=challenge.pk,
        user=user,
        operation=PASSWORD_OPERATION,
        method="sms",
        code=last_sms_code(str(user.mobile_phone)),
        request=None,
    )
    return str(proof.pk)


@pytest.fixture
def lucie() -> User:
    return make_provisioned(alternate_phone="+32470987654")


@pytest.fixture
def outsider() -> User:
    return make_provisioned(user_id="CC100002", email="marc.peeters@example.com", first_name="Marc")


# --- Rights ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", PROTECTED_GET)
def test_anonymous_visitors_are_sent_to_the_login_page(client, name):
    response = client.get(url(name))

    assert response.status_code == 302
    assert response["Location"].startswith(url("account_login") + "?next=")


def test_anonymous_visitors_cannot_end_sessions(client, lucie):
    other = logged_in(lucie)

    response = client.post(url("identity:sessions_end_others"))

    assert response.status_code == 302
    assert response["Location"].startswith(url("account_login"))
    assert UserSession.objects.filter(user=lucie).count() == 1
    assert other.get(url("identity:security")).status_code == 200
    assert not AuditEvent.objects.filter(action="identity.sessions_ended").exists()


def test_ending_sessions_needs_a_post(lucie):
    browser = logged_in(lucie)

    assert browser.get(url("identity:sessions_end_others")).status_code == 405


# --- Header and home ------------------------------------------------------------------


def test_anonymous_header_offers_to_log_on(client):
    response = client.get(url("home"))

    links = [a["href"] for a in elements(response.content, "a")]
    assert url("account_login") in links
    assert url("identity:security") not in links
    assert t("Log out") not in response.text


def test_logged_in_header_shows_the_name_security_and_a_logout_form(lucie):
    response = logged_in(lucie).get(url("home"))

    assert "Lucie Dubois" in response.text
    links = [a["href"] for a in elements(response.content, "a")]
    assert url("identity:security") in links
    assert url("account_login") not in links
    logout_forms = [f for f in elements(response.content, "form") if f.get("action") == url("account_logout")]
    assert logout_forms and all(f["method"] == "post" for f in logout_forms)


def test_logged_in_home_greets_and_lists_what_the_user_can_do(lucie):
    response = logged_in(lucie).get(url("home"))

    with translation.override("fr"):
        greeting = gettext("Hello %(name)s") % {"name": "Lucie"}
    assert f"<h1>{greeting}</h1>" in response.text
    assert f'href="{url("identity:security")}"' in response.text
    assert t("First time here?") not in response.text


def test_logout_form_logs_out(lucie):
    browser = logged_in(lucie)

    browser.post(url("account_logout"))

    assert browser.get(url("identity:security")).status_code == 302


# --- Security page --------------------------------------------------------------------


@pytest.mark.parametrize("language", ["fr", "nl", "en", "de"])
def test_security_page_shows_the_details_with_masked_numbers(lucie, language):
    response = logged_in(lucie).get(url("identity:security", language))

    assert response.status_code == 200
    assert f'<html lang="{language}">' in response.text
    text = response.text
    assert "CC100001" in text
    assert "Lucie Dubois" in text
    assert "lucie.dubois@example.com" in text
    assert "+32 4•• •• •• 12" in text
    assert "+32 4•• •• •• 54" in text
    assert "470123412" not in text and "470 12 34 12" not in text
    links = [a["href"] for a in elements(response.content, "a")]
    assert url("identity:contact_email", language) in links
    assert url("identity:contact_mobile", language) in links
    assert any(link.startswith(url("account_change_password", language)) for link in links)


def test_security_page_lists_the_sessions_of_the_user_only(lucie, outsider):
    logged_in(lucie, FIREFOX_WINDOWS)
    logged_in(outsider, "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Version/17.5 Safari/605.1.15")
    browser = logged_in(lucie, CHROME_LINUX)

    response = browser.get(url("identity:security"))

    rows = response.context["sessions"]
    with translation.override("fr"):
        expected = [(device_label(CHROME_LINUX), True), (device_label(FIREFOX_WINDOWS), False)]
    assert [(row["device"], row["is_current"]) for row in rows] == expected
    assert response.context["other_session_count"] == 1
    assert t("this device") in response.text
    assert "Safari" not in response.text


def test_ending_other_sessions_keeps_this_one_and_those_of_other_users(lucie, outsider):
    elsewhere = logged_in(lucie, FIREFOX_WINDOWS)
    stranger = logged_in(outsider)
    browser = logged_in(lucie)

    response = browser.post(url("identity:sessions_end_others"), follow=True)

    assert response.redirect_chain == [(url("identity:security"), 302)]
    assert response.context["other_session_count"] == 0
    with translation.override("fr"):
        ended = ngettext("%(count)d other session was ended.", "%(count)d other sessions were ended.", 1)
    assert [str(m) for m in response.context["messages"]] == [ended % {"count": 1}]
    assert elsewhere.get(url("identity:security")).status_code == 302  # logged out
    assert stranger.get(url("identity:security")).status_code == 200
    assert UserSession.objects.filter(user=lucie).count() == 1
    assert UserSession.objects.filter(user=outsider).count() == 1
    event = AuditEvent.objects.get(action="identity.sessions_ended")
    assert (event.actor_id, event.target_id, event.details) == (lucie.pk, str(lucie.pk), {"count": 1})


def test_ending_sessions_when_alone_says_so(lucie):
    browser = logged_in(lucie)

    response = browser.post(url("identity:sessions_end_others"), follow=True)

    assert [str(m) for m in response.context["messages"]] == [t("No other session was open.")]
    assert browser.get(url("identity:security")).status_code == 200


def test_security_page_shows_the_users_own_recent_events_newest_first(lucie, outsider):
    record(action="identity.login_failed", target=lucie, details={"failures": 1})
    for _ in range(10):
        record(action="identity.login", actor=lucie, target=lucie)
    record(action="identity.password_changed", actor=lucie, target=lucie)
    record(action="identity.code_sent", actor=lucie, target=lucie)  # not a logon event
    record(action="identity.login_failed", target=outsider)
    record(action="identity.locked", target=outsider)

    events = list(security_events_of(user=lucie))

    assert [e.action for e in events] == ["identity.password_changed"] + ["identity.login"] * 9
    assert all(e.target_id == str(lucie.pk) for e in events)


def test_security_page_labels_events_in_the_users_language(lucie):
    lucie_browser = logged_in(lucie)  # records nothing: force_login skips the adapter
    record(action="identity.login_failed", target=lucie)
    record(action="identity.locked", target=lucie)

    response = lucie_browser.get(url("identity:security", "en"))

    assert [item["label"] for item in response.context["events"]] == [
        "Access locked after failed attempts",
        "Failed logon attempt",
    ]
    assert "Failed logon attempt" in response.text


def test_another_users_events_never_show(lucie, outsider):
    record(action="identity.login_failed", target=outsider)

    response = logged_in(lucie).get(url("identity:security"))

    assert response.context["events"] == []
    assert t("No logon recorded yet.") in response.text


@pytest.mark.parametrize(
    ("user_agent", "label"),
    [
        (CHROME_LINUX, "Chrome on Linux"),
        (FIREFOX_WINDOWS, "Firefox on Windows"),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Version/17.5 Safari/604.1", "Safari on iOS"),
        ("Mozilla/5.0 (Windows NT 10.0) Chrome/126.0 Safari/537.36 Edg/126.0", "Edge on Windows"),
        ("curl/8.5.0", "Unknown device"),
        ("", "Unknown device"),
    ],
)
def test_device_label(user_agent, label):
    with translation.override("en"):
        assert device_label(user_agent) == label


# --- Password change --------------------------------------------------------------------


@pytest.fixture
def our_templates_first(settings):
    """Our account/*.html over allauth's, as INSTALLED_APPS should order them (guichet.identity first)."""
    identity_templates = Path(services.__file__).resolve().parent / "templates"
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [identity_templates]}]


def test_password_change_page_renders_with_allauths_form(lucie, our_templates_first):
    response = logged_in(lucie).get(url("account_change_password"))

    assert response.status_code == 200
    assert list(elements(response.content, "h1")) == [{}]
    assert t("Change your password") in response.text


@pytest.fixture
def our_password_form(settings, our_templates_first):
    settings.ACCOUNT_FORMS = {
        **settings.ACCOUNT_FORMS,
        "change_password": f"{ChangePasswordForm.__module__}.ChangePasswordForm",
    }


def test_password_change_sets_password_and_hint_and_keeps_the_session(lucie, our_password_form):
    lucie.password_hint_encrypted = crypto.encrypt("old hint")
    lucie.save(update_fields=["password_hint_encrypted"])
    browser = logged_in(lucie)
    old_hash = User.objects.get(pk=lucie.pk).password

    response = browser.post(
        url("account_change_password") + "?next=" + url("identity:security"),
        {
            "oldpassword": PASSWORD,
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "hint": "the harbour",
            "proof": password_proof(lucie),
        },
    )

    assert response.status_code == 302, response.context["form"].errors
    assert response["Location"] == url("identity:security")
    lucie.refresh_from_db()
    assert lucie.check_password(NEW_PASSWORD)
    assert services.password_hint(user=lucie) == "the harbour"
    assert check_password(PASSWORD, PasswordHistory.objects.filter(user=lucie).first().password)
    assert old_hash != lucie.password
    assert browser.get(url("identity:security")).status_code == 200  # still logged in
    event = AuditEvent.objects.filter(action="identity.password_changed").latest("seq")
    assert event.details == {"reason": "changed"}
    assert event.ip_address == "127.0.0.1"
    assert NEW_PASSWORD not in str(event.details) and "harbour" not in str(event.details)
    assert "CC100001" in last_email(to="lucie.dubois@example.com").body


def test_password_change_without_hint_keeps_the_hint(lucie, our_password_form):
    lucie.password_hint_encrypted = crypto.encrypt("old hint")
    lucie.save(update_fields=["password_hint_encrypted"])
    browser = logged_in(lucie)

    browser.post(
        url("account_change_password"),
        {
            "oldpassword": PASSWORD,
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "hint": "",
            "proof": password_proof(lucie),
        },
    )

    lucie.refresh_from_db()
    assert lucie.check_password(NEW_PASSWORD)
    assert services.password_hint(user=lucie) == "old hint"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"oldpassword": "wrong", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}, "oldpassword"),
        ({"oldpassword": PASSWORD, "password1": "short", "password2": "short"}, "password1"),
        ({"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD + "x"}, "password2"),
        (
            {
                "oldpassword": PASSWORD,
                "password1": NEW_PASSWORD,
                "password2": NEW_PASSWORD,
                "hint": NEW_PASSWORD,
            },
            "hint",
        ),
    ],
)
def test_password_change_refuses_bad_input_and_changes_nothing(lucie, our_password_form, data, field):
    browser = logged_in(lucie)
    proof = password_proof(lucie)
    before = AuditEvent.objects.count()

    response = browser.post(url("account_change_password"), {**data, "proof": proof})

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert 'role="alert"' in response.text
    lucie.refresh_from_db()
    assert lucie.check_password(PASSWORD)
    # Nothing changed; a wrong current password only counts as a failed login.
    new_events = set(AuditEvent.objects.order_by("seq")[before:].values_list("action", flat=True))
    assert new_events <= {"identity.login_failed"}
    assert (field == "oldpassword") == bool(new_events)


def test_password_change_page_shows_the_live_rules_with_our_form(lucie, our_password_form):
    response = logged_in(lucie).get(url("account_change_password") + "?proof=" + password_proof(lucie))

    assert "data-password-rules" in response.text
    assert 'name="hint"' in response.text


# --- The password change is signed first (identity.signing) ----------------------------


def test_password_change_asks_for_a_signature_first(lucie, our_password_form):
    browser = logged_in(lucie)

    page = browser.get(url("account_change_password"))
    assert 'name="oldpassword"' not in page.text
    assert url("identity:password_change_sign") in page.text
    response = browser.post(url("identity:password_change_sign"))

    challenge = signing.SigningChallenge.objects.get(user=lucie)
    assert response["Location"] == reverse("identity:sign", args=[challenge.pk])
    assert (challenge.kind, challenge.next_url) == ("password_change", url("account_change_password"))


def test_password_change_without_a_valid_proof_changes_nothing(lucie, our_password_form):
    browser = logged_in(lucie)
    proof = password_proof(lucie)
    signing.signing_proof_consume(proof_id=proof, user=lucie, operation=PASSWORD_OPERATION)
    data = {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}

    for sent in ({}, {"proof": proof}, {"proof": "not-a-proof"}):
        response = browser.post(url("account_change_password"), {**data, **sent})
        assert response.status_code == 200
        assert 'role="alert"' in response.text

    lucie.refresh_from_db()
    assert lucie.check_password(PASSWORD)


def test_a_proof_for_another_operation_does_not_change_the_password(lucie, our_password_form):
    challenge = signing.signing_start(
        user=lucie, operation=signing.Operation(kind="email_change", target="x@example.com"), request=None
    )
    signing.signing_sms_send(challenge=challenge, request=None)
    proof = signing.signing_verify(
        challenge_id=challenge.pk,
        user=lucie,
        operation=signing.Operation(kind="email_change", target="x@example.com"),
        method="sms",
        code=last_sms_code(),
        request=None,
    )

    logged_in(lucie).post(
        url("account_change_password"),
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "proof": proof.pk},
    )

    lucie.refresh_from_db()
    assert lucie.check_password(PASSWORD)
