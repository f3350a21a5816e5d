"""The pay-later domain's error codes; a view shows ``PaylaterError.message`` (translated)."""

import enum
from typing import Any

from django.utils.translation import gettext_lazy as _


class PaylaterErrorCode(enum.StrEnum):
    # Card change (seed 003, 3rd step), in the order the rules are checked.
    SCHEDULE_UNPAID = "schedule_unpaid"
    SCHEDULE_CLOSED = "schedule_closed"
    CARD_CUTOFF = "card_cutoff"
    CARD_BRAND = "card_brand"
    CARD_EXPIRY = "card_expiry"
    CARD_NOT_ENTERED = "card_not_entered"
    # Regularisation (4th step).
    NOTHING_DUE = "nothing_due"
    REGULARISATION_OPEN = "regularisation_open"
    REGULARISATION_COUNT = "regularisation_count"
    PAYMENT_REFUSED = "payment_refused"
    PROVIDER_UNAVAILABLE = "provider_unavailable"
    # Cancellation by the merchant.
    CANCEL_AMOUNT = "cancel_amount"
    ORDER_CANCELLED = "order_cancelled"
    PAYMENT_IN_FLIGHT = "payment_in_flight"
    RATE_LIMITED = "rate_limited"


MESSAGES: dict[PaylaterErrorCode, Any] = {
    PaylaterErrorCode.SCHEDULE_UNPAID: _(
        "The card cannot be changed while this schedule is unpaid. Regularise the unpaid amount instead."
    ),
    PaylaterErrorCode.SCHEDULE_CLOSED: _("This schedule is finished: there is nothing left to pay by card."),
    PaylaterErrorCode.CARD_CUTOFF: _(
        "The next debit, on %(date)s, is already scheduled: the card can no longer be changed for it. "
        "You can change it again after that date."
    ),
    PaylaterErrorCode.CARD_BRAND: _("This card is not accepted: only Visa and Mastercard cards are."),
    PaylaterErrorCode.CARD_EXPIRY: _(
        "This card expires before the last instalment of your schedule, on %(date)s. "
        "Use a card valid until at least that date."
    ),
    PaylaterErrorCode.CARD_NOT_ENTERED: _("No card was entered on the payment page. Nothing was changed."),
    PaylaterErrorCode.NOTHING_DUE: _("There is no unpaid amount to regularise on this schedule."),
    PaylaterErrorCode.REGULARISATION_OPEN: _("A regularisation of this schedule is already in progress."),
    PaylaterErrorCode.REGULARISATION_COUNT: _("Choose to pay in 1, 2 or 3 payments."),
    PaylaterErrorCode.PAYMENT_REFUSED: _("Your payment of %(amount)s has been refused."),
    PaylaterErrorCode.PROVIDER_UNAVAILABLE: _(
        "The payment service is not answering. Nothing was charged; please try again in a few minutes."
    ),
    PaylaterErrorCode.CANCEL_AMOUNT: _(
        "The amount cancelled must be more than zero and at most what is left of the purchase (%(amount)s)."
    ),
    PaylaterErrorCode.ORDER_CANCELLED: _("This order is already cancelled in full."),
    PaylaterErrorCode.PAYMENT_IN_FLIGHT: _(
        "A payment of this schedule is being processed by the payment provider. "
        "Nothing was changed; try again in a few minutes."
    ),
    PaylaterErrorCode.RATE_LIMITED: _("Too many attempts. Please wait an hour and try again."),
}


class PaylaterError(Exception):
    """A refused pay-later operation; ``params`` fill the message's placeholders (already formatted)."""

    def __init__(self, code: PaylaterErrorCode, **params: str) -> None:
        self.code = code
        self.params = params
        super().__init__(str(code))

    @property
    def message(self) -> str:
        text = str(MESSAGES[self.code])
        return text % self.params if self.params else text
