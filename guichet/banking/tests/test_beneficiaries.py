"""Beneficiaries: the service (rights re-checked, IBAN/BIC checked, duplicates, audit) and the pages
for each role; refusals write nothing."""

import pytest
from django.urls import reverse
from django.utils import translation

from guichet.audit.models import AuditEvent
from guichet.banking.beneficiaries import (
    BeneficiaryError,
    BeneficiaryErrorCode,
    beneficiary_add,
    beneficiary_delete,
)
from guichet.banking.models import Beneficiary
from guichet.banking.tests.consultation_cast import make_cast

pytestmark = pytest.mark.django_db

BELFIUS_IBAN = "BE71 0961 2345 6769"  # schwifty knows the bank: GKCCBEBB


@pytest.fixture
def cast():
    return make_cast()


def url(name: str, *args: object) -> str:
    with translation.override("fr"):
        return reverse(name, args=args or None)


def beneficiary_events() -> int:
    return AuditEvent.objects.filter(action__startswith="banking.beneficiary_").count()


# --- Service ------------------------------------------------------------------------------


def test_add_normalises_the_iban_and_fills_the_bic_from_the_bank(cast):
    beneficiary = beneficiary_add(
        acting_user=cast.manager,
        entity=cast.entity,
        name="  Fournisseur   Dupont ",
        iban=" be71 0961 2345 6769",
    )

    assert beneficiary.name == "Fournisseur Dupont"
    assert beneficiary.iban == "BE71096123456769"
    assert beneficiary.bic == "GKCCBEBB"
    assert beneficiary.created_by == cast.manager
    event = AuditEvent.objects.get(action="banking.beneficiary_added")
    assert event.actor_id == cast.manager.pk
    assert event.target_id == str(beneficiary.pk)


@pytest.mark.parametrize(
    ("iban", "bic", "kept"),
    [
        (BELFIUS_IBAN, "gkccbebb", "GKCCBEBB"),
        (BELFIUS_IBAN, "GKCCBEBBXXX", "GKCCBEBBXXX"),
        ("DE89370400440532013000", "COBADEFFXXX", "COBADEFFXXX"),
        ("BE68539007547034", "", ""),  # bank unknown to schwifty: no BIC to fill in
        ("BE68539007547034", "GEBABEBB", "GEBABEBB"),  # unknown bank: any valid BIC is kept
    ],
)
def test_add_keeps_a_valid_bic(cast, iban, bic, kept):
    beneficiary = beneficiary_add(
        acting_user=cast.validator, entity=cast.entity, name="X", iban=iban, bic=bic
    )

    assert beneficiary.bic == kept


@pytest.mark.parametrize(
    ("name", "iban", "bic", "code"),
    [
        ("X", "BE71 0961 2345 6760", "", BeneficiaryErrorCode.IBAN_INVALID),  # checksum
        ("X", "ZZ00 1234", "", BeneficiaryErrorCode.IBAN_INVALID),
        ("X", "", "", BeneficiaryErrorCode.IBAN_INVALID),
        ("X", BELFIUS_IBAN, "GKCC", BeneficiaryErrorCode.BIC_INVALID),
        ("X", BELFIUS_IBAN, "GKCCXXBB", BeneficiaryErrorCode.BIC_INVALID),  # no such country
        ("X", BELFIUS_IBAN, "GEBABEBB", BeneficiaryErrorCode.BIC_MISMATCH),  # another bank
        ("   ", BELFIUS_IBAN, "", BeneficiaryErrorCode.NAME_REQUIRED),
    ],
)
def test_add_refuses_bad_input_and_writes_nothing(cast, name, iban, bic, code):
    with pytest.raises(BeneficiaryError) as caught:
        beneficiary_add(acting_user=cast.manager, entity=cast.entity, name=name, iban=iban, bic=bic)

    assert caught.value.code == code
    assert not Beneficiary.objects.exists()
    assert beneficiary_events() == 0


def test_add_refuses_a_duplicate(cast):
    beneficiary_add(acting_user=cast.manager, entity=cast.entity, name="Dupont", iban=BELFIUS_IBAN)

    with pytest.raises(BeneficiaryError) as caught:
        beneficiary_add(
            acting_user=cast.validator, entity=cast.entity, name="DUPONT", iban="be71096123456769"
        )

    assert caught.value.code == BeneficiaryErrorCode.DUPLICATE
    assert Beneficiary.objects.count() == 1
    assert beneficiary_events() == 1
    # Another entity may save the same payee.
    beneficiary_add(acting_user=cast.outsider, entity=cast.other, name="Dupont", iban=BELFIUS_IBAN)


@pytest.mark.parametrize("role", ["consultant", "no_right", "suspended", "outsider"])
def test_add_needs_the_management_right_on_the_entity(cast, role):
    with pytest.raises(BeneficiaryError) as caught:
        beneficiary_add(acting_user=getattr(cast, role), entity=cast.entity, name="X", iban=BELFIUS_IBAN)

    assert caught.value.code == BeneficiaryErrorCode.NOT_MANAGER
    assert not Beneficiary.objects.exists()
    assert beneficiary_events() == 0


def test_management_without_consultation_is_enough(cast):
    beneficiary_add(acting_user=cast.management_only, entity=cast.entity, name="X", iban=BELFIUS_IBAN)

    assert Beneficiary.objects.count() == 1


@pytest.mark.parametrize("role", ["consultant", "no_right", "suspended", "outsider"])
def test_delete_needs_the_management_right(cast, role):
    beneficiary = beneficiary_add(acting_user=cast.manager, entity=cast.entity, name="X", iban=BELFIUS_IBAN)

    with pytest.raises(BeneficiaryError):
        beneficiary_delete(acting_user=getattr(cast, role), beneficiary=beneficiary)

    assert Beneficiary.objects.count() == 1
    assert beneficiary_events() == 1


def test_delete_is_audited(cast):
    beneficiary = beneficiary_add(acting_user=cast.manager, entity=cast.entity, name="X", iban=BELFIUS_IBAN)

    beneficiary_delete(acting_user=cast.validator, beneficiary=beneficiary)

    assert not Beneficiary.objects.exists()
    event = AuditEvent.objects.get(action="banking.beneficiary_deleted")
    assert event.actor_id == cast.validator.pk
    assert event.details["iban"] == "BE71096123456769"


# --- Pages ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["manager", "validator", "management_only"])
def test_list_shows_the_entity_beneficiaries_to_managers(client, cast, role):
    beneficiary_add(acting_user=cast.manager, entity=cast.entity, name="Dupont SA", iban=BELFIUS_IBAN)
    beneficiary_add(acting_user=cast.outsider, entity=cast.other, name="Secret SA", iban=BELFIUS_IBAN)
    client.force_login(getattr(cast, role))

    response = client.get(url("banking:beneficiaries"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Dupont SA" in page and "BE71 0961 2345 6769" in page and "GKCCBEBB" in page
    assert "Secret SA" not in page


@pytest.mark.parametrize("role", ["consultant", "no_right", "suspended"])
def test_pages_answer_404_without_the_management_right(client, cast, role):
    beneficiary = beneficiary_add(acting_user=cast.manager, entity=cast.entity, name="X", iban=BELFIUS_IBAN)
    client.force_login(getattr(cast, role))

    assert client.get(url("banking:beneficiaries")).status_code == 404
    assert client.get(url("banking:beneficiary_add")).status_code == 404
    response = client.post(
        url("banking:beneficiary_add"), {"entity": cast.entity.pk, "name": "Y", "iban": BELFIUS_IBAN}
    )
    assert response.status_code == 404
    assert client.post(url("banking:beneficiary_delete", beneficiary.pk)).status_code == 404
    assert list(Beneficiary.objects.values_list("name", flat=True)) == ["X"]
    assert beneficiary_events() == 1


def test_another_entitys_manager_cannot_touch_our_beneficiaries(client, cast):
    beneficiary = beneficiary_add(acting_user=cast.manager, entity=cast.entity, name="X", iban=BELFIUS_IBAN)
    client.force_login(cast.outsider)

    assert client.get(url("banking:beneficiary_delete", beneficiary.pk)).status_code == 404
    assert client.post(url("banking:beneficiary_delete", beneficiary.pk)).status_code == 404
    # Posting our entity's ID in the add form is refused as an invalid choice.
    response = client.post(
        url("banking:beneficiary_add"), {"entity": cast.entity.pk, "name": "Y", "iban": BELFIUS_IBAN}
    )
    assert response.status_code == 200
    assert "entity" in response.context["form"].errors
    assert list(Beneficiary.objects.values_list("name", flat=True)) == ["X"]
    assert beneficiary_events() == 1


def test_pages_need_a_logon(client, cast):
    assert client.get(url("banking:beneficiaries")).status_code == 302
    assert client.post(url("banking:beneficiary_add"), {"name": "Y"}).status_code == 302
    assert not Beneficiary.objects.exists()


def test_add_page_saves_and_returns_to_the_list(client, cast):
    client.force_login(cast.manager)
    form = client.get(url("banking:beneficiary_add")).content.decode()
    assert 'type="hidden" name="entity"' in form  # one entity: no choice shown

    response = client.post(
        url("banking:beneficiary_add"), {"entity": cast.entity.pk, "name": "Dupont SA", "iban": BELFIUS_IBAN}
    )

    assert response.status_code == 302
    assert response["Location"] == url("banking:beneficiaries")
    assert Beneficiary.objects.get().iban == "BE71096123456769"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "Dupont", "iban": "BE71 0961 2345 6760"}, "iban"),
        ({"name": "Dupont", "iban": BELFIUS_IBAN, "bic": "NOTABIC"}, "bic"),
        ({"name": "Dupont", "iban": BELFIUS_IBAN, "bic": "GEBABEBB"}, "bic"),
        ({"name": "", "iban": BELFIUS_IBAN}, "name"),
    ],
)
def test_add_page_shows_the_error_next_to_the_field(client, cast, data, field):
    client.force_login(cast.manager)

    response = client.post(url("banking:beneficiary_add"), {"entity": cast.entity.pk, **data})

    assert response.status_code == 200
    assert field in response.context["form"].errors
    page = response.content.decode()
    assert 'class="error-summary"' in page
    assert 'aria-invalid="true"' in page
    assert not Beneficiary.objects.exists()


def test_add_page_explains_a_duplicate(client, cast):
    beneficiary_add(acting_user=cast.manager, entity=cast.entity, name="Dupont", iban=BELFIUS_IBAN)
    client.force_login(cast.validator)

    with translation.override("en"):
        response = client.post(
            reverse("banking:beneficiary_add"),
            {"entity": cast.entity.pk, "name": "Dupont", "iban": BELFIUS_IBAN},
        )

    assert response.status_code == 200
    assert "already has a beneficiary with this name and IBAN" in response.content.decode()
    assert Beneficiary.objects.count() == 1


def test_delete_page_confirms_then_deletes(client, cast):
    beneficiary = beneficiary_add(
        acting_user=cast.manager, entity=cast.entity, name="Dupont", iban=BELFIUS_IBAN
    )
    client.force_login(cast.validator)

    confirm = client.get(url("banking:beneficiary_delete", beneficiary.pk))
    response = client.post(url("banking:beneficiary_delete", beneficiary.pk))

    assert confirm.status_code == 200
    assert "Dupont" in confirm.content.decode()
    assert response.status_code == 302
    assert not Beneficiary.objects.exists()
