"""Identity services: credentials, passwords and hints, consumers, agreements."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from guichet.audit.models import AuditEvent
from guichet.identity import crypto
from guichet.identity.exceptions import IdentityError
from guichet.identity.models import AccountKind
from guichet.identity.services import (
    agreement_accept,
    agreement_current,
    agreement_pending,
    consumer_ensure,
    credentials_issue,
    password_hint,
    password_set,
    temporary_password_expired,
)
from guichet.identity.testing import agreement_publish, last_email, make_consumer, make_provisioned

pytestmark = pytest.mark.django_db


def test_password_set_ends_the_temporary_password_and_the_lock_and_tells_the_user():
    user = make_provisioned(temporary=True)
    user.locked_at = timezone.now()
    user.failed_login_count = 5
    user.save()

    password_set(user=user, password="Velo-Rouge-73!", hint="my first bike")

    user.refresh_from_db()
    assert user.check_password("Velo-Rouge-73!")
    assert (user.password_is_temporary, user.password_expires_at, user.locked_at) == (False, None, None)
    assert user.failed_login_count == 0
    assert password_hint(user=user) == "my first bike"
    assert "my first bike" not in user.password_hint_encrypted
    assert last_email(user.email)
    assert AuditEvent.objects.filter(action="identity.password_changed").count() == 1


def test_the_temporary_password_is_not_kept_in_the_history():
    user = make_provisioned(temporary=True)
    password_set(user=user, password="Velo-Rouge-73!")
    assert user.password_history.count() == 0


def test_password_set_enforces_the_policy_itself():
    user = make_provisioned()
    with pytest.raises(ValidationError):
        password_set(user=user, password="short")
    user.refresh_from_db()
    assert user.check_password("Correct-Horse-2026!")


def test_a_hint_containing_the_password_is_refused():
    user = make_provisioned()
    with pytest.raises(ValidationError):
        password_set(user=user, password="Velo-Rouge-73!", hint="Velo-Rouge-73!")


def test_an_unreadable_hint_reads_as_empty():
    assert crypto.decrypt("not-a-token") == ""
    assert crypto.decrypt(crypto.encrypt("bike")) == "bike"


def test_credentials_issue_replaces_the_previous_temporary_password():
    user = make_provisioned(temporary=True)
    credentials_issue(user=user)
    user.refresh_from_db()
    assert not user.check_password("Tmp-Pass-4821!")
    assert user.password_is_temporary
    assert not temporary_password_expired(user)


def test_consumers_never_get_credentials_from_the_institution():
    consumer = make_consumer()
    with pytest.raises(IdentityError):
        credentials_issue(user=consumer)


def test_consumer_ensure_is_one_access_per_address_and_idempotent():
    first = consumer_ensure(email="Camille.Martin@Example.com")
    again = consumer_ensure(email="camille.martin@example.com")
    other = consumer_ensure(email="camille.m@example.org")

    assert first == again
    assert first != other
    assert first.kind == AccountKind.CONSUMER
    assert first.user_id == "camille.martin@example.com"
    assert not first.has_usable_password()


def test_the_purchase_mobile_becomes_the_signing_number_only_while_the_consumer_has_none():
    first = consumer_ensure(email="camille.martin@example.com", mobile_phone="+32470123456")
    later = consumer_ensure(email="camille.martin@example.com", mobile_phone="+32499999999")

    assert str(first.mobile_phone) == "+32470123456"
    assert str(later.mobile_phone) == "+32470123456"


def test_the_agreement_is_asked_again_for_a_new_version():
    user = make_provisioned()
    agreement_publish(version=1)
    pending = agreement_pending(user=user, language="nl")
    assert pending.language == "nl"

    agreement_accept(user=user, agreement=pending)
    assert agreement_pending(user=user, language="nl") is None

    agreement_publish(version=2)
    assert agreement_pending(user=user, language="de").version == 2


def test_the_agreement_falls_back_to_another_language():
    agreement_publish(version=1)
    from guichet.identity.models import UserAgreement

    UserAgreement.objects.exclude(language="fr").delete()
    assert agreement_current(language="de").language == "fr"


def test_a_consumer_changing_the_address_changes_the_identifier_too():
    from guichet.identity.services import email_change

    consumer = make_consumer(email="camille.martin@example.com", password="Velo-Rouge-73!")

    email_change(user=consumer, email="Camille.New@Example.com")

    consumer.refresh_from_db()
    assert (consumer.user_id, consumer.email) == ("camille.new@example.com", "camille.new@example.com")
