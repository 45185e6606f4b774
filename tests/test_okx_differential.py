"""ccxtpro_fast.okx against ccxt.pro.okx on one generated OKX session (the oracle).

Both exchanges subscribe the same channels on the same simulator before the generator
moves, so they receive the same frames; after every data push each records the unified
state it produced (books, bids/asks, trades, tickers, candles), and the two records
must be equal message for message. The books are also checked against the generator's
ground truth after every update.
"""
from __future__ import annotations

import asyncio

import ccxt.pro
import pytest

import ccxtpro_fast
from ccxtpro_fast import sim
from ccxtpro_fast.base import registry

from okx_helpers import MARKETS, record_truth, traced, truth_levels
from sim_helpers import run

TICKS = 120


def test_registry_gives_the_native_adapter():
    for exchange_id in ("okx", "myokx", "okxus"):
        cls = getattr(ccxtpro_fast, exchange_id)
        assert registry.has_adapter(exchange_id)
        assert issubclass(cls, getattr(ccxt.pro, exchange_id))
        # the hot handlers are ours, everything else ccxt.pro's
        assert cls.handle_message is not getattr(ccxt.pro, exchange_id).handle_message
        assert cls.watch_order_book is ccxt.pro.okx.watch_order_book


async def _subscribe_all(s, ex):
    await ex.load_markets()
    tasks = [
        asyncio.ensure_future(ex.watch_order_book("BTC/USDT")),                  # books
        asyncio.ensure_future(ex.watch_order_book("BTC/USDT:USDT")),             # books
        asyncio.ensure_future(ex.watch_order_book("ETH/USDT", 5)),               # books5
        asyncio.ensure_future(ex.watch_bids_asks(list(MARKETS.values()))),       # bbo-tbt
    ]
    for symbol in MARKETS.values():
        tasks.append(asyncio.ensure_future(ex.watch_trades(symbol)))
        tasks.append(asyncio.ensure_future(ex.watch_ticker(symbol)))
        tasks.append(asyncio.ensure_future(ex.watch_ohlcv(symbol, "1m")))
    return tasks


def test_same_session_same_unified_results():
    async def main():
        async with sim.serve("okx", sim.Generator(seed=11)) as s:
            truth = record_truth(s)
            slow = s.attach(traced(ccxt.pro.okx)())
            fast = s.attach(traced(ccxtpro_fast.okx)())
            tasks = []
            try:
                for ex in (slow, fast):
                    tasks += await _subscribe_all(s, ex)
                for inst in MARKETS:
                    for channel in ("trades", "tickers", "bbo-tbt", "candle1m"):
                        await s.wait_subscribed(f"{channel}:{inst}", count=2)
                for stream in ("books:BTC-USDT", "books:BTC-USDT-SWAP", "books5:ETH-USDT"):
                    await s.wait_subscribed(stream, count=2)
                for ex in (slow, fast):   # the snapshots, taken before the first tick
                    await ex.wait_until(lambda: ex.counts[("books", "BTC-USDT")] and
                                        ex.counts[("books", "BTC-USDT-SWAP")] and ex.counts[("books5", "ETH-USDT")])
                expected = _count_events(s)
                await s.step(TICKS)
                # a keep-alive after the last tick marks the end of each book stream
                for inst in ("BTC-USDT", "BTC-USDT-SWAP"):
                    assert s.protocol.keepalive(inst) == 2
                for ex in (slow, fast):
                    await ex.wait_until(lambda: _done(ex, expected))

                assert fast.resyncs == [] and fast.errors == [] and slow.errors == []
                assert set(fast.trace) == set(slow.trace)
                for key in sorted(slow.trace):
                    mine = [state for _, state in fast.trace[key]]
                    theirs = [state for _, state in slow.trace[key]]
                    if key[0] == "books5":
                        theirs = [_without_third_field(state) for state in theirs]
                    assert mine == theirs, key
                # every books update: the book equals the generator's book at that tick
                for inst in ("BTC-USDT", "BTC-USDT-SWAP"):
                    states = [state for _, state in fast.trace[("books", inst)]]
                    assert len(states) == TICKS + 2             # snapshot, updates, keep-alive
                    for nonce, ts, _, _, bids, asks in states[1:-1]:
                        assert (bids, asks) == truth[inst][ts]
                    assert states[-1][4:] == truth_levels(s, inst)
                    assert states[-1][0] == s.protocol.current_seq(inst)
                # every published checksum was verified: snapshots and updates, 2 symbols
                # (the keep-alive's checksum too), none failed
                assert len(fast.checksums) == 2 * (TICKS + 2)
                # past each chain's first update, the compiled path applied them
                assert fast.raw_handled >= 2 * (TICKS - 1)
                top5 = [state for _, state in fast.trace[("books5", "ETH-USDT")]]
                assert top5[-1][4:] == truth_levels(s, "ETH-USDT", 5)
                for inst, symbol in MARKETS.items():
                    assert fast.trades[symbol] == slow.trades[symbol] and len(fast.trades[symbol]) > 10
                    assert fast.tickers[symbol] == slow.tickers[symbol]
                    assert fast.bidsasks[symbol] == slow.bidsasks[symbol]
                    assert fast.ohlcvs[symbol] == slow.ohlcvs[symbol]
            finally:
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                await slow.close()
                await fast.close()

    run(main(), timeout=60)


def _without_third_field(state):
    """ccxt.pro's books5/bbo-tbt books keep a third element per level: parse_order_book
    reads index 2 as an order count, but OKX documents it as a deprecated field that is
    always "0" (the count is index 3). Our levels are [price, amount], as on ``books``."""
    nonce, ts, dt, symbol, bids, asks = state
    for level in bids + asks:
        assert len(level) == 3 and level[2] == 0
    return (nonce, ts, dt, symbol, [lv[:2] for lv in bids], [lv[:2] for lv in asks])


def _count_events(s):
    """Per (channel, instId): data pushes the generator is about to publish."""
    from collections import Counter

    from ccxtpro_fast.sim.generator import Candle, Stats, TopOfBook, Trade
    counts = Counter()
    channel_of = {Trade: "trades", Stats: "tickers", TopOfBook: "bbo-tbt", Candle: "candle1m"}

    def listener(kind, event):
        channel = channel_of.get(type(event))
        if channel:
            counts[(channel, event.market.id)] += 1
    s.source.listeners.append(listener)
    return counts


def _done(ex, expected):
    for inst in ("BTC-USDT", "BTC-USDT-SWAP"):
        if ex.counts[("books", inst)] < TICKS + 2:
            return False
    return all(ex.counts[key] >= n for key, n in expected.items())


@pytest.mark.parametrize("exchange_id, ws_host", [("myokx", "wseea.okx.com"), ("okxus", "wsus.okx.com")])
def test_siblings_share_the_protocol(exchange_id, ws_host):
    async def main():
        async with sim.serve("okx", sim.Generator(seed=3)) as s:
            ex = s.attach(traced(getattr(ccxtpro_fast, exchange_id))())
            try:
                assert ws_host in ex.urls["api"]["ws"]
                book = await ex.watch_order_book("BTC/USDT")
                await s.step(20)
                await ex.wait_until(lambda: ex.counts[("books", "BTC-USDT")] == 21)
                assert ex.orderbooks["BTC/USDT"]["nonce"] == s.protocol.current_seq("BTC-USDT")
                assert [book["bids"][:], book["asks"][:]] == list(truth_levels(s, "BTC-USDT"))
                assert len(ex.checksums) == 21 and ex.resyncs == []
            finally:
                await ex.close()

    run(main())
