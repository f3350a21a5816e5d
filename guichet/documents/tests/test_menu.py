"""The menu's document entries: Documents for whoever sees a customer number, Customer numbers also for a
business or consumer account without any yet (to add an activation code), never for other kinds."""

import pytest
from django.urls import reverse

from guichet.documents.testing import make_customer_number, make_recipient
from guichet.identity.models import AccountKind
from guichet.identity.testing import make_provisioned

pytestmark = pytest.mark.django_db


def menu_links(client, user) -> tuple[bool, bool]:
    client.force_login(user)
    page = client.get(reverse("help:index")).content.decode()
    return (
        f'href="{reverse("documents:list")}"' in page,
        f'href="{reverse("documents:customer_numbers")}"' in page,
    )


@pytest.mark.parametrize("kind", [AccountKind.BUSINESS, AccountKind.CONSUMER])
def test_an_account_without_customer_numbers_can_still_reach_its_activation_codes(client, kind):
    user = make_recipient(email="new.account@example.com", kind=kind)

    assert menu_links(client, user) == (False, True)


def test_an_account_with_a_customer_number_sees_both(client):
    user = make_recipient()
    make_customer_number(account=user)

    assert menu_links(client, user) == (True, True)


def test_a_provisioned_cardholder_sees_neither(client):
    assert menu_links(client, make_provisioned()) == (False, False)
