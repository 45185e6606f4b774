"""The compiled depth path (``_core.diffs.apply_binance_diff``) against the adapter's
Python path (``_DepthSync.on_diff``).

The frames are Binance ``depthUpdate`` events in the documented shape (spot: no ``pu``;
USD-M: with ``pu``), as quoted in exchanges/binance.py's ``on_diff`` docstring from the
recorded sessions in tests/data/sessions. The same frame sequence (in order, duplicated,
old, gapped, around a first-after-snapshot event and checkpoints) goes through the
adapter twice, with the compiled path on and off: every frame must end in the same book
and the same resolves and resyncs. And the compiled path alone must change nothing when
it declines a frame."""
import random

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ccxtpro_fast
from ccxtpro_fast._core.diffs import apply_binance_diff
from ccxtpro_fast.exchanges import binance as binance_adapter

from binance_helpers import markets
from sim_helpers import sim_markets

SYMBOLS = {"spot": ("BTC/USDT", "BTCUSDT"), "swap": ("BTC/USDT:USDT", "BTCUSDT")}
URLS = {"spot": "ws://127.0.0.1/stream.binance.com/ws/0",
        "swap": "ws://127.0.0.1/fstream.binance.com/ws/0"}


class FakeClient:
    def __init__(self, url):
        self.url = url
        self.resolved = []
        self.futures = {}
        self.subscriptions = {}

    def resolve(self, result, message_hash):
        self.resolved.append((message_hash, result["nonce"], result["timestamp"], result["datetime"],
                              result["bids"].tolist(), result["asks"].tolist()))

    def reject(self, error, message_hash=None):
        self.resolved.append(("reject", message_hash, type(error).__name__))


def level_text(rng, base):
    price = f"{base + rng.randint(-30, 30) / 100:.2f}"
    amount = "0" if rng.random() < 0.25 else f"{rng.randint(1, 10**6) / 1000:.8f}"
    return [price, amount]


def frame(kind, U, u, pu, E, bids, asks, market_id="BTCUSDT"):
    msg = {"e": "depthUpdate", "E": E, "s": market_id, "U": U, "u": u}
    if kind == "swap":
        msg["T"] = E - 5
        msg["pu"] = pu
    msg["b"] = bids
    msg["a"] = asks
    return orjson.dumps(msg)


def session(kind, rng, n):
    """(frames, events): n in-sequence events, then the frames as sent with duplicates,
    an old event, and (sometimes) a gap mixed in."""
    events = []
    u = 1000
    for i in range(n):
        k = rng.randint(1, 4)
        bids = [level_text(rng, 99.5) for _ in range(rng.randint(0, 5))]
        asks = [level_text(rng, 100.5) for _ in range(rng.randint(0, 5))]
        events.append((u + 1, u + k, u, 1700000000000 + 100 * i + rng.randint(0, 99), bids, asks))
        u += k
    sent = []
    for i, ev in enumerate(events):
        r = rng.random()
        if r < 0.02:
            continue                                # dropped: a gap
        sent.append(ev)
        if r < 0.1:
            sent.append(ev)                         # a duplicate
        elif r < 0.15 and i > 2:
            sent.append(events[i - 2])              # an old event
        elif r < 0.17:
            # overlapping what the book has: U at or below its update id, u past it
            sent.append((ev[0], ev[1] + 1, ev[2]) + ev[3:])
    return [frame(kind, *ev) for ev in sent]


def loaded_markets(exchange_id):
    return sim_markets(exchange_id, "binance", markets)


def exchange(kind, client, first, cross):
    exchange_id = "binance" if kind == "spot" else "binanceusdm"
    ex = getattr(ccxtpro_fast, exchange_id)({"enableRateLimit": False})
    ex.set_markets(loaded_markets(exchange_id))
    symbol, _ = SYMBOLS[kind]
    book = ex.order_book({"bids": [["99.00", "1"], ["98.50", "2"]], "asks": [["101.00", "1"]],
                          "nonce": 1000, "symbol": symbol}, 1000)
    ex.orderbooks = {symbol: book}
    state = ex._bn_depth_state(symbol)
    state.client = client
    state.synced = True
    state.first = first
    state.cross = cross
    return ex, state


def run(kind, frames, fast, first=False, cross=False, monkeypatch=None):
    client = FakeClient(URLS[kind])
    ex, state = exchange(kind, client, first, cross)
    resyncs = []

    def resync(self, client, reason, event=None):
        # a resync would fetch a snapshot: record it instead, identically on both runs
        resyncs.append((reason, event and event[:3]))
        self.synced = False

    monkeypatch.setattr(binance_adapter._DepthSync, "resync", resync)
    handled = []
    hook = ex.handle_raw_message
    calls = []      # per frame: did the core apply it
    trace = []
    for data in frames:
        applied = hook.applied
        # the Python path alone: every depth frame through the adapter's sync rules
        handled.append(hook(client, data) if fast else ex._bn_raw_depth(client, data))
        calls.append(hook.applied > applied)
        book = ex.orderbooks[SYMBOLS[kind][0]]
        trace.append((book["nonce"], book["timestamp"], book["datetime"],
                      book["bids"].tolist(), book["asks"].tolist(), len(resyncs)))
    return handled, trace, client.resolved, resyncs, calls


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(["spot", "swap"]),
       first=st.booleans(), cross=st.booleans())
def test_compiled_path_changes_nothing_the_python_path_would_not(seed, kind, first, cross):
    frames = session(kind, random.Random(seed), 40)
    with pytest.MonkeyPatch.context() as mp:
        fast = run(kind, frames, True, first, cross, mp)
    with pytest.MonkeyPatch.context() as mp:
        slow = run(kind, frames, False, first, cross, mp)
    assert fast[:4] == slow[:4]
    handled, trace, resolved, resyncs, calls = fast
    if cross:
        assert not any(calls)
    else:
        # the compiled path carried every in-sequence event after the first frame (which
        # routes the connection) up to the first resync, if any
        nonces = [t[0] for t in trace]
        end = next((i for i, t in enumerate(trace) if t[5]), len(trace))
        expected = [i for i in range(1, end) if nonces[i] != nonces[i - 1]
                    and not (first and nonces[i - 1] == 1000)]
        assert all(calls[i] for i in expected)


def test_in_sequence_frames_take_the_compiled_path(monkeypatch):
    rng = random.Random(5)
    frames = [frame("spot", 1001 + i, 1001 + i, None, 1700000000000 + i,
                    [level_text(rng, 99.5)], [level_text(rng, 100.5)]) for i in range(20)]
    handled, trace, resolved, resyncs, calls = run("spot", frames, True, monkeypatch=monkeypatch)
    # the first frame routes the connection (the Python path), the core carries the rest
    assert not calls[0] and all(calls[1:]) and all(handled) and not resyncs
    assert [r[1] for r in resolved] == list(range(1001, 1021))
    assert resolved[-1][0] == "orderbook::BTC/USDT"
    assert resolved[-1][3] == "2023-11-14T22:13:20.019Z"


def _book_state(book):
    return dict(nonce=book["nonce"], timestamp=book["timestamp"], datetime=book["datetime"],
                bids=book["bids"].tolist(), asks=book["asks"].tolist())


DECLINED = [
    # (what, kind, frame bytes, state changes)
    ("gap (spot U > nonce + 1)", "spot", frame("spot", 1003, 1004, None, 1, [["99", "1"]], []), {}),
    ("old event", "spot", frame("spot", 990, 1000, None, 1, [["99", "1"]], []), {}),
    ("futures pu != nonce", "swap", frame("swap", 1001, 1002, 999, 1, [["99", "1"]], []), {}),
    ("futures old event", "swap", frame("swap", 900, 999, 898, 1, [["99", "1"]], []), {}),
    ("first event after a snapshot", "spot", frame("spot", 1001, 1001, None, 1, [["99", "1"]], []),
     {"first": True}),
    ("checkpoints on", "spot", frame("spot", 1001, 1001, None, 1, [["99", "1"]], []), {"cross": True}),
    ("not synchronised", "spot", frame("spot", 1001, 1001, None, 1, [["99", "1"]], []), {"synced": False}),
    ("unknown symbol", "spot", frame("spot", 1001, 1001, None, 1, [["99", "1"]], [], "ETHUSDT"), {}),
    ("escaped symbol", "spot", frame("spot", 1001, 1001, None, 1, [], []).replace(b"BTCUSDT", b"BTC\\u0055SDT"), {}),
    ("no event time", "spot", frame("spot", 1001, 1001, None, 1, [], []).replace(b'"E":1,', b""), {}),
    ("float update id", "spot", frame("spot", 1001, 1001, None, 1, [], []).replace(b'"u":1001', b'"u":1001.0'), {}),
    ("truncated", "spot", frame("spot", 1001, 1001, None, 1, [["99", "1"]], [])[:-3], {}),
    ("not a depth frame", "spot", b'{"e":"trade","s":"BTCUSDT"}', {}),
    ("levels not an array", "spot", frame("spot", 1001, 1001, None, 1, [], []).replace(b'"b":[]', b'"b":"x"'), {}),
]


@pytest.mark.parametrize("what, kind, data, changes", DECLINED, ids=[d[0] for d in DECLINED])
def test_declined_frames_change_nothing(what, kind, data, changes):
    client = FakeClient(URLS[kind])
    ex, state = exchange(kind, client, False, False)
    for name, value in changes.items():
        setattr(state, name, value)
    book = ex.orderbooks[SYMBOLS[kind][0]]
    before = _book_state(book)
    states = {SYMBOLS[kind][1]: state}
    assert apply_binance_diff(data, states, client) is False
    assert _book_state(book) == before and client.resolved == []


def test_non_int_nonce_and_foreign_books_are_declined():
    client = FakeClient(URLS["spot"])
    ex, state = exchange("spot", client, False, False)
    data = frame("spot", 1001, 1001, None, 1, [["99", "1"]], [])
    states = {"BTCUSDT": state}
    ex.orderbooks["BTC/USDT"]["nonce"] = None
    assert apply_binance_diff(data, states, client) is False
    ex.orderbooks["BTC/USDT"] = {"nonce": 1000, "bids": [], "asks": []}     # not our book
    assert apply_binance_diff(data, states, client) is False
    ex.orderbooks["BTC/USDT"] = ccxtpro_fast.CountedOrderBook({"nonce": 1000})
    assert apply_binance_diff(data, states, client) is False
    assert client.resolved == []


def test_a_malformed_level_raises_as_the_python_path_does():
    client = FakeClient(URLS["spot"])
    ex, state = exchange("spot", client, False, False)
    data = frame("spot", 1001, 1001, None, 1, [["99", "1"], ["x", "1"]], [])
    with pytest.raises(ValueError):
        apply_binance_diff(data, {"BTCUSDT": state}, client)
    assert client.resolved == []


@settings(max_examples=500, deadline=None)
@given(data=st.data())
def test_any_bytes_give_false_true_or_a_value_error(data):
    base = frame("spot", 1001, 1001, None, 1, [["99.5", "1"]], [["100.5", "0"]])
    cut = data.draw(st.integers(0, len(base)))
    junk = data.draw(st.binary(max_size=8))
    mutated = base[:cut] + junk + base[cut + data.draw(st.integers(0, 4)):]
    client = FakeClient(URLS["spot"])
    ex, state = exchange("spot", client, False, False)
    book = ex.orderbooks["BTC/USDT"]
    before = _book_state(book)
    try:
        applied = apply_binance_diff(mutated, {"BTCUSDT": state}, client)
    except ValueError:
        return      # a malformed level, as the Python path raises it
    if not applied:
        assert _book_state(book) == before and client.resolved == []
    else:
        assert len(client.resolved) == 1 and book["nonce"] > 1000


def test_spot_event_overlapping_the_book_is_applied_and_a_gap_resyncs(monkeypatch):
    """Binance spot's update procedure (tests/data/reference/binance_local_order_book_rules.md):
    ignore ``u`` below the book's update id, ``U > id + 1`` is a gap, anything else is
    applied, levels being absolute quantities. An event overlapping the book
    (``U <= id < u``) is therefore applied, not a resync."""
    frames = [
        frame("spot", 1001, 1003, None, 1, [["99.00", "5"]], []),
        # overlaps 1002..1003, which the book has, and carries 1004..1005
        frame("spot", 1002, 1005, None, 2, [["99.00", "6"], ["98.50", "0"]], [["100.50", "3"]]),
        frame("spot", 1006, 1006, None, 3, [], [["101.00", "0"]]),
        frame("spot", 1008, 1008, None, 4, [["97.00", "1"]], []),      # 1007 missing: a gap
    ]
    handled, trace, resolved, resyncs, calls = run("spot", frames, True, monkeypatch=monkeypatch)
    assert [t[0] for t in trace[:3]] == [1003, 1005, 1006]
    assert calls[1] and calls[2]        # the compiled path applies the overlap too
    assert trace[2][3] == [[99.0, 6.0]] and trace[2][4] == [[100.5, 3.0]]
    assert [r[0] for r in resyncs] == ["U 1008 after u 1006"]
    assert trace[3][0] == 1006 and trace[3][3] == [[99.0, 6.0]]
