"""The compiled Kraken v2 book-update path (``_core.diffs.apply_kraken_update``, the
adapter's raw hook) against the adapter's Python path (``handle_order_book``).

Frames follow the v2 ``book`` channel as exchanges/kraken.py's handle_order_book
docstring quotes it (ccxt.pro's comments and Kraken's "Book checksum (WebSocket v2)"
guide): a snapshot, then updates whose levels are ``{"price": N, "qty": N}`` objects of
JSON numbers, a ``checksum`` and an RFC 3339 ``timestamp``. The same frames go through
the adapter with the compiled path on and off: every frame must leave the same book,
timestamp, datetime and resolves."""
from __future__ import annotations

import random

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ccxtpro_fast
from ccxtpro_fast._core import CHECKSUM_KRAKEN_V2, OrderBook
from ccxtpro_fast._core.diffs import apply_kraken_update

from sim_helpers import sim_markets

SYMBOL = "BTC/USD"
HASH = "orderbook@" + SYMBOL


class FakeClient:
    def __init__(self):
        self.url = "ws://127.0.0.1/ws.kraken.com/v2"
        self.resolved = []
        self.futures = {}
        self.subscriptions = {}

    def resolve(self, result, message_hash):
        self.resolved.append((message_hash, result["timestamp"], result["datetime"],
                              result["bids"].tolist(), result["asks"].tolist()))


def loaded_markets():
    return sim_markets("kraken")


def exchange(verify=False):
    ex = ccxtpro_fast.kraken({"enableRateLimit": False,
                              "options": {"watchOrderBook": {"checksum": verify}}})
    ex.set_markets(loaded_markets())
    return ex


def book_frame(kind, bids, asks, checksum=None, timestamp="2023-10-06T17:35:55.440295Z"):
    body = {"symbol": SYMBOL, "bids": bids, "asks": asks}
    if checksum is not None:
        body["checksum"] = checksum
    if kind == "update":
        body["timestamp"] = timestamp
    return orjson.dumps({"channel": "book", "type": kind, "data": [body]})


def level(rng, mid):
    # BTC/USD: price to 1 decimal, qty to 8 (the simulator's pair_decimals / lot_decimals)
    price = round(mid + rng.randint(-30, 30) / 10, 1)
    qty = 0 if rng.random() < 0.25 else round(rng.randint(1, 10 ** 6) / 10 ** 8, 8)
    return {"price": price, "qty": qty}


def snapshot_levels():
    return ([{"price": round(30000 - i / 10, 1), "qty": 1.5} for i in range(1, 11)],
            [{"price": round(30000 + i / 10, 1), "qty": 2.25} for i in range(1, 11)])


def session(rng, n):
    bids, asks = snapshot_levels()
    frames = [book_frame("snapshot", bids, asks)]
    for i in range(n):
        ts = f"2023-10-06T17:35:{i % 60:02d}.{rng.randint(0, 999999):06d}Z"
        frames.append(book_frame("update", [level(rng, 29999.0) for _ in range(rng.randint(0, 4))],
                                 [level(rng, 30001.0) for _ in range(rng.randint(0, 4))],
                                 timestamp=ts))
    return frames


def run(frames, fast, verify=False):
    ex = exchange(verify)
    client = FakeClient()
    hook = ex.handle_raw_message
    trace, calls = [], []
    for data in frames:
        applied = hook.applied
        if not (fast and hook(client, data)):
            ex.handle_message(client, orjson.loads(data))
        calls.append(hook.applied > applied)
        book = ex.orderbooks[SYMBOL]
        trace.append((book["timestamp"], book["datetime"], book["bids"].tolist(), book["asks"].tolist()))
    return trace, client.resolved, calls, ex


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_compiled_path_matches_the_python_path(seed):
    frames = session(random.Random(seed), 40)
    fast, slow = run(frames, True), run(frames, False)
    assert fast[:2] == slow[:2]
    # the snapshot is the Python path's; every update the core's
    assert fast[2] == [False] + [True] * 40


def test_checksums_verified_and_a_mismatch_resynchronised(monkeypatch):
    bids, asks = snapshot_levels()
    ex = exchange()
    price_precision, qty_precision = ex._kraken_precisions(SYMBOL)
    model = OrderBook({"bids": [(b["price"], b["qty"]) for b in bids],
                       "asks": [(a["price"], a["qty"]) for a in asks]}, 10)
    good = model.checksum(CHECKSUM_KRAKEN_V2, 10, price_precision, qty_precision)
    up = [{"price": 30000.1, "qty": 0.5}]
    model["asks"].store_levels([(30000.1, 0.5)])
    after = model.checksum(CHECKSUM_KRAKEN_V2, 10, price_precision, qty_precision)
    frames = [book_frame("snapshot", bids, asks, good), book_frame("update", [], up, after),
              book_frame("update", [], [{"price": 30000.2, "qty": 0.75}], 12345)]
    resyncs = []
    monkeypatch.setattr(type(ex), "_kraken_resync", lambda self, client, sync: resyncs.append(sync.symbol),
                        raising=True)
    trace, resolved, calls, ex = run(frames, True, verify=True)
    sync = ex.book_syncs[SYMBOL]
    assert calls == [False, True, True]
    assert sync.verified == 2 and resyncs == [SYMBOL]
    # the mismatching update was applied, then not resolved
    assert [r[0] for r in resolved] == [HASH, HASH]
    assert trace[-1][3][0] == [30000.1, 0.5] and [30000.2, 0.75] in trace[-1][3]


@pytest.mark.parametrize("what, change", [
    ("qty before price", lambda f: f.replace(b'{"price":30001.5,"qty":0.125}', b'{"qty":0.125,"price":30001.5}')),
    ("whitespace", lambda f: f.replace(b'"asks":[', b'"asks" : [ ').replace(b',"checksum"', b' , "checksum"')),
])
def test_other_valid_spellings_take_the_compiled_path(what, change):
    bids, asks = snapshot_levels()
    update = book_frame("update", [], [{"price": 30001.5, "qty": 0.125}])
    frames = [book_frame("snapshot", bids, asks), change(update)]
    assert frames[1] != update
    fast, slow = run(frames, True), run(frames, False)
    assert fast[:2] == slow[:2] and fast[2] == [False, True], what


DECLINED = [
    ("a string price", lambda f: f.replace(b'"price":30001.5', b'"price":"30001.5"')),
    ("an extra level key", lambda f: f.replace(b'"qty":0.125}', b'"qty":0.125,"x":1}')),
    ("a null qty", lambda f: f.replace(b'"qty":0.125', b'"qty":null')),
    ("qty missing", lambda f: f.replace(b',"qty":0.125', b'')),
    ("a snapshot", lambda f: f.replace(b'"type":"update"', b'"type":"snapshot"')),
    ("another channel", lambda f: f.replace(b'"channel":"book"', b'"channel":"books"')),
    ("two entries", lambda f: f.replace(b'"}]}', b'"},{}]}')),
    ("no timestamp fraction", lambda f: f.replace(b'55.440295Z', b'55Z')),
    ("two fraction digits", lambda f: f.replace(b'55.440295Z', b'55.44Z')),
    ("30 February", lambda f: f.replace(b'2023-10-06', b'2023-02-30')),
    ("hour 24", lambda f: f.replace(b'T17:', b'T24:')),
    ("no Z", lambda f: f.replace(b'440295Z', b'440295+00:00')),
    ("an unknown symbol", lambda f: f.replace(b'BTC/USD', b'XBT/EUR')),
    ("a negative checksum", lambda f: f.replace(b'"checksum":7', b'"checksum":-7')),
]


def python_path_outcome(ex, client, data):
    """handle_message of the frame: (the exception it raised or None, the book after)."""
    try:
        ex.handle_message(client, orjson.loads(data))
        error = None
    except Exception as e:      # the client routes a handler's error; compare its type
        error = type(e).__name__
    book = ex.orderbooks[SYMBOL]
    return error, (book["timestamp"], book["datetime"], book["bids"].tolist(), book["asks"].tolist())


@pytest.mark.parametrize("what, change", DECLINED, ids=[d[0] for d in DECLINED])
def test_declined_frames_go_to_the_python_path_with_the_same_result(what, change):
    bids, asks = snapshot_levels()
    update = book_frame("update", [], [{"price": 30001.5, "qty": 0.125}], 7)
    frames = [book_frame("snapshot", bids, asks), change(update)]
    assert frames[1] != update, what
    results = []
    for fast in (True, False):
        ex = exchange()
        client = FakeClient()
        ex.handle_message(client, orjson.loads(frames[0]))
        if fast:
            assert apply_kraken_update(frames[1], ex.book_syncs, client) is False, what
        # whatever the core applied before declining, the Python path then ends where the
        # Python path alone ends
        results.append(python_path_outcome(ex, client, frames[1]))
    assert results[0] == results[1], what


def test_timestamps_parse_as_the_adapter_does():
    ex = exchange()
    rng = random.Random(5)
    bids, asks = snapshot_levels()
    for _ in range(300):
        text = (f"{rng.randint(1970, 2100):04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T"
                f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}."
                f"{rng.randint(0, 10 ** 9 - 1):09d}"[:20 + rng.randint(3, 9)] + "Z")
        frames = [book_frame("snapshot", bids, asks), book_frame("update", [], [], timestamp=text)]
        trace = run(frames, True)[0]
        assert trace[-1][0] == ex._kraken_ms(text) and trace[-1][1] == text
    # leap days
    for text, ok in (("2024-02-29T00:00:00.000Z", True), ("2023-02-29T00:00:00.000Z", False),
                     ("2000-02-29T12:00:00.123Z", True), ("2100-02-29T12:00:00.123Z", False)):
        frames = [book_frame("snapshot", bids, asks), book_frame("update", [], [], timestamp=text)]
        trace, _, calls, _ = run(frames, True)
        assert calls[-1] is ok
        if ok:
            assert trace[-1][0] == ex._kraken_ms(text)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_bytes_give_a_defined_answer(data):
    """Mutated frames: True, False, a BookSync or ValueError; the interpreter survives."""
    bids, asks = snapshot_levels()
    ex = exchange()
    client = FakeClient()
    ex.handle_message(client, orjson.loads(book_frame("snapshot", bids, asks)))
    frame = bytearray(book_frame("update", [{"price": 29999.5, "qty": 1.0}], [{"price": 30001.5, "qty": 0.125}], 7))
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["set", "del", "cut"]))
        i = data.draw(st.integers(0, max(0, len(frame) - 1)))
        if op == "set" and frame:
            frame[i] = data.draw(st.integers(0, 255))
        elif op == "del" and frame:
            del frame[i]
        else:
            frame = frame[:i]
    try:
        result = apply_kraken_update(bytes(frame), ex.book_syncs, client)
    except ValueError:
        return
    assert result is True or result is False or result is ex.book_syncs[SYMBOL]


def test_a_level_of_another_shape_after_applied_ones_ends_as_the_python_path():
    """The core applies the levels before the odd one, then declines; the Python path
    applies them all again: the same book as the Python path alone."""
    bids, asks = snapshot_levels()
    update = orjson.dumps({"channel": "book", "type": "update", "data": [{
        "symbol": SYMBOL, "bids": [{"price": 29999.95, "qty": 3.0}],
        "asks": [{"price": 30000.05, "qty": 1.0}, {"price": "30000.15", "qty": 2.0}],
        "checksum": 7, "timestamp": "2023-10-06T17:35:55.440295Z"}]})
    results = []
    for fast in (True, False):
        ex = exchange()
        client = FakeClient()
        ex.handle_message(client, orjson.loads(book_frame("snapshot", bids, asks)))
        if fast:
            assert apply_kraken_update(update, ex.book_syncs, client) is False
            assert [30000.05, 1.0] in ex.orderbooks[SYMBOL]["asks"].tolist()   # applied, then declined
        results.append(python_path_outcome(ex, client, update))
    assert results[0] == results[1]
