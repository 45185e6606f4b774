"""Helpers for the Bitget tests: tracing subclasses of ccxt.pro's and our adapter, the
generator's ground truth, and predicate waits (no fixed sleeps)."""
from __future__ import annotations

import asyncio

import orjson

import ccxt.pro

import ccxtpro_fast
from ccxtpro_fast.sim.generator import BookDiff

SYMBOLS = {("spot", "BTCUSDT"): "BTC/USDT", ("spot", "ETHUSDT"): "ETH/USDT",
           ("linear", "BTCUSDT"): "BTC/USDT:USDT", ("linear", "ETHUSDT"): "ETH/USDT:USDT"}
STREAM = {"BTC/USDT": "SPOT:books:BTCUSDT", "ETH/USDT": "SPOT:books:ETHUSDT",
          "BTC/USDT:USDT": "USDT-FUTURES:books:BTCUSDT", "ETH/USDT:USDT": "USDT-FUTURES:books:ETHUSDT"}


def rows(side):
    """[[price, amount], ...] of a book side, whatever the row width (ccxt.pro keeps the
    wire strings as a third element)."""
    return [[row[0], row[1]] for row in side]


def traced(cls):
    """A subclass that records, after every ``books`` message it applied, the message's
    seq and the whole book; and every ticker / bid-ask it resolved."""

    class Traced(cls):
        def __init__(self, config=None):
            super().__init__(dict({"enableRateLimit": False}, **(config or {})))
            self.book_trace: dict[str, list] = {}
            self.ticker_trace: dict[str, list] = {}
            self.bidask_trace: dict[str, list] = {}
            self.raw_handled = 0      # updates the compiled path applied
            self._changed = asyncio.Condition()

        def _symbol_of(self, message):
            arg = message["arg"]
            kind = "spot" if arg["instType"].lower() == "spot" else "contract"
            return self.safe_market(arg["instId"], None, None, kind)["symbol"]

        def _record(self, message):
            if message["arg"].get("channel") != "books":
                return
            symbol = self._symbol_of(message)
            book = self.orderbooks.get(symbol)
            if book is None:
                return
            sync = getattr(self, "book_syncs", {}).get((message["arg"]["instType"], message["arg"]["instId"]))
            if sync is not None and not sync.synced:
                return      # ours: the message started a resync, nothing was resolved
            self.book_trace.setdefault(symbol, []).append(
                (message["data"][0].get("seq"), rows(book["bids"]), rows(book["asks"])))
            self.poke()

        # ccxt.pro
        def handle_order_book(self, client, message):
            super().handle_order_book(client, message)
            self._record(message)

        def handle_ticker(self, client, message):
            super().handle_ticker(client, message)
            self._record_ticker(message)

        # ccxtpro_fast
        if hasattr(cls, "handle_raw_message"):
            def handle_raw_message(self, client, data):
                # updates of a synchronised channel are handled here, before decoding
                handled = super().handle_raw_message(client, data)
                if handled:
                    self.raw_handled += 1
                    self._record(orjson.loads(data))
                return handled

        def _bg_handle_books(self, client, message, arg):
            super()._bg_handle_books(client, message, arg)
            self._record(message)

        def _bg_handle_ticker(self, client, message, arg):
            super()._bg_handle_ticker(client, message, arg)
            self._record_ticker(message)

        def _record_ticker(self, message):
            symbol = self._symbol_of(message)
            self.ticker_trace.setdefault(symbol, []).append(dict(self.tickers[symbol]))
            self.bidask_trace.setdefault(symbol, []).append(dict(self.bidsasks[symbol]))
            self.poke()

        def poke(self):
            async def notify():
                async with self._changed:
                    self._changed.notify_all()
            asyncio.ensure_future(notify())

        def last_seq(self, symbol):
            trace = self.book_trace.get(symbol)
            return trace[-1][0] if trace else None

        async def wait_until(self, predicate, timeout: float = 10.0):
            async def wait():
                async with self._changed:
                    await self._changed.wait_for(predicate)
            await asyncio.wait_for(wait(), timeout)

    Traced.__name__ = f"Traced{cls.__name__}"
    return Traced


def fast_class():
    cls = ccxtpro_fast.bitget
    assert cls.__module__ == "ccxtpro_fast.exchanges.bitget", "the registry must give the native adapter"
    return cls


def both():
    return traced(ccxt.pro.bitget), traced(fast_class())


def record_truth(s, truth: dict):
    """Append the generator's whole book after every BookDiff: symbol -> [(seq, bids, asks)]
    as floats of the strings the protocol prints."""
    def listener(kind, event):
        if not isinstance(event, BookDiff):
            return
        spec = event.market
        st = s.source.market(kind, spec.id)
        f = s.protocol.fmt(spec)
        book = st.book()
        truth.setdefault(SYMBOLS[(kind, spec.id)], []).append((
            event.last_id, [[float(f.p(p)), float(f.q(q))] for p, q in book["bids"]],
            [[float(f.p(p)), float(f.q(q))] for p, q in book["asks"]]))
    s.source.listeners.append(listener)


def truth_now(s, symbol):
    kind, market_id = next(k for k, v in SYMBOLS.items() if v == symbol)
    st = s.source.market(kind, market_id)
    f = s.protocol.fmt(st.spec)
    book = st.book()
    return ([[float(f.p(p)), float(f.q(q))] for p, q in book["bids"]],
            [[float(f.p(p)), float(f.q(q))] for p, q in book["asks"]], st.update_id)


async def subscribe_books(s, ex, symbols):
    """Start watch_order_book for each symbol and wait for the first (snapshot) book."""
    tasks = [asyncio.ensure_future(ex.watch_order_book(sym)) for sym in symbols]
    for sym in symbols:
        await s.wait_subscribed(STREAM[sym])
    return await asyncio.wait_for(asyncio.gather(*tasks), 10)
