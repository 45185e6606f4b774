"""Bybit ``orderbook.50`` handler: ccxtpro_fast.bybit against ccxt.pro.bybit on the same
decoded messages (no sockets; JSON already parsed, as both clients hand it over).

Messages: a generated linear session (simulator, seed 1, BTCUSDT and ETHUSDT 50-level
books: one snapshot each, then every delta), recorded once through a raw WebSocket
client. Ours also checks ``u`` continuity on every delta; ccxt.pro checks nothing.

    python -m benchmarks.bench_bybit_books [ticks] [passes]
"""
import asyncio
import statistics
import sys
import time

import aiohttp
import ccxt.pro
import orjson

import ccxtpro_fast
from ccxtpro_fast import sim

URL = "wss://stream.bybit.com/v5/public/linear"
TOPICS = ["orderbook.50.BTCUSDT", "orderbook.50.ETHUSDT"]


class _Client:
    url = "ws://127.0.0.1/stream.bybit.com/v5/public/linear"
    futures = {}
    subscriptions = {}

    def resolve(self, result, message_hash):
        pass

    def reject(self, error, message_hash=None):
        raise AssertionError(f"rejected {message_hash}: {error}")

    def closed(self):
        return False


async def record(ticks):
    """(instrument bodies, [book messages]) from the simulator."""
    async with sim.serve("bybit", sim.Generator(seed=1)) as s, aiohttp.ClientSession() as http:
        async with http.get(f"{s.http_base}/v5/market/instruments-info?category=linear") as r:
            instruments = await r.read()
        out = []
        async with http.ws_connect(s.local_url(URL)) as ws:
            await ws.send_str(orjson.dumps({"op": "subscribe", "args": TOPICS}).decode())
            conn, = await s.wait_subscribed(TOPICS[1], "linear")
            await s.step(ticks)
            while len(out) < conn.sent:
                msg = await ws.receive()
                if b'"topic"' in msg.data.encode():
                    out.append(msg.data)
        return instruments, out


def exchange(cls, instruments):
    """An exchange with the simulator's linear markets, parsed by ccxt's own
    fetch_future_markets from the served body (no network)."""
    ex = cls({"enableRateLimit": False})
    body = orjson.loads(instruments)

    async def served(params=None):
        return body

    ex.publicGetV5MarketInstrumentsInfo = served
    ex.set_markets(asyncio.run(ex.fetch_future_markets({"category": "linear"})))
    return ex


def run_once(ex, messages):
    """Handler time only: the messages are decoded before the clock starts (neither
    handler mutates a book message)."""
    client = _Client()
    handle = ex.handle_message
    ex.orderbooks = {}
    t0 = time.perf_counter()
    for message in messages:
        handle(client, message)
    return time.perf_counter() - t0


def main(ticks=2000, passes=5):
    instruments, texts = asyncio.run(record(ticks))
    messages = [orjson.loads(t) for t in texts]
    levels = sum(len(m["data"]["b"]) + len(m["data"]["a"]) for m in messages)
    results = {}
    for name, cls in (("ccxt.pro", ccxt.pro.bybit), ("ccxtpro_fast", ccxtpro_fast.bybit)):
        ex = exchange(cls, instruments)
        times = [run_once(ex, messages) for _ in range(passes)]
        results[name] = statistics.median(times)
        book = ex.orderbooks["BTC/USDT:USDT"]
        results[name + " top"] = (list(book["bids"][0]), list(book["asks"][0]))
    assert results["ccxt.pro top"] == results["ccxtpro_fast top"]
    n = len(messages)
    print(f"{n} messages, {levels} levels, decoded beforehand; median of {passes} passes")
    for name in ("ccxt.pro", "ccxtpro_fast"):
        print(f"{name:>13}: {results[name] / n * 1e6:7.2f} us/message  {results[name] / levels * 1e9:7.1f} ns/level")
    print(f"speed-up: {results['ccxt.pro'] / results['ccxtpro_fast']:.1f}x")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(*args)
