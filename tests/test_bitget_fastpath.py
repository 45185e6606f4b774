"""The compiled Bitget update path (``_core.diffs.apply_bitget_update``) against the
adapter's Python path (``_bg_handle_books``).

Frames are Bitget v2 ``books`` pushes in the shape quoted in exchanges/bitget.py's
``_bg_handle_books`` docstring (the recorded session in tests/data/sessions, plus v2's
``seq``): a snapshot, then updates with an increasing ``seq`` and the CRC32 of the top 25
levels, computed here by the plain-Python rule (ccxtpro_fast.bench.workloads). The same
frames (in order, with seq going back, bad checksums and new snapshots) go through the
adapter with the compiled path on and off: every frame must end in the same book,
resolves and resyncs."""
import random

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ccxtpro_fast
from ccxtpro_fast._core.diffs import apply_bitget_update
from ccxtpro_fast.bench.workloads import checksum_python_reference
from ccxtpro_fast.exchanges import bitget as bitget_adapter

from sim_helpers import sim_markets

ARG = {"instType": "SPOT", "channel": "books", "instId": "BTCUSDT"}


class FakeClient:
    url = "ws://127.0.0.1/ws.bitget.com/v2/ws/public"

    def __init__(self):
        self.resolved = []
        self.futures = {}
        self.subscriptions = {}

    def resolve(self, result, message_hash):
        self.resolved.append((message_hash, result["timestamp"], result["datetime"],
                              result["bids"].tolist(), result["asks"].tolist()))

    def reject(self, error, message_hash=None):
        self.resolved.append(("reject", message_hash, type(error).__name__))

    def closed(self):
        return False


def loaded_markets():
    return sim_markets("bitget")


class Wire:
    def __init__(self):
        self.bids, self.asks = {}, {}

    def apply(self, bids, asks, reset=False):
        if reset:
            self.bids, self.asks = {}, {}
        for side, levels in ((self.bids, bids), (self.asks, asks)):
            for p, q in levels:
                if float(q) == 0:
                    side.pop(p, None)
                else:
                    side[p] = q

    def checksum(self):
        bids = [[p, self.bids[p]] for p in sorted(self.bids, key=float, reverse=True)]
        asks = [[p, self.asks[p]] for p in sorted(self.asks, key=float)]
        return checksum_python_reference(bids, asks)


def level(rng, base):
    return [f"{base + rng.randint(-40, 40) / 100:.2f}",
            "0" if rng.random() < 0.25 else f"{rng.randint(1, 10**5) / 10000:.4f}"]


def push(action, bids, asks, ts, checksum, seq):
    return orjson.dumps({"action": action, "arg": ARG, "data": [{
        "asks": asks, "bids": bids, "checksum": checksum, "ts": str(ts), "seq": seq}], "ts": ts})


def session(rng, n):
    wire = Wire()
    bids = [[f"{99 - i / 100:.2f}", "1.0000"] for i in range(30)]
    asks = [[f"{101 + i / 100:.2f}", "1.0000"] for i in range(30)]
    wire.apply(bids, asks)
    seq = 10
    frames = [push("snapshot", bids, asks, 1700000000000, wire.checksum(), seq)]
    for i in range(n):
        r = rng.random()
        ts = 1700000000000 + 100 * (i + 1)
        b = [level(rng, 99) for _ in range(rng.randint(0, 4))]
        a = [level(rng, 101) for _ in range(rng.randint(0, 4))]
        if r < 0.03:
            seq += 1
            wire.apply(b, a, reset=True)
            frames.append(push("snapshot", b, a, ts, wire.checksum(), seq))
            continue
        wire.apply(b, a)
        seq = seq - 1 if r > 0.97 else seq + rng.randint(1, 3)     # going back: out of order
        checksum = wire.checksum() ^ (0x77 if 0.94 < r <= 0.97 else 0)
        frames.append(push("update", b, a, ts, checksum, seq))
    return frames


def run(frames, fast, monkeypatch):
    ex = ccxtpro_fast.bitget({"enableRateLimit": False})
    ex.set_markets(loaded_markets())
    client = FakeClient()
    resyncs = []

    def resync(self, client_, st_, reason):
        resyncs.append(reason)
        st_.synced = False

    monkeypatch.setattr(bitget_adapter.bitget, "_bg_resync", resync)
    hook = ex.handle_raw_message
    calls = []      # per frame: did the core apply it
    trace = []
    for data in frames:
        applied = hook.applied
        # the Python path alone: every frame through handle_message
        if not (fast and hook(client, data)):
            ex.handle_message(client, orjson.loads(data))
        calls.append(hook.applied > applied)
        book = ex.orderbooks.get("BTC/USDT")
        syncs = [(s.seq, s.synced, s.checksums, s.failures) for s in ex.book_syncs.values()]
        trace.append((book["timestamp"], book["datetime"], book["bids"].tolist(), book["asks"].tolist(), syncs))
    return trace, client.resolved, resyncs, calls


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_compiled_path_matches_the_python_path(seed):
    frames = session(random.Random(seed), 60)
    with pytest.MonkeyPatch.context() as mp:
        fast = run(frames, True, mp)
    with pytest.MonkeyPatch.context() as mp:
        slow = run(frames, False, mp)
    assert fast[:3] == slow[:3]
    trace, _, resyncs, calls = fast
    end = next((i for i, t in enumerate(trace) if not t[4][0][1]), len(frames))
    # the first update registers the channel's route (the Python path); the core the rest
    updates = [i for i in range(end) if b'"action":"update"' in frames[i]][1:]
    assert all(calls[i] is True for i in updates)


def test_a_bad_checksum_is_applied_then_resynchronised(monkeypatch):
    frames = session(random.Random(4), 5)
    data = orjson.loads(frames[-1])
    data["action"] = "update"
    data["data"][0]["checksum"] ^= 1
    data["data"][0]["seq"] = 10 ** 6
    frames[-1] = orjson.dumps(data)
    trace, resolved, resyncs, calls = run(frames, True, monkeypatch)
    # applied by the core, then found wrong
    assert calls[-1] is True and resyncs[-1] == "checksum"


DECLINED = [
    # a level array's end is found as its first "]" followed by "]" (jsonscan._level_keys):
    # a shape where that is not the end declines, never yields other levels
    ("a level ending in a list", lambda f: f.replace(b'"2"]]', b'["2"]]]')),
    ('"]]" inside a level string', lambda f: f.replace(b'"2"]]', b'"2]]"]]')),
    ("snapshot", lambda f: f.replace(b'"action":"update"', b'"action":"snapshot"')),
    ("seq not increasing", lambda f: f.replace(b'"seq":11', b'"seq":10')),
    ("v1 level keys", lambda f: f.replace(b'"bids":', b'"b":')),
    ("numeric ts", lambda f: f.replace(b'"ts":"1700000000100"', b'"ts":1700000000100')),
    ("two updates", lambda f: f.replace(b'}],"ts"', b'},{}],"ts"')),
    ("an event", lambda f: f.replace(b'{"action"', b'{"event":"x","action"')),
    ("another instrument", lambda f: f.replace(b'BTCUSDT', b'ETHUSDT')),
    ("truncated", lambda f: f[:-5]),
]


@pytest.mark.parametrize("what, change", DECLINED, ids=[d[0] for d in DECLINED])
def test_declined_frames_change_nothing(what, change):
    ex = ccxtpro_fast.bitget({"enableRateLimit": False})
    ex.set_markets(loaded_markets())
    client = FakeClient()
    ex.handle_message(client, orjson.loads(push("snapshot", [["99.00", "1"]], [["101.00", "1"]],
                                                1700000000000, 0, 10)))
    update = push("update", [["99.50", "2"]], [], 1700000000100, 0, 11)
    routes = {orjson.dumps(ARG): next(iter(ex.book_syncs.values()))}
    book = ex.orderbooks["BTC/USDT"]
    before = (book["timestamp"], book["bids"].tolist(), book["asks"].tolist())
    client.resolved.clear()
    assert apply_bitget_update(change(update), routes, ex.orderbooks, ex.iso8601, client) is False
    assert (book["timestamp"], book["bids"].tolist(), book["asks"].tolist()) == before
    assert client.resolved == []
    assert apply_bitget_update(update, routes, ex.orderbooks, ex.iso8601, client) is not False


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_bytes_give_a_defined_answer(data):
    ex = ccxtpro_fast.bitget({"enableRateLimit": False})
    ex.set_markets(loaded_markets())
    client = FakeClient()
    ex.handle_message(client, orjson.loads(push("snapshot", [["99.00", "1"]], [["101.00", "1"]],
                                                1700000000000, 0, 10)))
    routes = {orjson.dumps(ARG): next(iter(ex.book_syncs.values()))}
    base = push("update", [["99.50", "2"]], [["101.00", "0"]], 1700000000100, 0, 11)
    cut = data.draw(st.integers(0, len(base)))
    mutated = base[:cut] + data.draw(st.binary(max_size=6)) + base[cut + data.draw(st.integers(0, 4)):]
    book = ex.orderbooks["BTC/USDT"]
    before = (book["bids"].tolist(), book["asks"].tolist())
    client.resolved.clear()
    try:
        result = apply_bitget_update(mutated, routes, ex.orderbooks, ex.iso8601, client)
    except ValueError:
        return
    if result is False:
        assert (book["bids"].tolist(), book["asks"].tolist()) == before and client.resolved == []


@pytest.mark.parametrize("channel", ["books", "books5"])
@pytest.mark.parametrize("action", ["snapshot", "update"])
def test_a_push_with_no_data_changes_nothing_as_in_ccxt_pro(channel, action):
    """``"data": []`` (no book in the push): ccxt.pro's handle_order_book returns without
    a book; ours raised IndexError from the handler."""
    import ccxt.pro
    message = {"action": action, "arg": dict(ARG, channel=channel), "data": [], "ts": 1695710946294}
    for cls in (ccxt.pro.bitget, ccxtpro_fast.bitget):
        ex = cls({"enableRateLimit": False})
        ex.set_markets(loaded_markets())
        client = FakeClient()
        ex.handle_message(client, orjson.loads(orjson.dumps(message)))
        assert ex.orderbooks.get("BTC/USDT") is None or not len(ex.orderbooks["BTC/USDT"]["bids"])
        assert client.resolved == []
