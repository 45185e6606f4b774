"""ccxtpro_fast.kraken against ccxt.pro.kraken on the same generated v2 session.

Both connect to one simulator at once, subscribe the same channels, and then see the
same frames: every book either builds after every book message, the trade caches, every
ticker, the OHLCV caches and the final watch_* results must be identical, and the books
must equal the generator's ground truth (truncated to the subscribed depth). Our side
also verified the exchange checksum of every book message.
"""
from __future__ import annotations

import asyncio

import ccxt.pro
import pytest

import ccxtpro_fast
from ccxtpro_fast import sim
from ccxtpro_fast.base import registry

from kraken_helpers import Ours, Theirs, settle, truth
from sim_helpers import run

BOOKS = {"BTC/USD": None, "ETH/USD": 10, "ALGO/USD": 25}   # symbol -> watch limit


def test_registry_gives_the_native_adapter():
    cls = ccxtpro_fast.kraken
    assert registry.has_adapter("kraken")
    assert cls.__module__ == "ccxtpro_fast.exchanges.kraken"
    assert issubclass(cls, ccxt.pro.kraken)
    # krakenfutures speaks another protocol: it stays on the generic path
    assert not registry.has_adapter("krakenfutures")


async def _subscribe(s, ex):
    for symbol, limit in BOOKS.items():
        await ex.watch_order_book(symbol, limit)
    await ex.watch_ticker("ETH/USD")
    await ex.watch_bids_asks(["BTC/USD"])
    pending = [asyncio.ensure_future(ex.watch_trades(sym)) for sym in ("BTC/USD", "ETH/USD")]
    pending.append(asyncio.ensure_future(ex.watch_ohlcv("BTC/USD", "1m")))
    return pending


@pytest.mark.parametrize("seed", [7, 21])
def test_same_session_same_unified_results(seed):
    async def main():
        async with sim.serve("kraken", sim.Generator(seed=seed)) as s:
            theirs, ours = s.attach(Theirs()), s.attach(Ours())
            try:
                waiting = await _subscribe(s, theirs) + await _subscribe(s, ours)
                for stream in ("trade:BTC/USD", "trade:ETH/USD", "ohlc.1:BTC/USD"):
                    await s.wait_subscribed(stream, count=2)
                for _ in range(8):
                    await s.step(50)
                    await settle(s, theirs, ours)
                await asyncio.gather(*waiting)

                for symbol, limit in BOOKS.items():
                    mine, ref = ours.books[symbol], theirs.books[symbol]
                    assert len(mine) == len(ref) > 300
                    assert mine == ref, symbol          # every intermediate book
                    want = truth(s, symbol, limit or 10)
                    assert mine[-1]["bids"] == want["bids"] and mine[-1]["asks"] == want["asks"]
                    assert mine[-1]["datetime"].endswith("Z") and mine[-1]["timestamp"] > 0
                    sync = ours.book_syncs[symbol]
                    # the snapshot and every update carried a checksum and all matched
                    assert sync.verified == len(mine) and sync.resyncs == 0
                # the updates took the compiled path (the adapter's hook; the snapshots and
                # anything it declines take handle_order_book)
                hook = ccxtpro_fast.kraken.handle_raw_message.__get__(ours)
                assert hook.applied >= sum(len(ours.books[s]) for s in BOOKS) - 2 * len(BOOKS)

                for symbol in ("BTC/USD", "ETH/USD"):
                    assert len(ours.trades[symbol]) > 20
                    assert list(ours.trades[symbol]) == list(theirs.trades[symbol])
                assert ours.ticker_log == theirs.ticker_log and len(ours.ticker_log) > 20
                assert {t["symbol"] for t in ours.ticker_log} == {"ETH/USD", "BTC/USD"}
                assert ours.tickers == theirs.tickers
                assert ours.ohlcvs == theirs.ohlcvs and len(ours.ohlcvs["BTC/USD"]["1m"]) >= 1
                assert ours.bidsasks == theirs.bidsasks
                # the same results from the public methods, after one more burst
                calls = lambda ex: [ex.watch_order_book(sym, limit) for sym, limit in BOOKS.items()] + [
                    ex.watch_trades("BTC/USD"), ex.watch_ohlcv("BTC/USD", "1m"),
                    ex.watch_ticker("ETH/USD"), ex.watch_bids_asks(["BTC/USD"])]
                mine, ref = asyncio.gather(*calls(ours)), asyncio.gather(*calls(theirs))
                while not (mine.done() and ref.done()):
                    await s.step(10)
                    await settle(s, theirs, ours)
                    await asyncio.sleep(0)
                assert mine.result() == ref.result()
            finally:
                await ours.close()
                await theirs.close()

    run(main(), timeout=40)
