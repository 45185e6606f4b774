"""The compiled OKX update path (``_core.diffs.apply_okx_update``) against the adapter's
Python path (``_okx_on_books``).

Frames follow OKX's documented ``books`` pushes (the "Sequence ID" and "Checksum"
examples quoted in exchanges/okx.py's ``_okx_on_books`` docstring): a snapshot with
``prevSeqId`` -1, then updates chained by ``prevSeqId``/``seqId`` with the checksum of
the top 25 levels computed here by the plain-Python rule (ccxtpro_fast.bench.workloads).
The same frames (in order, with gaps, keep-alives, resets and bad checksums) go through
the adapter with the compiled path on and off: every frame must end in the same book,
the same resolves and the same resyncs."""
import asyncio
import random

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ccxtpro_fast
from ccxtpro_fast._core.diffs import apply_okx_update
from ccxtpro_fast.bench.workloads import checksum_python_reference
from ccxtpro_fast.exchanges import okx as okx_adapter

from sim_helpers import sim_markets

URL = "ws://127.0.0.1/ws.okx.com/ws/v5/public"
ARG = {"channel": "books", "instId": "BTC-USDT"}
HASH = "books:BTC/USDT"


class FakeClient:
    def __init__(self):
        self.url = URL
        self.resolved = []
        self.futures = {}
        self.subscriptions = {}
        self.sent = []

    def resolve(self, result, message_hash):
        self.resolved.append((message_hash, result["nonce"], result["timestamp"], result["datetime"],
                              result["bids"].tolist(), result["asks"].tolist()))

    def reject(self, error, message_hash=None):
        self.resolved.append(("reject", message_hash, type(error).__name__))

    def send_now(self, message):
        self.sent.append(message)


def loaded_markets():
    return sim_markets("okx")


class Wire:
    """The book as OKX holds it (wire strings), to compute each push's checksum."""

    def __init__(self):
        self.bids, self.asks = {}, {}

    def apply(self, bids, asks):
        for side, levels in ((self.bids, bids), (self.asks, asks)):
            for p, q, *_ in levels:
                if float(q) == 0:
                    side.pop(p, None)
                else:
                    side[p] = q

    def checksum(self):
        bids = [[p, self.bids[p]] for p in sorted(self.bids, key=float, reverse=True)]
        asks = [[p, self.asks[p]] for p in sorted(self.asks, key=float)]
        return checksum_python_reference(bids, asks)


def level(rng, base):
    price = f"{base + rng.randint(-40, 40) / 10:.1f}"
    size = "0" if rng.random() < 0.25 else f"{rng.randint(1, 10**5) / 1000:.3f}"
    return [price, size, "0", str(rng.randint(0, 9))]


def push(action, levels_bids, levels_asks, ts, checksum, prev, seq):
    return orjson.dumps({"arg": ARG, "action": action, "data": [{
        "asks": levels_asks, "bids": levels_bids, "ts": str(ts), "checksum": checksum,
        "prevSeqId": prev, "seqId": seq}]})


def session(rng, n):
    wire = Wire()
    bids = [[f"{100 - i / 10:.1f}", "1.000", "0", "1"] for i in range(1, 40)]
    asks = [[f"{100 + i / 10:.1f}", "1.000", "0", "1"] for i in range(1, 40)]
    wire.apply(bids, asks)
    seq = 5000
    frames = [push("snapshot", bids, asks, 1700000000000, wire.checksum(), -1, seq)]
    for i in range(n):
        r = rng.random()
        ts = 1700000000000 + 100 * (i + 1)
        if r < 0.05:
            # keep-alive: empty sides, seqId == prevSeqId (docs step 3)
            frames.append(push("update", [], [], ts, wire.checksum(), seq, seq))
            continue
        b = [level(rng, 99.0) for _ in range(rng.randint(0, 4))]
        a = [level(rng, 101.0) for _ in range(rng.randint(0, 4))]
        wire.apply(b, a)
        nxt = seq - rng.randint(1, 100) if r < 0.08 else seq + rng.randint(1, 3)  # reset (step 4)
        checksum = wire.checksum()
        if r > 0.97:
            checksum ^= 0x5A5A         # a corrupted checksum
        prev = seq + 7 if 0.95 < r <= 0.97 else seq     # a gap
        frames.append(push("update", b, a, ts, checksum, prev, nxt))
        seq = nxt
    return frames


def run(frames, fast, monkeypatch, verify=True):
    ex = ccxtpro_fast.okx({"enableRateLimit": False,
                          "options": {"watchOrderBook": {"checksum": verify}}})
    ex.set_markets(loaded_markets())
    client = FakeClient()
    resyncs = []

    def resync(self, client_, channel, inst_id, symbol, message_hash, error):
        # recorded identically on both runs; the book is dropped as the real one does
        resyncs.append((channel, inst_id, type(error).__name__, str(error)))
        self.orderbooks.pop(symbol, None)

    monkeypatch.setattr(okx_adapter.OkxNative, "_okx_resync", resync)
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
        trace.append(None if book is None else (book["nonce"], book["timestamp"], book["datetime"],
                                                book["bids"].tolist(), book["asks"].tolist()))
    return trace, client.resolved, resyncs, calls


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), verify=st.booleans())
def test_compiled_path_matches_the_python_path(seed, verify):
    frames = session(random.Random(seed), 60)
    with pytest.MonkeyPatch.context() as mp:
        fast = run(frames, True, mp, verify)
    with pytest.MonkeyPatch.context() as mp:
        slow = run(frames, False, mp, verify)
    assert fast[:3] == slow[:3]
    # after the first update registered the route, in-chain updates take the core
    trace, _, resyncs, calls = fast
    first_resync = len(frames)
    if resyncs:
        first_resync = next(i for i, t in enumerate(trace) if t is None)
    assert all(calls[i] is True for i in range(2, first_resync))


def test_a_bad_checksum_is_applied_then_resynchronised(monkeypatch):
    rng = random.Random(3)
    frames = session(rng, 5)
    data = orjson.loads(frames[-1])
    data["data"][0]["checksum"] ^= 1
    frames[-1] = orjson.dumps(data)
    trace, resolved, resyncs, calls = run(frames, True, monkeypatch)
    # applied by the core, then found wrong
    assert calls[-1] is True and resyncs[-1][3].endswith(f'expected {data["data"][0]["checksum"]}')
    assert resyncs and resyncs[-1][2] == "ChecksumError" and trace[-1] is None


DECLINED = [
    ("snapshot", lambda f: f.replace(b'"action":"update"', b'"action":"snapshot"')),
    ("gap", lambda f: f.replace(b'"prevSeqId":5000', b'"prevSeqId":4999')),
    ("prevSeqId -1", lambda f: f.replace(b'"prevSeqId":5000', b'"prevSeqId":-1')),
    ("no seqId", lambda f: f.replace(b',"seqId":5001', b'')),
    ("numeric ts", lambda f: f.replace(b'"ts":"1700000000100"', b'"ts":1700000000100')),
    ("two updates", lambda f: f.replace(b'}]}', b'},{}]}')),
    ("an event", lambda f: f.replace(b'{"arg"', b'{"event":"x","arg"')),
    ("an error code", lambda f: f.replace(b'{"arg"', b'{"code":"1","arg"')),
    ("another instrument", lambda f: f.replace(b'BTC-USDT', b'ETH-USDT')),
    ("truncated", lambda f: f[:-5]),
    ("levels not arrays", lambda f: f.replace(b'"asks":[', b'"asks":"x","y":[')),
    # the envelope: the update is read inside "data" in the same walk, so its shape counts
    ("data an object", lambda f: f.replace(b'"data":[{', b'"data":{').replace(b'}]}', b'}}')),
    ("an update and a number", lambda f: f.replace(b'}]}', b'},1]}')),
    ("data repeated as a number", lambda f: f[:-1] + b',"data":0}'),
    ("data repeated as two updates", lambda f: f[:-1] + b',"data":[{},{}]}'),
    # a level array's end is found as its first "]" followed by "]" (jsonscan._level_keys):
    # a shape where that is not the end declines, never yields other levels
    ("a level ending in a list", lambda f: f.replace(b'"0","1"]]', b'"0",["1"]]]')),
    ('"]]" inside a level string', lambda f: f.replace(b'"0","1"]]', b'"0","1]]"]]')),
]


@pytest.mark.parametrize("what, change", DECLINED, ids=[d[0] for d in DECLINED])
def test_declined_frames_change_nothing(what, change, monkeypatch):
    frames = [push("snapshot", [["99.0", "1", "0", "1"]], [["101.0", "1", "0", "1"]], 1700000000000, 0, -1, 5000)]
    update = push("update", [["99.5", "2", "0", "1"]], [], 1700000000100, 0, 5000, 5001)
    ex = ccxtpro_fast.okx({"enableRateLimit": False})
    ex.set_markets(loaded_markets())
    client = FakeClient()
    ex.handle_message(client, orjson.loads(frames[0]))
    routes = {orjson.dumps(ARG): ("BTC/USDT", HASH)}
    book = ex.orderbooks["BTC/USDT"]
    before = (book["nonce"], book["bids"].tolist(), book["asks"].tolist())
    client.resolved.clear()
    assert apply_okx_update(change(update), routes, ex.orderbooks, ex.iso8601, client, True) is False
    assert (book["nonce"], book["bids"].tolist(), book["asks"].tolist()) == before
    assert client.resolved == []
    # and the unchanged update is taken
    assert apply_okx_update(update, routes, ex.orderbooks, ex.iso8601, client, True) is True
    assert book["nonce"] == 5001 and book["bids"].tolist()[0] == [99.5, 2.0]


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_bytes_give_a_defined_answer(data):
    base = push("update", [["99.5", "2", "0", "1"]], [["101.5", "0", "0", "0"]], 1700000000100, 0, 5000, 5001)
    cut = data.draw(st.integers(0, len(base)))
    mutated = base[:cut] + data.draw(st.binary(max_size=6)) + base[cut + data.draw(st.integers(0, 4)):]
    book = ccxtpro_fast.OrderBook({"bids": [["99.0", "1"]], "asks": [["101.0", "1"]], "nonce": 5000})
    client = FakeClient()
    before = (book["bids"].tolist(), book["asks"].tolist())
    try:
        result = apply_okx_update(mutated, {orjson.dumps(ARG): ("BTC/USDT", HASH)},
                                  {"BTC/USDT": book}, ccxtpro_fast.okx().iso8601, client, True)
    except ValueError:
        return      # a malformed level, raised as the Python path raises it
    if result is False:
        assert (book["bids"].tolist(), book["asks"].tolist()) == before and client.resolved == []
    else:
        assert result is True or (type(result) is tuple and len(result) == 2)


def test_our_client_resolves_only_when_someone_waits():
    """With our client (whose resolve is the compiled copy of ccxt's), the core settles
    the book's future when one waits and skips the call for the rest of a burst; the same
    frames, the same book either way."""
    markets = loaded_markets()

    async def main():
        ex = ccxtpro_fast.okx({"enableRateLimit": False})
        ex.set_markets(markets)
        client = ex.client(URL)
        calls = []
        type_resolve = type(client).resolve

        def counting(result, message_hash):
            calls.append(message_hash)
            return type_resolve(client, result, message_hash)

        client.resolve = counting       # the instance's: the core's type check still passes
        frames = session(random.Random(7), 12)
        try:
            ex.handle_message(client, orjson.loads(frames[0]))       # the snapshot
            ex.handle_message(client, orjson.loads(frames[1]))       # routes the channel
            applied = ex.handle_raw_message.applied
            calls.clear()
            waiter = client.future(HASH)
            for data in frames[2:12]:
                if not ex.handle_raw_message(client, data):
                    ex.handle_message(client, orjson.loads(data))
            assert ex.handle_raw_message.applied > applied and not ex._okx_resyncs
            # the first applied update found the waiter; the others did not call resolve
            assert waiter.done() and calls.count(HASH) == 1
        finally:
            await ex.close()
    asyncio.run(main())
