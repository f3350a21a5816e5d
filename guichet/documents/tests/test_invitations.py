"""Invitations: hashed single-use tokens that expire, a fresh link in each new-document e-mail while
the contact has no account, each e-mail in its recipient's language."""

import datetime
import hashlib
import re

import pytest
from django.test import override_settings
from django.utils import timezone, translation

from guichet.audit.models import AuditEvent
from guichet.documents import invitations
from guichet.documents.invitations import InvitationError, InvitationErrorCode
from guichet.documents.models import DocumentKind, Invitation
from guichet.documents.testing import make_customer_number, make_document, make_recipient, make_shared_user
from guichet.identity.testing import PASSWORD, last_email
from guichet.notifications.models import Message

pytestmark = pytest.mark.django_db

LINK = re.compile(r"/[a-z]{2}/documents/activate/([A-Za-z0-9_-]+)/")


def link_token(body: str) -> str:
    return LINK.search(body).group(1)


@pytest.fixture
def number():
    return make_customer_number(email="Anna.Schmidt@Example.com", language="de")


def test_issue_keeps_only_the_tokens_hash_and_expires_after_the_configured_days(number):
    before = timezone.now()

    invitation, token = invitations.invitation_issue(customer_number=number)

    assert len(token) >= 40
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(Invitation.objects.values().get())
    assert (invitation.email, invitation.language) == ("anna.schmidt@example.com", "de")
    days = invitation.expires_at - invitation.created_at
    assert days == datetime.timedelta(days=30)
    assert invitation.created_at >= before
    event = AuditEvent.objects.get(action="documents.invitation_issued")
    assert token not in str(event.details)


def test_issue_needs_exactly_one_subject(number):
    owner = make_recipient(email="owner@example.com")
    shared = make_shared_user(owner)

    for kwargs in ({}, {"customer_number": number, "shared_user": shared}):
        with pytest.raises(InvitationError) as caught:
            invitations.invitation_issue(**kwargs)
        assert caught.value.code == InvitationErrorCode.NO_SUBJECT
    assert Invitation.objects.count() == 0


def test_check_answers_the_invitation_of_a_valid_token(number):
    invitation, token = invitations.invitation_issue(customer_number=number)

    assert invitations.invitation_check(token) == invitation


@pytest.mark.parametrize("token", ["", "nope", "x" * 43])
def test_check_refuses_unknown_tokens(number, token):
    invitations.invitation_issue(customer_number=number)

    with pytest.raises(InvitationError) as caught:
        invitations.invitation_check(token)

    assert caught.value.code == InvitationErrorCode.INVALID


def test_check_refuses_an_expired_invitation(number):
    invitation, token = invitations.invitation_issue(customer_number=number)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())

    with pytest.raises(InvitationError) as caught:
        invitations.invitation_check(token)

    assert caught.value.code == InvitationErrorCode.EXPIRED


@override_settings(GUICHET_INVITATION_DAYS=2)
def test_the_validity_follows_the_setting(number):
    invitation, _token = invitations.invitation_issue(customer_number=number)

    assert invitation.expires_at - invitation.created_at == datetime.timedelta(days=2)


def test_check_refuses_a_used_invitation(number):
    _invitation, token = invitations.invitation_issue(customer_number=number)
    invitations.account_activate(token=token, password="Blue-Lagoon-2026!")

    with pytest.raises(InvitationError) as caught:
        invitations.invitation_check(token)

    assert caught.value.code == InvitationErrorCode.INVALID


def test_check_refuses_an_invitation_whose_primary_contact_changed_since(number):
    _invitation, token = invitations.invitation_issue(customer_number=number)
    number.contact_email = "new.contact@example.com"
    number.save()

    with pytest.raises(InvitationError) as caught:
        invitations.invitation_check(token)

    assert caught.value.code == InvitationErrorCode.INVALID


def test_error_messages_are_translated():
    with translation.override("en"):
        assert InvitationError(InvitationErrorCode.EXPIRED).message.startswith(
            "This activation link has expired."
        )


@override_settings(GUICHET_PUBLIC_URL="https://guichet.example.com")
def test_a_new_document_sends_the_contact_a_link_in_their_language(number):
    document = make_document(number, number="F2026-000777")

    invitations.invitation_for_new_document(document=document)

    email = last_email("anna.schmidt@example.com")
    message = Message.objects.get(template="documents_invitation")
    assert message.language == "de"
    assert "F2026-000777" in email.body
    assert number.code in email.subject
    assert "https://guichet.example.com/de/documents/activate/" in email.body
    token = link_token(email.body)
    assert invitations.invitation_check(token).customer_number == number
    html = email.alternatives[0][0]
    assert f"/de/documents/activate/{token}/" in html


def test_the_e_mail_tells_the_documents_details(number):
    document = make_document(
        number, kind=DocumentKind.CREDIT_NOTE, number="C-42", issue_date=datetime.date(2026, 3, 5)
    )
    number.contact_language = "en"
    number.save()

    invitations.invitation_for_new_document(document=document)

    email = last_email("anna.schmidt@example.com")
    assert "credit note" in email.subject
    assert "Number: C-42" in email.body
    assert "Amount including VAT: 121.00 EUR" in email.body
    assert "Amount payable" not in email.body  # a credit note has nothing to pay
    assert "every document of the last 7 years" in email.body


def test_each_new_document_brings_a_fresh_link_and_older_ones_stay_valid(number):
    for n in (1, 2):
        invitations.invitation_for_new_document(document=make_document(number, number=f"F-{n}"))
    first, second = (link_token(m.body_text) for m in Message.objects.order_by("pk"))

    assert first != second
    assert Invitation.objects.count() == 2
    assert invitations.invitation_check(first) != invitations.invitation_check(second)


def test_no_invitation_once_the_customer_number_has_an_account(number):
    number.account = make_recipient(email="anna.schmidt@example.com")
    number.save()

    invitations.invitation_for_new_document(document=make_document(number))

    assert (Invitation.objects.count(), Message.objects.count()) == (0, 0)


def test_a_shared_user_is_invited_in_their_own_language_with_what_is_shared():
    owner = make_recipient(email="anna.schmidt@example.com", language="de")
    shared_number = make_customer_number(account=owner)
    make_customer_number(account=owner)  # not shared
    shared = make_shared_user(owner, email="Kim@Example.com", language="nl", shares=[shared_number])

    invitation = invitations.shared_user_invite(shared_user=shared)

    assert (invitation.shared_user, invitation.email, invitation.language) == (
        shared,
        "kim@example.com",
        "nl",
    )
    message = Message.objects.get(template="documents_shared_invitation")
    assert (message.recipient, message.language) == ("kim@example.com", "nl")
    assert shared_number.code in message.body_text
    assert invitations.invitation_check(link_token(message.body_text)) == invitation
    assert "/nl/documents/activate/" in message.body_text


def test_a_shared_user_with_an_account_is_not_invited_again():
    owner = make_recipient(email="anna.schmidt@example.com")
    shared = make_shared_user(owner, user=make_recipient(email="kim@example.com"))

    with pytest.raises(InvitationError) as caught:
        invitations.shared_user_invite(shared_user=shared)

    assert caught.value.code == InvitationErrorCode.ALREADY_ACTIVE
    assert (Invitation.objects.count(), Message.objects.count()) == (0, 0)


def test_the_owners_name_comes_from_their_customer_number_when_the_account_has_none():
    owner = make_recipient(email="anna.schmidt@example.com")
    number = make_customer_number(account=owner)
    shared = make_shared_user(owner, shares=[number])

    invitations.shared_user_invite(shared_user=shared)

    assert Message.objects.get().subject.startswith("Anna Schmidt")
    assert PASSWORD not in Message.objects.get().body_text


def test_an_address_that_already_has_an_account_is_told_to_log_on_not_to_choose_a_password(number):
    make_recipient(email="anna.schmidt@example.com")
    number.contact_language = "en"
    number.save()

    invitations.invitation_for_new_document(document=make_document(number))

    body = last_email("anna.schmidt@example.com").body
    assert "You already have an account with this e-mail address" in body
    assert "choose a password" not in body
    assert invitations.invitation_check(link_token(body)).customer_number == number


def test_a_shared_users_link_is_absolute_from_the_owners_request(rf, settings):
    settings.ALLOWED_HOSTS = ["portal.example.com"]
    owner = make_recipient(email="anna.schmidt@example.com")
    shared = make_shared_user(owner, language="en")
    request = rf.get("/", HTTP_HOST="portal.example.com", secure=True)

    invitations.shared_user_invite(shared_user=shared, request=request)

    assert "https://portal.example.com/en/documents/activate/" in Message.objects.get().body_text
