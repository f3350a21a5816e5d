"""The pay-later space in the back office: the rights matrix (advisor, operator administrator, consumer,
anonymous), "Record a cancellation", order clients for operators only, and what is never shown or
changed there: a card's token, a card, a consumer's password or lock."""

import re
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client

from guichet.audit.models import AuditEvent
from guichet.backoffice.tests.factories import make_advisor, make_superuser
from guichet.identity.models import AccountKind, User
from guichet.identity.testing import PASSWORD
from guichet.paylater.models import (
    Card,
    Instalment,
    InstalmentStatus,
    Merchant,
    Order,
    OrderClient,
    Payment,
    PaymentKind,
    PaymentStatus,
    RegularisationPlan,
    Schedule,
    ScheduleStatus,
)
from guichet.paylater.testing import make_order, make_unpaid_schedule

pytestmark = pytest.mark.django_db

BACKOFFICE = "/backoffice/paylater"


def logged_in(user: User | None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def data() -> dict:
    """An order in progress (with a payment and a replaced card), an unpaid one with a plan, a client."""
    order = make_order(number="CMD-ADMIN-1")
    schedule = order.schedule
    card = schedule.cards.get()
    Payment.objects.create(
        schedule=schedule,
        kind=PaymentKind.DEBIT,
        instalment=schedule.instalments.get(number=1),
        amount=Decimal("42.66"),
        card=card,
        idempotency_key="test-admin-1",
        status=PaymentStatus.FAILED,
        provider_reference="sbx_ch_ADMIN1",
        reason="insufficient_funds",
    )
    unpaid = make_unpaid_schedule(number="CMD-ADMIN-2")
    plan = RegularisationPlan.objects.create(schedule=unpaid, amount=Decimal("159.18"), payment_count=3)
    client = OrderClient.objects.create(name="Lender, production", key_prefix="gpl_test", key_hash="0" * 64)
    client.merchants.add(order.merchant)
    return {
        "order": order,
        "schedule": schedule,
        "card": card,
        "payment": Payment.objects.get(idempotency_key="test-admin-1"),
        "unpaid": unpaid,
        "plan": plan,
        "client": client,
    }


def pages(data: dict) -> dict[str, str]:
    return {
        "merchants": f"{BACKOFFICE}/merchant/",
        "merchant": f"{BACKOFFICE}/merchant/{data['order'].merchant.pk}/change/",
        "merchant_add": f"{BACKOFFICE}/merchant/add/",
        "orders": f"{BACKOFFICE}/order/",
        "order": f"{BACKOFFICE}/order/{data['order'].pk}/change/",
        "unpaid_order": f"{BACKOFFICE}/order/{data['unpaid'].order.pk}/change/",
        "cancel": f"{BACKOFFICE}/order/{data['order'].pk}/cancel/",
        "schedules": f"{BACKOFFICE}/schedule/",
        "schedule": f"{BACKOFFICE}/schedule/{data['schedule'].pk}/change/",
        "payments": f"{BACKOFFICE}/payment/",
        "payment": f"{BACKOFFICE}/payment/{data['payment'].pk}/change/",
        "plans": f"{BACKOFFICE}/regularisationplan/",
        "plan": f"{BACKOFFICE}/regularisationplan/{data['plan'].pk}/change/",
        "cards": f"{BACKOFFICE}/card/",
        "card": f"{BACKOFFICE}/card/{data['card'].pk}/change/",
        "clients": f"{BACKOFFICE}/orderclient/",
        "client": f"{BACKOFFICE}/orderclient/{data['client'].pk}/change/",
        "client_add": f"{BACKOFFICE}/orderclient/add/",
    }


ADVISOR_SEES = {
    "merchants", "merchant", "merchant_add", "orders", "order", "unpaid_order", "cancel", "schedules",
    "schedule", "payments", "payment", "plans", "plan", "cards", "card",
}  # fmt: skip


def test_the_rights_matrix(data: dict) -> None:
    consumer = User.objects.get(user_id="camille.martin@example.com")
    consumer.set_password(PASSWORD)
    consumer.save()
    advisor, operator = make_advisor(), make_superuser()

    for name, page in pages(data).items():
        advisor_status = logged_in(advisor).get(page).status_code
        assert advisor_status == (200 if name in ADVISOR_SEES else 403), (name, advisor_status)
        assert logged_in(operator).get(page).status_code == 200, name
        anonymous = logged_in(None).get(page)
        assert anonymous.status_code == 302 and "/login/" in anonymous["Location"], name
        # A consumer is not staff: the back office sends them to its login, which refuses them.
        assert logged_in(consumer).get(page).status_code == 302, name


def test_the_advisor_dashboard_lists_the_pay_later_models_but_not_the_order_clients(data: dict) -> None:
    response = logged_in(make_advisor()).get("/backoffice/")
    operator = logged_in(make_superuser()).get("/backoffice/")

    def paylater(response) -> list[str]:
        apps = [app for app in response.context["app_list"] if app["app_label"] == "paylater"]
        return sorted(model["object_name"] for app in apps for model in app["models"])

    assert paylater(response) == ["Card", "Merchant", "Order", "Payment", "RegularisationPlan", "Schedule"]
    assert "OrderClient" in paylater(operator)


def test_nothing_is_added_changed_or_deleted_but_merchants(data: dict) -> None:
    advisor, operator = logged_in(make_advisor()), logged_in(make_superuser())
    before = (
        Order.objects.count(),
        Schedule.objects.count(),
        Instalment.objects.count(),
        Card.objects.count(),
    )
    order, card = data["order"], data["card"]

    for client in (advisor, operator):
        assert client.get(f"{BACKOFFICE}/order/add/").status_code == 403
        assert client.post(f"{BACKOFFICE}/order/{order.pk}/change/", {"number": "X"}).status_code == 403
        assert client.post(f"{BACKOFFICE}/order/{order.pk}/delete/", {"post": "yes"}).status_code == 403
        assert (
            client.post(f"{BACKOFFICE}/schedule/{order.schedule.pk}/delete/", {"post": "yes"}).status_code
            == 403
        )
        assert client.get(f"{BACKOFFICE}/payment/add/").status_code == 403
        assert (
            client.post(f"{BACKOFFICE}/merchant/{order.merchant.pk}/delete/", {"post": "yes"}).status_code
            == 403
        )

    after = (
        Order.objects.count(),
        Schedule.objects.count(),
        Instalment.objects.count(),
        Card.objects.count(),
    )
    assert after == before
    order.refresh_from_db()
    assert order.number == "CMD-ADMIN-1"
    assert card.pk  # still there


def test_an_advisor_adds_and_renames_a_merchant_audited(data: dict) -> None:
    advisor = logged_in(make_advisor())

    response = advisor.post(f"{BACKOFFICE}/merchant/add/", {"name": "Vélo Rapide", "code": "velo-rapide"})
    merchant = Merchant.objects.get(code="velo-rapide")
    renamed = advisor.post(
        f"{BACKOFFICE}/merchant/{merchant.pk}/change/", {"name": "Vélo Rapide SA", "code": "velo-rapide"}
    )

    assert (response.status_code, renamed.status_code) == (302, 302)
    merchant.refresh_from_db()
    assert merchant.name == "Vélo Rapide SA"
    events = AuditEvent.objects.filter(action__startswith="paylater.merchant_").order_by("seq")
    assert [(e.action, e.details["fields"]) for e in events] == [
        ("paylater.merchant_created", ["code", "name"]),
        ("paylater.merchant_changed", ["name"]),
    ]


def test_a_merchants_code_is_fixed_once_it_has_orders(data: dict) -> None:
    advisor = logged_in(make_advisor())
    merchant = data["order"].merchant

    advisor.post(f"{BACKOFFICE}/merchant/{merchant.pk}/change/", {"name": "Maison Lumière", "code": "other"})

    merchant.refresh_from_db()
    assert merchant.code == "maison-lumiere"


def test_the_order_page_shows_the_schedule_the_card_and_the_cancellation_button(data: dict) -> None:
    html = logged_in(make_advisor()).get(pages(data)["order"]).content.decode()

    assert "CMD-ADMIN-1" in html and "Maison Lumière" in html
    assert "In progress" in html
    assert "Visa •••• 4242, expires 12/2030" in html
    assert "42.66" in html or "42,66" in html
    assert "Record a cancellation" in html
    assert f"{BACKOFFICE}/payment/?schedule__id__exact={data['schedule'].pk}" in html


def test_the_cancellation_button_needs_the_permission(data: dict) -> None:
    advisor = make_advisor()
    group = advisor.groups.get()
    group.permissions.remove(group.permissions.get(codename="change_order"))
    advisor = User.objects.get(pk=advisor.pk)  # permissions cache
    client = logged_in(advisor)

    assert "Record a cancellation" not in client.get(pages(data)["order"]).content.decode()
    assert client.get(pages(data)["cancel"]).status_code == 403
    assert client.post(pages(data)["cancel"], {"extent": "total", "reference": "R1"}).status_code == 403
    assert data["order"].schedule.status == ScheduleStatus.IN_PROGRESS


def test_the_unpaid_order_shows_the_amount_due_and_the_plan_link(data: dict) -> None:
    html = logged_in(make_advisor()).get(pages(data)["unpaid_order"]).content.decode()

    assert "Unpaid" in html
    assert "159.18" in html or "159,18" in html
    assert "Its regularisation plans" in html


def test_the_payment_page_shows_the_provider_reference_and_the_reason(data: dict) -> None:
    advisor = logged_in(make_advisor())
    listing = advisor.get(f"{BACKOFFICE}/payment/?schedule__id__exact={data['schedule'].pk}")
    found = advisor.get(f"{BACKOFFICE}/payment/?q=sbx_ch_ADMIN1")
    page = advisor.get(pages(data)["payment"]).content.decode()

    assert listing.status_code == 200 and "sbx_ch_ADMIN1" in listing.content.decode()
    assert list(found.context["cl"].result_list) == [data["payment"]]
    assert "insufficient_funds" in page and "Visa •••• 4242" in page


# --- The card: never its token, never changed ----------------------------------------------------


def test_no_admin_page_shows_a_token(data: dict) -> None:
    operator = logged_in(make_superuser())
    tokens = list(Card.objects.values_list("token", flat=True))
    assert tokens

    for name, page in pages(data).items():
        html = operator.get(page).content.decode()
        assert not any(token in html for token in tokens), name
        assert "tok_" not in html, name


@pytest.mark.parametrize(
    "query",
    [
        "card/?token__startswith=tok_",
        "card/?token=tok_test_visa_4242",
        "schedule/?cards__token__startswith=tok_",
        "payment/?card__token__startswith=tok_",
        "order/?customer__password__startswith=md5",
        "orderclient/?key_hash__startswith=0",
    ],
)
def test_no_filter_reaches_a_token_a_key_or_a_password(data: dict, query: str) -> None:
    response = logged_in(make_superuser()).get(f"{BACKOFFICE}/{query}")

    assert response.status_code == 400


def test_the_card_page_is_read_only_for_everybody(data: dict) -> None:
    card = data["card"]
    for user in (make_advisor(), make_superuser()):
        client = logged_in(user)
        html = client.get(pages(data)["card"]).content.decode()
        assert not re.search(r'<input[^>]+name="(brand|last4|expiry_month|expiry_year|token)"', html)
        assert "Save" not in html
        response = client.post(
            pages(data)["card"],
            {"brand": "mastercard", "last4": "4444", "expiry_month": 1, "expiry_year": 2040, "token": "x"},
        )
        assert response.status_code == 403
        assert client.get(f"{BACKOFFICE}/card/add/").status_code == 403
    card.refresh_from_db()
    assert (card.token, card.brand, card.last4, card.expiry_year) == (
        "tok_test_visa_4242",
        "visa",
        "4242",
        2030,
    )


def test_the_schedule_page_has_read_only_inlines(data: dict) -> None:
    html = logged_in(make_advisor()).get(pages(data)["schedule"]).content.decode()

    assert "instalments (current version)" in html.lower()
    assert 'name="instalments-0-amount"' not in html
    assert not re.search(r'name="cards-0-(brand|last4|expiry_month|expiry_year|token)"', html)
    assert "sbx_ch_ADMIN1" in html


# --- Consumers: no password, no unlock in the back office (seed 003) ------------------------------


def test_an_advisor_can_neither_unlock_a_consumer_nor_give_them_a_password(data: dict) -> None:
    consumer = User.objects.get(user_id="camille.martin@example.com")
    User.objects.filter(pk=consumer.pk).update(failed_login_count=5)
    consumer.refresh_from_db()
    password = consumer.password
    advisor = logged_in(make_advisor())

    page = advisor.get(f"/backoffice/identity/user/{consumer.pk}/change/")
    responses = [
        advisor.get(f"/backoffice/identity/user/{consumer.pk}/unlock/"),
        advisor.post(f"/backoffice/identity/user/{consumer.pk}/unlock/"),
        advisor.post(f"/backoffice/identity/user/{consumer.pk}/reissue/"),
        advisor.get(f"/backoffice/identity/user/{consumer.pk}/password/"),
        advisor.post(
            f"/backoffice/identity/user/{consumer.pk}/password/", {"password1": "x", "password2": "x"}
        ),
    ]

    assert consumer.kind == AccountKind.CONSUMER
    assert page.status_code == 200
    assert page.context["credentials_actions"] == {"reissue": False, "unlock": False, "reenrol": False}
    assert page.context["credentials_note"]
    assert [r.status_code for r in responses] == [403] * 5
    consumer.refresh_from_db()
    assert consumer.password == password and consumer.failed_login_count == 5
    assert mail.outbox == []


# --- Record a cancellation -------------------------------------------------------------------------


def test_an_advisor_records_a_partial_cancellation(data: dict) -> None:
    order = data["order"]  # 127.96 in 3: 42.66 paid, 42.65 and 42.65 to debit
    advisor = make_advisor()

    form = logged_in(advisor).get(pages(data)["cancel"])
    response = logged_in(advisor).post(
        pages(data)["cancel"],
        {"extent": "partial", "amount": "20.00", "reference": "AV-2026-001"},
        follow=True,
    )

    assert form.status_code == 200 and "AV-2026-001" not in form.content.decode()
    assert response.redirect_chain[-1][0] == f"{BACKOFFICE}/order/{order.pk}/change/"
    assert "A cancellation of" in response.content.decode()
    order.refresh_from_db()
    assert order.cancelled_amount == Decimal("20.00")
    assert order.schedule.version == 2
    assert sorted(
        order.schedule.instalments.filter(status=InstalmentStatus.IN_PROGRESS).values_list(
            "amount", flat=True
        )
    ) == [Decimal("32.65"), Decimal("32.65")]
    assert order.schedule.versions.count() == 1
    assert AuditEvent.objects.filter(actor=advisor, action__startswith="paylater.").exists()


def test_an_advisor_records_a_total_cancellation(data: dict) -> None:
    order = data["order"]

    response = logged_in(make_advisor()).post(
        pages(data)["cancel"], {"extent": "total", "amount": "", "reference": "AV-2026-002"}
    )

    assert response.status_code == 302
    order.schedule.refresh_from_db()
    assert order.schedule.status == ScheduleStatus.CANCELLED
    assert not order.schedule.instalments.filter(status=InstalmentStatus.IN_PROGRESS).exists()
    page = logged_in(make_advisor(user_id="advisor2")).get(pages(data)["order"]).content.decode()
    assert "Cancelled" in page and "Record a cancellation" not in page


@pytest.mark.parametrize(
    ("post", "message"),
    [
        ({"extent": "partial", "amount": "", "reference": "R"}, "Enter the amount cancelled"),
        ({"extent": "partial", "amount": "0", "reference": "R"}, "greater than or equal to 0.01"),
        ({"extent": "partial", "amount": "10", "reference": ""}, "This field is required"),
        ({"extent": "partial", "amount": "500.00", "reference": "R"}, "at most what is left of the purchase"),
    ],
)
def test_a_wrong_cancellation_is_refused_with_the_reason_and_changes_nothing(
    data: dict, post: dict, message: str
) -> None:
    order = data["order"]

    response = logged_in(make_advisor()).post(pages(data)["cancel"], post)

    assert response.status_code == 200
    assert message in response.content.decode()
    order.refresh_from_db()
    assert (order.cancelled_amount, order.schedule.version) == (Decimal("0.00"), 1)
    assert mail.outbox == []


def test_cancelling_a_cancelled_order_again_is_refused(data: dict) -> None:
    advisor = logged_in(make_advisor())
    advisor.post(pages(data)["cancel"], {"extent": "total", "reference": "R1"})

    again = advisor.post(pages(data)["cancel"], {"extent": "partial", "amount": "1.00", "reference": "R2"})

    assert again.status_code == 200
    assert "already cancelled in full" in again.content.decode()


# --- Order clients: operator administrators only ----------------------------------------------------


def test_an_operator_creates_an_order_client_and_sees_its_key_once(data: dict) -> None:
    operator = make_superuser()
    merchant = data["order"].merchant

    response = logged_in(operator).post(
        pages(data)["client_add"], {"name": "Lender, test", "merchants": [merchant.pk]}
    )

    html = response.content.decode()
    client = OrderClient.objects.get(name="Lender, test")
    key = re.search(r'<code id="order-client-key">([^<]+)</code>', html).group(1)
    assert "no-store" in response["Cache-Control"]
    assert key.startswith(client.key_prefix) and key not in client.key_hash
    assert list(client.merchants.all()) == [merchant]
    assert key not in logged_in(operator).get(pages(data)["clients"]).content.decode()
    event = AuditEvent.objects.get(action="paylater.order_client_added")
    assert key not in str(event.details) and event.details == {"merchants": [merchant.code]}


def test_an_advisor_cannot_create_or_deactivate_an_order_client(data: dict) -> None:
    advisor = logged_in(make_advisor())
    client = data["client"]

    add = advisor.post(pages(data)["client_add"], {"name": "Mine", "merchants": [data["order"].merchant.pk]})
    deactivate = advisor.post(
        pages(data)["clients"], {"action": "deactivate", "_selected_action": [client.pk]}
    )

    assert (add.status_code, deactivate.status_code) == (403, 403)
    client.refresh_from_db()
    assert client.is_active and not OrderClient.objects.filter(name="Mine").exists()


def test_an_operator_deactivates_an_order_client(data: dict) -> None:
    client = data["client"]

    response = logged_in(make_superuser()).post(
        pages(data)["clients"], {"action": "deactivate", "_selected_action": [client.pk]}
    )

    assert response.status_code == 302
    client.refresh_from_db()
    assert not client.is_active
    assert AuditEvent.objects.get(action="paylater.order_client_deactivated_by_staff").actor_id is not None


def test_the_pay_later_admin_pages_run_under_the_strict_csp(data: dict) -> None:
    from guichet.backoffice.tests.test_site import InlineCode

    operator = logged_in(make_superuser())
    for name, page in pages(data).items():
        response = operator.get(page)
        nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
        parser = InlineCode(nonce)
        parser.feed(response.content.decode())
        assert response.status_code == 200, name
        assert parser.blocked == [], name
