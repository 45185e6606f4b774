"""The compiled Bybit delta path (``_core.diffs.apply_bybit_delta``) against the
adapter's Python path (``_Book.on_message``).

Frames are Bybit v5 ``orderbook`` pushes in the documented shape (docs/v5/websocket/
public/orderbook, quoted in exchanges/bybit.py's ``_Book.on_message``): a snapshot, then
deltas whose ``u`` continues by one. The same frames (in order, with gaps, new
snapshots, a depth-1 topic) go through the adapter with the compiled path on and off:
every frame must end in the same book, resolves and resyncs."""
import random

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ccxtpro_fast
from ccxtpro_fast._core.diffs import apply_bybit_delta
from ccxtpro_fast.exchanges import bybit as bybit_adapter

from sim_helpers import sim_markets

URL = "ws://127.0.0.1/stream.bybit.com/v5/public/spot"


class FakeClient:
    def __init__(self):
        self.url = URL
        self.resolved = []
        self.futures = {}
        self.subscriptions = {}

    def resolve(self, result, message_hash):
        if isinstance(result, dict) and "bids" in result:
            self.resolved.append((message_hash, result["timestamp"], result["datetime"],
                                  result["bids"].tolist(), result["asks"].tolist()))
        else:
            self.resolved.append((message_hash, repr(result)))

    def reject(self, error, message_hash=None):
        self.resolved.append(("reject", message_hash, type(error).__name__))

    def closed(self):
        return False


def loaded_markets():
    return sim_markets("bybit")


def level(rng, base):
    return [f"{base + rng.randint(-40, 40) / 100:.2f}",
            "0" if rng.random() < 0.25 else f"{rng.randint(1, 10**5) / 1000:.3f}"]


def push(topic, kind, ts, bids, asks, u, seq=None):
    data = {"s": "BTCUSDT", "b": bids, "a": asks, "u": u}
    if seq is not None:
        data["seq"] = seq
    return orjson.dumps({"topic": topic, "type": kind, "ts": ts, "data": data, "cts": ts - 2})


def session(rng, n, topic="orderbook.50.BTCUSDT"):
    u = 100
    frames = [push(topic, "snapshot", 1700000000000, [level(rng, 99) for _ in range(5)],
                   [level(rng, 101) for _ in range(5)], u, 1)]
    for i in range(n):
        r = rng.random()
        ts = 1700000000000 + 20 * (i + 1)
        if r < 0.03:
            u = rng.randint(1, 50)
            frames.append(push(topic, "snapshot", ts, [level(rng, 99)], [level(rng, 101)], u, i + 2))
            continue
        step = 2 if r > 0.97 else 1         # a gap
        u += step
        frames.append(push(topic, "delta", ts, [level(rng, 99) for _ in range(rng.randint(0, 3))],
                           [level(rng, 101) for _ in range(rng.randint(0, 3))], u,
                           None if r < 0.1 else i + 2))
    return frames


def run(frames, fast, monkeypatch):
    ex = ccxtpro_fast.bybit({"enableRateLimit": False})
    ex.set_markets(loaded_markets())
    client = FakeClient()
    resyncs = []

    def resync(self, client_, u=None):
        resyncs.append((self.topic, u))
        self.synced = False

    monkeypatch.setattr(bybit_adapter._Book, "resync", resync)
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
        state = ex.bybit_book_state("BTC/USDT")
        trace.append((None if book is None else (book["timestamp"], book["datetime"], book["nonce"],
                                                 book["bids"].tolist(), book["asks"].tolist()),
                      [(s["topic"], s["synced"], s["u"], s["seq"]) for s in state]))
    return trace, client.resolved, resyncs, calls


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), depth=st.sampled_from([50, 1]))
def test_compiled_path_matches_the_python_path(seed, depth):
    frames = session(random.Random(seed), 60, f"orderbook.{depth}.BTCUSDT")
    with pytest.MonkeyPatch.context() as mp:
        fast = run(frames, True, mp)
    with pytest.MonkeyPatch.context() as mp:
        slow = run(frames, False, mp)
    assert fast[:3] == slow[:3]
    calls = fast[3]
    if depth == 1:
        assert not any(calls)       # depth 1 also resolves bids/asks: the Python path
    else:
        # the deltas after the first (which routes the topic) up to the first gap
        end = next((i for i, t in enumerate(fast[0]) if t[1] and not t[1][0][1]), len(frames))
        deltas = [i for i in range(2, end) if b'"type":"delta"' in frames[i]]
        assert all(calls[i] is True for i in deltas)


DECLINED = [
    # a level array's end is found as its first "]" followed by "]" (jsonscan._level_keys):
    # a shape where that is not the end declines, never yields other levels
    ("a level ending in a list", lambda f: f.replace(b'"2"]]', b'["2"]]]')),
    ('"]]" inside a level string', lambda f: f.replace(b'"2"]]', b'"2]]"]]')),
    ("snapshot", lambda f: f.replace(b'"type":"delta"', b'"type":"snapshot"')),
    ("gap", lambda f: f.replace(b'"u":101', b'"u":102')),
    ("old u", lambda f: f.replace(b'"u":101', b'"u":100')),
    ("no ts", lambda f: f.replace(b'"ts":1700000000020,', b'')),
    ("unknown topic", lambda f: f.replace(b'orderbook.50.BTCUSDT', b'orderbook.50.ETHUSDT')),
    ("string u", lambda f: f.replace(b'"u":101', b'"u":"101"')),
    ("truncated", lambda f: f[:-4]),
    ("data not an object", lambda f: f.replace(b'"data":{', b'"data":[{').replace(b',"cts"', b'],"cts"')),
    ("data repeated as a number", lambda f: f[:-1] + b',"data":0}'),
    ("data repeated as an array", lambda f: f[:-1] + b',"data":[]}'),
]


@pytest.mark.parametrize("what, change", DECLINED, ids=[d[0] for d in DECLINED])
def test_declined_frames_change_nothing(what, change):
    topic = "orderbook.50.BTCUSDT"
    ex = ccxtpro_fast.bybit({"enableRateLimit": False})
    ex.set_markets(loaded_markets())
    client = FakeClient()
    ex.handle_message(client, orjson.loads(push(topic, "snapshot", 1700000000000, [["99.00", "1"]],
                                                [["101.00", "1"]], 100, 1)))
    update = push(topic, "delta", 1700000000020, [["99.50", "2"]], [], 101, 2)
    states = ex._bybit_books[client]
    book = ex.orderbooks["BTC/USDT"]
    before = (book["timestamp"], book["bids"].tolist(), book["asks"].tolist())
    client.resolved.clear()
    assert apply_bybit_delta(change(update), states, ex.orderbooks, client) is False
    assert (book["timestamp"], book["bids"].tolist(), book["asks"].tolist()) == before
    assert client.resolved == [] and states[topic].u == 100
    assert apply_bybit_delta(update, states, ex.orderbooks, client) is True
    assert states[topic].u == 101 and states[topic].seq == 2 and book["bids"].tolist()[0] == [99.5, 2.0]


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_bytes_give_a_defined_answer(data):
    topic = "orderbook.50.BTCUSDT"
    ex = ccxtpro_fast.bybit({"enableRateLimit": False})
    ex.set_markets(loaded_markets())
    client = FakeClient()
    ex.handle_message(client, orjson.loads(push(topic, "snapshot", 1700000000000, [["99.00", "1"]],
                                                [["101.00", "1"]], 100, 1)))
    base = push(topic, "delta", 1700000000020, [["99.50", "2"]], [["101.00", "0"]], 101, 2)
    cut = data.draw(st.integers(0, len(base)))
    mutated = base[:cut] + data.draw(st.binary(max_size=6)) + base[cut + data.draw(st.integers(0, 4)):]
    book = ex.orderbooks["BTC/USDT"]
    before = (book["bids"].tolist(), book["asks"].tolist())
    client.resolved.clear()
    try:
        result = apply_bybit_delta(mutated, ex._bybit_books[client], ex.orderbooks, client)
    except ValueError:
        return      # a malformed level, raised as the Python path raises it
    if not result:
        assert (book["bids"].tolist(), book["asks"].tolist()) == before and client.resolved == []
