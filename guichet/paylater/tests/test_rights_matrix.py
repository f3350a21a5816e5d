"""Who may use the pay-later pages: every URL of the space, for the owner of an unpaid schedule (with a
card change and a regularisation under way), anonymous, another consumer, a staff user and a
business user.

Anonymous is sent to the login page; any other user gets a 404 on the owner's schedule, card change
and provider session (it looks exactly like a missing one), and on the whole space when they have no
order at all. A refusal writes nothing and sends nothing (``WATCHED`` counted before and after) and
shows nothing of the owner's order.
"""

import uuid
from collections.abc import Callable

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django_tasks_db.models import DBTaskResult

from guichet.audit.models import AuditEvent
from guichet.identity.models import AccountKind, SignedProof, SigningChallenge, User
from guichet.identity.testing import make_consumer
from guichet.notifications.models import Message
from guichet.paylater.models import (
    Card,
    CardSetup,
    CardSetupPurpose,
    Payment,
    RegularisationPart,
    RegularisationPlan,
)
from guichet.paylater.sandbox.models import SandboxCharge, SandboxSession
from guichet.paylater.testing import make_order, make_unpaid_schedule

pytestmark = pytest.mark.django_db

OWNER_ORDER = "CMD-OWNER-1"
WATCHED = (
    AuditEvent,
    Card,
    CardSetup,
    DBTaskResult,
    Message,
    Payment,
    RegularisationPart,
    RegularisationPlan,
    SandboxCharge,
    SandboxSession,
    SignedProof,
    SigningChallenge,
)


def url(name: str, **kwargs) -> str:
    with translation.override("fr"):
        return reverse(name, kwargs=kwargs or None)


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in WATCHED}


@pytest.fixture
def cast() -> dict[str, object]:
    """The owner's unpaid schedule, a card change returned from the provider and a regularisation
    waiting for its card; the other users."""
    schedule = make_unpaid_schedule(number=OWNER_ORDER)
    change_session = SandboxSession.objects.create(reference="x", return_url="http://testserver/")
    setup = CardSetup.objects.create(
        schedule=schedule, purpose=CardSetupPurpose.CARD_CHANGE, provider_session=str(change_session.pk)
    )
    plan = RegularisationPlan.objects.create(
        schedule=schedule, amount=schedule.instalments.first().amount, payment_count=1
    )
    reg_session = SandboxSession.objects.create(reference="y", return_url="http://testserver/")
    CardSetup.objects.create(
        schedule=schedule,
        purpose=CardSetupPurpose.REGULARISATION,
        regularisation=plan,
        provider_session=str(reg_session.pk),
    )
    other = make_order(email="other.consumer@example.com", number="CMD-OTHER-1").customer
    staff = User.objects.create_user("staff01", "staff@example.com", password="x", kind=AccountKind.STAFF)
    business = User.objects.create_user(
        "BB100001", "boss@example.com", password="x", kind=AccountKind.BUSINESS
    )
    return {
        "schedule": schedule,
        "setup": setup,
        "change_session": str(change_session.pk),
        "reg_session": str(reg_session.pk),
        "other": other,
        "staff": staff,
        "business": business,
    }


# (name, method, URL from the cast, data)
REQUESTS: dict[str, Callable[[dict], tuple[str, str, dict]]] = {
    "schedules": lambda c: ("get", url("paylater:schedules"), {}),
    "finished": lambda c: ("get", url("paylater:finished"), {}),
    "schedule": lambda c: ("get", url("paylater:schedule", pk=c["schedule"].pk), {}),
    "card_change": lambda c: ("post", url("paylater:card_change", pk=c["schedule"].pk), {}),
    "card_return": lambda c: ("get", url("paylater:card_return"), {"session": c["change_session"]}),
    "card_confirm": lambda c: (
        "get",
        url("paylater:card_confirm", setup=c["setup"].pk),
        {"proof": str(uuid.uuid4())},
    ),
    "regularise": lambda c: ("get", url("paylater:regularise", pk=c["schedule"].pk), {}),
    "regularise_post": lambda c: ("post", url("paylater:regularise", pk=c["schedule"].pk), {"count": "1"}),
    "regularise_confirm": lambda c: (
        "get",
        url("paylater:regularise_confirm", pk=c["schedule"].pk),
        {"count": "1", "proof": str(uuid.uuid4())},
    ),
    "regularise_return": lambda c: ("get", url("paylater:regularise_return"), {"session": c["reg_session"]}),
}
# Pages of the space as such (not of one schedule): another consumer sees their own list there.
LISTS = {"schedules", "finished"}


def call(client: Client, cast: dict, name: str):
    method, path, data = REQUESTS[name](cast)
    return getattr(client, method)(path, data)


@pytest.mark.parametrize("name", REQUESTS)
def test_anonymous_is_sent_to_the_login_page(cast, name):
    before = counts()

    response = call(Client(), cast, name)

    assert response.status_code == 302
    assert response.url.split("?")[0] == url(settings.LOGIN_URL)
    assert counts() == before


@pytest.mark.parametrize("name", sorted(set(REQUESTS) - LISTS))
def test_another_consumer_gets_a_404_and_nothing_is_written(cast, name):
    client = Client()
    client.force_login(cast["other"])
    before = counts()

    response = call(client, cast, name)

    assert response.status_code == 404
    assert OWNER_ORDER not in response.content.decode()
    assert counts() == before


@pytest.mark.parametrize("name", sorted(LISTS))
def test_another_consumer_sees_only_their_own_schedules(cast, name):
    client = Client()
    client.force_login(cast["other"])

    response = call(client, cast, name)

    assert response.status_code == 200
    assert OWNER_ORDER not in response.content.decode()


@pytest.mark.parametrize("role", ["staff", "business"])
@pytest.mark.parametrize("name", REQUESTS)
def test_staff_and_business_users_have_no_pay_later_space(cast, role, name):
    client = Client()
    client.force_login(cast[role])
    before = counts()

    response = call(client, cast, name)

    assert response.status_code in (403, 404)
    assert OWNER_ORDER not in response.content.decode()
    assert counts() == before


def test_a_consumer_without_any_order_has_no_pay_later_space(cast):
    client = Client()
    client.force_login(make_consumer(email="nobody@example.com", password="x"))

    assert client.get(url("paylater:schedules")).status_code == 404
    assert client.get(url("paylater:finished")).status_code == 404


def test_the_owner_sees_every_page(cast):
    client = Client()
    client.force_login(cast["schedule"].order.customer)

    for name in ("schedules", "schedule", "regularise"):
        response = call(client, cast, name)
        assert response.status_code == 200, name
        assert OWNER_ORDER in response.content.decode()
    assert call(client, cast, "finished").status_code == 200


def test_an_unknown_or_missing_provider_session_is_a_404(cast):
    client = Client()
    client.force_login(cast["schedule"].order.customer)

    assert client.get(url("paylater:card_return")).status_code == 404
    assert client.get(url("paylater:regularise_return")).status_code == 404
    assert client.get(url("paylater:card_return"), {"session": str(uuid.uuid4())}).status_code == 404
