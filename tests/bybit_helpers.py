"""Helpers for the Bybit tests: a tracing subclass usable on ccxt.pro's and our class,
ground truth from the generator, and condition waits (no fixed sleeps)."""
from __future__ import annotations

import asyncio
import time

import ccxt.pro
import orjson

import ccxtpro_fast

KIND = {"BTC/USDT": "spot", "ETH/USDT": "spot", "BTC/USDT:USDT": "linear", "ETH/USDT:USDT": "linear",
        "BTC/USD:BTC": "inverse"}
MARKET_ID = {"BTC/USDT": "BTCUSDT", "ETH/USDT": "ETHUSDT", "BTC/USDT:USDT": "BTCUSDT",
             "ETH/USDT:USDT": "ETHUSDT", "BTC/USD:BTC": "BTCUSD"}


def tracing(cls):
    """``cls`` recording, after every data message it handles, the state it produced:
    the whole book (both sides, timestamp, nonce) after each order-book message, each
    resolved ticker, and the number of data messages per connection kind. Hooked on
    ``handle_message``, the entry point both ccxt.pro's and our class share, and on our
    ``handle_raw_message``, where in-sequence deltas are handled before decoding."""

    class Tracing(cls):
        def __init__(self, config=None):
            super().__init__(config or {})
            self.books: dict[str, list] = {}
            self.ticks: dict[str, list] = {}
            self.data_messages: dict[str, int] = {}
            self.raw_handled = 0      # deltas the compiled path applied

        if hasattr(cls, "handle_raw_message"):
            def handle_raw_message(self, client, data):
                handled = super().handle_raw_message(client, data)
                if handled:
                    self.raw_handled += 1
                    self._after(client, orjson.loads(data))
                return handled

        def handle_message(self, client, message):
            super().handle_message(client, message)
            self._after(client, message)

        def _after(self, client, message):
            topic = message.get("topic") if isinstance(message, dict) else None
            if topic is None:
                return
            url = client.url
            kind = "spot" if "spot" in url else "linear" if "linear" in url else "inverse"
            self.data_messages[kind] = self.data_messages.get(kind, 0) + 1
            if topic.startswith("orderbook."):
                for symbol, market_kind in KIND.items():
                    if market_kind == kind and topic.endswith("." + MARKET_ID[symbol]) and symbol in self.orderbooks:
                        ob = self.orderbooks[symbol]
                        self.books.setdefault(topic + "@" + kind, []).append(
                            (message["data"]["u"], ob["timestamp"], ob["datetime"], ob["nonce"], ob["symbol"],
                             [list(x) for x in ob["bids"]], [list(x) for x in ob["asks"]], message["type"]))
            elif topic.startswith("tickers."):
                self.ticks.setdefault(topic + "@" + kind, []).append(
                    {s: dict(t) for s, t in self.tickers.items()})

    Tracing.__name__ = f"Tracing{cls.__name__}"
    return Tracing


def vanilla():
    return tracing(ccxt.pro.bybit)({"enableRateLimit": False})


def fast(options=None):
    cls = ccxtpro_fast.bybit
    assert cls.__module__ == "ccxtpro_fast.exchanges.bybit"      # the registry gives the adapter
    ex = tracing(cls)({"enableRateLimit": False})
    if options:
        ex.options["watchOrderBook"] = dict(ex.options.get("watchOrderBook") or {}, **options)
    return ex


def truth(s, symbol, depth=50):
    """The generator's top ``depth`` levels of ``symbol`` as floats, best first."""
    kind = KIND[symbol]
    st = s.source.market(kind, MARKET_ID[symbol])
    f = s.protocol.fmt(st.spec)
    book = st.book(depth)
    return ([[float(f.p(p)), float(f.q(q))] for p, q in book["bids"]],
            [[float(f.p(p)), float(f.q(q))] for p, q in book["asks"]])


def sides(ex, symbol):
    ob = ex.orderbooks[symbol]
    return [list(x) for x in ob["bids"]], [list(x) for x in ob["asks"]]


def sent_on(s, kind):
    """Data frames sent so far on each open connection of ``kind``."""
    return [c.sent for c in s.connections if c.kind == kind and c.is_open]


async def until(predicate, timeout=10.0, what="condition"):
    """Poll ``predicate`` on the loop until true (a sync point, not a sleep of a guessed length)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.002)


async def drained(s, clients, kinds=("spot", "linear", "inverse")):
    """Wait until every client has handled every data frame the simulator sent it
    (each client holds one connection per kind; all of a kind carry the same streams)."""
    def done():
        for kind in kinds:
            counts = sent_on(s, kind)
            if not counts:
                continue
            for ex in clients:
                if ex.data_messages.get(kind, 0) < min(counts):
                    return False
        return True
    await until(done, what="clients to drain the simulator's frames")
