"""Beneficiaries: the payees an entity's users with the management right save for their transfers.

The authorisation is checked here, whoever calls: the acting user must hold the
management right on at least one account of the entity (``entities.access``).
IBANs are checked with schwifty and kept compact and upper case; a BIC is
optional, checked when given, and filled from the IBAN's bank when schwifty
knows it (a given BIC of another bank is refused).
"""

import enum
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from guichet.audit.services import record
from guichet.banking import selectors
from guichet.banking.models import Beneficiary
from guichet.entities.models import Entity


class BeneficiaryErrorCode(enum.StrEnum):
    NOT_MANAGER = "not_manager"
    NAME_REQUIRED = "name_required"
    IBAN_INVALID = "iban_invalid"
    BIC_INVALID = "bic_invalid"
    BIC_MISMATCH = "bic_mismatch"
    DUPLICATE = "duplicate"


MESSAGES = {
    BeneficiaryErrorCode.NOT_MANAGER: _("You do not have the right to manage this entity's beneficiaries."),
    BeneficiaryErrorCode.NAME_REQUIRED: _("Enter the beneficiary's name."),
    BeneficiaryErrorCode.IBAN_INVALID: _(
        "This IBAN is not valid. Check it against the beneficiary's bank details "
        "(for example BE68 5390 0754 7034)."
    ),
    BeneficiaryErrorCode.BIC_INVALID: _(
        "This BIC is not valid. It has 8 or 11 characters, for example GKCCBEBB. You may leave it empty."
    ),
    BeneficiaryErrorCode.BIC_MISMATCH: _(
        "This BIC is not the one of the IBAN's bank. Check it, or leave it empty to use the bank's BIC."
    ),
    BeneficiaryErrorCode.DUPLICATE: _("Your entity already has a beneficiary with this name and IBAN."),
}

# Which form field each error belongs to (None: the whole form).
ERROR_FIELDS = {
    BeneficiaryErrorCode.NOT_MANAGER: None,
    BeneficiaryErrorCode.NAME_REQUIRED: "name",
    BeneficiaryErrorCode.IBAN_INVALID: "iban",
    BeneficiaryErrorCode.BIC_INVALID: "bic",
    BeneficiaryErrorCode.BIC_MISMATCH: "bic",
    BeneficiaryErrorCode.DUPLICATE: None,
}


class BeneficiaryError(Exception):
    def __init__(self, code: BeneficiaryErrorCode) -> None:
        self.code = code
        super().__init__(str(code))

    @property
    def message(self) -> str:
        return str(MESSAGES[self.code])

    @property
    def field(self) -> str | None:
        return ERROR_FIELDS[self.code]


def iban_normalise(value: str) -> IBAN:
    try:
        return IBAN(value)
    except SchwiftyException:
        raise BeneficiaryError(BeneficiaryErrorCode.IBAN_INVALID) from None


def bic_for(iban: IBAN, given: str) -> str:
    """The BIC to keep: the one given (checked), else the IBAN's bank's when known, else empty.

    A given BIC must be of the IBAN's bank when schwifty knows that bank: same institution
    code and country (the first 6 characters); its location and branch may differ.
    """
    derived = iban.bic
    if not given.strip():
        return derived.compact if derived is not None else ""
    try:
        bic = BIC(given)
    except SchwiftyException:
        raise BeneficiaryError(BeneficiaryErrorCode.BIC_INVALID) from None
    if derived is not None and bic.compact[:6] != derived.compact[:6]:
        raise BeneficiaryError(BeneficiaryErrorCode.BIC_MISMATCH)
    return bic.compact


def _require_manager(user: Any, entity: Entity) -> None:
    if not selectors.managed_entities(user=user).filter(pk=entity.pk).exists():
        raise BeneficiaryError(BeneficiaryErrorCode.NOT_MANAGER)


def beneficiary_add(
    *,
    acting_user: Any,
    entity: Entity,
    name: str,
    iban: str,
    bic: str = "",
    request: HttpRequest | None = None,
) -> Beneficiary:
    _require_manager(acting_user, entity)
    name = " ".join(name.split())
    if not name:
        raise BeneficiaryError(BeneficiaryErrorCode.NAME_REQUIRED)
    account = iban_normalise(iban)
    bic_code = bic_for(account, bic)
    if Beneficiary.objects.filter(entity=entity, iban=account.compact, name__iexact=name).exists():
        raise BeneficiaryError(BeneficiaryErrorCode.DUPLICATE)
    try:
        with transaction.atomic():
            beneficiary = Beneficiary.objects.create(
                entity=entity, name=name, iban=account.compact, bic=bic_code, created_by=acting_user
            )
            record(
                action="banking.beneficiary_added",
                actor=acting_user,
                target=beneficiary,
                request=request,
                details={"entity": entity.pk, "iban": account.compact, "bic": bic_code},
            )
    except IntegrityError:  # the same beneficiary added at the same moment by a colleague
        raise BeneficiaryError(BeneficiaryErrorCode.DUPLICATE) from None
    return beneficiary


def beneficiary_delete(
    *, acting_user: Any, beneficiary: Beneficiary, request: HttpRequest | None = None
) -> None:
    with transaction.atomic():
        # Locked and re-read through the user's rights: a withdrawn right refuses here too.
        locked = (
            selectors.beneficiaries_visible(user=acting_user)
            .select_for_update(of=("self",))
            .filter(pk=beneficiary.pk)
            .first()
        )
        if locked is None:
            raise BeneficiaryError(BeneficiaryErrorCode.NOT_MANAGER)
        record(
            action="banking.beneficiary_deleted",
            actor=acting_user,
            target=locked,
            request=request,
            details={"entity": locked.entity_id, "iban": locked.iban},
        )
        locked.delete()
