"""OrderBook.store_deltas / store_json_deltas: one call for both sides of an update must
leave every kind of book exactly as the two per-side calls do."""
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccxtpro_fast import CountedOrderBook, IndexedOrderBook, OrderBook

PRICE = st.integers(1, 400).map(lambda i: f"{i / 4:.2f}")
AMOUNT = st.one_of(st.just("0"), st.integers(1, 10**6).map(lambda i: f"{i / 1000:.3f}"))
SIDE = st.lists(st.tuples(PRICE, AMOUNT).map(list), max_size=10)
UPDATES = st.lists(st.tuples(st.one_of(st.none(), SIDE), st.one_of(st.none(), SIDE)), max_size=8)


def frame(bids, asks):
    """Binance-like update bytes and the slices of its two arrays (-1: absent)."""
    head = b'{"e":"depthUpdate"'
    slices = []
    body = head
    for key, levels in ((b"b", bids), (b"a", asks)):
        if levels is None:
            slices += [-1, -1]
            continue
        body += b',"' + key + b'":'
        start = len(body)
        body += orjson.dumps(levels)
        slices += [start, len(body)]
    return body + b"}", slices


def state(book):
    return book["bids"].tolist(), book["asks"].tolist()


@settings(max_examples=300, deadline=None)
@given(updates=UPDATES)
def test_store_deltas_equals_per_side_store_levels(updates):
    one, two = OrderBook(), OrderBook()
    for bids, asks in updates:
        one.store_deltas(bids, asks)
        if bids is not None:
            two["bids"].store_levels(bids)
        if asks is not None:
            two["asks"].store_levels(asks)
        assert state(one) == state(two)


@settings(max_examples=300, deadline=None)
@given(updates=UPDATES, kind=st.sampled_from(["bytes", "str", "memoryview"]))
def test_store_json_deltas_equals_per_side_store_json(updates, kind):
    one, two = OrderBook(), OrderBook()
    for bids, asks in updates:
        data, (b0, b1, a0, a1) = frame(bids, asks)
        arg = {"bytes": data, "str": data.decode(), "memoryview": memoryview(data)}[kind]
        one.store_json_deltas(arg, b0, b1, a0, a1)
        if bids is not None:
            two["bids"].store_json(data, b0, b1)
        if asks is not None:
            two["asks"].store_json(data, a0, a1)
        assert state(one) == state(two)


def test_other_books_and_foreign_sides_go_through_their_own_store_levels():
    counted = CountedOrderBook()
    counted.store_deltas([["1.5", "2", 3]], [["2.5", "1", 1]])
    assert counted["bids"].tolist() == [[1.5, 2.0, 3]]
    assert counted["asks"].tolist() == [[2.5, 1.0, 1]]
    indexed = IndexedOrderBook()
    indexed.store_deltas([["1.5", "2", "id1"]], None)
    assert indexed["bids"].tolist() == [[1.5, 2.0, "id1"]]
    assert indexed["asks"].tolist() == []
    # a book whose side a user replaced keeps working through that side's method
    book = OrderBook()
    calls = []

    class Recorder(list):
        def store_levels(self, levels):
            calls.append(levels)

        def store_json(self, data, start, stop):
            calls.append(bytes(data[start:stop]))

    book["asks"] = Recorder()
    book.store_deltas([["1", "1"]], [["2", "1"]])
    book.store_json_deltas(b'[["3","1"]]', -1, -1, 0, 11)
    assert calls == [[["2", "1"]], b'[["3","1"]]']
    assert book["bids"].tolist() == [[1.0, 1.0]]


def test_counted_book_rejects_raw_levels_as_its_sides_do():
    with pytest.raises(TypeError):
        CountedOrderBook().store_json_deltas(b'[["1","1"]]', 0, 11, -1, -1)


@pytest.mark.parametrize("b0, b1", [(5, 2), (12, 30), (0, 5)])
def test_bad_slices_raise_and_apply_nothing_unsent(b0, b1):
    book = OrderBook()
    with pytest.raises(ValueError):
        book.store_json_deltas(b'[["1","1"]]', b0, b1, -1, -1)
    assert state(book) == ([], [])


def test_a_bad_level_raises_with_the_levels_before_it_applied():
    book = OrderBook()
    with pytest.raises(ValueError):
        book.store_deltas([["1", "1"], ["x", "1"]], [["2", "1"]])
    assert state(book) == ([[1.0, 1.0]], [])
