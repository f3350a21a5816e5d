"""The sandbox provider's test cards: the numbers typed on its card page, and the tokens known in advance.

A test number decides what the sandbox does with the card's charges (its *behaviour*); it is never
stored: the sandbox keeps only the brand, the last 4 digits, the expiry and the behaviour under a
token. Factories, the demo and the benchmark use the pre-registered tokens (``tok_test_…``) directly,
without going through the card page.
"""

import dataclasses
import re

from django.utils.translation import gettext_lazy as _


class Behaviour:
    """What the sandbox answers to a charge of a card (the refusal reasons are the provider's codes)."""

    SUCCESS = "success"
    DECLINED = "declined"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    EXPIRED_CARD = "expired_card"
    # The first answer for each idempotency key is lost (a timeout), though the charge succeeded.
    TIMEOUT = "timeout"


# The reason a refused charge reports, per behaviour.
REFUSAL_REASONS = {
    Behaviour.DECLINED: "declined",
    Behaviour.INSUFFICIENT_FUNDS: "insufficient_funds",
    Behaviour.EXPIRED_CARD: "expired_card",
}


@dataclasses.dataclass(frozen=True)
class TestCard:
    number: str  # as printed, grouped
    brand: str  # paylater.models.CardBrand values
    behaviour: str
    description: object  # lazy translated text for the card page and the docs

    @property
    def digits(self) -> str:
        return re.sub(r"\D", "", self.number)

    @property
    def last4(self) -> str:
        return self.digits[-4:]


TEST_CARDS: tuple[TestCard, ...] = (
    TestCard("4242 4242 4242 4242", "visa", Behaviour.SUCCESS, _("Visa: charges accepted")),
    TestCard("5555 5555 5555 4444", "mastercard", Behaviour.SUCCESS, _("Mastercard: charges accepted")),
    TestCard("4000 0000 0000 0002", "visa", Behaviour.DECLINED, _("Visa: charges declined")),
    TestCard(
        "4000 0000 0000 9995",
        "visa",
        Behaviour.INSUFFICIENT_FUNDS,
        _("Visa: charges refused, insufficient funds"),
    ),
    TestCard(
        "3782 822463 10005",
        "amex",
        Behaviour.SUCCESS,
        _("American Express: a brand Guichet does not accept"),
    ),
    TestCard("4000 0000 0000 0069", "visa", Behaviour.EXPIRED_CARD, _("Visa: charges refused, card expired")),
    TestCard(
        "4000 0000 0000 0119",
        "visa",
        Behaviour.TIMEOUT,
        _("Visa: the first answer to each charge is lost (time-out), though the charge succeeded"),
    ),
)

_BY_DIGITS = {card.digits: card for card in TEST_CARDS}


@dataclasses.dataclass(frozen=True)
class KnownToken:
    brand: str
    last4: str
    behaviour: str
    expiry_month: int = 12
    expiry_year: int = 2030


# Tokens usable without the card page: ``tok_test_<behaviour>_<last4>``.
PREREGISTERED_TOKENS: dict[str, KnownToken] = {
    "tok_test_visa_4242": KnownToken("visa", "4242", Behaviour.SUCCESS),
    "tok_test_mastercard_4444": KnownToken("mastercard", "4444", Behaviour.SUCCESS),
    "tok_test_declined_0002": KnownToken("visa", "0002", Behaviour.DECLINED),
    "tok_test_insufficient_9995": KnownToken("visa", "9995", Behaviour.INSUFFICIENT_FUNDS),
    "tok_test_expired_0069": KnownToken("visa", "0069", Behaviour.EXPIRED_CARD),
    "tok_test_timeout_0119": KnownToken("visa", "0119", Behaviour.TIMEOUT),
    "tok_test_amex_0005": KnownToken("amex", "0005", Behaviour.SUCCESS),
}


def digits_only(number: str) -> str:
    """The number without its spaces or dashes (as a customer may type it)."""
    return re.sub(r"[\s-]", "", number or "")


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum every card number carries (catches a mistyped digit)."""
    if not digits.isdigit() or not 12 <= len(digits) <= 19:
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def brand_detect(digits: str) -> str:
    """The brand from the number's first digits (IIN ranges of the brands the sandbox knows)."""
    if digits.startswith("4"):
        return "visa"
    if digits[:2] in {"51", "52", "53", "54", "55"} or (len(digits) >= 4 and 2221 <= int(digits[:4]) <= 2720):
        return "mastercard"
    if digits[:2] in {"34", "37"}:
        return "amex"
    return "other"


def card_for_number(digits: str) -> TestCard | None:
    """The test card of that number, or None: the sandbox accepts only its test numbers."""
    return _BY_DIGITS.get(digits)


TestCard.__test__ = False  # a data class, not a pytest test class
