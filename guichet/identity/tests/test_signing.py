"""Transaction signing: canonical operations, challenges, proofs bound to the digest (PSD2 RTS art. 5)."""

import hashlib
import json
import re
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext

from guichet.audit.models import AuditEvent
from guichet.identity import lockout, signing
from guichet.identity.models import SignedProof, SigningChallenge, User
from guichet.identity.signing import Operation, OperationItem, SigningError, SigningErrorCode
from guichet.identity.testing import make_provisioned
from guichet.notifications.sms import locmem
from guichet.notifications.testing import deliveries_run

pytestmark = pytest.mark.django_db

TRANSFER_A = Operation(
    kind="transfer",
    amount=Decimal("1250.00"),
    currency="EUR",
    payee_name="Atelier Lenoir",
    payee_iban="BE68 5390 0754 7034",
)
TRANSFER_B = Operation(
    kind="transfer",
    amount=Decimal("1250.01"),
    currency="EUR",
    payee_name="Atelier Lenoir",
    payee_iban="BE68 5390 0754 7034",
)
TRANSFER_Q = Operation(
    kind="transfer",
    amount=Decimal("1250.00"),
    currency="EUR",
    payee_name="Atelier Lenoir",
    payee_iban="BE71 0961 2345 6769",
)


def totp_now(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def totp_of(user: User) -> str:
    """Gives ``user`` an authenticator app; returns its secret."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def a_request(user: User | None = None):
    request = RequestFactory().get("/")
    request.user = user
    request.session = {}
    return request


@pytest.fixture
def lucie() -> User:
    return make_provisioned()


def start(user: User, operation: Operation = TRANSFER_A, next_url: str = "/fr/next/") -> SigningChallenge:
    return signing.signing_start(user=user, operation=operation, request=a_request(user), next_url=next_url)


def verify(user: User, challenge: SigningChallenge, operation: Operation = TRANSFER_A, **kwargs):
    kwargs.setdefault("method", "totp")
    return signing.signing_verify(
        challenge_id=challenge.pk, user=user, operation=operation, request=a_request(user), **kwargs
    )


# --- The operation -------------------------------------------------------------------


def test_canonical_form_is_sorted_compact_with_two_decimal_amounts():
    operation = Operation(kind="transfer", amount=Decimal("12.5"), currency="EUR", payee_name="Zoé")

    assert (
        operation.canonical()
        == (
            '{"amount":"12.50","currency":"EUR","items":[],"kind":"transfer",'
            '"payee_iban":"","payee_name":"Zoé","target":""}'
        ).encode()
    )


def test_digest_is_stable_and_ignores_key_order_and_iban_spacing():
    shuffled = json.dumps(dict(reversed(list(json.loads(TRANSFER_A.canonical()).items()))))
    spaced = Operation(
        kind="transfer",
        amount=Decimal("1250"),
        currency="EUR",
        payee_name="Atelier Lenoir",
        payee_iban="be68539007547034",
    )

    assert Operation.from_canonical(shuffled).digest() == TRANSFER_A.digest()
    assert spaced.digest() == TRANSFER_A.digest()
    assert TRANSFER_A.digest() == hashlib.sha256(TRANSFER_A.canonical()).hexdigest()


def test_any_change_changes_the_digest():
    digests = {op.digest() for op in (TRANSFER_A, TRANSFER_B, TRANSFER_Q)}

    assert len(digests) == 3


def test_batch_total_must_be_the_sum_of_its_items():
    items = (
        OperationItem(payee_name="A", amount=Decimal("10.00")),
        OperationItem(payee_name="B", amount=Decimal("5.50")),
    )

    batch = Operation(kind="transfer_batch", amount=Decimal("15.50"), currency="EUR", items=items)
    assert Operation.from_canonical(batch.canonical()) == batch
    with pytest.raises(ValueError, match="total"):
        Operation(kind="transfer_batch", amount=Decimal("15.00"), currency="EUR", items=items)


@pytest.mark.parametrize("amount", [Decimal("1.234"), 1.5])
def test_amounts_are_decimals_with_cents(amount):
    with pytest.raises(ValueError):
        Operation(kind="transfer", amount=amount, currency="EUR")


def test_describe_says_what_is_signed_in_the_active_language():
    with translation.override("fr"):
        rows = TRANSFER_A.describe()
        amount_label, payee_label = gettext("Amount"), gettext("Payee")

    assert (amount_label, "1\xa0250,00 EUR") in rows  # French grouping and decimal comma
    with translation.override("en"):
        assert ("Amount", "1,250.00 EUR") in TRANSFER_A.describe()
    assert (payee_label, "Atelier Lenoir") in rows
    with translation.override("fr"):
        iban_label = gettext("Payee's account (IBAN)")
    assert (iban_label, "BE68 5390 0754 7034") in rows


# --- Challenge and proof -------------------------------------------------------------


def test_a_totp_proof_for_amount_a_cannot_validate_amount_b_or_payee_q(lucie):
    secret = totp_of(lucie)
    challenge = start(lucie, TRANSFER_A)

    for other in (TRANSFER_B, TRANSFER_Q):
        with pytest.raises(SigningError) as error:
            verify(lucie, challenge, other, code=totp_now(secret))
        assert error.value.code == SigningErrorCode.TAMPERED
    proof = verify(lucie, challenge, TRANSFER_A, code=totp_now(secret))

    for other in (TRANSFER_B, TRANSFER_Q):
        with pytest.raises(SigningError) as error:
            signing.signing_proof_consume(proof_id=proof.pk, user=lucie, operation=other)
        assert error.value.code == SigningErrorCode.TAMPERED
    assert signing.signing_proof_consume(proof_id=proof.pk, user=lucie, operation=TRANSFER_A) == proof


def test_tampering_is_audited_and_not_counted_as_a_wrong_code(lucie):
    totp_of(lucie)
    challenge = start(lucie)

    with pytest.raises(SigningError):
        verify(lucie, challenge, TRANSFER_B, code="000000")

    event = AuditEvent.objects.filter(action="identity.signing_failed").get()
    assert event.details == {"kind": "transfer", "digest": TRANSFER_A.digest(), "reason": "tampered"}
    assert User.objects.get(pk=lucie.pk).failed_login_count == 0


def test_a_challenge_and_a_proof_cannot_be_replayed(lucie):
    secret = totp_of(lucie)
    challenge = start(lucie)
    proof = verify(lucie, challenge, code=totp_now(secret))

    with pytest.raises(SigningError) as error:
        verify(lucie, challenge, code=totp_now(secret))
    assert error.value.code == SigningErrorCode.USED
    signing.signing_proof_consume(proof_id=proof.pk, user=lucie, operation=TRANSFER_A)
    with pytest.raises(SigningError) as error:
        signing.signing_proof_consume(proof_id=proof.pk, user=lucie, operation=TRANSFER_A)
    assert error.value.code == SigningErrorCode.USED


def test_an_expired_challenge_or_proof_is_refused(lucie):
    secret = totp_of(lucie)
    expired = start(lucie)
    SigningChallenge.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(SigningError) as error:
        verify(lucie, expired, code=totp_now(secret))
    assert error.value.code == SigningErrorCode.EXPIRED

    challenge = start(lucie)
    proof = SignedProof.objects.create(challenge=challenge, method="totp")
    SignedProof.objects.filter(pk=proof.pk).update(signed_at=timezone.now() - timedelta(seconds=301))
    with pytest.raises(SigningError) as error:
        signing.signing_proof_consume(proof_id=proof.pk, user=lucie, operation=TRANSFER_A)
    assert error.value.code == SigningErrorCode.EXPIRED


def test_another_users_challenge_or_proof_does_not_exist(lucie):
    secret = totp_of(lucie)
    other = make_provisioned(user_id="CC100002", email="o@example.com", phone="+32470999999")
    challenge = start(lucie)

    with pytest.raises(SigningError) as error:
        verify(other, challenge, code=totp_now(secret))
    assert error.value.code == SigningErrorCode.NOT_FOUND
    proof = verify(lucie, challenge, code=totp_now(secret))
    with pytest.raises(SigningError) as error:
        signing.signing_proof_consume(proof_id=proof.pk, user=other, operation=TRANSFER_A)
    assert error.value.code == SigningErrorCode.NOT_FOUND
    with pytest.raises(SigningError):
        signing.signing_proof_consume(proof_id="not-a-uuid", user=lucie, operation=TRANSFER_A)


def test_a_totp_code_cannot_be_used_twice(lucie):
    secret = totp_of(lucie)
    code = totp_now(secret)
    verify(lucie, start(lucie), code=code)

    with pytest.raises(SigningError) as error:
        verify(lucie, start(lucie), code=code)
    assert error.value.code == SigningErrorCode.WRONG


def test_audit_events_carry_kind_and_digest_never_a_code(lucie):
    secret = totp_of(lucie)
    code = totp_now(secret)
    verify(lucie, start(lucie), code=code)

    events = AuditEvent.objects.filter(action__startswith="identity.sign").order_by("seq")
    assert [e.action for e in events] == ["identity.signing_started", "identity.signed"]
    assert events[1].details == {"kind": "transfer", "digest": TRANSFER_A.digest(), "method": "totp"}
    assert all(code not in json.dumps(e.details) for e in events)


# --- Methods and SMS -----------------------------------------------------------------


def test_sms_is_offered_only_without_a_strong_authenticator(lucie):
    assert signing.signing_methods(lucie) == ["sms"]
    totp_of(lucie)
    assert signing.signing_methods(lucie) == ["totp"]
    Authenticator.objects.create(user=lucie, type=Authenticator.Type.WEBAUTHN, data={"name": "Key"})
    assert signing.signing_methods(lucie) == ["webauthn", "totp"]


def test_sms_is_refused_to_a_user_with_an_authenticator_app(lucie):
    totp_of(lucie)
    challenge = start(lucie)

    with pytest.raises(SigningError) as error:
        signing.signing_sms_send(challenge=challenge, request=None)
    assert error.value.code == SigningErrorCode.METHOD_UNAVAILABLE
    with pytest.raises(SigningError):
        verify(lucie, challenge, method="sms", code="123456")
    assert locmem.outbox == []


def sms_code() -> tuple[str, str]:
    deliveries_run()
    text = locmem.outbox[-1].text
    return re.search(r"\b(\d{6})\b", text).group(1), text


def test_the_sms_states_amount_and_payee_and_its_code_signs_that_challenge_only(lucie):
    first = start(lucie)
    second = start(lucie)
    signing.signing_sms_send(challenge=first, request=None)
    code, text = sms_code()

    assert "1250,00 EUR" in text  # no grouping space: the SMS stays in the GSM alphabet
    assert "Atelier Lenoir" in text
    signing.signing_sms_send(challenge=second, request=None)
    with pytest.raises(SigningError) as error:
        verify(lucie, second, method="sms", code=code)
    assert error.value.code == SigningErrorCode.WRONG
    proof = verify(lucie, first, method="sms", code=code)
    assert proof.method == "sms"


def test_the_sms_without_amount_states_the_kind_and_target(lucie):
    operation = Operation(kind="email_change", target="lucie.d@example.org")
    signing.signing_sms_send(challenge=start(lucie, operation), request=None)
    _code, text = sms_code()

    with translation.override("fr"):
        kind = gettext("Change of your e-mail address")
    assert kind in text
    assert "lucie.d@example.org" in text


def test_sms_signing_needs_a_code_sent_first(lucie):
    with pytest.raises(SigningError) as error:
        verify(lucie, start(lucie), method="sms", code="123456")
    assert error.value.code == SigningErrorCode.NO_CODE


# --- The failure counter -------------------------------------------------------------


def test_failures_count_across_password_and_signing_warn_then_lock(lucie):
    secret = totp_of(lucie)
    lockout.login_failure_record(identifier=lucie.user_id)
    lockout.login_failure_record(identifier=lucie.user_id)
    challenge = start(lucie)

    with pytest.raises(SigningError) as error:
        verify(lucie, challenge, code="000000")
    assert (error.value.code, error.value.attempts_left) == (SigningErrorCode.WRONG, 2)
    with pytest.raises(SigningError) as error:
        verify(lucie, challenge, code="000001")
    assert error.value.attempts_left == 1  # the warning: the next failure locks
    with pytest.raises(SigningError) as error:
        verify(lucie, challenge, code="000002")
    assert error.value.code == SigningErrorCode.LOCKED
    assert User.objects.get(pk=lucie.pk).is_locked

    with pytest.raises(SigningError) as error:
        verify(lucie, challenge, code=totp_now(secret))
    assert error.value.code == SigningErrorCode.LOCKED
    assert not SignedProof.objects.exists()


def test_a_right_signature_ends_the_run_of_failures(lucie):
    secret = totp_of(lucie)
    challenge = start(lucie)
    with pytest.raises(SigningError):
        verify(lucie, challenge, code="000000")

    verify(lucie, challenge, code=totp_now(secret))

    assert User.objects.get(pk=lucie.pk).failed_login_count == 0


# --- The signing page ----------------------------------------------------------------


def browser_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def sign_url(challenge: SigningChallenge) -> str:
    with translation.override("fr"):
        return reverse("identity:sign", args=[challenge.pk])


def test_the_page_shows_the_operation_and_the_code_field(lucie):
    totp_of(lucie)
    challenge = start(lucie)

    response = browser_of(lucie).get(sign_url(challenge))

    assert response.status_code == 200
    with translation.override("fr"):
        for label, value in TRANSFER_A.describe():
            assert f"<dt>{escape(label)}</dt><dd>{escape(value)}</dd>" in response.content.decode()
    assert 'name="code"' in response.content.decode()
    assert 'name="action" value="sms_send"' not in response.content.decode()


def test_another_users_challenge_is_not_found_and_anonymous_logs_in(lucie, client):
    challenge = start(lucie)
    other = make_provisioned(user_id="CC100002", email="o@example.com", phone="+32470999999")

    assert browser_of(other).get(sign_url(challenge)).status_code == 404
    assert browser_of(other).post(sign_url(challenge), {"method": "sms", "code": "1"}).status_code == 404
    assert client.get(sign_url(challenge)).status_code == 302


def test_signing_on_the_page_returns_to_the_next_url_with_the_proof(lucie):
    secret = totp_of(lucie)
    challenge = start(lucie, next_url="/fr/next/?step=2")

    response = browser_of(lucie).post(sign_url(challenge), {"method": "totp", "code": totp_now(secret)})

    proof = SignedProof.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/fr/next/?step=2&proof={proof.pk}"


def test_a_wrong_code_on_the_page_is_announced_with_the_tries_left(lucie):
    totp_of(lucie)
    challenge = start(lucie)

    response = browser_of(lucie).post(sign_url(challenge), {"method": "totp", "code": "000000"})

    content = response.content.decode()
    assert 'role="alert"' in content
    assert 'aria-invalid="true"' in content
    with translation.override("fr"):
        from django.utils.translation import ngettext

        text = ngettext(
            "The code or the passkey signature is not correct. You have %(count)d try left.",
            "The code or the passkey signature is not correct. You have %(count)d tries left.",
            4,
        ) % {"count": 4}
    assert text in content


def test_the_sms_fallback_on_the_page(lucie):
    challenge = start(lucie)
    browser = browser_of(lucie)

    page = browser.get(sign_url(challenge)).content.decode()
    assert 'name="action" value="sms_send"' in page
    browser.post(sign_url(challenge), {"action": "sms_send"})
    code, _text = sms_code()
    response = browser.post(sign_url(challenge), {"method": "sms", "code": code})

    assert response.status_code == 302
    assert SignedProof.objects.get().method == "sms"


def test_an_external_next_url_is_dropped(lucie):
    challenge = start(lucie, next_url="https://evil.example/")

    assert challenge.next_url == ""


def test_a_wrong_passkey_assertion_counts_as_a_failure(lucie):
    Authenticator.objects.create(user=lucie, type=Authenticator.Type.WEBAUTHN, data={"name": "Key"})
    challenge = start(lucie)
    request = RequestFactory().get("/", HTTP_HOST="localhost")
    request.session = {}

    with pytest.raises(SigningError) as error:
        signing.signing_verify(
            challenge_id=challenge.pk,
            user=lucie,
            operation=TRANSFER_A,
            method="webauthn",
            webauthn_response='{"id": "forged", "response": {}}',
            request=request,
        )

    assert (error.value.code, error.value.attempts_left) == (SigningErrorCode.WRONG, 4)
    assert User.objects.get(pk=lucie.pk).failed_login_count == 1
