"""The consumer pages of the pay-later space, rendered in French as the seed prints them (seed 003):
schedules in progress and finished, one schedule with its earlier versions, the card block, the
regularisation choices and the contact block on every page."""

import datetime
import re
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from guichet.paylater import schedules
from guichet.paylater.models import (
    InstalmentStatus,
    RegularisationPart,
    RegularisationPlan,
    ScheduleStatus,
    ScheduleVersion,
    ScheduleVersionReason,
)
from guichet.paylater.testing import (
    make_completed_schedule,
    make_consumer_with_password,
    make_order,
    make_unpaid_schedule,
    settle,
)

pytestmark = pytest.mark.django_db

D = Decimal
NBSP = "\u00a0"
SEED_DATE = datetime.date(2019, 8, 4)


def t(msgid: str) -> str:
    with translation.override("fr"):
        return gettext(msgid)


def url(name: str, **kwargs) -> str:
    with translation.override("fr"):
        return reverse(name, kwargs=kwargs or None)


def eur(amount: str) -> str:
    """How the page prints an amount in French: "42,66 €" with a no-break space."""
    return f"{amount}{NBSP}€"


def text(response) -> str:
    """The page's text without tags, spaces collapsed (no-break spaces kept)."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def client_of():
    def log_in(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return log_in


@pytest.fixture
def seed_order():
    """The seed's order: 127.96 in 3 on 04/08/2019, the first two paid, the third in progress."""
    order = make_order(number="CMD20190804", amount=D("127.96"), purchased_on=SEED_DATE)
    settle(order, 2, paid=True)
    return order


def test_my_schedules_shows_the_seeds_schedule_in_progress(client_of, seed_order):
    consumer = make_consumer_with_password()

    response = client_of(consumer).get(url("paylater:schedules"))

    assert response.status_code == 200
    page = text(response)
    assert "CMD20190804" in page
    assert "Maison Lumière" in page
    assert eur("127,96") in page
    assert "04/08/2019" in page
    assert eur("0,00") in page
    # The instalment table: a real table, with its caption and header cells.
    html = response.content.decode()
    assert "<caption>" in html and 'scope="col"' in html and 'scope="row"' in html
    rows = re.findall(
        r"<tr>\s*<th scope=\"row\">(.*?)</th>\s*<td>(.*?)</td>\s*<td class=\"amount\">(.*?)</td>", html, re.S
    )
    assert [(d.strip(), a.strip()) for _n, d, a in rows] == [
        ("04/08/2019", eur("42,66")),
        ("03/09/2019", eur("42,65")),
        ("03/10/2019", eur("42,65")),
    ]
    assert page.count(t("Paid")) == 2
    assert t("The date of your debit is indicative; it may move by a day or two.") in page
    assert t("See my finished schedules") in page
    # The card block: last 4 digits, expiry, "Change".
    assert "4242" in page and "12/2030" in page
    assert f'action="{url("paylater:card_change", pk=seed_order.schedule.pk)}"' in html
    # The contact block, linked to the help app's contact page.
    assert 'id="paylater-contact"' in html
    assert f'href="{url("help:contact")}"' in html
    # The main menu offers "My schedules".
    assert f'href="{url("paylater:schedules")}" aria-current="page"' in html


def test_the_schedule_status_in_progress_is_written_out(client_of, seed_order):
    response = client_of(seed_order.customer).get(url("paylater:schedule", pk=seed_order.schedule.pk))

    page = text(response)
    assert t("In progress") in page
    assert 'class="status-pl status-pl-info"' in response.content.decode()


def test_an_unpaid_schedule_offers_regularise_instead_of_change(client_of):
    schedule = make_unpaid_schedule()

    response = client_of(schedule.order.customer).get(url("paylater:schedules"))

    html = response.content.decode()
    page = text(response)
    assert t("Unpaid") in page
    assert eur("159,18") in page
    assert f'href="{url("paylater:regularise", pk=schedule.pk)}"' in html
    assert url("paylater:card_change", pk=schedule.pk) not in html
    assert page.count(t("Unpaid")) >= 3  # the schedule and its two refused debits


def test_a_schedule_being_regularised_shows_the_amount_regularised_so_far(client_of):
    schedule = make_unpaid_schedule()
    plan = RegularisationPlan.objects.create(schedule=schedule, amount=D("159.18"), payment_count=3)
    today = timezone.localdate()
    parts = [
        RegularisationPart.objects.create(plan=plan, number=n, due_date=today, amount=D("53.06"))
        for n in (1, 2, 3)
    ]
    with transaction.atomic():
        locked = schedules.schedule_lock(schedule.pk)
        schedules.regularisation_part_settle(schedule=locked, part=parts[0], succeeded=True)

    response = client_of(schedule.order.customer).get(url("paylater:schedules"))

    page = text(response)
    assert t("Being regularised") in page
    assert eur("53,06") in page
    assert eur("106,12") in page  # still due
    assert plan.parts.filter(status=InstalmentStatus.PAID).count() == 1


def test_finished_schedules_are_on_their_own_page(client_of):
    completed = make_completed_schedule(number="CMD-DONE")
    in_progress = make_order(number="CMD-OPEN")
    client = client_of(completed.order.customer)

    schedules_page = text(client.get(url("paylater:schedules")))
    finished_page = text(client.get(url("paylater:finished")))

    assert "CMD-OPEN" in schedules_page and "CMD-DONE" not in schedules_page
    assert "CMD-DONE" in finished_page and "CMD-OPEN" not in finished_page
    assert t("Completed") in finished_page
    assert in_progress.schedule.status == ScheduleStatus.IN_PROGRESS


def test_a_readjusted_schedule_links_to_its_earlier_versions_each_readable(client_of, seed_order):
    schedule = seed_order.schedule
    ScheduleVersion.objects.create(
        schedule=schedule,
        number=1,
        instalments=[
            {"number": 1, "due_date": "2019-08-04", "amount": "42.66", "status": "paid"},
            {"number": 2, "due_date": "2019-09-03", "amount": "42.65", "status": "paid"},
            {"number": 3, "due_date": "2019-10-03", "amount": "52.65", "status": "in_progress"},
        ],
        reason=ScheduleVersionReason.PARTIAL_CANCELLATION,
        cancelled_amount=D("10.00"),
    )
    client = client_of(seed_order.customer)

    listing = client.get(url("paylater:schedules")).content.decode()
    detail = client.get(url("paylater:schedule", pk=schedule.pk))

    assert f'href="{url("paylater:schedule", pk=schedule.pk)}#versions"' in listing
    page = text(detail)
    assert 'id="version-1"' in detail.content.decode()
    assert eur("52,65") in page
    assert eur("10,00") in page


def test_a_cancelled_schedule_shows_its_status_and_no_change_button(client_of, seed_order):
    schedule = seed_order.schedule
    schedule.status = ScheduleStatus.CANCELLED
    schedule.save(update_fields=["status"])
    schedule.instalments.filter(number=3).update(status=InstalmentStatus.DELETED)

    response = client_of(seed_order.customer).get(url("paylater:finished"))

    page = text(response)
    assert t("Cancelled") in page
    assert t("Deleted") in page
    assert url("paylater:card_change", pk=schedule.pk) not in response.content.decode()


def test_the_regularise_page_offers_the_seeds_three_choices(client_of):
    schedule = make_unpaid_schedule()

    response = client_of(schedule.order.customer).get(url("paylater:regularise", pk=schedule.pk))

    assert response.status_code == 200
    page = text(response)
    assert t("Regularise your unpaid amount") in page
    assert eur("159,18") in page
    assert eur("79,59") in page
    assert eur("53,06") in page
    html = response.content.decode()
    assert re.findall(r'name="count" value="(\d)"', html) == ["1", "2", "3"]
    assert 'id="paylater-contact"' in html


def test_the_regularise_page_of_a_schedule_with_nothing_due_says_so(client_of, seed_order):
    response = client_of(seed_order.customer).get(url("paylater:regularise", pk=seed_order.schedule.pk))

    assert response.status_code == 200
    assert t("There is no unpaid amount to regularise on this schedule.") in text(response)
    assert 'name="count"' not in response.content.decode()


def test_choosing_nothing_on_the_regularise_page_is_an_error_not_a_signature(client_of):
    schedule = make_unpaid_schedule()

    response = client_of(schedule.order.customer).post(url("paylater:regularise", pk=schedule.pk), {})

    assert response.status_code == 200
    assert t("Choose how you want to pay.") in text(response)
    assert 'aria-invalid="true"' in response.content.decode()


def test_choosing_3_payments_goes_to_the_signature_of_the_amount_due(client_of):
    from guichet.identity.models import SigningChallenge
    from guichet.identity.signing import Operation

    schedule = make_unpaid_schedule()

    response = client_of(schedule.order.customer).post(
        url("paylater:regularise", pk=schedule.pk), {"count": "3"}
    )

    challenge = SigningChallenge.objects.get()
    assert response.status_code == 302
    assert response.url == url("identity:sign", challenge_id=challenge.pk)
    operation = Operation.from_canonical(challenge.operation)
    assert operation.kind == "paylater_regularise"
    assert operation.amount == D("159.18")
    assert "53.06 + 53.06 + 53.06 EUR" in operation.target
    assert challenge.next_url == url("paylater:regularise_confirm", pk=schedule.pk) + "?count=3"


def test_the_money_filter_follows_the_language():
    from django.template import Context, Template

    template = Template("{% load paylater %}{{ amount|money }}|{{ amount|money:'USD' }}")
    with translation.override("fr"):
        assert (
            template.render(Context({"amount": D("1234.50")}))
            == f"1{NBSP}234,50{NBSP}€|1{NBSP}234,50{NBSP}USD"
        )
    with translation.override("en"):
        assert template.render(Context({"amount": D("42.66")})) == f"42.66{NBSP}€|42.66{NBSP}USD"


def test_the_menu_entry_is_shown_only_to_users_with_an_order(client_of, seed_order):
    from guichet.identity.testing import make_consumer

    other = make_consumer(email="other@example.com", password="x")

    with_order = client_of(seed_order.customer).get(url("help:index")).content.decode()
    without = client_of(other).get(url("help:index")).content.decode()

    assert f'href="{url("paylater:schedules")}"' in with_order
    assert f'href="{url("paylater:schedules")}"' not in without


def test_the_list_costs_the_same_number_of_queries_for_one_schedule_or_five(client_of):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    consumer = make_unpaid_schedule().order.customer
    client = client_of(consumer)
    client.get(url("paylater:schedules"))
    with CaptureQueriesContext(connection) as one:
        client.get(url("paylater:schedules"))
    for _ in range(4):
        make_order()
    with CaptureQueriesContext(connection) as five:
        client.get(url("paylater:schedules"))

    assert len(five) == len(one)


# --- Card change (seed 003, 3rd step) ----------------------------------------------------------------


def card_entered(client: Client, schedule, number: str, *, month: int = 12, year: int = 2031):
    """ "Change" → the sandbox's page (the card typed there) → back to Guichet: the response of the return."""
    from guichet.paylater.sandbox import provider
    from guichet.paylater.sandbox.cards import card_for_number, digits_only

    response = client.post(url("paylater:card_change", pk=schedule.pk))
    assert response.status_code == 302
    session_id = response.url.rstrip("/").rsplit("/", 1)[-1]
    session = provider.session_get(session_id)
    assert session is not None, response.url
    provider.session_card_enter(
        session=session, card=card_for_number(digits_only(number)), expiry_month=month, expiry_year=year
    )
    return client.get(url("paylater:card_return"), {"session": session_id})


def test_change_card_goes_to_the_provider_then_to_the_signature_then_confirms(client_of):
    from guichet.identity.models import SigningChallenge
    from guichet.identity.testing import signed_proof
    from guichet.paylater import cards
    from guichet.paylater.models import CardSetup

    schedule = make_order(number="CMD-CARD").schedule
    client = client_of(schedule.order.customer)

    response = card_entered(client, schedule, "5555 5555 5555 4444")

    challenge = SigningChallenge.objects.get()
    assert response.url == url("identity:sign", challenge_id=challenge.pk)
    setup = CardSetup.objects.get()
    proof = signed_proof(schedule.order.customer, cards.card_change_operation(setup))
    confirmed = client.get(url("paylater:card_confirm", setup=setup.pk), {"proof": proof})

    assert confirmed.status_code == 200
    page = text(confirmed)
    assert t("Card changed") in page
    assert "4444" in page and "12/2031" in page
    assert schedules.current_card(schedule).last4 == "4444"
    # A reload shows the confirmation again, without a second change.
    again = client.get(url("paylater:card_confirm", setup=setup.pk), {"proof": proof})
    assert again.status_code == 200
    assert schedule.cards.count() == 2


def test_change_card_refused_for_a_brand_not_accepted(client_of):
    schedule = make_order().schedule
    client = client_of(schedule.order.customer)

    response = card_entered(client, schedule, "3782 822463 10005")

    assert response.status_code == 200
    assert t("Card not changed") in text(response)
    assert t("This card is not accepted: only Visa and Mastercard cards are.") in text(response)
    assert schedules.current_card(schedule).last4 == "4242"


def test_change_card_refused_when_it_expires_before_the_last_instalment(client_of):
    today = timezone.localdate()
    schedule = make_order().schedule
    schedule.instalments.filter(number=3).update(due_date=today + datetime.timedelta(days=70))
    soon = today + datetime.timedelta(days=10)  # valid through the end of that month: 40 days at most
    client = client_of(schedule.order.customer)

    response = card_entered(client, schedule, "4242 4242 4242 4242", month=soon.month, year=soon.year)

    page = text(response)
    assert t("Card not changed") in page
    assert (today + datetime.timedelta(days=70)).strftime("%d/%m/%Y") in page
    assert schedules.current_card(schedule).expiry_year == 2030


def test_change_card_refused_inside_the_cut_off_with_the_date_of_the_next_debit(client_of):
    purchased = timezone.localdate() - datetime.timedelta(days=25)  # next debit in 5 days
    schedule = make_order(purchased_on=purchased).schedule
    client = client_of(schedule.order.customer)

    response = client.post(url("paylater:card_change", pk=schedule.pk))

    assert response.status_code == 200
    next_debit = (purchased + datetime.timedelta(days=30)).strftime("%d/%m/%Y")
    assert next_debit in text(response)
    assert 'role="alert"' in response.content.decode()


def test_change_card_of_an_unpaid_schedule_offers_regularise(client_of):
    schedule = make_unpaid_schedule()
    client = client_of(schedule.order.customer)

    response = client.post(url("paylater:card_change", pk=schedule.pk))

    assert t(
        "The card cannot be changed while this schedule is unpaid. Regularise the unpaid amount instead."
    ) in text(response)
    assert f'href="{url("paylater:regularise", pk=schedule.pk)}"' in response.content.decode()
