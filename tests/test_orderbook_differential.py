"""Differential test: random operation sequences give the same books in ccxt and in ours.

ccxt's books (`ccxt.async_support.base.ws.order_book`) are the reference. They keep
whatever objects they are given, so they are fed floats; ours get the same numbers, each
randomly as a float, an int or decimal text (exchanges send text, and the core keeps it
for checksums), and must come out as ccxt's floats. After every step every book made so
far (copies included) is compared in full."""
import os


from ccxt.async_support.base.ws import order_book as ccxt_ob
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccxtpro_fast import _core

# `pytest -m slow` reruns this file with CCXF_DEEP=20 (tests/test_fuzz_deep.py)
DEEP = int(os.environ.get("CCXF_DEEP", "1"))

SETTINGS = settings(max_examples=120 * DEEP, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# few distinct prices so updates and deletes hit existing levels
PRICES = [round(100 + 0.5 * i, 1) for i in range(-12, 13)]
AMOUNTS = [0, 0, 0.1, 1, 2.5, 7, 10.125, 1e-8, 123456.789]


@st.composite
def number(draw, values):
    """(value ccxt gets, value we get): the same number as float, int or text."""
    v = draw(st.sampled_from(values))
    form = draw(st.sampled_from(["float", "text", "int"]))
    if form == "text":
        text = draw(st.sampled_from([repr(float(v)), f"{v:.10f}", f"{v:.12f}".rstrip("0").rstrip(".")]))
        return float(v), text
    if form == "int" and float(v).is_integer():
        return float(v), int(v)
    return float(v), float(v)


def level_op(kind):
    price = number(PRICES)
    amount = number(AMOUNTS)
    if kind == "counted":
        extra = st.sampled_from([0, 1, 2, 5]).map(lambda c: (c, c))
    elif kind == "indexed":
        extra = st.sampled_from(["a", "b", "c", "d", "e", "f"]).map(lambda i: (i, i))
    else:
        extra = st.none()
    return st.tuples(st.just("store"), st.booleans(), price, amount, extra)


def snapshot_levels(kind):
    return st.lists(st.tuples(number(PRICES), number(AMOUNTS[2:]), st.integers(1, 5)), max_size=12)


def ops(kind):
    return st.lists(
        st.one_of(
            level_op(kind),
            level_op(kind),
            level_op(kind),
            st.tuples(st.just("bulk"), st.booleans(), st.lists(level_op(kind), max_size=8)),
            st.tuples(st.just("limit")),
            st.tuples(st.just("copy")),
            st.tuples(st.just("reset"), snapshot_levels(kind), snapshot_levels(kind),
                      st.integers(0, 100)),
            st.tuples(st.just("update"), snapshot_levels(kind), snapshot_levels(kind),
                      st.integers(0, 100)),
            # indexed: update an order without its price (None keeps the order's price)
            st.tuples(st.just("reprice"), st.booleans(), number(AMOUNTS[2:]),
                      st.sampled_from(["a", "b", "c", "d", "e", "f"])),
        ),
        max_size=40,
    )


CLASSES = {
    "plain": (ccxt_ob.OrderBook, _core.OrderBook),
    "counted": (ccxt_ob.CountedOrderBook, _core.CountedOrderBook),
    "indexed": (ccxt_ob.IndexedOrderBook, _core.IndexedOrderBook),
}


class Pair:
    """One of our books and its ccxt twin, plus the ids ccxt's indexed sides hold."""

    def __init__(self, kind, theirs, ours, generation=0):
        self.kind, self.theirs, self.ours, self.generation = kind, theirs, ours, generation

    def assert_equal(self):
        for key in ("bids", "asks"):
            expected = [list(level) for level in self.theirs[key]]
            got = self.ours[key].tolist()
            assert got == expected, key
            assert len(self.ours[key]) == len(expected)
            assert list(self.ours[key]) == expected
        for key in ("timestamp", "datetime", "nonce", "symbol"):
            assert self.ours[key] == self.theirs[key], key
        assert set(self.ours.keys()) == set(self.theirs.keys())


def make_delta(kind, price, amount, extra, generation):
    (tp, op), (ta, oa) = price, amount
    if kind == "plain":
        return [tp, ta], [op, oa]
    te, oe = extra
    if kind == "indexed":
        # ids carry a generation: ccxt's reset() keeps stale ids in its hashmap (its own
        # bug), so a reset book must never see an id from before the reset
        te = oe = f"{generation}{te}"
    return [tp, ta, te], [op, oa, oe]


def snapshot(kind, bids, asks, nonce, generation):
    theirs, ours = {"nonce": nonce, "timestamp": 1574827239000 + nonce, "symbol": "X/Y"}, {}
    ours.update(theirs)
    for key, levels in (("bids", bids), ("asks", asks)):
        t_levels, o_levels, seen = [], [], set()
        for i, (price, amount, count) in enumerate(levels):
            extra = (count, count) if kind == "counted" else (f"s{i}", f"s{i}")
            if kind == "indexed" and price[0] in seen:
                continue
            seen.add(price[0])
            t, o = make_delta(kind, price, amount, extra, generation)
            t_levels.append(t)
            o_levels.append(o)
        theirs[key], ours[key] = t_levels, o_levels
    return theirs, ours


def run(kind, depth, sequence):
    ccxt_cls, our_cls = CLASSES[kind]
    pairs = [Pair(kind, ccxt_cls({}, depth), our_cls({}, depth))]
    for op in sequence:
        pair = pairs[-1]
        name = op[0]
        if name == "store":
            _, is_bid, price, amount, extra = op
            key = "bids" if is_bid else "asks"
            t, o = make_delta(kind, price, amount, extra, pair.generation)
            pair.theirs[key].storeArray(t)
            if kind == "plain" and isinstance(o[1], float):
                pair.ours[key].store(o[0], o[1])
            else:
                pair.ours[key].store_array(o)
        elif name == "bulk":
            _, is_bid, levels = op
            key = "bids" if is_bid else "asks"
            t_all, o_all = [], []
            for _, _, price, amount, extra in levels:
                t, o = make_delta(kind, price, amount, extra, pair.generation)
                t_all.append(t)
                o_all.append(o)
            for t in t_all:
                pair.theirs[key].storeArray(t)
            pair.ours[key].store_levels(o_all)
        elif name == "limit":
            pair.theirs.limit()
            pair.ours.limit()
        elif name == "copy":
            pairs.append(Pair(kind, pair.theirs.copy(), pair.ours.copy(), pair.generation))
        elif name in ("reset", "update"):
            _, bids, asks, nonce = op
            if kind == "indexed":
                pair.generation += 1
            theirs, ours = snapshot(kind, bids, asks, nonce, pair.generation)
            getattr(pair.theirs, name)(theirs)
            getattr(pair.ours, name)(ours)
        elif name == "reprice":
            _, is_bid, amount, order_id = op
            if kind != "indexed":
                continue
            key = "bids" if is_bid else "asks"
            order_id = f"{pair.generation}{order_id}"
            if order_id not in pair.theirs[key]._hashmap:
                continue
            pair.theirs[key].storeArray([None, amount[0], order_id])
            pair.ours[key].store_array([None, amount[1], order_id])
        for p in pairs:
            p.assert_equal()
    return pairs


@SETTINGS
@given(depth=st.sampled_from([None, 1, 3, 5]), sequence=ops("plain"))
def test_plain_book_matches_ccxt(depth, sequence):
    run("plain", depth, sequence)


@SETTINGS
@given(depth=st.sampled_from([None, 1, 3, 5]), sequence=ops("counted"))
def test_counted_book_matches_ccxt(depth, sequence):
    run("counted", depth, sequence)


@SETTINGS
@given(depth=st.sampled_from([None, 1, 3, 5]), sequence=ops("indexed"))
def test_indexed_book_matches_ccxt(depth, sequence):
    run("indexed", depth, sequence)


def test_differential_harness_detects_a_difference():
    """The comparison is not vacuous: one diverging store is caught."""
    pair = Pair("plain", ccxt_ob.OrderBook({}), _core.OrderBook({}))
    pair.theirs["bids"].store(1.0, 2.0)
    pair.ours["bids"].store("1.0", "2.5")
    try:
        pair.assert_equal()
    except AssertionError:
        return
    raise AssertionError("a different amount went unnoticed")


def test_counted_delete_by_zero_count_and_indexed_none_price():
    """The two rules the random runs lean on, spelled out once."""
    theirs, ours = ccxt_ob.CountedOrderBook({}), _core.CountedOrderBook({})
    for book in (theirs, ours):
        book["bids"].store_array([10.0, 1.0, 3])
        book["bids"].store_array([10.0, 5.0, 0])  # count 0: the level goes
        book["asks"].store_array([11.0, 1.0, 2])
    assert ours["bids"].tolist() == list(theirs["bids"]) == []
    assert ours["asks"].tolist() == [[11.0, 1.0, 2]]
    assert type(ours["asks"][0][2]) is int
    theirs, ours = ccxt_ob.IndexedOrderBook({}), _core.IndexedOrderBook({})
    theirs["asks"].store_array([11.0, 1.0, "x"])
    ours["asks"].store_array(["11.0", "1.0", "x"])
    theirs["asks"].store_array([None, 4.0, "x"])
    ours["asks"].store_array([None, "4", "x"])
    assert ours["asks"].tolist() == [list(level) for level in theirs["asks"]] == [[11.0, 4.0, "x"]]
