"""The order endpoint ``/api/v1/paylater/``: the rights matrix (no key, a bad or deactivated key, a
customer's or a staff session, another merchant's client: refused, nothing written or sent), orders
as JSON, arrays, JSON lines and CSV, the per-line report (200/422), the size limits, the audit of
each call without the key, and the cancellation answering the readjusted schedule."""

import datetime
import json
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django_tasks_db.models import DBTaskResult

from guichet.audit.models import AuditEvent
from guichet.backoffice.tests.factories import make_superuser
from guichet.notifications.models import Message
from guichet.paylater.clients import order_client_create, order_client_deactivate
from guichet.paylater.models import Order, OrderClient, OrderSource, Payment, ScheduleVersion
from guichet.paylater.testing import make_merchant, make_order
from guichet.paylater.tests.test_intake import HEADER, csv_line, line

pytestmark = pytest.mark.django_db

URL = "/api/v1/paylater/orders/"


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def world():
    lumiere = make_merchant()
    atelier = make_merchant(code="atelier", name="Atelier")
    client, key = order_client_create(name="Lender", merchants=[lumiere])
    other, other_key = order_client_create(name="Other lender", merchants=[atelier])
    return {"client": client, "key": key, "other": other, "other_key": other_key}


def post(
    client: Client, body, key: str | None = None, content_type: str = "application/json", url: str = URL
):
    headers = {"HTTP_ACCEPT_LANGUAGE": "en"}
    if key is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(url, data=data, content_type=content_type, **headers)


def cancel_url(order: Order) -> str:
    return reverse("paylater_api:order_cancellation", args=[order.merchant.code, order.number])


def nothing_written() -> bool:
    return not Order.objects.exists() and not Message.objects.exists() and not DBTaskResult.objects.exists()


# --- Who may call ---------------------------------------------------------------------------------


def test_without_a_key_401_with_the_scheme(world) -> None:
    response = post(Client(), line())

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="paylater"'
    assert nothing_written()


@pytest.mark.parametrize(
    "key",
    ["gpl_0000", "gpl_00000000_" + "a" * 43, "gik_00000000_" + "a" * 43, "right-prefix-wrong-secret"],
    ids=["malformed", "unknown", "other scheme", "wrong secret"],
)
def test_a_bad_key_is_401(world, key) -> None:
    if key == "right-prefix-wrong-secret":
        key = world["client"].key_prefix + "_" + "b" * 43

    response = post(Client(), line(), key)

    assert response.status_code == 401
    assert nothing_written()


def test_a_deactivated_key_is_401(world) -> None:
    order_client_deactivate(client=world["client"])

    response = post(Client(), line(), world["key"])

    assert response.status_code == 401
    assert nothing_written()


@pytest.mark.parametrize("who", ["customer", "staff"])
def test_a_session_is_refused_even_staff_and_even_with_a_key(world, who) -> None:
    if who == "customer":
        make_order(merchant=make_merchant(code="autre", name="Autre"))
        from guichet.identity.models import User

        user = User.objects.get()
    else:
        user = make_superuser()
    orders = Order.objects.count()
    browser = Client()
    browser.force_login(user)

    without_key = post(browser, line(), None)
    with_key = post(browser, line(), world["key"])

    assert (without_key.status_code, with_key.status_code) == (403, 403)
    assert Order.objects.count() == orders


def test_a_client_sending_another_merchants_order_is_refused_and_nothing_is_written(world) -> None:
    response = post(Client(), line(), world["other_key"])

    assert response.status_code == 422
    assert response.json() == {
        "imported": 0,
        "already": 0,
        "refused": 1,
        "items": [
            {
                "line": "1",
                "outcome": "refused",
                "reason": "merchant: unknown, or not one of the merchants of this key.",
                "order_number": "CMD-0001",
                "order": None,
            }
        ],
    }
    assert nothing_written()


@pytest.mark.parametrize("who", ["none", "other client", "deactivated", "staff"])
def test_the_cancellation_rights_matrix(world, who) -> None:
    order = make_order()
    versions, payments = ScheduleVersion.objects.count(), Payment.objects.count()
    browser, key = Client(), world["key"]
    if who == "none":
        key = None
    elif who == "other client":
        key = world["other_key"]
    elif who == "deactivated":
        order_client_deactivate(client=world["client"])
    else:
        browser.force_login(make_superuser())

    response = post(browser, {"amount": "20.00", "reference": "AV-1"}, key, url=cancel_url(order))

    assert response.status_code == {"none": 401, "other client": 404, "deactivated": 401, "staff": 403}[who]
    assert (ScheduleVersion.objects.count(), Payment.objects.count()) == (versions, payments)
    order.refresh_from_db()
    assert order.cancelled_amount == 0


# --- Orders ---------------------------------------------------------------------------------------


def test_one_order_as_json(world) -> None:
    response = post(Client(), line(purchase_amount=127.96, instalments=3), world["key"])

    assert response.status_code == 200
    order = Order.objects.get()
    assert response.json() == {
        "imported": 1,
        "already": 0,
        "refused": 0,
        "items": [
            {"line": "1", "outcome": "imported", "reason": "", "order_number": "CMD-0001", "order": order.pk}
        ],
    }
    assert (order.source, order.purchase_amount) == (OrderSource.API, Decimal("127.96"))
    assert Message.objects.get().template == "paylater_order_received"
    world["client"].refresh_from_db()
    assert world["client"].last_used_at is not None


def test_the_first_login_link_is_built_from_the_request(world) -> None:
    post(Client(), line(), world["key"])

    assert "http://testserver/fr/" in Message.objects.get().body_text


def test_an_array_with_a_refusal_answers_422_and_imports_the_rest(world) -> None:
    response = post(Client(), [line(), line(order_number="CMD-0002", instalments=5), "nope"], world["key"])

    assert response.status_code == 422
    body = response.json()
    assert (body["imported"], body["refused"]) == (1, 2)
    assert [(item["line"], item["outcome"]) for item in body["items"]] == [
        ("1", "imported"),
        ("2", "refused"),
        ("3", "refused"),
    ]
    assert body["items"][1]["reason"] == "instalments: 3 or 4."
    assert body["items"][2]["reason"] == "An order is a JSON object."


def test_the_same_order_again_is_already_imported(world) -> None:
    post(Client(), line(), world["key"])

    response = post(Client(), line(), world["key"])

    assert response.status_code == 200
    assert response.json()["already"] == 1
    assert Order.objects.count() == 1


def test_json_lines(world) -> None:
    body = "\n".join(json.dumps(line(order_number=f"L{n}")) for n in range(3)) + "\n"

    response = post(Client(), body, world["key"], content_type="application/x-ndjson")

    assert response.status_code == 200
    assert response.json()["imported"] == 3


def test_csv(world) -> None:
    body = HEADER + "\r\n" + csv_line("C1") + "\r\n" + csv_line("C2") + "\r\n"

    response = post(Client(), body.encode("utf-8-sig"), world["key"], content_type="text/csv; charset=utf-8")

    assert response.status_code == 200
    assert [item["line"] for item in response.json()["items"]] == ["2", "3"]
    assert set(Order.objects.values_list("number", flat=True)) == {"C1", "C2"}


def test_a_card_number_is_refused_and_never_echoed(world) -> None:
    response = post(Client(), line(card_token="4242 4242 4242 4242"), world["key"])

    assert response.status_code == 422
    assert "4242 4242" not in response.content.decode()
    assert response.json()["items"][0]["reason"] == (
        "A card number was sent; only the provider's token may be. The line was not imported."
    )
    assert nothing_written()


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("", "application/json", 400),
        ("{not json", "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
        ("<order/>", "application/xml", 415),
    ],
)
def test_unreadable_bodies(world, body, content_type, status) -> None:
    response = post(Client(), body, world["key"], content_type=content_type)

    assert response.status_code == status
    assert nothing_written()


def test_the_size_limits(world, settings) -> None:
    settings.GUICHET_PAYLATER_MAX_REQUEST_LINES = 2
    too_many = post(Client(), [line(order_number=f"N{n}") for n in range(3)], world["key"])
    settings.GUICHET_PAYLATER_MAX_REQUEST_BYTES = 100
    too_big = post(Client(), line(), world["key"])

    assert (too_many.status_code, too_big.status_code) == (413, 413)
    assert nothing_written()


def test_each_call_is_audited_with_the_client_never_the_key(world) -> None:
    post(Client(), [line(), line(order_number="X", instalments=9)], world["key"])

    event = AuditEvent.objects.get(action="paylater.orders_call")
    assert event.target_id == str(world["client"].pk)
    assert event.details == {"lines": 2, "imported": 1, "already": 0, "refused": 1}
    secret = world["key"].split("_", 2)[2]
    assert not AuditEvent.objects.filter(details__icontains=secret).exists()
    assert OrderClient.objects.get(pk=world["client"].pk).key_hash != world["key"]


# --- Cancellation ---------------------------------------------------------------------------------


def test_a_partial_cancellation_answers_the_readjusted_schedule(world) -> None:
    order = make_order()

    response = post(Client(), {"amount": "100.00", "reference": "AV-1"}, world["key"], url=cancel_url(order))

    assert response.status_code == 200
    body = response.json()
    due = order.purchased_on + datetime.timedelta(days=30)
    assert body["instalments"][1] == {
        "number": 2,
        "due_date": due.isoformat(),
        "amount": "0.00",
        "status": "deleted",
    }
    assert (body["status"], body["version"], body["cancelled_amount"]) == ("completed", 2, "100.00")
    assert body["readjustment"]["reason"] == "partial_cancellation"
    assert body["readjustment"]["card_refund"] == "14.70"
    assert body["readjustment"]["previous_version"] == 1
    assert body["readjustment"]["previous_instalments"][1]["amount"] == "42.65"
    assert AuditEvent.objects.get(action="paylater.order_cancelled").details["client"] == "Lender"


def test_a_total_cancellation_and_its_repeat(world) -> None:
    order = make_order()

    first = post(Client(), {"total": True, "reference": "AV-2"}, world["key"], url=cancel_url(order))
    again = post(Client(), {"total": True, "reference": "AV-2"}, world["key"], url=cancel_url(order))
    other = post(Client(), {"amount": "1.00", "reference": "AV-2"}, world["key"], url=cancel_url(order))
    after = post(Client(), {"amount": "1.00", "reference": "AV-3"}, world["key"], url=cancel_url(order))

    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json() == again.json()
    assert first.json()["status"] == "cancelled"
    assert other.status_code == 409 and other.json()["code"] == "reference_reused"
    assert after.status_code == 422 and after.json()["code"] == "order_cancelled"
    assert ScheduleVersion.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"amount": "20.00"}, 400),
        ({"reference": "AV-1"}, 400),
        ({"amount": "20.00", "total": True, "reference": "AV-1"}, 400),
        ({"amount": "abc", "reference": "AV-1"}, 400),
        ({"amount": "20.00", "reference": "AV-1", "extra": 1}, 400),
        ({"amount": "200.00", "reference": "AV-1"}, 422),
        ({"amount": "20.001", "reference": "AV-1"}, 422),
        ({"amount": "20.00", "reference": "4242424242424242"}, 400),
    ],
)
def test_bad_cancellations_change_nothing(world, body, status) -> None:
    order = make_order()

    response = post(Client(), body, world["key"], url=cancel_url(order))

    assert response.status_code == status
    assert "4242424242424242" not in response.content.decode()
    assert not ScheduleVersion.objects.exists()


def test_an_unknown_order_is_404(world) -> None:
    url = reverse("paylater_api:order_cancellation", args=["maison-lumiere", "NOPE"])

    response = post(Client(), {"total": True, "reference": "AV-1"}, world["key"], url=url)

    assert response.status_code == 404


def test_the_schema_documents_the_endpoints(world, client) -> None:
    client.force_login(make_superuser())
    response = client.get("/api/schema/?format=json")

    paths = json.loads(response.content)["paths"]
    assert "/api/v1/paylater/orders/" in paths
    assert "/api/v1/paylater/orders/{merchant}/{number}/cancellation/" in paths


def test_purchase_date_today_is_accepted(world) -> None:
    response = post(Client(), line(purchase_date=timezone.localdate().isoformat()), world["key"])

    assert response.status_code == 200
