"""Regression tests for core bugs found by the property and fuzz tests, one per bug."""
import pytest

from ccxtpro_fast import _core

SIDES = [_core.Asks, _core.Bids, _core.CountedAsks, _core.CountedBids,
         _core.IndexedAsks, _core.IndexedBids]


def _levels(cls):
    if cls in (_core.Asks, _core.Bids):
        return [["1.5", "2"], ["2.5", "3"], ["3.5", "4"]]
    if cls in (_core.CountedAsks, _core.CountedBids):
        return [["1.5", "2", 1], ["2.5", "3", 2], ["3.5", "4", 3]]
    return [["1.5", "2", "a"], ["2.5", "3", "b"], ["3.5", "4", "c"]]


@pytest.mark.parametrize("cls", SIDES)
def test_price_amount_take_negative_indices_like_side_indexing(cls):
    side = cls(_levels(cls))
    for i in range(-3, 3):
        assert side.price(i) == side[i][0]
        assert side.amount(i) == side[i][1]


@pytest.mark.parametrize("cls", SIDES)
@pytest.mark.parametrize("i", [3, 4, 1000, -4, -1000, 2**62])
def test_price_amount_out_of_range_raise_index_error(cls, i):
    # the indexed side read its list unchecked here: garbage or a segfault
    side = cls(_levels(cls))
    with pytest.raises(IndexError):
        side.price(i)
    with pytest.raises(IndexError):
        side.amount(i)
    empty = cls()
    with pytest.raises(IndexError):
        empty.price(0)
