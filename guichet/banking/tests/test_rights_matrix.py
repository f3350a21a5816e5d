"""The rights matrix (issue 5): each profile x each operation x each resource, through the services
and through the views, asserting who is allowed, who is refused, and that a refusal wrote nothing.

Profiles (see ``matrix_cast``): the four profiles of the seed (the director is also the entity's
administrator), a member whose rights are on another account and contract of the same entity only
(``no_right``), a suspended director, and the director of another entity (``outsider``).

Resources: the account (and contract) on which the profiles hold their rights, an account (and
contract) of the same entity on which they hold none, and another entity's account (and contract).

A refusal is the domain error of the service, a 404 from a view on an object (another entity's ID,
or one without the right, does not exist for the user), or a 403 / form error on a page with no
object in its URL; in every case nothing at all was written (``matrix_cast.snapshot``).
"""

import dataclasses
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from guichet.audit.models import AuditEvent
from guichet.banking import consultation, export, selectors, transfers
from guichet.banking.beneficiaries import BeneficiaryError, BeneficiaryErrorCode, beneficiary_add
from guichet.banking.models import Batch, Beneficiary, Transfer, TransferStatus, Validation
from guichet.banking.tests.matrix_cast import BATCH_PAYMENTS, PROFILES, RESOURCES, World, make_world, snapshot
from guichet.banking.tests.transfer_factories import PAYEE_IBAN, payment, tomorrow
from guichet.banking.transfers import TransferError, TransferErrorCode
from guichet.entities import access, services
from guichet.entities.models import (
    BankAccount,
    Contract,
    Entity,
    Grant,
    GrantChange,
    Person,
    PersonStatus,
    Right,
)
from guichet.identity.models import SignedProof, User
from guichet.identity.testing import signed_proof

pytestmark = pytest.mark.django_db

Y, N = True, False  # allowed, refused

OPERATIONS = (
    "consult",  # access.may + the account page + GET /api/v1/accounts/<id>/transactions/
    "export_csv",  # the account's transactions as CSV
    "contract",  # the contract's page
    "beneficiary",  # add a beneficiary to the resource's entity
    "prepare",  # prepare a transfer from the account
    "prepare_batch",  # prepare a batch of transfers from the account
    "edit",  # edit a transfer of the account prepared by someone else
    "validate",  # validate (signed) a transfer of the account prepared by someone else
    "validate_batch",  # validate (signed) a batch of the account prepared by someone else
    "download",  # download a pain.001 file of the account's transfers
    "manage_users",  # change a user's rights in the resource's entity; suspend them through the pages
)

# The outcome of each operation, per profile, on the account (its contract, its entity) on which the
# profile holds its rights. The rules: consultation → consult, export_csv, contract, download (a file
# of the account's transfers); management → beneficiary, prepare, prepare_batch, edit; validation →
# validate, validate_batch; administration → manage_users; a suspended member holds no right at all.
# fmt: off
EXPECTED_ON_OWN_ACCOUNT: dict[str, tuple[bool, ...]] = {
    #                 director accountant preparer validator no_right suspended outsider
    "consult":        (Y,       Y,         Y,       Y,        N,       N,        N),
    "export_csv":     (Y,       Y,         Y,       Y,        N,       N,        N),
    "contract":       (Y,       Y,         Y,       Y,        N,       N,        N),
    # Beneficiaries belong to the entity: the management right on ANY of its accounts (for the
    # no_right profile: its other account) is enough to add one.
    "beneficiary":    (Y,       N,         Y,       Y,        Y,       N,        N),
    "prepare":        (Y,       N,         Y,       Y,        N,       N,        N),
    "prepare_batch":  (Y,       N,         Y,       Y,        N,       N,        N),
    "edit":           (Y,       N,         Y,       Y,        N,       N,        N),
    "validate":       (Y,       N,         N,       Y,        N,       N,        N),
    "validate_batch": (Y,       N,         N,       Y,        N,       N,        N),
    "download":       (Y,       Y,         Y,       Y,        N,       N,        N),
    "manage_users":   (Y,       N,         N,       N,        N,       N,        N),
}
# fmt: on
# Operations on the resource's entity rather than on the account itself: on the same entity's
# account without rights they have the outcome above; every other operation is refused there.
# Nothing at all is allowed on another entity's account, contract, orders, files or users.
ENTITY_WIDE = {"beneficiary", "manage_users"}
# Profiles holding some right on their own account (so an order on it is visible to them: a refusal
# is "no right" rather than "not found").
HOLDERS = {"director", "accountant", "preparer", "validator"}


def expected(profile: str, operation: str, resource: str) -> bool:
    if resource == "foreign_account":
        return False
    if resource == "unrighted_account" and operation not in ENTITY_WIDE:
        return False
    return dict(zip(PROFILES, EXPECTED_ON_OWN_ACCOUNT[operation], strict=True))[profile]


def url(name: str, *args: object) -> str:
    with translation.override("en"):
        return reverse(name, args=args or None)


@dataclasses.dataclass
class Attempt:
    world: World
    profile: str
    resource: str
    layer: str
    user: User
    client: Client
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def account(self) -> BankAccount:
        return self.world.accounts[self.resource]

    @property
    def contract(self) -> Contract:
        return self.world.contracts[self.resource]

    @property
    def entity(self) -> Entity:
        return self.account.entity

    @property
    def sees_orders(self) -> bool:
        """Whether the profile holds any right on the account (its orders exist for the profile)."""
        return self.profile in HOLDERS and self.resource == "own_account"


def audited(action: str, user: User) -> bool:
    return AuditEvent.objects.filter(action=action, actor=user).exists()


# --- Consultation -------------------------------------------------------------------------------------


def consult_service(a: Attempt) -> bool:
    may = access.may(a.user, Right.CONSULTATION, a.account)
    listed = selectors.accounts_visible(user=a.user).filter(pk=a.account.pk).exists()
    try:
        found = selectors.account_get(user=a.user, account_id=a.account.pk)
    except selectors.NotFound:
        assert not may and not listed
        return False
    assert may and listed and found == a.account
    return True


def consult_view(a: Attempt) -> bool:
    page = a.client.get(url("banking:account", a.account.pk))
    api = a.client.get(url("api:account_transactions", a.account.pk))
    # Bad filters: the 404 comes first, so they tell nothing about another entity's account.
    api_bad = a.client.get(url("api:account_transactions", a.account.pk), {"amount_min": "abc"})
    listing = a.client.get(url("banking:accounts"))
    api_listing = a.client.get(url("api:accounts"))
    assert listing.status_code == api_listing.status_code == 200
    assert api.status_code == page.status_code
    listed = a.account.iban_display in listing.content.decode()
    assert ({row["id"] for row in api_listing.json()["results"]} >= {a.account.pk}) is listed
    if page.status_code == 404:
        assert not listed and api_bad.status_code == 404
        return False
    assert page.status_code == 200 and listed and api_bad.status_code == 400
    assert "REF00000" in page.content.decode()
    assert {row["reference"] for row in api.json()["results"]} == {"REF00000", "REF00001"}
    return True


def export_csv_service(a: Attempt) -> bool:
    try:
        account, lines = consultation.transactions_export(
            user=a.user, account_id=a.account.pk, filters=selectors.TransactionFilter()
        )
    except selectors.NotFound:
        return False
    assert account == a.account and "REF00001" in "".join(lines)
    assert audited("banking.transactions_exported", a.user)
    return True


def export_csv_view(a: Attempt) -> bool:
    response = a.client.get(url("banking:account_export", a.account.pk))
    bad = a.client.get(url("banking:account_export", a.account.pk), {"date_from": "nonsense"})
    if response.status_code == 404:
        assert bad.status_code == 404
        return False
    assert bad.status_code == 302 and bad["Location"].startswith(url("banking:account", a.account.pk))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert b"REF00001" in b"".join(response.streaming_content)
    assert audited("banking.transactions_exported", a.user)
    return True


def contract_service(a: Attempt) -> bool:
    may = access.may(a.user, Right.CONSULTATION, a.contract)
    listed = selectors.contracts_visible(user=a.user).filter(pk=a.contract.pk).exists()
    try:
        found = selectors.contract_get(user=a.user, contract_id=a.contract.pk)
    except selectors.NotFound:
        assert not may and not listed
        return False
    assert may and listed and found == a.contract
    return True


def contract_view(a: Attempt) -> bool:
    response = a.client.get(url("banking:contract", a.contract.pk))
    listing = a.client.get(url("banking:contracts"))
    api_listing = a.client.get(url("api:contracts"))
    assert listing.status_code == api_listing.status_code == 200
    listed = a.contract.reference in listing.content.decode()
    assert ({row["id"] for row in api_listing.json()["results"]} >= {a.contract.pk}) is listed
    if response.status_code == 404:
        assert not listed
        return False
    assert listed
    assert response.status_code == 200 and a.contract.reference in response.content.decode()
    return True


# --- Management -----------------------------------------------------------------------------------------

PAYEE = "Matrix Payee SRL"


def beneficiary_service(a: Attempt) -> bool:
    try:
        added = beneficiary_add(acting_user=a.user, entity=a.entity, name=PAYEE, iban=PAYEE_IBAN)
    except BeneficiaryError as error:
        assert error.code == BeneficiaryErrorCode.NOT_MANAGER
        return False
    assert added.entity == a.entity and added.created_by == a.user
    return True


def beneficiary_view(a: Attempt) -> bool:
    data = {"entity": a.entity.pk, "name": PAYEE, "iban": PAYEE_IBAN, "bic": ""}
    response = a.client.post(url("banking:beneficiary_add"), data)
    if response.status_code == 302:
        assert Beneficiary.objects.filter(entity=a.entity, name=PAYEE, created_by=a.user).exists()
        return True
    # No entity to manage at all: 404; another entity's: not among the form's choices.
    assert response.status_code in (200, 404)
    return False


def transfer_data(account: BankAccount, amount: str = "1250.50") -> dict[str, str]:
    return {
        "debtor_account": str(account.pk),
        "beneficiary_name": "Dupont SRL",
        "beneficiary_iban": "BE71 0961 2345 6769",
        "beneficiary_bic": "",
        "amount": amount,
        "execution_date": tomorrow().isoformat(),
        "remittance_information": "Invoice 42",
        "structured_reference": "",
    }


def prepare_service(a: Attempt) -> bool:
    try:
        created = transfers.transfer_prepare(
            acting_user=a.user, debtor_account=a.account, execution_date=tomorrow(), payment=payment()
        )
    except TransferError as error:
        assert error.code == TransferErrorCode.NO_MANAGEMENT_RIGHT
        return False
    assert created.debtor_account == a.account and created.prepared_by == a.user
    assert created.status == TransferStatus.PREPARED
    return True


def prepare_view(a: Attempt) -> bool:
    response = a.client.post(url("banking:transfer_new"), transfer_data(a.account))
    if response.status_code == 302:
        assert Transfer.objects.filter(debtor_account=a.account, prepared_by=a.user).exists()
        return True
    # No account to manage at all: 403; an account not managed: not among the form's choices.
    assert response.status_code in (200, 403)
    return False


def batch_data(account: BankAccount) -> dict[str, str]:
    return {
        "label": "Salaries",
        "debtor_account": str(account.pk),
        "execution_date": tomorrow().isoformat(),
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "2",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "200",
        "lines-0-beneficiary_name": "Employee One",
        "lines-0-beneficiary_iban": PAYEE_IBAN,
        "lines-0-amount": "100.00",
        "lines-1-beneficiary_name": "Employee Two",
        "lines-1-beneficiary_iban": "BE68539007547034",
        "lines-1-amount": "50.25",
        "save": "1",
    }


def prepare_batch_service(a: Attempt) -> bool:
    try:
        batch = transfers.batch_prepare(
            acting_user=a.user,
            debtor_account=a.account,
            label="Salaries",
            execution_date=tomorrow(),
            payments=BATCH_PAYMENTS,
        )
    except TransferError as error:
        assert error.code == TransferErrorCode.NO_MANAGEMENT_RIGHT
        return False
    assert batch.debtor_account == a.account and batch.prepared_by == a.user
    assert batch.transfers.count() == 2
    return True


def prepare_batch_view(a: Attempt) -> bool:
    response = a.client.post(url("banking:batch_new"), batch_data(a.account))
    if response.status_code == 302:
        batch = Batch.objects.get(debtor_account=a.account, prepared_by=a.user)
        assert response["Location"] == url("banking:batch_detail", batch.pk)
        assert batch.transfers.count() == 2
        return True
    assert response.status_code in (200, 403)
    return False


def edit_arrange(a: Attempt) -> None:
    a.extra["transfer"] = a.world.transfer_on(a.account)


def _refusal_code(a: Attempt, code: TransferErrorCode) -> TransferErrorCode:
    return code if a.sees_orders else TransferErrorCode.NOT_FOUND


def _edited(a: Attempt) -> bool:
    transfer = Transfer.objects.get(pk=a.extra["transfer"].pk)
    assert transfer.version == 2 and transfer.amount == Decimal("99.00")
    assert transfer.last_edited_by == a.user and transfer.status == TransferStatus.PREPARED
    return True


def edit_service(a: Attempt) -> bool:
    try:
        transfers.transfer_edit(
            transfer=a.extra["transfer"],
            acting_user=a.user,
            debtor_account=a.account,
            execution_date=tomorrow(),
            payment=payment(amount=Decimal("99.00")),
        )
    except TransferError as error:
        assert error.code == _refusal_code(a, TransferErrorCode.NO_MANAGEMENT_RIGHT)
        return False
    return _edited(a)


def edit_view(a: Attempt) -> bool:
    transfer = a.extra["transfer"]
    response = a.client.post(url("banking:transfer_edit", transfer.pk), transfer_data(a.account, "99.00"))
    detail = url("banking:transfer_detail", transfer.pk)
    if not a.sees_orders:
        assert response.status_code == 404
        return False
    assert response.status_code == 302 and response["Location"] == detail
    if Transfer.objects.get(pk=transfer.pk).version == 1:
        return False
    return _edited(a)


# --- Validation -----------------------------------------------------------------------------------------


def validate_arrange(a: Attempt) -> None:
    transfer = a.world.transfer_on(a.account)
    a.extra["transfer"] = transfer
    a.extra["proof"] = signed_proof(a.user, transfers.transfer_operation(transfer))


def _validated(a: Attempt) -> bool:
    transfer = Transfer.objects.get(pk=a.extra["transfer"].pk)
    assert transfer.status == TransferStatus.VALIDATED
    assert Validation.objects.filter(transfer=transfer, user=a.user, version=1).exists()
    assert SignedProof.objects.get(pk=a.extra["proof"]).consumed_at is not None
    return True


def validate_service(a: Attempt) -> bool:
    try:
        transfers.transfer_validate(
            transfer=a.extra["transfer"], acting_user=a.user, version=1, proof_id=a.extra["proof"]
        )
    except TransferError as error:
        assert error.code == _refusal_code(a, TransferErrorCode.NO_VALIDATION_RIGHT)
        return False
    return _validated(a)


def validate_view(a: Attempt) -> bool:
    transfer = a.extra["transfer"]
    complete = url("banking:transfer_validate_complete", transfer.pk)
    response = a.client.get(f"{complete}?version=1&proof={a.extra['proof']}")
    if not a.sees_orders:
        assert response.status_code == 404
        return False
    assert response.status_code == 302 and response["Location"] == url("banking:transfer_detail", transfer.pk)
    if Transfer.objects.get(pk=transfer.pk).status == TransferStatus.PREPARED:
        return False
    return _validated(a)


def validate_batch_arrange(a: Attempt) -> None:
    batch = a.world.batch_on(a.account)
    a.extra["batch"] = batch
    a.extra["proof"] = signed_proof(a.user, transfers.batch_operation(batch))


def _batch_validated(a: Attempt) -> bool:
    batch = Batch.objects.get(pk=a.extra["batch"].pk)
    assert batch.status == TransferStatus.VALIDATED
    assert set(batch.transfers.values_list("status", flat=True)) == {TransferStatus.VALIDATED}
    assert Validation.objects.filter(batch=batch, user=a.user, version=1).exists()
    assert SignedProof.objects.get(pk=a.extra["proof"]).consumed_at is not None
    return True


def validate_batch_service(a: Attempt) -> bool:
    try:
        transfers.batch_validate(
            batch=a.extra["batch"], acting_user=a.user, version=1, proof_id=a.extra["proof"]
        )
    except TransferError as error:
        assert error.code == _refusal_code(a, TransferErrorCode.NO_VALIDATION_RIGHT)
        return False
    return _batch_validated(a)


def validate_batch_view(a: Attempt) -> bool:
    batch = a.extra["batch"]
    complete = url("banking:batch_validate_complete", batch.pk)
    response = a.client.get(f"{complete}?version=1&proof={a.extra['proof']}")
    if not a.sees_orders:
        assert response.status_code == 404
        return False
    assert response.status_code == 302 and response["Location"] == url("banking:batch_detail", batch.pk)
    if Batch.objects.get(pk=batch.pk).status == TransferStatus.PREPARED:
        return False
    return _batch_validated(a)


# --- Export files -----------------------------------------------------------------------------------------


def download_arrange(a: Attempt) -> None:
    a.extra["file"] = a.world.export_file_on(a.account)


def download_service(a: Attempt) -> bool:
    export_file = a.extra["file"]
    listed = export.export_files_visible(user=a.user).filter(pk=export_file.pk).exists()
    try:
        found, xml = export.export_file_download(user=a.user, export_file_id=export_file.pk)
    except export.ExportError as error:
        assert error.code == export.ExportErrorCode.NOT_FOUND and not listed
        return False
    assert listed and found == export_file and export_file.message_id.encode() in xml
    assert audited("banking.export_downloaded", a.user)
    return True


def download_view(a: Attempt) -> bool:
    export_file = a.extra["file"]
    response = a.client.get(url("banking:export_download", export_file.pk))
    listing = a.client.get(url("banking:exports"))
    assert listing.status_code == 200
    listed = export_file.message_id in listing.content.decode()
    if response.status_code == 404:
        assert not listed
        return False
    assert listed
    assert response.status_code == 200 and export_file.message_id.encode() in response.content
    assert audited("banking.export_downloaded", a.user)
    return True


# --- User management --------------------------------------------------------------------------------------


def manage_users_arrange(a: Attempt) -> None:
    target, person = a.world.target_on(a.entity)
    rights = services.Rights(frozenset({(services.ACCOUNT, a.account.pk, str(Right.CONSULTATION))}))
    a.extra.update(target=target, person=person, rights=rights)
    if a.layer == "service":  # a signed change of rights
        operation = services.rights_change_operation(entity=a.entity, person=person, rights=rights)
    else:  # the pages: a signed suspension
        operation = services.status_operation(kind="entity_user_suspend", person=person)
    a.extra["proof"] = signed_proof(a.user, operation)


def manage_users_service(a: Attempt) -> bool:
    target = a.extra["target"]
    try:
        services.rights_change(
            entity=a.entity,
            user=target,
            rights=a.extra["rights"],
            acting_user=a.user,
            proof_id=a.extra["proof"],
        )
    except services.EntitiesError as error:
        assert error.code == services.EntitiesErrorCode.NOT_ADMINISTRATOR
        return False
    assert access.may(target, Right.CONSULTATION, a.account)
    assert GrantChange.objects.filter(entity=a.entity, user=target, actor=a.user).count() == 1
    assert SignedProof.objects.get(pk=a.extra["proof"]).consumed_at is not None
    return True


def manage_users_view(a: Attempt) -> bool:
    person = a.extra["person"]
    overview = a.client.get(url("entities:users"))
    # The overview: 403 for a non-administrator; an administrator sees only the entities they administer.
    assert overview.status_code in (200, 403)
    on_overview = overview.status_code == 200 and a.entity.name in overview.content.decode()
    detail = a.client.get(url("entities:user", a.entity.pk, person.pk))
    complete = url("entities:status_complete", a.entity.pk, person.pk, "suspend")
    response = a.client.get(f"{complete}?proof={a.extra['proof']}")
    if response.status_code == 404:
        assert detail.status_code == 404 and not on_overview
        return False
    assert detail.status_code == 200 and on_overview
    assert response.status_code == 302
    assert Person.objects.get(pk=person.pk).status == PersonStatus.SUSPENDED
    return True


def nothing(a: Attempt) -> None:
    pass


Act = Callable[[Attempt], bool]
ACTS: dict[str, tuple[Callable[[Attempt], None], Act, Act]] = {
    "consult": (nothing, consult_service, consult_view),
    "export_csv": (nothing, export_csv_service, export_csv_view),
    "contract": (nothing, contract_service, contract_view),
    "beneficiary": (nothing, beneficiary_service, beneficiary_view),
    "prepare": (nothing, prepare_service, prepare_view),
    "prepare_batch": (nothing, prepare_batch_service, prepare_batch_view),
    "edit": (edit_arrange, edit_service, edit_view),
    "validate": (validate_arrange, validate_service, validate_view),
    "validate_batch": (validate_batch_arrange, validate_batch_service, validate_batch_view),
    "download": (download_arrange, download_service, download_view),
    "manage_users": (manage_users_arrange, manage_users_service, manage_users_view),
}
LAYERS = ("service", "view")

CASES = [
    pytest.param(profile, operation, resource, layer, id=f"{profile}-{operation}-{resource}-{layer}")
    for profile in PROFILES
    for operation in OPERATIONS
    for resource in RESOURCES
    for layer in LAYERS
]


@pytest.fixture(autouse=True)
def files(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.GUICHET_PAIN001_OUTBOX_DIR = tmp_path / "outbox"


def test_the_table_covers_every_profile_and_operation() -> None:
    assert PROFILES == (
        "director",
        "accountant",
        "preparer",
        "validator",
        "no_right",
        "suspended",
        "outsider",
    )
    assert tuple(EXPECTED_ON_OWN_ACCOUNT) == OPERATIONS == tuple(ACTS)
    assert all(len(row) == len(PROFILES) for row in EXPECTED_ON_OWN_ACCOUNT.values())


def test_the_profiles_hold_the_rights_they_claim() -> None:
    """The refusals below come from where the rights are, not from profiles holding nothing."""
    world = make_world()
    users = {profile: world.profile(profile) for profile in PROFILES}
    own, spare = world.accounts["own_account"], world.accounts["spare"]
    home_account = world.home.accounts.get()
    rights = (Right.CONSULTATION, Right.MANAGEMENT, Right.VALIDATION)
    held = {
        profile: tuple(access.may(user, right, own) for right in rights) for profile, user in users.items()
    }
    assert held == {
        "director": (Y, Y, Y),
        "accountant": (Y, N, N),
        "preparer": (Y, Y, N),
        "validator": (Y, Y, Y),
        "no_right": (N, N, N),
        "suspended": (N, N, N),
        "outsider": (N, N, N),
    }
    assert all(access.may(users["no_right"], right, spare) for right in rights)
    assert all(access.may(users["outsider"], right, home_account) for right in rights)
    assert access.may(users["outsider"], Right.ADMINISTRATION, world.home)
    assert access.may(users["director"], Right.ADMINISTRATION, world.entity)
    # Suspended: the grants are there, the membership makes them count for nothing.
    assert Grant.objects.filter(user=users["suspended"], account=own).count() == 3
    assert not access.may(users["suspended"], Right.ADMINISTRATION, world.entity)


@pytest.mark.parametrize(("profile", "operation", "resource", "layer"), CASES)
def test_rights_matrix(profile: str, operation: str, resource: str, layer: str) -> None:
    world = make_world()
    user = world.profile(profile)
    client = Client()
    if layer == "view":
        client.force_login(user)
    attempt = Attempt(world=world, profile=profile, resource=resource, layer=layer, user=user, client=client)
    arrange, service, view = ACTS[operation]
    arrange(attempt)
    before = snapshot()

    allowed = (service if layer == "service" else view)(attempt)

    assert allowed is expected(profile, operation, resource)
    if not allowed:
        assert snapshot() == before


# --- Smuggling another resource into an allowed operation ---------------------------------------------


@pytest.mark.parametrize("target", ["unrighted_account", "foreign_account"])
@pytest.mark.parametrize("layer", LAYERS)
def test_a_manager_cannot_move_a_transfer_to_an_account_they_do_not_manage(target: str, layer: str) -> None:
    world = make_world()
    user = world.profile("director")
    transfer = world.transfer_on(world.accounts["own_account"])
    destination = world.accounts[target]
    client = Client()
    client.force_login(user)
    before = snapshot()

    if layer == "service":
        with pytest.raises(TransferError) as refused:
            transfers.transfer_edit(
                transfer=transfer,
                acting_user=user,
                debtor_account=destination,
                execution_date=tomorrow(),
                payment=payment(amount=Decimal("99.00")),
            )
        assert refused.value.code == TransferErrorCode.NO_MANAGEMENT_RIGHT
    else:
        response = client.post(url("banking:transfer_edit", transfer.pk), transfer_data(destination, "99.00"))
        assert response.status_code == 200  # the account is not among the form's choices

    assert snapshot() == before


@pytest.mark.parametrize("kind", ["account", "contract"])
def test_an_administrator_cannot_grant_rights_on_another_entitys_resources(kind: str) -> None:
    world = make_world()
    director = world.profile("director")
    target, person = world.target_on(world.entity)
    resource = (world.accounts if kind == "account" else world.contracts)["foreign_account"]
    rights = services.Rights(frozenset({(kind, resource.pk, str(Right.CONSULTATION))}))
    proof = signed_proof(
        director, services.rights_change_operation(entity=world.entity, person=person, rights=rights)
    )
    before = snapshot()

    with pytest.raises(services.EntitiesError) as refused:
        services.rights_change(
            entity=world.entity, user=target, rights=rights, acting_user=director, proof_id=proof
        )

    assert refused.value.code == services.EntitiesErrorCode.UNKNOWN_RESOURCE
    assert snapshot() == before
    assert not access.may(target, Right.CONSULTATION, resource)


def test_an_administrator_cannot_manage_a_user_of_another_entity_through_their_own() -> None:
    """The entity named must be the one administered AND the user's: another entity's user is refused."""
    world = make_world()
    director = world.profile("director")
    stranger, person = world.target_on(world.other)
    rights = services.Rights(
        frozenset({(services.ACCOUNT, world.accounts["own_account"].pk, str(Right.CONSULTATION))})
    )
    proof = signed_proof(
        director, services.rights_change_operation(entity=world.entity, person=person, rights=rights)
    )
    before = snapshot()

    with pytest.raises(services.EntitiesError) as refused:
        services.rights_change(
            entity=world.entity, user=stranger, rights=rights, acting_user=director, proof_id=proof
        )

    assert refused.value.code == services.EntitiesErrorCode.NOT_MEMBER
    assert snapshot() == before
