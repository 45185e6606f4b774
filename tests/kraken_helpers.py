"""Shared helpers of the Kraken tests: a recording subclass for both implementations,
settling on the simulator's own frame counts, and ground truth."""
from __future__ import annotations

import asyncio
import time

import ccxt.pro
import orjson

import ccxtpro_fast

DATA_CHANNELS = frozenset(("book", "trade", "ticker", "ohlc"))
SYMBOLS = ("BTC/USD", "ETH/USD", "ALGO/USD")


def recording(cls):
    """Subclass a kraken class so every data message it handles is counted and every
    book message leaves a copy of the resulting book (ccxt.pro resolves a waiter once
    per burst, so awaiting watch_order_book alone cannot see every intermediate book).
    The hooks wrap the public handlers both implementations dispatch to."""

    class Recording(cls):
        def __init__(self, config=None):
            super().__init__(dict({"enableRateLimit": False}, **(config or {})))
            self.received = 0
            self.books: dict[str, list] = {}
            self.ticker_log: list = []

        if hasattr(cls, "handle_raw_message"):
            def handle_raw_message(self, client, data):
                # book updates are handled here, before decoding: recorded the same way
                handled = super().handle_raw_message(client, data)
                if handled:
                    message = orjson.loads(data)
                    # a book snapshot's frame goes on to handle_message, which counts it
                    if message.get("type") != "snapshot":
                        self.received += 1
                        self._record_book(message)
                return handled

        def handle_message(self, client, message):
            super().handle_message(client, message)
            if isinstance(message, dict) and message.get("channel") in DATA_CHANNELS:
                self.received += 1

        def handle_order_book(self, client, message):
            super().handle_order_book(client, message)
            self._record_book(message)

        def _record_book(self, message):
            symbol = message["data"][0]["symbol"]
            book = self.orderbooks.get(symbol)
            if book is not None:
                self.books.setdefault(symbol, []).append(snapshot(book))

        def handle_ticker(self, client, message):
            super().handle_ticker(client, message)
            symbol = message["data"][0]["symbol"]
            self.ticker_log.append(dict(self.tickers[symbol]))

    Recording.__name__ = "Recording" + cls.__name__
    return Recording


def snapshot(book) -> dict:
    return {"bids": [list(x) for x in book["bids"]], "asks": [list(x) for x in book["asks"]],
            "timestamp": book["timestamp"], "datetime": book["datetime"], "symbol": book["symbol"],
            "nonce": book["nonce"]}


Ours = recording(ccxtpro_fast.kraken)
Theirs = recording(ccxt.pro.kraken)


async def wait_for(predicate, timeout: float = 10.0, what: str = "condition"):
    """Poll ``predicate`` on the event loop until true (a deadline, not a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        await asyncio.sleep(0.002)


async def settle(s, *exchanges, extra=lambda: True, timeout: float = 10.0):
    """Wait until the exchanges handled every data frame the simulator sent them (the
    server's per-connection counts; acks and heartbeats are not data frames)."""
    await wait_for(lambda: sum(c.sent for c in s.connections) == sum(e.received for e in exchanges)
                   and extra(), timeout, "the clients to drain the simulator")


def truth(s, symbol: str, depth: int = 10) -> dict:
    return s.protocol.truth(s.protocol.by_symbol(symbol), depth)


def book_of(ex, symbol: str) -> dict:
    book = ex.orderbooks[symbol]
    return {"bids": [list(x) for x in book["bids"]], "asks": [list(x) for x in book["asks"]]}
