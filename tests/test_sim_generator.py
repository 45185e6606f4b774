"""Generated Binance markets through the simulator to vanilla ccxt.pro.

The generator is the ground truth: its books, trades, candles and statistics are
compared with what ccxt.pro's watch_* methods return from the wire.
"""
from __future__ import annotations

import asyncio

import ccxt.pro
import pytest

from ccxtpro_fast import sim
from ccxtpro_fast.sim.generator import BookDiff, Candle, Stats, TopOfBook, Trade

from sim_helpers import run, tracing

MARKETS = [
    pytest.param(ccxt.pro.binance, "BTC/USDT", "spot", id="spot"),
    pytest.param(ccxt.pro.binanceusdm, "BTC/USDT:USDT", "linear", id="usdm"),
]


def _truth(s, kind, depth):
    """The generator's book, top ``depth``, printed by the protocol and parsed like ccxt does."""
    st = s.source.market(kind, "BTCUSDT")
    f = s.protocol.fmt(st.spec)
    book = st.book(depth)
    return (book["nonce"],
            [[float(f.p(p)), float(f.q(q))] for p, q in book["bids"]],
            [[float(f.p(p)), float(f.q(q))] for p, q in book["asks"]])


def _exchange(s, cls):
    return s.attach(tracing(cls)({"enableRateLimit": False}))


@pytest.mark.parametrize("cls,symbol,kind", MARKETS)
def test_order_book_equals_generator_ground_truth(cls, symbol, kind):
    depth = 50

    async def main():
        async with sim.serve("binance", sim.Generator(seed=7, levels=120)) as s:
            ex = _exchange(s, cls)
            try:
                ob = await ex.watch_order_book(symbol)      # resolves on the REST snapshot
                nonce, bids, asks = _truth(s, kind, depth)
                assert ob["nonce"] == nonce
                assert ob["bids"][:depth] == bids and ob["asks"][:depth] == asks
                diffs = []
                s.source.listeners.append(lambda k, e: isinstance(e, BookDiff) and k == kind
                                          and e.market.id == "BTCUSDT" and diffs.append(e))
                for _ in range(6):                           # checkpoints
                    await s.step(40)
                    target = s.source.market(kind, "BTCUSDT").update_id
                    await ex.wait_until(lambda: ex.trace.get(symbol, [(None,)])[-1][0] == target)
                    nonce, bids, asks = _truth(s, kind, depth)
                    book = ex.orderbooks[symbol]
                    assert book["nonce"] == nonce
                    assert book["bids"][:depth] == bids
                    assert book["asks"][:depth] == asks
                # every diff was applied, none dropped, no resync
                assert [t[0] for t in ex.trace[symbol]] == [d.last_id for d in diffs]
                assert sum("/depth?" in p for _, p in s.rest_log) == 1
                # diffs look like the brief's market: 1-20 levels, some deletions, mostly near the top
                sizes = [len(d.bids) + len(d.asks) for d in diffs]
                deletes = sum(q == 0 for d in diffs for _, q in d.bids + d.asks)
                assert min(sizes) >= 1 and 0.1 < deletes / sum(sizes) < 0.45
                if kind == "linear":   # futures ids jump between events; pu carries the chain
                    assert any(d.first_id != d.prev_id + 1 for d in diffs)
                    assert all(d.first_id > d.prev_id for d in diffs)
                else:
                    assert all(d.first_id == d.prev_id + 1 for d in diffs)
            finally:
                await ex.close()

    run(main())


async def _first_event(s, ex, coro, stream, kind, event_type, max_ticks=400):
    """Subscribe via ``coro``, then step the generator until it publishes an event of
    ``event_type``; return (ccxt result, the generated events of that type)."""
    task = asyncio.ensure_future(coro)
    await s.wait_subscribed(stream, kind)
    seen = []
    s.source.listeners.append(lambda k, e: k == kind and e.market.id == "BTCUSDT" and isinstance(e, event_type)
                              and seen.append(e))
    for _ in range(max_ticks):
        await s.step(1)
        if seen:
            break
    assert seen, f"no {event_type.__name__} in {max_ticks} ticks"
    return await asyncio.wait_for(task, 10), seen


@pytest.mark.parametrize("cls,symbol,kind", MARKETS)
def test_watch_trades(cls, symbol, kind):
    async def main():
        async with sim.serve("binance", sim.Generator(seed=3)) as s:
            ex = _exchange(s, cls)
            try:
                await ex.load_markets()
                # USD-M carries trades on aggTrade (ccxt's default 'trade' is spot's stream)
                params = {"name": "aggTrade"} if kind == "linear" else {}
                stream = "btcusdt@aggTrade" if kind == "linear" else "btcusdt@trade"
                trades, seen = await _first_event(s, ex, ex.watch_trades(symbol, params=params), stream, kind, Trade)
            finally:
                await ex.close()
            f = s.protocol.fmt(seen[0].market)
            assert trades, "ccxt returned no trades"
            for t in trades:
                g = next(e for e in seen if str(e.id) == t["id"])
                assert t["symbol"] == symbol
                assert t["price"] == float(f.p(g.price)) and t["amount"] == float(f.q(g.qty))
                assert t["side"] == ("sell" if g.buyer_is_maker else "buy")
                assert t["timestamp"] == g.ts
                assert t["cost"] == pytest.approx(t["price"] * t["amount"])

    run(main())


@pytest.mark.parametrize("cls,symbol,kind", MARKETS)
@pytest.mark.parametrize("name", ["miniTicker", "ticker"])
def test_watch_ticker(cls, symbol, kind, name):
    async def main():
        async with sim.serve("binance", sim.Generator(seed=5)) as s:
            ex = _exchange(s, cls)
            try:
                await ex.load_markets()
                params = {} if name == "miniTicker" else {"name": "ticker"}
                ticker, seen = await _first_event(s, ex, ex.watch_ticker(symbol, params), f"btcusdt@{name}",
                                                  kind, Stats)
            finally:
                await ex.close()
            g = seen[0]
            f = s.protocol.fmt(g.market)
            assert ticker["symbol"] == symbol
            assert ticker["last"] == float(f.p(g.last)) and ticker["open"] == float(f.p(g.open))
            assert ticker["high"] == float(f.p(g.high)) and ticker["low"] == float(f.p(g.low))
            assert ticker["baseVolume"] == float(f.q(g.volume))
            assert ticker["quoteVolume"] == pytest.approx(float(f.quote(g.quote_volume)))
            if name == "ticker":
                assert ticker["change"] == float(f.p(g.last - g.open))
                assert ticker["percentage"] == pytest.approx((g.last - g.open) / g.open * 100, abs=1e-3)
                assert ticker["vwap"] == pytest.approx(g.quote_volume / g.volume * float(f.p(1)), rel=1e-6)
                assert ticker["timestamp"] == g.ts
                if kind == "spot":
                    assert (ticker["bid"], ticker["ask"]) == (float(f.p(g.bid)), float(f.p(g.ask)))

    run(main())


@pytest.mark.parametrize("cls,symbol,kind", MARKETS)
def test_watch_bids_asks_is_consistent_with_the_book(cls, symbol, kind):
    async def main():
        async with sim.serve("binance", sim.Generator(seed=11)) as s:
            ex = _exchange(s, cls)
            try:
                await ex.load_markets()
                result, seen = await _first_event(s, ex, ex.watch_bids_asks([symbol]), "btcusdt@bookTicker",
                                                  kind, TopOfBook)
            finally:
                await ex.close()
            g = seen[0]
            f = s.protocol.fmt(g.market)
            t = result[symbol]
            assert (t["bid"], t["bidVolume"]) == (float(f.p(g.bid)), float(f.q(g.bid_qty)))
            assert (t["ask"], t["askVolume"]) == (float(f.p(g.ask)), float(f.q(g.ask_qty)))
            assert t["info"]["u"] == g.update_id
            # the bookTicker is the top of the generator's book after the diff with the same u
            st = s.source.market(kind, "BTCUSDT")
            assert g.bid < g.ask and g.update_id <= st.update_id

    run(main())


@pytest.mark.parametrize("cls,symbol,kind", MARKETS)
def test_watch_ohlcv(cls, symbol, kind):
    async def main():
        async with sim.serve("binance", sim.Generator(seed=2)) as s:
            ex = _exchange(s, cls)
            try:
                await ex.load_markets()
                candles, seen = await _first_event(s, ex, ex.watch_ohlcv(symbol, "1m"), "btcusdt@kline_1m",
                                                   kind, Candle)
            finally:
                await ex.close()
            g = seen[0]
            f = s.protocol.fmt(g.market)
            assert candles[-1] == [g.open_time, float(f.p(g.open)), float(f.p(g.high)), float(f.p(g.low)),
                                   float(f.p(g.close)), float(f.q(g.volume))]
            assert g.open_time % 60_000 == 0 and g.low <= min(g.open, g.close) <= max(g.open, g.close) <= g.high

    run(main())


def test_rate_max_and_pause_keep_ccxt_in_sync():
    """Free-running at maximum speed, then paused: the book ccxt.pro holds equals the truth."""
    async def main():
        async with sim.serve("binance", sim.Generator(seed=9, rate="max", levels=100)) as s:
            ex = _exchange(s, ccxt.pro.binance)
            try:
                await ex.watch_order_book("ETH/USDT")
                await ex.wait_until(lambda: len(ex.trace.get("ETH/USDT", [])) >= 300)
                s.source.pause()
                st = s.source.market("spot", "ETHUSDT")
                await ex.wait_until(lambda: ex.trace.get("ETH/USDT", [(None,)])[-1][0] == st.update_id)
                f = s.protocol.fmt(st.spec)
                book = ex.orderbooks["ETH/USDT"]
                truth = st.book(100)
                assert book["bids"][:100] == [[float(f.p(p)), float(f.q(q))] for p, q in truth["bids"]]
                assert book["asks"][:100] == [[float(f.p(p)), float(f.q(q))] for p, q in truth["asks"]]
            finally:
                await ex.close()

    run(main())


def test_same_seed_same_market():
    a, b = sim.Generator(seed=42), sim.Generator(seed=42)
    for g in (a, b):
        g.specs = sim.binance.Binance.default_markets()
        g.bind(type("S", (), {"protocol": sim.binance.Binance})())   # no server: generate only
        g.server = None
        for _ in range(200):
            g.tick()
    assert [st.book() for st in a.state.values()] == [st.book() for st in b.state.values()]
