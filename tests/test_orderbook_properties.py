"""Model-based property tests of every book class (hypothesis state machines).

The model is a plain dict per side (price -> amount, price -> (amount, count), or
order id -> (price, amount)), sorted on demand. After every step each side must be
strictly sorted best first, hold no zero amounts, equal the model, and agree with itself
through len, indexing (negative indices too), slicing, iteration, price(i)/amount(i)."""
import math
import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from ccxtpro_fast import _core

# `pytest -m slow` reruns this file with CCXF_DEEP=20 (tests/test_fuzz_deep.py)
DEEP = int(os.environ.get("CCXF_DEEP", "1"))

SETTINGS = settings(max_examples=40 * DEEP, stateful_step_count=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

# a narrow grid makes updates and deletes hit existing levels; a few far prices too
PRICE_TEXT = st.one_of(
    st.integers(9900, 10100).map(lambda i: f"{i / 10:.1f}"),
    st.integers(1, 10**6).map(lambda i: f"{i / 1000:.3f}"),
    st.sampled_from(["0.00000001", "99999999.99999999", "1", "1.0", "1.00"]),
)
AMOUNT_TEXT = st.one_of(
    st.sampled_from(["0", "0.0", "0.00000000"]),
    st.integers(1, 10**9).map(lambda i: f"{i / 10**4:.4f}"),
    st.floats(1e-9, 1e9).map(repr),
)
ORDER_IDS = st.sampled_from([f"o{i}" for i in range(12)])


def as_input(text, form):
    """The same number as the exchange text, a float, or (when whole) an int."""
    if form == 1:
        return float(text)
    if form == 2 and float(text).is_integer():
        return int(float(text))
    return text


class BookMachine(RuleBasedStateMachine):
    book_class = None
    kind = None

    @initialize(depth=st.sampled_from([None, 1, 2, 5, 10]))
    def make(self, depth):
        self.depth = depth
        self.book = self.book_class({}, depth)
        self.model = {"bids": {}, "asks": {}}

    # ------------------------------------------------------------------ model

    def model_levels(self, key):
        side = self.model[key]
        bid = key == "bids"
        if self.kind == "indexed":
            rows = [(price, amount, oid) for oid, (price, amount) in side.items()]
            rows.sort(key=lambda r: (-r[0] if bid else r[0], r[2]))
            return [list(r) for r in rows]
        prices = sorted(side, reverse=bid)
        if self.kind == "counted":
            return [[p, side[p][0], side[p][1]] for p in prices]
        return [[p, side[p]] for p in prices]

    def model_limit(self):
        if not self.depth:
            return
        for key in ("bids", "asks"):
            keep = self.model_levels(key)[: self.depth]
            if self.kind == "indexed":
                self.model[key] = {r[2]: (r[0], r[1]) for r in keep}
            elif self.kind == "counted":
                self.model[key] = {r[0]: (r[1], r[2]) for r in keep}
            else:
                self.model[key] = {r[0]: r[1] for r in keep}

    def model_store(self, key, price, amount, extra):
        side = self.model[key]
        if self.kind == "indexed":
            if amount:
                old = side.get(extra)
                side[extra] = (old[0] if price is None else price, amount)
            else:
                side.pop(extra, None)
        elif self.kind == "counted":
            if amount and extra:
                side[price] = (amount, extra)
            else:
                side.pop(price, None)
        elif amount:
            side[price] = amount
        else:
            side.pop(price, None)

    # ------------------------------------------------------------------ rules

    @rule(is_bid=st.booleans(), price=PRICE_TEXT, amount=AMOUNT_TEXT,
          count=st.integers(0, 4), oid=ORDER_IDS, forms=st.tuples(st.integers(0, 2), st.integers(0, 2)))
    def store(self, is_bid, price, amount, count, oid, forms):
        key = "bids" if is_bid else "asks"
        extra = count if self.kind == "counted" else oid
        delta = [as_input(price, forms[0]), as_input(amount, forms[1])]
        if self.kind != "plain":
            delta.append(extra)
        self.book[key].store_array(delta)
        self.model_store(key, float(price), float(amount), extra)

    @rule(is_bid=st.booleans(), amount=AMOUNT_TEXT.filter(lambda a: float(a) != 0), data=st.data())
    def reprice_none(self, is_bid, amount, data):
        if self.kind != "indexed":
            return
        key = "bids" if is_bid else "asks"
        if not self.model[key]:
            return
        oid = data.draw(st.sampled_from(sorted(self.model[key])))
        self.book[key].store_array([None, amount, oid])
        self.model_store(key, None, float(amount), oid)

    @rule(is_bid=st.booleans(),
          levels=st.lists(st.tuples(PRICE_TEXT, AMOUNT_TEXT, st.integers(0, 4), ORDER_IDS), max_size=10))
    def store_many(self, is_bid, levels):
        key = "bids" if is_bid else "asks"
        deltas = []
        for price, amount, count, oid in levels:
            delta = [price, amount]
            extra = count if self.kind == "counted" else oid
            if self.kind != "plain":
                delta.append(extra)
            deltas.append(delta)
            self.model_store(key, float(price), float(amount), extra)
        self.book[key].store_levels(deltas)

    @rule(bids=st.lists(st.tuples(PRICE_TEXT, AMOUNT_TEXT, st.integers(1, 4)), max_size=10),
          asks=st.lists(st.tuples(PRICE_TEXT, AMOUNT_TEXT, st.integers(1, 4)), max_size=10))
    def snapshot(self, bids, asks):
        snap = {"nonce": 1}
        self.model = {"bids": {}, "asks": {}}
        for key, levels in (("bids", bids), ("asks", asks)):
            rows = []
            for i, (price, amount, count) in enumerate(levels):
                extra = count if self.kind == "counted" else f"s{i}"
                rows.append([price, amount] + ([] if self.kind == "plain" else [extra]))
                self.model_store(key, float(price), float(amount), extra)
            snap[key] = rows
        self.book.reset(snap)

    @rule()
    def limit(self):
        self.book.limit()
        self.model_limit()

    @rule()
    def copy(self):
        original = self.book
        before = {k: original[k].tolist() for k in ("bids", "asks")}
        self.book = original.copy()
        # the copy is independent: changing it leaves the original alone
        self.book["bids"].clear()
        assert original["bids"].tolist() == before["bids"]
        self.book = original.copy()

    # ------------------------------------------------------------------ invariants

    @invariant()
    def side_invariants(self):
        if not hasattr(self, "book"):
            return
        for key in ("bids", "asks"):
            side = self.book[key]
            levels = side.tolist()
            assert levels == self.model_levels(key)
            n = len(levels)
            assert len(side) == n
            assert list(side) == levels
            assert side == levels
            for row in levels:
                assert row[1] != 0 and math.isfinite(row[0]) and math.isfinite(row[1])
            # best first: strictly increasing asks, strictly decreasing bids (the indexed
            # side may repeat a price, with its order ids increasing)
            for a, b in zip(levels, levels[1:]):
                if self.kind == "indexed" and a[0] == b[0]:
                    assert a[2] < b[2]
                elif key == "bids":
                    assert a[0] > b[0]
                else:
                    assert a[0] < b[0]
            for i in range(-n, n):
                assert side[i] == levels[i]
                assert side.price(i) == levels[i][0]
                assert side.amount(i) == levels[i][1]
            for bad in (n, -n - 1):
                for read in (side.__getitem__, side.price, side.amount):
                    try:
                        read(bad)
                    except IndexError:
                        pass
                    else:
                        raise AssertionError(f"{read.__name__}({bad}) on {n} levels")
            for sl in (slice(None), slice(1, None), slice(None, 3), slice(-2, None),
                       slice(None, None, 2), slice(None, None, -1), slice(5, 1, -2)):
                assert side[sl] == levels[sl]


def machine(book_class, kind):
    return type(f"{book_class.__name__}Machine", (BookMachine,),
                {"book_class": book_class, "kind": kind})


OrderBookMachine = machine(_core.OrderBook, "plain")
CountedOrderBookMachine = machine(_core.CountedOrderBook, "counted")
IndexedOrderBookMachine = machine(_core.IndexedOrderBook, "indexed")

TestOrderBook = OrderBookMachine.TestCase
TestOrderBook.settings = SETTINGS
TestCountedOrderBook = CountedOrderBookMachine.TestCase
TestCountedOrderBook.settings = SETTINGS
TestIndexedOrderBook = IndexedOrderBookMachine.TestCase
TestIndexedOrderBook.settings = SETTINGS
