"""un_watch_* then watch_* again, through every native adapter, on the simulator.

A market maker drops a symbol and picks it up again later on the same exchange object:
the un-watch must really unsubscribe (the simulator sees no subscriber left, and the
frames published meanwhile reach nobody), and the next watch must subscribe afresh and
give a book equal to the generator's ground truth again -- not the stale book, not an
error. ccxt.pro's bybit gets this wrong for contracts (it unsubscribes a depth it never
subscribed), and ccxt.pro's kraken has no un-watch at all (NotSupported); ours does both.
"""
from __future__ import annotations

import asyncio
import json

import ccxt.pro
import pytest

import ccxtpro_fast
from ccxtpro_fast import sim

from sim_helpers import run, stepped

# (simulator protocol, exchange id, symbol, generator market kind, market id)
BOOKS = [
    ("binance", "binance", "BTC/USDT", "spot", "BTCUSDT"),
    ("binance", "binanceusdm", "BTC/USDT:USDT", "linear", "BTCUSDT"),
    ("okx", "okx", "BTC/USDT", "okx", "BTC-USDT"),
    ("okx", "okx", "BTC/USDT:USDT", "okx", "BTC-USDT-SWAP"),
    ("bybit", "bybit", "BTC/USDT", "spot", "BTCUSDT"),
    ("bybit", "bybit", "BTC/USDT:USDT", "linear", "BTCUSDT"),
    ("bybit", "bybit", "BTC/USD:BTC", "inverse", "BTCUSD"),
    ("bitget", "bitget", "BTC/USDT", "spot", "BTCUSDT"),
    ("bitget", "bitget", "BTC/USDT:USDT", "linear", "BTCUSDT"),
]
DEPTH = 10


def _truth(s, kind, market_id):
    st = s.source.market(kind, market_id)
    f = s.protocol.fmt(st.spec)
    book = st.book(DEPTH)
    return ([[float(f.p(p)), float(f.q(q))] for p, q in book["bids"]],
            [[float(f.p(p)), float(f.q(q))] for p, q in book["asks"]])


def _top(book):
    return ([list(x[:2]) for x in book["bids"][:DEPTH]], [list(x[:2]) for x in book["asks"][:DEPTH]])


def _open_subscriptions(s):
    return sum(1 for conns in s._subs.values() for c in conns if c.is_open)


async def _settled_book(s, ex, symbol):
    """The book after the generator's last tick has reached the client."""
    await s.step(5)
    await asyncio.sleep(0.05)
    return await stepped(s, ex.watch_order_book(symbol))


@pytest.mark.parametrize("protocol,exchange_id,symbol,kind,market_id", BOOKS,
                         ids=[f"{b[1]}-{b[2]}" for b in BOOKS])
def test_order_book_unwatch_then_watch_again(protocol, exchange_id, symbol, kind, market_id):
    async def main():
        async with sim.serve(protocol, sim.Generator(seed=5)) as s:
            ex = s.attach(getattr(ccxtpro_fast, exchange_id)({"enableRateLimit": False}))
            try:
                await ex.load_markets()
                await stepped(s, ex.watch_order_book(symbol))
                book = await _settled_book(s, ex, symbol)
                assert _top(book) == _truth(s, kind, market_id)
                assert _open_subscriptions(s) == 1

                await ex.un_watch_order_book(symbol)
                await asyncio.sleep(0.05)
                assert _open_subscriptions(s) == 0
                assert symbol not in ex.orderbooks
                await s.step(20)                       # published to nobody
                await asyncio.sleep(0.05)
                assert symbol not in ex.orderbooks

                book = await stepped(s, ex.watch_order_book(symbol))
                assert _open_subscriptions(s) == 1
                assert _top(book) == _truth(s, kind, market_id)
                book = await _settled_book(s, ex, symbol)
                assert _top(book) == _truth(s, kind, market_id)
            finally:
                await ex.close()
    run(main())


@pytest.mark.parametrize("method,args", [("trades", ()), ("ticker", ()), ("ohlcv", ("1m",))])
@pytest.mark.parametrize("protocol,exchange_id,symbol", [
    ("binance", "binance", "BTC/USDT"), ("okx", "okx", "BTC/USDT:USDT"),
    ("bybit", "bybit", "BTC/USDT:USDT"), ("bitget", "bitget", "BTC/USDT:USDT"),
    ("kraken", "kraken", "BTC/USD")])
def test_stream_unwatch_then_watch_again(protocol, exchange_id, symbol, method, args):
    async def main():
        async with sim.serve(protocol, sim.Generator(seed=5)) as s:
            ex = s.attach(getattr(ccxtpro_fast, exchange_id)({"enableRateLimit": False}))
            watch = getattr(ex, "watch_" + method)
            try:
                await ex.load_markets()
                await stepped(s, watch(symbol, *args))
                await getattr(ex, "un_watch_" + method)(symbol, *args)
                await asyncio.sleep(0.05)
                assert _open_subscriptions(s) == 0
                await s.step(5)
                result = await stepped(s, watch(symbol, *args))
                assert _open_subscriptions(s) == 1
                assert result
            finally:
                await ex.close()
    run(main())


def test_bybit_contract_unwatch_unsubscribes_what_watch_subscribed():
    """ccxt.pro's bybit subscribes ``orderbook.50.<id>`` for a contract but unsubscribes
    ``orderbook.500.<id>``: the book stays subscribed and the next watch is refused with
    "already subscribed". Ours unsubscribes the recorded depth; an explicit limit is
    passed through unchanged."""
    symbol = "BTC/USDT:USDT"

    async def unwatch_rewatch(cls, s, limit=None):
        ex = s.attach(cls({"enableRateLimit": False}))
        try:
            await ex.load_markets()
            await stepped(s, ex.watch_order_book(symbol, limit))
            topics = [stream for (_, stream), conns in s._subs.items() if any(c.is_open for c in conns)]
            await ex.un_watch_order_book(symbol, {} if limit is None else {"limit": limit})
            await asyncio.sleep(0.05)
            left = _open_subscriptions(s)
            try:
                await stepped(s, ex.watch_order_book(symbol, limit))
                error = None
            except ccxt.BaseError as e:
                error = e
            return topics, left, error
        finally:
            await ex.close()

    async def main():
        async with sim.serve("bybit", sim.Generator(seed=5)) as s:
            topics, left, error = await unwatch_rewatch(ccxt.pro.bybit, s)
            assert topics == ["orderbook.50.BTCUSDT"]
            assert left == 1 and isinstance(error, ccxt.ExchangeError)
            assert "already subscribed" in str(error)
        async with sim.serve("bybit", sim.Generator(seed=5)) as s:
            assert await unwatch_rewatch(ccxtpro_fast.bybit, s) == (["orderbook.50.BTCUSDT"], 0, None)
        async with sim.serve("bybit", sim.Generator(seed=5)) as s:
            assert await unwatch_rewatch(ccxtpro_fast.bybit, s, 200) == (["orderbook.200.BTCUSDT"], 0, None)
    run(main())


def test_kraken_order_book_unwatch_then_watch_again():
    """Kraken v2 through our adapter (ccxt.pro's raises NotSupported): the book's
    unsubscribe carries the subscribed depth, the checksum state is dropped with the
    book, and the re-watched book is the generator's and verifies its checksums again."""
    symbol = "BTC/USD"

    async def main():
        async with sim.serve("kraken", sim.Generator(seed=5)) as s:
            theirs = s.attach(ccxt.pro.kraken({"enableRateLimit": False}))
            try:
                await theirs.load_markets()
                with pytest.raises(ccxt.NotSupported):
                    await theirs.un_watch_order_book(symbol)
            finally:
                await theirs.close()

            def truth():
                t = s.protocol.truth(s.protocol.by_symbol(symbol), 25)
                return ([list(x) for x in t["bids"][:DEPTH]], [list(x) for x in t["asks"][:DEPTH]])

            requests = []
            on_text = s.protocol.on_text

            def spy(conn, text):
                requests.append(json.loads(text))
                return on_text(conn, text)
            s.protocol.on_text = spy

            ex = s.attach(ccxtpro_fast.kraken({"enableRateLimit": False}))
            try:
                await ex.load_markets()
                await stepped(s, ex.watch_order_book(symbol, 25))
                book = await _settled_book(s, ex, symbol)
                assert _top(book) == truth()
                assert [st for (_, st), conns in s._subs.items() if conns] == ["book.25:" + symbol]
                verified = ex.book_syncs[symbol].verified
                assert verified > 0

                assert await ex.un_watch_order_book(symbol) is True
                assert requests[-1]["method"] == "unsubscribe"
                assert requests[-1]["params"] == {"channel": "book", "symbol": [symbol], "depth": 25}
                await asyncio.sleep(0.05)
                assert _open_subscriptions(s) == 0
                assert symbol not in ex.orderbooks and symbol not in ex.book_syncs
                await s.step(20)
                await asyncio.sleep(0.05)
                assert symbol not in ex.orderbooks

                book = await stepped(s, ex.watch_order_book(symbol))
                assert [st for (_, st), conns in s._subs.items() if conns] == ["book.10:" + symbol]
                book = await _settled_book(s, ex, symbol)
                assert _top(book) == truth() and len(book["bids"]) == 10
                assert ex.book_syncs[symbol].verified > 0 and ex.book_syncs[symbol].resyncs == 0

                # the exchange refuses what was never subscribed: the un-watch fails
                with pytest.raises(ccxt.BaseError, match="Subscription Not Found"):
                    await ex.un_watch_trades(symbol)
            finally:
                await ex.close()
    run(main())


@pytest.mark.parametrize("protocol,exchange_id,symbols,limits", [
    ("bybit", "bybit", ["BTC/USDT:USDT", "ETH/USDT:USDT"], (None, 200)),
    ("kraken", "kraken", ["BTC/USD", "ETH/USD"], (None, 25)),
])
def test_order_books_of_different_depths_unwatched_together(protocol, exchange_id, symbols, limits):
    """One un_watch_order_book_for_symbols over books subscribed at different depths:
    each is unsubscribed at its own depth (one request per depth), none is left live."""
    async def main():
        async with sim.serve(protocol, sim.Generator(seed=5)) as s:
            ex = s.attach(getattr(ccxtpro_fast, exchange_id)({"enableRateLimit": False}))
            try:
                await ex.load_markets()
                for symbol, limit in zip(symbols, limits):
                    await stepped(s, ex.watch_order_book(symbol, limit))
                assert _open_subscriptions(s) == 2
                await ex.un_watch_order_book_for_symbols(symbols)
                for _ in range(50):
                    if _open_subscriptions(s) == 0 and not any(x in ex.orderbooks for x in symbols):
                        break
                    await asyncio.sleep(0.01)
                assert _open_subscriptions(s) == 0
                assert not any(symbol in ex.orderbooks for symbol in symbols)
                book = await stepped(s, ex.watch_order_book(symbols[1], limits[1]))
                assert book["symbol"] == symbols[1] and _open_subscriptions(s) == 1
            finally:
                await ex.close()
    run(main())
