"""One-time codes: hashed at rest, 5 minutes, 5 tries, single use, latest only."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from guichet.audit.models import AuditEvent
from guichet.identity.codes import CodeCheck, code_owner, code_send, code_verify
from guichet.identity.models import CodePurpose, OneTimeCode
from guichet.identity.testing import last_sms_code, make_provisioned
from guichet.notifications.models import Message
from guichet.notifications.sms import locmem

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_sms_outbox():
    locmem.outbox.clear()


def _send(user, purpose=CodePurpose.ONBOARDING):
    return code_send(user=user, purpose=purpose, channel="sms", destination=str(user.mobile_phone))


def test_a_code_is_six_digits_sent_by_sms_and_stored_only_as_a_hash():
    user = make_provisioned()

    otc = _send(user)
    code = last_sms_code(str(user.mobile_phone))

    assert len(code) == 6
    assert code.isdigit()
    assert code not in otc.code_hash
    assert len(otc.code_hash) == 64
    assert otc.expires_at - otc.created_at == timedelta(minutes=5)


def test_the_sms_body_is_wiped_once_sent():
    user = make_provisioned()
    _send(user)
    last_sms_code()

    message = Message.objects.get(channel="sms")
    assert message.sensitive
    assert message.body_text == ""


def test_the_right_code_is_accepted_once():
    user = make_provisioned()
    otc = _send(user)
    code = last_sms_code()

    assert code_verify(code_id=str(otc.pk), code=code, purpose=CodePurpose.ONBOARDING) == CodeCheck.OK
    assert code_verify(code_id=str(otc.pk), code=code, purpose=CodePurpose.ONBOARDING) == CodeCheck.EXPIRED
    assert code_owner(str(otc.pk)) == user


def test_a_code_is_bound_to_its_purpose():
    user = make_provisioned()
    otc = _send(user, CodePurpose.ONBOARDING)
    code = last_sms_code()

    assert code_verify(code_id=str(otc.pk), code=code, purpose=CodePurpose.CHANGE_PHONE) == CodeCheck.EXPIRED


def test_five_wrong_tries_exhaust_the_code_even_for_the_right_one_afterwards():
    user = make_provisioned()
    otc = _send(user)
    code = last_sms_code()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    results = [code_verify(code_id=str(otc.pk), code=wrong, purpose=CodePurpose.ONBOARDING) for _ in range(5)]

    assert results == [CodeCheck.WRONG] * 4 + [CodeCheck.EXHAUSTED]
    assert code_verify(code_id=str(otc.pk), code=code, purpose=CodePurpose.ONBOARDING) == CodeCheck.EXHAUSTED
    assert AuditEvent.objects.filter(action="identity.code_rejected").count() == 5


def test_an_expired_code_is_refused():
    user = make_provisioned()
    otc = _send(user)
    code = last_sms_code()
    OneTimeCode.objects.filter(pk=otc.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert code_verify(code_id=str(otc.pk), code=code, purpose=CodePurpose.ONBOARDING) == CodeCheck.EXPIRED


def test_a_new_code_replaces_the_previous_one():
    user = make_provisioned()
    first = _send(user)
    first_code = last_sms_code()
    _send(user)

    result = code_verify(code_id=str(first.pk), code=first_code, purpose=CodePurpose.ONBOARDING)
    assert result == CodeCheck.EXPIRED


def test_no_code_id_behaves_like_a_wrong_code():
    assert code_verify(code_id=None, code="123456", purpose=CodePurpose.FORGOT_USER_ID) == CodeCheck.WRONG


@override_settings(GUICHET_CODE_VALIDITY_SECONDS=120)
def test_validity_is_configurable():
    otc = _send(make_provisioned())
    assert otc.expires_at - otc.created_at == timedelta(minutes=2)


def test_a_code_by_email_goes_to_the_given_address():
    user = make_provisioned()
    code_send(user=user, purpose=CodePurpose.CHANGE_EMAIL, channel="email", destination="new@example.com")
    last_sms_code  # noqa: B018 (nothing by SMS)
    from guichet.identity.testing import last_email

    message = last_email("new@example.com")
    assert message.to == ["new@example.com"]
    assert not locmem.outbox
    assert len(mail.outbox) == 1


def test_the_code_never_reaches_the_audit_trail():
    user = make_provisioned()
    otc = _send(user)
    code = last_sms_code()
    code_verify(code_id=str(otc.pk), code=code, purpose=CodePurpose.ONBOARDING)

    for event in AuditEvent.objects.all():
        assert code not in str(event.details)
