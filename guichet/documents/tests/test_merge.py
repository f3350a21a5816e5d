"""Merging two document accounts: every move, the conflicts (the target's rows win), the refusals
(nothing written), the audit, the ended sessions, and the back-office pages with their rights."""

import datetime
from importlib import import_module

import pytest
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.utils import timezone

from guichet.audit.models import AuditEvent
from guichet.backoffice.tests.factories import make_advisor, make_customer, make_superuser
from guichet.backoffice.tests.test_site import InlineCode
from guichet.documents import merge
from guichet.documents.merge import MergeError, MergeErrorCode, document_accounts_merge
from guichet.documents.models import (
    ActivationCode,
    CustomerNumber,
    DeliveryChannelChange,
    DocumentRead,
    Frequency,
    Invitation,
    NotificationPreference,
    PendingNotice,
    Share,
    SharedUser,
)
from guichet.documents.testing import make_customer_number, make_document, make_recipient, make_shared_user
from guichet.documents.tests.test_admin_intake import (
    client_for,
    grant_issue_7,
    make_clerk,
    make_limited_advisor,
)
from guichet.entities.models import Person
from guichet.entities.testing import make_entity
from guichet.identity.models import AccountKind, User

pytestmark = pytest.mark.django_db

MERGE_URL = "/backoffice/documents/customernumber/merge-accounts/"


@pytest.fixture
def advisor() -> User:
    grant_issue_7()
    return make_advisor()


def make_business(user_id: str = "0403170701", email: str = "finance@tilleul.example") -> User:
    return User.objects.create_user(user_id, email, kind=AccountKind.BUSINESS)


def make_consumer(email: str) -> User:
    return make_recipient(email=email, kind=AccountKind.CONSUMER)


def state(user: User) -> dict:
    return {
        "numbers": sorted(CustomerNumber.objects.filter(account=user).values_list("number", flat=True)),
        "shared_users": sorted(SharedUser.objects.filter(owner=user).values_list("email", flat=True)),
        "reads": DocumentRead.objects.filter(user=user).count(),
        "preferences": sorted(
            NotificationPreference.objects.filter(user=user).values_list(
                "customer_number__number", "frequency"
            )
        ),
        "notices": PendingNotice.objects.filter(user=user).count(),
        "codes": ActivationCode.objects.filter(used_by=user).count(),
    }


def make_code(number: CustomerNumber, *, used_by: User) -> ActivationCode:
    now = timezone.now()
    return ActivationCode.objects.create(
        customer_number=number,
        code_hash=f"{number.pk:064d}",
        expires_at=now + datetime.timedelta(weeks=15),
        used_at=now,
        used_by=used_by,
    )


def open_session(user: User) -> str:
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store["_auth_user_id"] = str(user.pk)
    store.create()
    UserSession.objects.create(user=user, session_key=store.session_key, ip="192.0.2.1", user_agent="test")
    return store.session_key


# --- Every move --------------------------------------------------------------------------------


def test_everything_the_source_holds_moves_to_the_target_and_the_source_is_deactivated(advisor) -> None:
    source, target = make_recipient(email="anna@example.com"), make_business()
    a = make_customer_number(number="111111", account=source)
    b = make_customer_number(number="222222", account=source)
    kept = make_customer_number(number="333333", account=target)
    document = make_document(a)
    DocumentRead.objects.create(user=source, document=document)
    NotificationPreference.objects.create(user=source, customer_number=a, frequency=Frequency.WEEKLY)
    PendingNotice.objects.create(user=source, document=document, frequency=Frequency.WEEKLY)
    make_code(a, used_by=source)
    make_shared_user(source, email="kim@example.com", shares=[a, b])

    result = document_accounts_merge(source=source, target=target, by=advisor)

    assert state(target) == {
        "numbers": ["111111", "222222", "333333"],
        "shared_users": ["kim@example.com"],
        "reads": 1,
        "preferences": [("111111", "weekly")],
        "notices": 1,
        "codes": 1,
    }
    assert state(source) == {
        "numbers": [],
        "shared_users": [],
        "reads": 0,
        "preferences": [],
        "notices": 0,
        "codes": 0,
    }
    source.refresh_from_db()
    assert source.is_active is False
    assert sorted(Share.objects.values_list("customer_number__number", flat=True)) == ["111111", "222222"]
    assert result.counts() == {
        "customer_numbers": 2,
        "shared_users_moved": 1,
        "shared_users_merged": 0,
        "shared_users_dropped": 0,
        "shares_moved": 0,
        "shared_with_me": 0,
        "reads": 1,
        "reads_skipped": 0,
        "preferences": 1,
        "preferences_kept": 0,
        "notices": 1,
        "activation_codes": 1,
        "logged_out": 0,
    }
    assert kept.delivery_changes.count() == 0
    assert list(
        DeliveryChannelChange.objects.order_by("customer_number__number").values_list(
            "customer_number__number", "electronic", "reason", "author"
        )
    ) == [("111111", False, "merge", advisor.pk), ("222222", False, "merge", advisor.pk)]


def test_a_shared_user_already_on_the_target_receives_the_shares(advisor) -> None:
    source, target = make_recipient(email="anna@example.com"), make_business()
    a = make_customer_number(number="111111", account=source)
    b = make_customer_number(number="222222", account=target)
    kim_account = make_recipient(email="kim@example.com")
    on_source = make_shared_user(source, email="kim@example.com", user=kim_account, shares=[a])
    on_target = make_shared_user(target, email="kim@example.com", shares=[b])
    invitation = Invitation.objects.create(
        email="kim@example.com",
        language="nl",
        shared_user=on_source,
        token_hash="a" * 64,
        expires_at=timezone.now() + datetime.timedelta(days=30),
    )

    result = document_accounts_merge(source=source, target=target, by=advisor)

    assert not SharedUser.objects.filter(pk=on_source.pk).exists()
    on_target.refresh_from_db()
    assert on_target.user == kim_account  # the account the source's row knew
    assert sorted(on_target.shares.values_list("customer_number__number", flat=True)) == ["111111", "222222"]
    invitation.refresh_from_db()
    assert invitation.shared_user == on_target
    assert (result.shared_users_merged, result.shares_moved, result.shared_users_moved) == (1, 1, 0)


def test_what_others_shared_with_the_source_is_shared_with_the_target(advisor) -> None:
    source, target = make_recipient(email="anna@example.com"), make_business()
    owner = make_recipient(email="owner@example.com")
    theirs = make_customer_number(number="444444", account=owner, email="owner@example.com")
    given = make_shared_user(owner, email="anna@example.com", user=source, shares=[theirs])
    # The target had shared with the source: that row would now be the target itself.
    mine = make_customer_number(number="555555", account=target)
    self_share = make_shared_user(target, email="anna@example.com", user=source, shares=[mine])

    result = document_accounts_merge(source=source, target=target, by=advisor)

    given.refresh_from_db()
    assert given.user == target
    assert not SharedUser.objects.filter(pk=self_share.pk).exists()
    assert result.shared_with_me == 1


def test_the_sources_shared_user_that_is_the_target_itself_is_dropped(advisor) -> None:
    source, target = make_recipient(email="anna@example.com"), make_business(email="finance@tilleul.example")
    a = make_customer_number(number="111111", account=source)
    make_shared_user(source, email="finance@tilleul.example", shares=[a])

    result = document_accounts_merge(source=source, target=target, by=advisor)

    assert not SharedUser.objects.exists() and not Share.objects.exists()
    assert result.shared_users_dropped == 1


def test_on_a_conflict_the_targets_reading_state_and_preferences_win(advisor) -> None:
    source, target = make_recipient(email="anna@example.com"), make_business()
    number = make_customer_number(number="111111", account=source)
    document = make_document(number)
    earlier = timezone.now() - datetime.timedelta(days=3)
    DocumentRead.objects.create(user=target, document=document, read_at=earlier)
    DocumentRead.objects.create(user=source, document=document)
    NotificationPreference.objects.create(user=target, customer_number=number, frequency=Frequency.NEVER)
    NotificationPreference.objects.create(user=source, customer_number=number, frequency=Frequency.DAILY)
    PendingNotice.objects.create(user=target, document=document, frequency=Frequency.DAILY)
    PendingNotice.objects.create(user=source, document=document, frequency=Frequency.DAILY)

    result = document_accounts_merge(source=source, target=target, by=advisor)

    assert list(DocumentRead.objects.filter(user=target).values_list("read_at", flat=True)) == [earlier]
    assert list(NotificationPreference.objects.filter(user=target).values_list("frequency", flat=True)) == [
        "never"
    ]
    assert PendingNotice.objects.filter(user=target).count() == 1
    assert (
        result.reads,
        result.reads_skipped,
        result.preferences,
        result.preferences_kept,
        result.notices,
    ) == (
        0,
        1,
        0,
        1,
        0,
    )


def test_the_sources_sessions_are_ended(advisor) -> None:
    source, target = make_recipient(email="anna@example.com"), make_business()
    key = open_session(source)

    result = document_accounts_merge(source=source, target=target, by=advisor)

    assert result.logged_out == 1 and not UserSession.objects.filter(user=source).exists()
    assert not import_module(settings.SESSION_ENGINE).SessionStore().exists(key)


def test_the_merge_is_audited_with_its_counts(advisor) -> None:
    source, target = make_recipient(email="anna@example.com"), make_business()
    make_customer_number(number="111111", account=source)

    result = document_accounts_merge(source=source, target=target, by=advisor)

    merged = AuditEvent.objects.get(action="documents.accounts_merged")
    assert (merged.actor_id, merged.target_id) == (advisor.pk, str(target.pk))
    assert merged.details == {
        "source": source.pk,
        "target": target.pk,
        **result.counts(),
        "customer_codes": ["DL2 111111"],
    }
    deactivated = AuditEvent.objects.get(action="user.changed", target_id=str(source.pk))
    assert deactivated.details == {"fields": ["is_active"], "merged_into": target.pk}


def test_a_consumer_target_may_receive_a_consumer_without_shared_users(advisor) -> None:
    source, target = make_consumer(email="anna@example.com"), make_consumer(email="anna.s@example.com")
    make_customer_number(number="111111", account=source)

    result = document_accounts_merge(source=source, target=target, by=advisor)

    assert result.customer_numbers == 1


# --- Refusals: nothing written --------------------------------------------------------------------


def nothing_written(source: User, target: User, before: tuple) -> bool:
    source.refresh_from_db()
    return (
        (state(source), state(target), source.is_active) == before
        and not AuditEvent.objects.filter(action="documents.accounts_merged").exists()
        and not DeliveryChannelChange.objects.exists()
    )


def refused(source: User, target: User, by: User) -> MergeErrorCode:
    before = (state(source), state(target), source.is_active)
    with pytest.raises(MergeError) as error:
        document_accounts_merge(source=source, target=target, by=by)
    assert nothing_written(source, target, before)
    return error.value.code


def test_an_account_is_not_merged_into_itself(advisor) -> None:
    anna = make_recipient(email="anna@example.com")
    make_customer_number(account=anna)

    assert refused(anna, anna, advisor) == MergeErrorCode.SAME_ACCOUNT


@pytest.mark.parametrize("side", ["source", "target"])
def test_staff_accounts_are_never_merged(advisor, side: str) -> None:
    staff, other = make_advisor(user_id="advisor2"), make_recipient(email="anna@example.com")
    make_customer_number(account=other)
    source, target = (staff, other) if side == "source" else (other, staff)

    assert refused(source, target, advisor) == MergeErrorCode.STAFF_ACCOUNT


def test_a_provisioned_account_is_not_merged(advisor) -> None:
    provisioned, anna = make_customer(), make_recipient(email="anna@example.com")
    make_customer_number(account=anna)

    assert refused(anna, provisioned, advisor) == MergeErrorCode.NOT_DOCUMENT_ACCOUNT
    assert refused(provisioned, anna, advisor) == MergeErrorCode.NOT_DOCUMENT_ACCOUNT


def test_an_account_of_a_business_clients_user_is_not_merged(advisor) -> None:
    business, anna = make_business(), make_recipient(email="anna@example.com")
    make_customer_number(account=anna)
    Person.objects.create(
        entity=make_entity(),
        user=business,
        last_name="Claes",
        first_name="Jonas",
        birth_date=datetime.date(1980, 1, 2),
        mobile_phone="+32470123456",
    )

    assert refused(anna, business, advisor) == MergeErrorCode.NOT_DOCUMENT_ACCOUNT


def test_a_deactivated_account_is_not_merged_again(advisor) -> None:
    source, target = make_recipient(email="anna@example.com"), make_business()
    User.objects.filter(pk=source.pk).update(is_active=False)
    source.refresh_from_db()

    assert refused(source, target, advisor) == MergeErrorCode.SOURCE_INACTIVE
    User.objects.filter(pk=source.pk).update(is_active=True)
    User.objects.filter(pk=target.pk).update(is_active=False)
    source.refresh_from_db()
    target.refresh_from_db()
    assert refused(source, target, advisor) == MergeErrorCode.TARGET_INACTIVE


def test_a_source_that_shares_goes_into_a_business_account_only(advisor) -> None:
    source, target = make_business(), make_consumer(email="anna@example.com")
    number = make_customer_number(account=source)
    make_shared_user(source, email="kim@example.com", shares=[number])

    assert refused(source, target, advisor) == MergeErrorCode.CONSUMER_CANNOT_SHARE
    error = MergeError(MergeErrorCode.CONSUMER_CANNOT_SHARE)
    assert error.message == (
        "The account to merge shares documents with other users, and a consumer account cannot share "
        "documents: merge it into a business account."
    )


def test_only_staff_with_the_merge_permissions_merge() -> None:
    source, target = make_recipient(email="anna@example.com"), make_business()
    make_customer_number(account=source)
    without = make_limited_advisor(without={"documents.change_shareduser"})

    for by in (without, make_clerk(), make_customer(), source):
        assert refused(source, target, by) == MergeErrorCode.NOT_ALLOWED


# --- The pages -------------------------------------------------------------------------------------


def test_the_advisor_picks_the_accounts_reviews_and_confirms(advisor) -> None:
    source, target = make_recipient(email="anna@example.com"), make_business()
    make_customer_number(number="111111", account=source)
    make_shared_user(source, email="kim@example.com")
    client = client_for(advisor)

    form = client.get(MERGE_URL)
    review = client.post(MERGE_URL, {"source": "ANNA@example.com", "target": "finance@tilleul.example"})

    assert form.status_code == 200 and "Merge two document accounts" in form.content.decode()
    assert review.status_code == 200
    page = review.content.decode()
    assert "DL2 111111" in page and "kim@example.com" in page and "Merge the accounts" in page
    assert CustomerNumber.objects.get().account == source  # nothing moved yet
    done = client.post(MERGE_URL, {"source": source.user_id, "target": target.user_id, "confirm": "1"})
    assert done.status_code == 302 and done["Location"] == f"/backoffice/identity/user/{target.pk}/change/"
    assert CustomerNumber.objects.get().account == target
    assert AuditEvent.objects.filter(action="documents.accounts_merged", actor_id=advisor.pk).count() == 1


def test_a_refused_merge_is_explained_on_the_form_and_nothing_moves(advisor) -> None:
    anna = make_recipient(email="anna@example.com")
    make_customer_number(account=anna)

    response = client_for(advisor).post(
        MERGE_URL, {"source": anna.user_id, "target": anna.user_id, "confirm": "1"}
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "There is a problem" in page and "An account cannot be merged into itself" in page
    assert "<title>Error:" in page
    assert not AuditEvent.objects.filter(action="documents.accounts_merged").exists()


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("nobody@example.com", "No account has this user ID or e-mail address."),
        ("same@example.com", "Several accounts use this e-mail address: enter the user ID."),
    ],
)
def test_an_unknown_or_ambiguous_account_is_refused(advisor, typed: str, message: str) -> None:
    User.objects.create_user("same1", "same@example.com", kind=AccountKind.CONSUMER)
    User.objects.create_user("same2", "same@example.com", kind=AccountKind.CONSUMER)

    response = client_for(advisor).post(MERGE_URL, {"source": typed, "target": "same1"})

    assert response.status_code == 200 and message in response.content.decode()


def test_the_merge_pages_rights() -> None:
    grant_issue_7()
    source, target = make_recipient(email="anna@example.com"), make_business()
    make_customer_number(account=source)
    data = {"source": source.user_id, "target": target.user_id, "confirm": "1"}
    without = make_limited_advisor(without={"documents.change_shareduser"})

    assert client_for(make_advisor()).get(MERGE_URL).status_code == 200
    assert client_for(make_superuser()).get(MERGE_URL).status_code == 200
    for user in (without, make_clerk()):
        assert client_for(user).get(MERGE_URL).status_code == 403
        assert client_for(user).post(MERGE_URL, data).status_code == 403
    for user in (None, make_customer(), source):
        response = client_for(user).post(MERGE_URL, data)
        assert response.status_code == 302 and "/login/" in response["Location"]
    assert CustomerNumber.objects.get().account == source
    assert not AuditEvent.objects.filter(action="documents.accounts_merged").exists()


def test_the_merge_link_shows_to_those_who_may_merge(advisor) -> None:
    without = make_limited_advisor(without={"documents.change_shareduser"})
    url = "/backoffice/documents/customernumber/"

    assert MERGE_URL in client_for(advisor).get(url).content.decode()
    assert MERGE_URL not in client_for(without).get(url).content.decode()


def test_the_merge_pages_run_under_the_strict_csp(advisor) -> None:
    source, target = make_recipient(email="anna@example.com"), make_business()
    client = client_for(advisor)

    for response in (
        client.get(MERGE_URL),
        client.post(MERGE_URL, {"source": source.user_id, "target": target.user_id}),
    ):
        parser = InlineCode(response.wsgi_request.csp_nonce)
        parser.feed(response.content.decode())
        assert parser.blocked == []


def test_the_merge_permissions_are_those_advisors_hold() -> None:
    from guichet.backoffice.permissions import ADVISOR_PERMISSIONS

    assert set(merge.MERGE_PERMISSIONS) <= set(ADVISOR_PERMISSIONS)
