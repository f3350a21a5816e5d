"""Shared users: the services (only a primary contact shares, only what it owns; invitation or
link; at once, audited, e-mailed to the primary contact; unsharing stops the notifications) and
the pages for each role (primary contact, shared user, another customer, anonymous)."""

import pytest
from django.urls import reverse
from django.utils import translation

from guichet.audit.models import AuditEvent
from guichet.documents import access, sharing
from guichet.documents.models import Invitation, PendingNotice, Share, SharedUser
from guichet.documents.sharing import SharingError, SharingErrorCode
from guichet.documents.testing import (
    make_customer_number,
    make_document,
    make_issuer,
    make_recipient,
    make_shared_user,
)
from guichet.notifications.models import Message

pytestmark = pytest.mark.django_db

LIST = "/en/documents/shared-users/"
ADD = "/en/documents/shared-users/add/"


@pytest.fixture
def world():
    """A primary contact (fr) with two customer numbers and an active accountant (nl) on the first;
    another customer with their own number and shared user."""
    owner = make_recipient(email="claire.dupont@example.com", language="fr")
    first = make_customer_number(
        issuer=make_issuer(prefix="DL2", name="Aubépine Lease Services"), number="111111", account=owner
    )
    second = make_customer_number(
        issuer=make_issuer(prefix="DL5", name="Aubépine Lease Belgium"), number="555555", account=owner
    )
    accountant = make_recipient(email="kim.peeters@example.com", language="nl")
    shared = make_shared_user(owner, email=accountant.email, user=accountant, shares=[first])
    outsider = make_recipient(email="other@example.com", language="en")
    foreign = make_customer_number(number="999999", account=outsider)
    foreign_shared = make_shared_user(outsider, email="their.accountant@example.com", shares=[foreign])
    return {
        "owner": owner,
        "first": first,
        "second": second,
        "accountant": accountant,
        "shared": shared,
        "outsider": outsider,
        "foreign": foreign,
        "foreign_shared": foreign_shared,
    }


def written() -> tuple[int, ...]:
    return (
        SharedUser.objects.count(),
        Share.objects.count(),
        Invitation.objects.count(),
        Message.objects.count(),
        AuditEvent.objects.count(),
        PendingNotice.objects.count(),
    )


def create(owner, **overrides):
    data = {
        "name": "Jan Peeters",
        "email": "Jan.Peeters@Example.com",
        "language": "nl",
        "customer_number_ids": [],
    }
    return sharing.shared_user_create(owner=owner, **{**data, **overrides})


# --- Creating -----------------------------------------------------------------------------------


def test_a_new_shared_user_is_invited_in_their_language_and_the_owner_told_in_theirs(world):
    owner, second = world["owner"], world["second"]

    shared = create(owner, customer_number_ids=[second.pk])

    assert (shared.owner, shared.name, shared.email, shared.language, shared.user) == (
        owner,
        "Jan Peeters",
        "jan.peeters@example.com",
        "nl",
        None,
    )
    assert [s.customer_number for s in shared.shares.all()] == [second]
    (invitation,) = Invitation.objects.filter(shared_user=shared)
    assert (invitation.email, invitation.language) == ("jan.peeters@example.com", "nl")
    invite = Message.objects.get(template="documents_shared_invitation")
    assert (invite.recipient, invite.language) == ("jan.peeters@example.com", "nl")
    told = Message.objects.get(template="documents_sharing_changed")
    assert (told.recipient, told.language) == ("claire.dupont@example.com", "fr")
    assert (
        "Jan Peeters" in told.body_text and "DL5 555555" in told.body_text and "DL5 555555" in told.body_html
    )
    event = AuditEvent.objects.get(action="documents.shared_user_created")
    assert (event.actor_id, event.details["customer_numbers"], event.details["language"]) == (
        owner.pk,
        ["DL5 555555"],
        "nl",
    )


def test_an_address_that_already_has_an_account_is_invited_like_any_other(world):
    """Review finding: the answer must not tell whether an address has an account, and a stranger's
    account is linked only when its owner accepts the invitation (with its password)."""
    owner, second = world["owner"], world["second"]
    existing = make_recipient(email="jan.peeters@example.com", language="de")

    shared = create(owner, customer_number_ids=[second.pk])

    assert shared.user is None
    assert Invitation.objects.filter(shared_user=shared).count() == 1
    assert not Message.objects.filter(template="documents_shared_with_you").exists()
    assert list(access.customer_numbers(existing)) == []


def test_a_record_without_password_is_invited_rather_than_linked(world):
    from guichet.identity.testing import make_consumer

    make_consumer(email="jan.peeters@example.com")

    shared = create(world["owner"], customer_number_ids=[world["second"].pk])

    assert shared.user is None and Invitation.objects.filter(shared_user=shared).count() == 1


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"name": "  "}, SharingErrorCode.INVALID_NAME, "name"),
        ({"name": "x" * 141}, SharingErrorCode.INVALID_NAME, "name"),
        ({"email": "not-an-address"}, SharingErrorCode.INVALID_EMAIL, "email"),
        ({"language": "es"}, SharingErrorCode.INVALID_LANGUAGE, "language"),
        ({"email": "CLAIRE.dupont@example.com"}, SharingErrorCode.SELF, "email"),
        ({"email": "kim.peeters@example.com"}, SharingErrorCode.ALREADY_SHARED_USER, "email"),
        ({"customer_number_ids": ["x"]}, SharingErrorCode.UNKNOWN_CUSTOMER_NUMBER, "customer_numbers"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(world, overrides, code, field):
    before = written()

    with pytest.raises(SharingError) as refused:
        create(world["owner"], **overrides)

    assert (refused.value.code, refused.value.field) == (code, field)
    assert written() == before


def test_another_customers_number_cannot_be_shared(world):
    before = written()

    with pytest.raises(SharingError) as refused:
        create(world["owner"], customer_number_ids=[world["first"].pk, world["foreign"].pk])

    assert refused.value.code == SharingErrorCode.UNKNOWN_CUSTOMER_NUMBER
    with translation.override("en"):
        assert refused.value.message == "One of the customer numbers chosen is not one of yours."
    assert written() == before


def test_a_shared_user_cannot_share_further(world):
    accountant, first = world["accountant"], world["first"]
    before = written()

    with pytest.raises(SharingError) as refused:
        create(accountant, customer_number_ids=[first.pk])

    assert refused.value.code == SharingErrorCode.NOT_PRIMARY_CONTACT
    assert written() == before
    assert sharing.shared_users(owner=accountant) == []


def test_a_customer_number_added_later_is_shared_with_nobody(world):
    owner, accountant = world["owner"], world["accountant"]

    later = make_customer_number(number="777777", account=owner)

    assert later not in access.customer_numbers(accountant)
    assert later in access.customer_numbers(owner)


# --- Changing and deleting ----------------------------------------------------------------------


def test_ticking_and_unticking_takes_effect_at_once(world):
    owner, accountant, shared, first, second = (
        world["owner"],
        world["accountant"],
        world["shared"],
        world["first"],
        world["second"],
    )
    waiting = PendingNotice.objects.create(user=accountant, document=make_document(first), frequency="daily")

    sharing.shared_user_update(
        owner=owner,
        shared_user_id=shared.pk,
        name="Kim Peeters",
        language="nl",
        customer_number_ids=[second.pk],
    )

    assert list(access.customer_numbers(accountant)) == [second]
    assert not PendingNotice.objects.filter(pk=waiting.pk).exists()
    event = AuditEvent.objects.get(action="documents.shared_user_changed")
    assert event.details == {"changed": ["name"], "shared": ["DL5 555555"], "unshared": ["DL2 111111"]}
    told = Message.objects.get(template="documents_sharing_changed")
    assert told.user == owner and "DL2 111111" in told.body_text and "DL5 555555" in told.body_text
    # The active shared user hears of what they now see.
    news = Message.objects.get(template="documents_shared_with_you")
    assert (news.user, news.language) == (accountant, "nl") and "DL5 555555" in news.body_text


def test_saving_without_change_writes_nothing(world):
    shared = world["shared"]
    before = written()

    sharing.shared_user_update(
        owner=world["owner"],
        shared_user_id=shared.pk,
        name=shared.name,
        language="nl",
        customer_number_ids=[world["first"].pk],
    )

    assert written() == before


def test_deleting_removes_every_access_at_once(world):
    owner, accountant, shared, first = world["owner"], world["accountant"], world["shared"], world["first"]
    PendingNotice.objects.create(user=accountant, document=make_document(first), frequency="weekly")

    sharing.shared_user_delete(owner=owner, shared_user_id=shared.pk)

    assert not SharedUser.objects.filter(pk=shared.pk).exists()
    assert list(access.customer_numbers(accountant)) == []
    assert PendingNotice.objects.filter(user=accountant).count() == 0
    assert AuditEvent.objects.get(action="documents.shared_user_deleted").details == {
        "email": "kim.peeters@example.com",
        "unshared": ["DL2 111111"],
    }
    told = Message.objects.get(template="documents_sharing_changed")
    assert (told.user, told.language) == (owner, "fr") and "Kim Accountant" in told.subject


@pytest.mark.parametrize("action", ["update", "delete"])
@pytest.mark.parametrize("who", ["owner", "accountant", "outsider"])
def test_another_accounts_shared_user_is_not_found_and_nothing_is_written(world, action, who):
    target = world["foreign_shared"] if who != "outsider" else world["shared"]
    before = written()

    with pytest.raises(SharingError) as refused:
        if action == "update":
            sharing.shared_user_update(
                owner=world[who], shared_user_id=target.pk, name="X", language="en", customer_number_ids=[]
            )
        else:
            sharing.shared_user_delete(owner=world[who], shared_user_id=target.pk)

    assert refused.value.code == SharingErrorCode.NOT_FOUND
    assert written() == before


# --- The pages: a rights matrix -----------------------------------------------------------------


def pages(world):
    shared = world["shared"]
    return {
        "list": ("get", LIST, {}),
        "add form": ("get", ADD, {}),
        "add": ("post", ADD, {"name": "Jan", "email": "jan@example.com", "language": "nl"}),
        "edit form": ("get", f"{LIST}{shared.pk}/", {}),
        "edit": ("post", f"{LIST}{shared.pk}/", {"name": "Kim", "language": "en"}),
        "delete form": ("get", f"{LIST}{shared.pk}/delete/", {}),
        "delete": ("post", f"{LIST}{shared.pk}/delete/", {}),
    }


PAGES = ["list", "add form", "add", "edit form", "edit", "delete form", "delete"]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("accountant", {"list": 403, "add form": 403, "add": 403}),
        ("outsider", {"list": 200, "add form": 200, "add": 200}),
        ("anonymous", {}),
    ],
)
def test_only_the_owner_reaches_its_shared_users(client, world, page, who, expected):
    method, url, data = pages(world)[page]
    if who != "anonymous":
        client.force_login(world[who])
    data = {**data, **({"customer_numbers": [world["first"].pk]} if method == "post" else {})}
    before = SharedUser.objects.get(pk=world["shared"].pk), written()

    response = getattr(client, method)(url, data)

    if who == "anonymous":
        assert response.status_code == 302 and reverse("account_login") in response["Location"]
    else:
        assert response.status_code == expected.get(page, 404)
    if who == "outsider" and page == "add":
        # Their own page, but ticking another customer's number is refused.
        assert "Choose among your customer numbers." in response.content.decode()
    shared, counts = before
    assert SharedUser.objects.get(pk=shared.pk).name == shared.name
    assert written() == counts


def test_the_owner_lists_adds_edits_and_deletes(client, world):
    owner, first, second = world["owner"], world["first"], world["second"]
    client.force_login(owner)

    page = client.get(LIST).content.decode()
    assert "Kim Accountant" in page and "kim.peeters@example.com" in page and "Active" in page
    assert "their.accountant@example.com" not in page
    form = client.get(ADD).content.decode()
    assert "<legend>Customer numbers they see</legend>" in form and "DL5 555555" in form

    response = client.post(
        ADD,
        {
            "name": "Jan Peeters",
            "email": "jan@example.com",
            "language": "nl",
            "customer_numbers": [second.pk],
        },
    )
    assert response.status_code == 302 and response["Location"] == LIST
    jan = SharedUser.objects.get(email="jan@example.com")
    assert "Jan Peeters is added. They received an invitation" in client.get(LIST).content.decode()

    response = client.post(
        f"{LIST}{jan.pk}/", {"name": "Jan P.", "language": "fr", "customer_numbers": [first.pk]}
    )
    assert response.status_code == 302
    jan.refresh_from_db()
    assert (jan.name, jan.language, [s.customer_number for s in jan.shares.all()]) == (
        "Jan P.",
        "fr",
        [first],
    )

    assert client.get(f"{LIST}{jan.pk}/delete/").status_code == 200
    assert client.post(f"{LIST}{jan.pk}/delete/").status_code == 302
    assert not SharedUser.objects.filter(pk=jan.pk).exists()


def test_a_refused_form_shows_the_error_and_writes_nothing(client, world):
    client.force_login(world["owner"])
    before = written()

    response = client.post(ADD, {"name": "Kim", "email": "kim.peeters@example.com", "language": "nl"})

    page = response.content.decode()
    assert response.status_code == 200 and "<title>Error: Add a shared user" in page
    assert "You already share documents with this e-mail address." in page
    assert written() == before


def test_a_shared_user_who_is_also_a_primary_contact_shares_only_their_own(client, world):
    accountant, first = world["accountant"], world["first"]
    own = make_customer_number(number="333333", account=accountant)
    client.force_login(accountant)

    form = client.get(ADD).content.decode()

    assert "DL2 333333" in form and "DL2 111111" not in form
    with pytest.raises(SharingError):
        create(accountant, customer_number_ids=[first.pk])
    assert create(accountant, customer_number_ids=[own.pk]).shares.count() == 1


def test_the_list_costs_the_same_queries_for_one_or_many_shared_users(client, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    owner, first, second = world["owner"], world["first"], world["second"]
    client.force_login(owner)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(LIST).status_code == 200
        return len(captured)

    queries()  # the first request of a session also records the session
    one = queries()
    for n in range(4):
        make_shared_user(owner, email=f"colleague{n}@example.com", shares=[first, second])

    assert queries() == one


def test_adding_shared_users_is_rate_limited_per_account(client, world, settings):
    """Review finding: each shared user added is an e-mail to an address of the owner's choice."""
    from django.core.cache import cache

    cache.clear()
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "guichet_share_invite": "2/h/key"}
    client.force_login(world["owner"])
    before = SharedUser.objects.filter(owner=world["owner"]).count()
    for n in range(3):
        response = client.post(
            reverse("documents:shared_user_add"),
            {"name": f"Person {n}", "email": f"person{n}@example.com", "language": "en"},
        )
    assert response.status_code == 200  # the form again, with the error
    assert SharedUser.objects.filter(owner=world["owner"]).count() == before + 2
    assert Invitation.objects.filter(email="person2@example.com").count() == 0
    cache.clear()
