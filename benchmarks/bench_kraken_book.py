"""Kraken v2 ``book`` handler: ccxtpro_fast.kraken against ccxt.pro.kraken on the same
decoded messages (no sockets; JSON already parsed by orjson, as both clients hand it
over), and ours again from the frames' bytes, as our transport drives it (the compiled
raw hook; decoding only for what it declines).

Messages: a generated simulator session (seed 3) captured on the wire by a plain
client: BTC/USD at depth 10, ETH/USD at depth 25, ALGO/USD at depth 100, one snapshot
each then every update of ``ticks`` generator ticks. Ours verifies every checksum
(its default); ccxt.pro verifies none (its default: its checksum code cannot run).

    python -m benchmarks.bench_kraken_book [ticks] [passes]
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

BOOKS = {"BTC/USD": 10, "ETH/USD": 25, "ALGO/USD": 100}


class _Client:
    def __init__(self):
        self.futures = {}
        self.subscriptions = {"orderbook@" + s: {"limit": d} for s, d in BOOKS.items()}

    def resolve(self, result, message_hash):
        pass

    def reject(self, error, message_hash=None):
        raise AssertionError(f"rejected {message_hash}: {error}")

    def _spawn(self, coroutine):
        coroutine.close()
        raise AssertionError("a resync in a benchmark")


async def capture(ticks):
    """(markets, [raw frame bytes]) of one generated session."""
    async with sim.serve("kraken", sim.Generator(seed=3)) as s, aiohttp.ClientSession() as session:
        ex = s.attach(ccxt.pro.kraken())
        markets = await ex.load_markets()
        await ex.close()
        ws = await session.ws_connect(s.ws_base + "/ws.kraken.com/v2")
        await ws.receive()
        for symbol, depth in BOOKS.items():
            await ws.send_str(orjson.dumps({"method": "subscribe", "params": {
                "channel": "book", "symbol": [symbol], "depth": depth}}).decode())
        for symbol, depth in BOOKS.items():
            await s.wait_subscribed(f"book.{depth}:{symbol}")
        await s.step(ticks)
        frames = []
        while len(frames) < s.connections[0].sent:
            msg = await ws.receive()
            if msg.data.startswith('{"channel":"book"'):     # not acks, heartbeats
                frames.append(msg.data.encode())
        await ws.close()
    return markets, frames


def bench(cls, markets, messages, passes):
    ex = cls()
    ex.set_markets(list(markets.values()))
    client = _Client()
    handle = ex.handle_order_book
    best = []
    for _ in range(passes):
        t0 = time.perf_counter()
        for message in messages:
            handle(client, message)
        best.append(time.perf_counter() - t0)
    books = {s: ([list(x) for x in ex.orderbooks[s]["bids"]], [list(x) for x in ex.orderbooks[s]["asks"]])
             for s in BOOKS}
    return statistics.median(best) / len(messages) * 1e6, min(best) / len(messages) * 1e6, books, ex


def bench_raw(markets, frames, passes):
    """Ours as the transport drives it: each frame's bytes to the adapter's compiled hook
    first (book updates end there), the rest decoded and handed to handle_message."""
    ex = ccxtpro_fast.kraken()
    ex.set_markets(list(markets.values()))
    client = _Client()
    raw, handle, loads = ex.handle_raw_message, ex.handle_message, orjson.loads
    best = []
    for _ in range(passes):
        t0 = time.perf_counter()
        for frame in frames:
            if not raw(client, frame):
                handle(client, loads(frame))
        best.append(time.perf_counter() - t0)
    books = {s: ([list(x) for x in ex.orderbooks[s]["bids"]], [list(x) for x in ex.orderbooks[s]["asks"]])
             for s in BOOKS}
    return statistics.median(best) / len(frames) * 1e6, min(best) / len(frames) * 1e6, books, ex


def main():
    ticks = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    passes = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    markets, frames = asyncio.run(capture(ticks))
    messages = [orjson.loads(f) for f in frames]
    levels = sum(len(m["data"][0]["bids"]) + len(m["data"][0]["asks"]) for m in messages)
    theirs_med, theirs_min, theirs_books, _ = bench(ccxt.pro.kraken, markets, messages, passes)
    ours_med, ours_min, ours_books, ours = bench(ccxtpro_fast.kraken, markets, messages, passes)
    assert ours_books == theirs_books, "the two handlers built different books"
    verified = sum(s.verified for s in ours.book_syncs.values())
    print(f"{len(messages)} book messages, {levels} levels ({levels / len(messages):.1f}/message), "
          f"{passes} passes")
    print(f"ccxt.pro.kraken      median {theirs_med:7.2f} us/message  (best {theirs_min:.2f}), no checksum")
    print(f"ccxtpro_fast.kraken  median {ours_med:7.2f} us/message  (best {ours_min:.2f}), "
          f"checksum verified on every message ({verified} over all passes)")
    print(f"speed-up {theirs_med / ours_med:.1f}x")
    raw_med, raw_min, raw_books, raw_ex = bench_raw(markets, frames, passes)
    assert raw_books == theirs_books, "the compiled path built another book"
    print(f"ccxtpro_fast.kraken  median {raw_med:7.2f} us/message  (best {raw_min:.2f}) from the frame's "
          f"bytes (the transport's path: {raw_ex.handle_raw_message.applied} updates by the compiled "
          f"hook, no decoding; ccxt.pro's figure above leaves its decoding out)")
    print(f"speed-up {theirs_med / raw_med:.1f}x")


if __name__ == "__main__":
    main()
