"""Helpers of the OKX tests: a tracing subclass for ccxt.pro's and our okx, ground truth."""
from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
import orjson

from ccxtpro_fast import _core

MARKETS = {"BTC-USDT": "BTC/USDT", "ETH-USDT": "ETH/USDT", "BTC-USDT-SWAP": "BTC/USDT:USDT"}


def traced(cls):
    """Subclass an okx class so that the unified state a message produced is recorded
    after every data push it handles (books, bid/ask, trades, tickers, candles), through
    the public ``handle_message`` only, so ccxt.pro and ccxtpro_fast are traced alike.
    ``resyncs`` lists (channel, instId, error class name) of our adapter's resyncs and
    ``checksums`` the (computed, published) pairs of every checksum it computed."""

    class Traced(cls):
        def __init__(self, config=None):
            super().__init__(dict({"enableRateLimit": False}, **(config or {})))
            self.trace = defaultdict(list)
            self.counts = Counter()
            self.resyncs = []
            self.checksums = []
            self.errors = []
            self.raw_handled = 0      # updates the compiled path applied
            self._changed = None

        def order_book(self, snapshot={}, depth=None):
            book = super().order_book(snapshot, depth)
            if isinstance(book, _core.OrderBook):
                book = _CountingBook(self.checksums, snapshot, depth)
            return book

        def log_resync(self, client, channel, inst_id, error, attempt):
            self.resyncs.append((channel, inst_id, type(error).__name__))
            super().log_resync(client, channel, inst_id, error, attempt)

        if hasattr(cls, "handle_raw_message"):
            def handle_raw_message(self, client, data):
                # in-chain updates are handled here, before decoding: traced the same way
                handled = super().handle_raw_message(client, data)
                if handled:
                    self.raw_handled += 1
                    self._after(orjson.loads(data))
                return handled

        def handle_message(self, client, message):
            super().handle_message(client, message)
            self._after(message)

        def _after(self, message):
            if isinstance(message, dict) and "data" in message and "event" not in message and "arg" in message:
                channel, inst = message["arg"].get("channel"), message["arg"].get("instId")
                self.counts[(channel, inst)] += 1
                self.trace[(channel, inst)].append((message, self.observe(channel, inst)))
                self._poke()

        def observe(self, channel, inst):
            symbol = self.safe_market(inst, None, "-")["symbol"]
            if channel in ("books", "books5"):
                return book_state(self.orderbooks.get(symbol))
            if channel == "bbo-tbt":
                return dict(self.bidsasks.get(symbol) or {})
            if channel == "trades":
                return [dict(t) for t in self.trades.get(symbol) or []]
            if channel == "tickers":
                return dict(self.tickers.get(symbol) or {})
            if channel.startswith("candle"):
                return [list(r) for r in (self.ohlcvs.get(symbol) or {}).get("1m") or []]
            return None

        def _poke(self):
            if self._changed is None:
                self._changed = asyncio.Condition()
            changed = self._changed

            async def notify():
                async with changed:
                    changed.notify_all()
            asyncio.ensure_future(notify())

        async def wait_until(self, predicate, timeout: float = 10.0):
            if self._changed is None:
                self._changed = asyncio.Condition()

            async def wait():
                async with self._changed:
                    await self._changed.wait_for(predicate)
            await asyncio.wait_for(wait(), timeout)

    Traced.__name__ = "Traced" + cls.__name__
    return Traced


class _CountingBook(_core.OrderBook):
    """A compiled book that records every checksum it computes (the adapter's checks)."""

    def __init__(self, log, snapshot={}, depth=None):
        super().__init__(snapshot, depth)
        self.log = log

    def checksum(self, fmt, depth=25, price_precision=-1, amount_precision=-1):
        value = super().checksum(fmt, depth, price_precision, amount_precision)
        self.log.append(value)
        return value


def book_state(book):
    if book is None:
        return None
    return (book["nonce"], book["timestamp"], book["datetime"], book["symbol"],
            [list(x) for x in book["bids"]], [list(x) for x in book["asks"]])


def truth_levels(server, inst, depth=None):
    """The generator's book of ``inst`` as ([price, amount] floats, best first)."""
    st = server.source.market("okx", inst)
    f = server.protocol.fmt(st.spec)
    book = st.book(depth)
    return ([[float(f.p(p)), float(f.q(q))] for p, q in book["bids"]],
            [[float(f.p(p)), float(f.q(q))] for p, q in book["asks"]])


def record_truth(server):
    """Ground truth after every tick: {instId: {ts: (bids, asks)}} (ts is unique per tick)."""
    from ccxtpro_fast.sim.generator import BookDiff
    truth = defaultdict(dict)

    def listener(kind, event):
        if isinstance(event, BookDiff):
            truth[event.market.id][event.ts] = truth_levels(server, event.market.id)
    server.source.listeners.append(listener)
    return truth


def watcher(ex, symbol, results, **kw):
    """A task that calls watch_order_book in a loop, recording results and errors."""
    async def loop():
        while True:
            try:
                book = await ex.watch_order_book(symbol, **kw)
                results.append(book["nonce"])
                ex._poke()
            except asyncio.CancelledError:
                raise
            except Exception as error:     # noqa: BLE001 - recorded for the assertions
                ex.errors.append((symbol, error))
                ex._poke()
                if len(ex.errors) > 50:
                    raise
                await asyncio.sleep(0)      # a failing watch must not starve the loop
    return asyncio.ensure_future(loop())
