"""Helpers for the Binance adapter tests: a tracing subclass usable on ccxt.pro's classes
and on ours, ground truth from the generator, and condition waits (no fixed sleeps)."""
from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

import orjson

import ccxtpro_fast
from ccxtpro_fast.sim.binance import Binance

KIND_OF_HOST = {"stream.binance.com": "spot", "fstream.binance.com": "linear", "dstream.binance.com": "inverse"}
MARKET_TYPE = {"spot": "spot", "linear": "swap", "inverse": "swap"}


def markets():
    """The generator's default spot/USD-M markets plus the COIN-M perpetuals."""
    return Binance.default_markets() + Binance.coinm_markets()


def _where(url):
    parts = urlsplit(url).path.lstrip("/").split("/", 1)
    return parts[0], "/" + (parts[1] if len(parts) > 1 else "")


def tracing(cls):
    """``cls`` recording, after every data frame it handles, the book of the frame's
    symbol (update id, nonce, timestamp, datetime, both sides) and counting the data
    frames per connection. Hooked on ``handle_message`` (both classes) and, for our
    adapter, on ``handle_raw_message``, where depth frames are handled."""

    class Tracing(cls):
        def __init__(self, config=None):
            super().__init__(config or {})
            self.books: dict[str, list] = {}
            self.frames: dict[str, int] = {}       # client url -> data frames handled

        if hasattr(cls, "handle_raw_message"):
            def handle_raw_message(self, client, data):
                handled = super().handle_raw_message(client, data)
                if handled:
                    self._after(client, orjson.loads(data))
                return handled

        def handle_message(self, client, message):
            super().handle_message(client, message)
            self._after(client, message)

        def _after(self, client, message):
            if not isinstance(message, dict) or "result" in message or "id" in message:
                return
            self.frames[client.url] = self.frames.get(client.url, 0) + 1
            if message.get("e") != "depthUpdate":
                return
            host, _ = _where(client.url)
            market = self.safe_market(message["s"], None, None, MARKET_TYPE[KIND_OF_HOST[host]])
            ob = self.orderbooks.get(market["symbol"])
            if ob is not None:
                self.books.setdefault(market["symbol"], []).append(
                    (message["u"], ob["nonce"], ob["timestamp"], ob["datetime"],
                     [list(x) for x in ob["bids"]], [list(x) for x in ob["asks"]]))

    Tracing.__name__ = f"Tracing{cls.__name__}"
    return Tracing


def fast(exchange_id="binance", config=None):
    cls = getattr(ccxtpro_fast, exchange_id)
    assert cls.__module__ == "ccxtpro_fast.exchanges." + exchange_id    # the registry gives the adapter
    return tracing(cls)(dict({"enableRateLimit": False}, **(config or {})))


def truth(s, kind, market_id, depth=None):
    """The generator's book of one market as floats, best first."""
    st = s.source.market(kind, market_id)
    f = s.protocol.fmt(st.spec)
    book = st.book(depth)
    return ([[float(f.p(p)), float(f.q(q))] for p, q in book["bids"]],
            [[float(f.p(p)), float(f.q(q))] for p, q in book["asks"]])


def sides(ex, symbol, depth=None):
    ob = ex.orderbooks[symbol]
    return [list(x) for x in ob["bids"][:depth]], [list(x) for x in ob["asks"][:depth]]


async def until(predicate, timeout=10.0, what="condition"):
    """Poll ``predicate`` on the loop until true (a sync point, not a guessed sleep)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.002)


async def drained(s, clients):
    """Wait until every client has handled every data frame the simulator sent to its
    connections (clients subscribe identical streams, so connections at the same
    host/path carry the same frames)."""
    def done():
        for ex in clients:
            for client in (ex.clients or {}).values():
                where = _where(client.url)
                sent = [c.sent for c in s.connections if c.is_open and (c.host, c.path) == where]
                if sent and ex.frames.get(client.url, 0) < max(sent):
                    return False
        return True
    try:
        await until(done, what="clients to drain the simulator's frames")
    except AssertionError:
        counts = {type(ex).__name__: dict(ex.frames) for ex in clients}
        sent = [(c.host, c.path, c.sent) for c in s.connections]
        raise AssertionError(f"clients did not drain: handled {counts}, sent {sent}") from None
