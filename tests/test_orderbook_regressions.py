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


@pytest.mark.parametrize("depth", [10737419, 5368710, 2**31 - 1])
def test_checksum_depth_that_overflowed_the_buffer_size(depth):
    # 2 * depth * 200 in a C int wrapped (10737419 -> a 304-byte buffer for a 120 kB text:
    # a heap overflow) or asked for gigabytes; the depth is now clamped to the book
    book = _core.OrderBook({})
    book["bids"].store_levels([[f"{10000 - i}.12345678", "123456.12345678"] for i in range(2000)])
    book["asks"].store_levels([[f"{20000 + i}.12345678", "123456.12345678"] for i in range(2000)])
    full = book.checksum_text(_core.CHECKSUM_OKX, 2000)
    assert len(full) > 100000
    assert book.checksum_text(_core.CHECKSUM_OKX, depth) == full
    assert book.checksum(_core.CHECKSUM_OKX, depth) == book.checksum(_core.CHECKSUM_OKX, 2000)


def test_indexed_reprice_with_an_incomparable_id_loses_nothing():
    # the order used to leave the side (and enter the hashmap at its new price) before the
    # id comparison that raised: a lost order and a dangling id
    side = _core.IndexedAsks([["0.25", "1", 0], ["0.50", "1", "a"]])
    with pytest.raises(TypeError):
        side.store_array(["0.25", "2", "a"])
    assert side.tolist() == [[0.25, 1.0, 0], [0.5, 1.0, "a"]]
    side.store_array([None, "3", "a"])  # still found by id, at its old price
    assert side.tolist() == [[0.25, 1.0, 0], [0.5, 3.0, "a"]]
    side.store_array([None, 0, "a"])
    assert side.tolist() == [[0.25, 1.0, 0]]


def test_negative_depth_no_longer_corrupts_a_side():
    # limit() with depth -1 gave the side a negative length: SystemError from len(), then
    # a crash on the next store
    with pytest.raises(ValueError):
        _core.Asks([["1", "1"]], -1)
    side = _core.Asks([["1", "1"], ["2", "1"]], 0)  # 0 and None mean unlimited, as in ccxt
    side.limit()
    assert len(side) == 2


def test_counted_count_is_checked_before_the_level_is_stored():
    side = _core.CountedBids([[10.0, 1.0, 2]])
    with pytest.raises(ValueError):
        side.store_array([11.0, 5.0, float("nan")])  # used to leave [11.0, 5.0, 0.0] behind
    assert side.tolist() == [[10.0, 1.0, 2]]


def test_counted_third_value_that_is_not_a_number_is_kept_as_given():
    # ccxt.pro's bitget stores [price, amount, [price_text, amount_text]] in a counted book
    side = _core.CountedBids([[10.0, 1.0, 2]], 2)
    side.store_array([11.0, 5.0, ["11.0", "5.0"]])
    side.store_array([9.0, 1.0, "n"])
    assert side.tolist() == [[11.0, 5.0, ["11.0", "5.0"]], [10.0, 1.0, 2], [9.0, 1.0, "n"]]
    side.limit()
    assert side.tolist() == [[11.0, 5.0, ["11.0", "5.0"]], [10.0, 1.0, 2]]
    side.store_array([11.0, 6.0, 3])
    assert side.copy().tolist() == [[11.0, 6.0, 3], [10.0, 1.0, 2]]


@pytest.mark.parametrize("value, precision", [(1e15, 8), (45283.5, 23), (1e300, 2)])
def test_kraken_v2_number_without_text_is_refused_not_dropped(value, precision):
    # the renderer returned 0 bytes for these: the number silently vanished from the text
    b = _core.OrderBook({})
    b["asks"].store_levels([[value, 2.5]])
    with pytest.raises(ValueError, match="cannot be written exactly"):
        b.checksum_text(_core.CHECKSUM_KRAKEN_V2, 10, precision, 8)
    b2 = _core.OrderBook({})
    b2["asks"].store_levels([[45283.5, 2.5]])
    assert b2.checksum_text(_core.CHECKSUM_KRAKEN_V2, 10, 1, 8) == "452835250000000"


@pytest.mark.parametrize("cls", [_core.CountedBids, _core.CountedAsks])
def test_counted_side_refuses_store_json(cls):
    # the raw-bytes parser reads no count: every level came out with a count of 0
    side = cls([[10.0, 1.0, 2]])
    with pytest.raises(TypeError):
        side.store_json(b'[["1","2",3]]')
    assert side.tolist() == [[10.0, 1.0, 2]]


@pytest.mark.parametrize("cls", [_core.Asks, _core.Bids])
@pytest.mark.parametrize("size", [0, 1, 7, 8, 9, 16, 40])
def test_every_store_position_around_the_top_scan(cls, size):
    # the search counts the first levels without branches and gallops below them: a
    # price at, between or beyond every level, on books smaller and larger than that scan
    ticks = list(range(10, 10 + 2 * size, 2))
    for probe in range(8, 12 + 2 * size):
        for amount in ("7", "0"):
            side = cls([[f"{t}", "1"] for t in ticks])
            model = {t: 1.0 for t in ticks}
            side.store_levels([[f"{probe}", amount]])
            if amount == "0":
                model.pop(probe, None)
            else:
                model[probe] = 7.0
            expected = sorted(model.items(), reverse=cls is _core.Bids)
            assert side.tolist() == [[float(p), a] for p, a in expected], (probe, amount)


@pytest.mark.parametrize("side", ["asks", "bids"])
def test_a_plain_level_keeps_an_int_third_item_as_ccxt_does(side):
    # ccxt stores a new level's list as given, so the sequence kucoin's
    # parse_order_book_bid_ask appends stays on it (and an update changes only the amount);
    # ccxt.pro kucoin's books were [price, amount, sequence] where ours were two items
    import random
    from ccxt.async_support.base.ws.order_book import OrderBook as CcxtOrderBook
    rng = random.Random(3)
    ours, theirs = _core.OrderBook(), CcxtOrderBook()
    for step in range(3000):
        delta = [float(rng.randint(1, 40)), float(rng.choice([0, 0, 1, 2, 3]))]
        if rng.random() < 0.5:
            delta.append(rng.choice([7, 1612844051663, -(1 << 63), (1 << 63) - 1]))
        if rng.random() < 0.3:
            ours[side].store_levels([list(delta)])
        else:
            ours[side].storeArray(list(delta))
        theirs[side].storeArray(list(delta))
        assert ours[side] == theirs[side], step
    assert any(len(level) == 3 for level in ours[side])
    assert ours[side].copy() == theirs[side]


@pytest.mark.parametrize("cls", [_core.OrderBook, _core.CountedOrderBook])
def test_a_price_printed_another_way_is_checksummed_as_printed_last(cls):
    """An update of an existing level takes the exchange's latest text of its price too:
    an OKX/Bitget checksum hashes the book as the exchange prints it now."""
    extra = [] if cls is _core.OrderBook else [1]
    book = cls({"bids": [["0.5000", "1"] + extra], "asks": [["0.6000", "2"] + extra]})
    book["bids"].store_levels([["0.50", "3"] + extra])
    book["asks"].store_levels([["0.6000", "4"] + extra])
    assert book.checksum_text(_core.CHECKSUM_OKX) == "0.50:3:0.6000:4"
    # a level given as a number keeps the text it has
    book["bids"].store_levels([[0.5, 5.0] + extra])
    assert book.checksum_text(_core.CHECKSUM_OKX).startswith("0.50:")
