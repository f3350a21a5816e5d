"""``notices``: who hears of a new document, how often and in which language; the daily and weekly
digests (exactly the waiting documents still visible, once, crash-safe); the invitation of a
primary contact without an account."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from guichet.documents import notices
from guichet.documents.models import Frequency, Invitation, NotificationPreference, PendingNotice, Share
from guichet.documents.services import document_add
from guichet.documents.tasks import send_digests
from guichet.documents.testing import (
    PDF,
    make_customer_number,
    make_document,
    make_issuer,
    make_recipient,
    make_shared_user,
)
from guichet.notifications.models import Message
from guichet.notifications.testing import deliveries_run

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


@pytest.fixture
def world():
    """A primary contact (fr) with two customer numbers; an accountant (nl) who sees the first."""
    owner = make_recipient(email="claire.dupont@example.com", language="fr")
    first = make_customer_number(
        issuer=make_issuer(prefix="DL2", name="Aubépine Lease Services"), number="111111", account=owner
    )
    second = make_customer_number(
        issuer=make_issuer(prefix="DL5", name="Aubépine Lease Belgium"), number="555555", account=owner
    )
    accountant = make_recipient(email="kim.peeters@example.com", language="nl")
    make_shared_user(owner, email=accountant.email, user=accountant, shares=[first])
    return owner, accountant, first, second


def add(customer_number, number, *, issue_date=None, kind="invoice", amount=Decimal("121.00")):
    """The real way in: ``document_add`` announces inside its transaction."""
    vat = (amount * Decimal("21") / Decimal("121")).quantize(Decimal("0.01"))
    return document_add(
        customer_number=customer_number,
        kind=kind,
        number=number,
        issue_date=issue_date or TODAY,
        due_date=(issue_date or TODAY) + datetime.timedelta(days=30),
        currency="EUR",
        amount_excl_vat=amount - vat,
        vat=vat,
        amount_incl_vat=amount,
        amount_payable=amount,
        pdf=PDF,
    )


def prefer(user, number, frequency):
    NotificationPreference.objects.update_or_create(
        user=user, customer_number=number, defaults={"frequency": frequency}
    )


def messages_of(template):
    return list(Message.objects.filter(template=template).order_by("recipient"))


# --- Immediately ----------------------------------------------------------------------------------


def test_a_new_document_is_told_at_once_to_each_recipient_in_their_language(world):
    owner, accountant, first, _second = world

    add(first, "F-1", issue_date=datetime.date(2026, 10, 1), amount=Decimal("1234.50"))

    sent = messages_of("documents_new")
    assert [(m.recipient, m.language, m.user_id) for m in sent] == [
        ("claire.dupont@example.com", "fr", owner.pk),
        ("kim.peeters@example.com", "nl", accountant.pk),
    ]
    french, dutch = sent
    assert "1 octobre 2026" in french.body_text and "1 octobre 2026" in french.body_html
    assert "1 oktober 2026" in dutch.body_text and "1 oktober 2026" in dutch.body_html
    for message in sent:
        assert "F-1" in message.body_text and "DL2 111111" in message.subject
        assert "1.234,50 EUR" in message.body_text or "1 234,50 EUR" in message.body_text.replace("\xa0", " ")
    assert PendingNotice.objects.count() == 0

    deliveries_run()
    assert sorted(m.to[0] for m in mail.outbox) == ["claire.dupont@example.com", "kim.peeters@example.com"]


def test_a_customer_number_not_shared_is_told_to_its_primary_contact_only(world):
    owner, _accountant, _first, second = world

    add(second, "F-2")

    assert [m.user_id for m in messages_of("documents_new")] == [owner.pk]


def test_the_link_points_to_the_documents_in_the_recipients_language(world, settings):
    settings.GUICHET_PUBLIC_URL = "https://guichet.example.com/"
    _owner, _accountant, first, _second = world

    add(first, "F-3")

    french, dutch = messages_of("documents_new")
    assert "https://guichet.example.com/fr/documents/" in french.body_text
    assert "https://guichet.example.com/nl/documents/" in dutch.body_html


def test_frequency_is_each_recipients_own(world):
    owner, accountant, first, _second = world
    prefer(owner, first, Frequency.WEEKLY)
    prefer(accountant, first, Frequency.DAILY)

    document = add(first, "F-4")

    assert messages_of("documents_new") == []
    assert sorted(
        PendingNotice.objects.values_list("user_id", "document_id", "frequency", "sent_at")
    ) == sorted([(owner.pk, document.pk, "weekly", None), (accountant.pk, document.pk, "daily", None)])


def test_never_sends_nothing_and_keeps_nothing(world):
    owner, accountant, first, _second = world
    prefer(owner, first, Frequency.NEVER)

    add(first, "F-5")

    assert [m.user_id for m in messages_of("documents_new")] == [accountant.pk]
    assert PendingNotice.objects.count() == 0


def test_an_inactive_shared_user_hears_nothing(world):
    owner, accountant, first, _second = world
    accountant.is_active = False
    accountant.save(update_fields=["is_active"])

    add(first, "F-6")

    assert [m.user_id for m in messages_of("documents_new")] == [owner.pk]


def test_a_document_older_than_the_visible_window_is_announced_to_nobody(world):
    _owner, _accountant, first, _second = world

    add(first, "F-OLD", issue_date=TODAY.replace(year=TODAY.year - 8))

    assert Message.objects.count() == 0 and PendingNotice.objects.count() == 0


def test_a_document_rolled_back_leaves_no_notice(world):
    owner, _accountant, first, _second = world
    prefer(owner, first, Frequency.DAILY)

    with pytest.raises(RuntimeError), transaction.atomic():
        add(first, "F-7")
        raise RuntimeError

    assert Message.objects.count() == 0 and PendingNotice.objects.count() == 0


# --- A primary contact without an account -----------------------------------------------------


def test_a_primary_contact_without_account_is_invited_in_their_language():
    number = make_customer_number(email="jan.devos@example.com", language="nl")

    add(number, "F-8")

    (invitation,) = Invitation.objects.all()
    assert (invitation.email, invitation.language, invitation.customer_number) == (
        "jan.devos@example.com",
        "nl",
        number,
    )
    (message,) = Message.objects.all()
    assert (message.template, message.recipient, message.language) == (
        "documents_invitation",
        "jan.devos@example.com",
        "nl",
    )
    assert messages_of("documents_new") == [] and PendingNotice.objects.count() == 0


# --- Digests ----------------------------------------------------------------------------------


def test_a_digest_lists_exactly_the_waiting_documents_of_its_period_once(world):
    owner, accountant, first, second = world
    prefer(owner, first, Frequency.DAILY)
    prefer(owner, second, Frequency.DAILY)
    prefer(accountant, first, Frequency.WEEKLY)
    a = add(first, "F-A", issue_date=datetime.date(2026, 11, 20))
    b = add(second, "F-B", kind="credit_note")
    earlier = add(first, "F-SENT-BEFORE")
    PendingNotice.objects.filter(user=owner, document=earlier).update(sent_at=timezone.now())

    assert notices.digests_send(frequency=Frequency.DAILY) == 1

    (digest,) = messages_of("documents_digest")
    assert (digest.user_id, digest.language) == (owner.pk, "fr")
    assert "F-A" in digest.body_text and "F-B" in digest.body_text and "F-SENT-BEFORE" not in digest.body_text
    assert "F-A" in digest.body_html and "F-B" in digest.body_html
    assert "20/11/2026" in digest.body_text  # the French short date
    assert not PendingNotice.objects.filter(user=owner, sent_at__isnull=True).exists()
    assert set(PendingNotice.objects.filter(user=owner).values_list("document_id", flat=True)) == {
        a.pk,
        b.pk,
        earlier.pk,
    }
    # The weekly one waits for the weekly run; a second daily run sends nothing.
    assert PendingNotice.objects.filter(user=accountant, sent_at__isnull=True).count() == 2
    assert notices.digests_send(frequency=Frequency.DAILY) == 0
    assert len(messages_of("documents_digest")) == 1

    assert notices.digests_send(frequency=Frequency.WEEKLY) == 1
    weekly = Message.objects.get(template="documents_digest", user=accountant)
    assert weekly.language == "nl" and "F-B" not in weekly.body_text
    assert "F-A" in weekly.body_text and "F-SENT-BEFORE" in weekly.body_text
    deliveries_run()
    assert sorted(m.to[0] for m in mail.outbox) == ["claire.dupont@example.com", "kim.peeters@example.com"]
    assert all(m.alternatives for m in mail.outbox)


def test_a_shared_user_unshared_since_gets_nothing_about_that_customer_number(world):
    _owner, accountant, first, second = world
    Share.objects.create(shared_user=accountant.shared_with_me.get(), customer_number=second)
    prefer(accountant, first, Frequency.DAILY)
    prefer(accountant, second, Frequency.DAILY)
    add(first, "F-KEPT")
    add(second, "F-GONE")
    # Removed behind the services' back: the digest checks visibility again.
    Share.objects.filter(customer_number=second).delete()

    assert notices.digests_send(frequency=Frequency.DAILY) == 1

    (digest,) = messages_of("documents_digest")
    assert "F-KEPT" in digest.body_text and "F-GONE" not in digest.body_text
    assert not PendingNotice.objects.filter(user=accountant, document__number="F-GONE").exists()


def test_a_digest_with_nothing_visible_left_is_not_sent(world):
    _owner, accountant, first, _second = world
    prefer(accountant, first, Frequency.DAILY)
    add(first, "F-9")
    Share.objects.all().delete()

    assert notices.digests_send(frequency=Frequency.DAILY) == 0

    assert messages_of("documents_digest") == [] and PendingNotice.objects.count() == 0


def test_one_failing_digest_holds_back_neither_the_others_nor_its_own_entries(world):
    owner, accountant, first, _second = world
    prefer(owner, first, Frequency.DAILY)
    prefer(accountant, first, Frequency.DAILY)
    add(first, "F-10")
    owner.email = ""  # no address: notify refuses, the transaction rolls back
    owner.save(update_fields=["email"])

    assert notices.digests_send(frequency=Frequency.DAILY) == 1

    assert [m.user_id for m in messages_of("documents_digest")] == [accountant.pk]
    assert PendingNotice.objects.get(user=owner).sent_at is None


def test_the_command_and_the_task_send_the_digests(world):
    owner, accountant, first, _second = world
    prefer(owner, first, Frequency.DAILY)
    prefer(accountant, first, Frequency.WEEKLY)
    add(first, "F-11")

    out = io.StringIO()
    call_command("send_digests", "--daily", stdout=out)
    assert "1 daily digest(s) sent." in out.getvalue()
    send_digests.enqueue(Frequency.WEEKLY)
    deliveries_run()

    assert sorted(m.user_id for m in messages_of("documents_digest")) == sorted([owner.pk, accountant.pk])
    assert not PendingNotice.objects.filter(sent_at__isnull=True).exists()


def test_the_command_requires_a_period():
    with pytest.raises(CommandError, match="--daily --weekly"):
        call_command("send_digests")


def test_the_announce_is_idempotent_for_one_document(world):
    _owner, _accountant, first, _second = world
    document = make_document(first, issue_date=TODAY)

    with transaction.atomic():
        notices.document_announce(document=document)
        notices.document_announce(document=document)

    assert len(messages_of("documents_new")) == 2
