"""Binance ``depthUpdate`` handler: ccxt.pro.binance against ccxtpro_fast.binance on the
same frames (no sockets).

Frames: a generated spot session (simulator, seed 1, BTCUSDT, 200-level book; the
first diffs after a REST snapshot), recorded once through a raw WebSocket client as
the bytes Binance sends on a ``/ws`` stream. Each pass starts from the snapshot. Three
paths, each timed from the frame's bytes to the merged book:

* ``ccxtpro``: orjson.loads + ccxt.pro's ``handle_message`` (its dispatch table, U/u
  checks, ccxt's Python OrderBook), what ccxt.pro pays per frame after the transport;
* ``fast_decoded``: orjson.loads + our ``handle_message`` (``store_levels`` on the
  decoded level lists);
* ``fast_raw``: our ``handle_raw_message`` (``scan_fields`` + ``store_json`` straight
  from the bytes), the path the transport takes.

    python -m benchmarks.bench_binance_handler [ticks] [passes]
    pytest benchmarks/bench_binance_handler.py --benchmark-enable
"""
import asyncio
import statistics
import sys
import time

import aiohttp
import ccxt.pro
import orjson
import pytest

import ccxtpro_fast
from ccxtpro_fast import sim

SYMBOL = "BTC/USDT"


class _Client:
    url = "ws://127.0.0.1/stream.binance.com/ws/0"
    futures = {}
    subscriptions = {}

    def resolve(self, result, message_hash):
        pass

    def reject(self, error, message_hash=None):
        raise AssertionError(f"rejected {message_hash}: {error}")


async def record(ticks):
    """(exchangeInfo body, snapshot body, [depth frames as bytes])."""
    async with sim.serve("binance", sim.Generator(seed=1)) as s, aiohttp.ClientSession() as http:
        base = f"{s.http_base}/api.binance.com/api/v3"
        async with http.get(f"{base}/exchangeInfo") as r:
            info = await r.read()
        frames = []
        async with http.ws_connect(f"{s.ws_base}/stream.binance.com/ws/btcusdt@depth@100ms") as ws:
            conn, = await s.wait_subscribed("btcusdt@depth@100ms", "spot")
            async with http.get(f"{base}/depth", params={"symbol": "BTCUSDT", "limit": "1000"}) as r:
                snapshot = await r.read()
            await s.step(ticks)
            while len(frames) < conn.sent:
                frames.append((await ws.receive()).data.encode())
        return info, snapshot, frames


def exchange(cls, info):
    ex = cls({"enableRateLimit": False, "options": {"fetchMarkets": {"types": ["spot"]}}})
    body = orjson.loads(info)

    async def served(params=None):
        return body

    ex.publicGetExchangeInfo = served
    ex.set_markets(asyncio.run(ex.fetch_markets()))
    return ex


def prepare(ex, snapshot):
    """The book right after the REST snapshot, as each adapter holds it then."""
    body = orjson.loads(snapshot)
    # as ccxt's fetch_order_book hands it over: floats
    bids = [[float(p), float(q)] for p, q in body['bids']]
    asks = [[float(p), float(q)] for p, q in body['asks']]
    book = ex.order_book({'bids': bids, 'asks': asks, 'nonce': body['lastUpdateId'],
                          'symbol': SYMBOL}, 1000)
    ex.orderbooks = {SYMBOL: book}
    state = getattr(ex, '_bn_depth_state', None)
    if state is not None:
        st = state(SYMBOL)
        st.synced = True
        st.first = True
    return book


def make_runner(path, info, snapshot, frames):
    """(setup, run): setup puts the book back at the snapshot (not timed), run handles
    every frame and returns the book."""
    ex = exchange(ccxt.pro.binance if path == "ccxtpro" else ccxtpro_fast.binance, info)
    client = _Client()
    loads = orjson.loads

    def setup():
        prepare(ex, snapshot)

    if path == "fast_raw":
        def run():
            handle = ex.handle_raw_message
            for frame in frames:
                handle(client, frame)
            return ex.orderbooks[SYMBOL]
    else:
        def run():
            handle = ex.handle_message
            for frame in frames:
                handle(client, loads(frame))
            return ex.orderbooks[SYMBOL]
    return setup, run


@pytest.fixture(scope="module")
def session():
    return asyncio.run(record(300))


@pytest.mark.parametrize("path", ["ccxtpro", "fast_decoded", "fast_raw"])
def test_depth_handler(benchmark, session, path):
    info, snapshot, frames = session
    setup, run = make_runner(path, info, snapshot, frames)
    book = benchmark.pedantic(run, setup=setup, rounds=30)
    # every path ends with the same book
    ref_setup, ref_run = make_runner("ccxtpro", info, snapshot, frames)
    ref_setup()
    reference = ref_run()
    assert book['nonce'] == reference['nonce'] and list(book['bids']) == list(reference['bids'])
    assert list(book['asks']) == list(reference['asks'])


def main(ticks=300, passes=30):
    info, snapshot, frames = asyncio.run(record(ticks))
    levels = sum(len(orjson.loads(f)["b"]) + len(orjson.loads(f)["a"]) for f in frames)
    print(f"{len(frames)} depthUpdate frames, {levels / len(frames):.1f} levels per frame, "
          f"median of {passes} passes")
    results = {}
    for path in ("ccxtpro", "fast_decoded", "fast_raw"):
        setup, run = make_runner(path, info, snapshot, frames)
        times = []
        for _ in range(passes + 1):
            setup()
            t0 = time.perf_counter()
            run()
            times.append(time.perf_counter() - t0)
        times = times[1:]       # the first pass warms caches (routes, iso8601 second)
        results[path] = statistics.median(times) / len(frames) * 1e6
    for path, us in results.items():
        print(f"{path:13s} {us:7.2f} us/frame   {results['ccxtpro'] / us:5.1f}x")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
