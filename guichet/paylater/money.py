"""Money for the pay-later space: ``Decimal`` amounts in cents, and the one allocation rule.

``allocate(total, parts)`` splits an amount into equal parts to the cent; the
remaining cents all go to the **first** part (seed 003: 127.96 in 3 → 42.66,
42.65, 42.65; 159.18 in 3 → 53.06 three times). The parts always add up to the total.
"""

from decimal import ROUND_DOWN, Decimal

CENT = Decimal("0.01")


def cents(amount: Decimal) -> Decimal:
    """``amount`` with exactly two decimals; refuses anything finer than a cent."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise ValueError("amounts are finite Decimals")
    quantized = amount.quantize(CENT)
    if quantized != amount:
        raise ValueError(f"{amount} has more than two decimals")
    return quantized


def allocate(total: Decimal, parts: int) -> list[Decimal]:
    """``parts`` amounts adding up to ``total``: equal parts, the first carries the remaining cents."""
    if parts < 1:
        raise ValueError("at least one part")
    total = cents(total)
    if total < 0:
        raise ValueError("a negative amount is not allocated")
    share = (total / parts).quantize(CENT, rounding=ROUND_DOWN)
    first = total - share * (parts - 1)
    return [first] + [share] * (parts - 1)


def money_display(amount: Decimal, currency: str = "EUR") -> str:
    """``amount`` in the active language's format, with its currency: "127,96 €" in French, "€ 127.96"…

    Euros are shown with the € sign after the number, as the seed prints them; other currencies by
    their ISO code.
    """
    from django.utils.formats import number_format

    symbol = "€" if currency == "EUR" else currency
    return f"{number_format(amount, 2, use_l10n=True, force_grouping=True)}\u00a0{symbol}"
