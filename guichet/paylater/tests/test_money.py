from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guichet.paylater.money import allocate, cents


def test_the_seeds_examples() -> None:
    assert allocate(Decimal("127.96"), 3) == [Decimal("42.66"), Decimal("42.65"), Decimal("42.65")]
    assert allocate(Decimal("159.18"), 3) == [Decimal("53.06")] * 3
    assert allocate(Decimal("159.18"), 2) == [Decimal("79.59")] * 2
    assert allocate(Decimal("159.18"), 1) == [Decimal("159.18")]


def test_the_first_part_carries_every_remaining_cent() -> None:
    assert allocate(Decimal("0.05"), 4) == [
        Decimal("0.02"),
        Decimal("0.01"),
        Decimal("0.01"),
        Decimal("0.01"),
    ]
    assert allocate(Decimal("100.03"), 4) == [
        Decimal("25.03"),
        Decimal("25.00"),
        Decimal("25.00"),
        Decimal("25.00"),
    ]


@given(
    total=st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False),
    parts=st.integers(min_value=1, max_value=12),
)
def test_parts_add_up_are_equal_and_the_first_is_largest_by_less_than_the_part_count(
    total: Decimal, parts: int
) -> None:
    result = allocate(total, parts)

    assert sum(result) == total
    assert len(result) == parts
    assert all(part == part.quantize(Decimal("0.01")) for part in result)
    assert len(set(result[1:])) <= 1
    assert 0 <= (result[0] - result[-1]) * 100 < parts


@pytest.mark.parametrize("bad", [Decimal("1.001"), Decimal("NaN"), Decimal("-1.00")])
def test_bad_amounts_are_refused(bad: Decimal) -> None:
    with pytest.raises(ValueError):
        allocate(bad, 3)


def test_cents_refuses_more_than_two_decimals() -> None:
    with pytest.raises(ValueError):
        cents(Decimal("0.005"))
