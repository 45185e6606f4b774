"""Fault injection through the simulator, observed by vanilla ccxt.pro."""
from __future__ import annotations

import asyncio

import ccxt.pro
import pytest
from ccxt.base.errors import ChecksumError, NetworkError

from ccxtpro_fast import sim

from sim_helpers import run, tracing

MARKETS = [
    pytest.param(ccxt.pro.binance, "BTC/USDT", "spot", id="spot"),
    pytest.param(ccxt.pro.binanceusdm, "BTC/USDT:USDT", "linear", id="usdm"),
]


def _levels(book_side):
    return {p: q for p, q in book_side}


def _truth(s, kind):
    st = s.source.market(kind, "BTCUSDT")
    f = s.protocol.fmt(st.spec)
    book = st.book()
    return ({float(f.p(p)): float(f.q(q)) for p, q in book["bids"]},
            {float(f.p(p)): float(f.q(q)) for p, q in book["asks"]}, book["nonce"])


async def _watch_until_error(ex, symbol, exc_type, attempts=100):
    for _ in range(attempts):
        try:
            await asyncio.wait_for(ex.watch_order_book(symbol), 5)
        except exc_type as e:
            return e
    raise AssertionError(f"no {exc_type.__name__}")


async def _synced(s, cls, symbol):
    ex = s.attach(tracing(cls)({"enableRateLimit": False}))
    await ex.watch_order_book(symbol)
    return ex


@pytest.mark.parametrize("cls,symbol,kind", MARKETS)
@pytest.mark.parametrize("fault", ["drop", "reorder"])
def test_sequence_gap_is_detected(cls, symbol, kind, fault):
    """A lost or swapped diff breaks U == u+1 (spot) / pu == u (USD-M): ccxt.pro raises."""
    async def main():
        async with sim.serve("binance", sim.Generator(seed=1)) as s:
            ex = await _synced(s, cls, symbol)
            try:
                f = s.inject(sim.Drop("btcusdt@depth*", after=3) if fault == "drop"
                             else sim.Reorder("btcusdt@depth*", after=3))
                await s.step(10)
                await _watch_until_error(ex, symbol, ChecksumError)
                assert f.done.is_set() and f.hits == 1
            finally:
                await ex.close()

    run(main())


@pytest.mark.parametrize("cls,symbol,kind", MARKETS)
def test_corrupted_level_makes_the_book_diverge_at_exactly_that_level(cls, symbol, kind):
    async def main():
        async with sim.serve("binance", sim.Generator(seed=4)) as s:
            ex = await _synced(s, cls, symbol)
            try:
                s.inject(sim.Corrupt("btcusdt@depth*", after=2))
                await s.step(3)
                target = s.source.market(kind, "BTCUSDT").update_id
                await ex.wait_until(lambda: ex.trace.get(symbol, [(None,)])[-1][0] == target)
                bids, asks, nonce = _truth(s, kind)
                book = ex.orderbooks[symbol]
                got_b, got_a = _levels(book["bids"]), _levels(book["asks"])
                diff = [p for p in set(bids) | set(got_b) if bids.get(p) != got_b.get(p)] + \
                       [p for p in set(asks) | set(got_a) if asks.get(p) != got_a.get(p)]
                assert book["nonce"] == nonce and len(diff) == 1
            finally:
                await ex.close()

    run(main())


@pytest.mark.parametrize("code", [None, 1001])
def test_disconnect_makes_ccxt_reconnect_and_resync(code):
    """An abrupt TCP reset (None) or a close frame: a pending watcher is rejected with
    NetworkError, ccxt.pro reconnects, resubscribes, fetches a new snapshot and is
    back in sync with the generator."""
    stream = "btcusdt@depth@100ms"

    async def main():
        async with sim.serve("binance", sim.Generator(seed=1)) as s:
            ex = await _synced(s, ccxt.pro.binance, "BTC/USDT")
            try:
                old, = await s.wait_subscribed(stream)
                s.inject(sim.Disconnect("btcusdt@depth*", code=code))
                pending = asyncio.ensure_future(ex.watch_order_book("BTC/USDT"))
                await s.step(1)
                await asyncio.wait_for(old.closed.wait(), 5)
                # either the pending watcher is rejected, or it was created after the drop
                # and is already reconnecting: wait for whichever happens first
                resubscribed = asyncio.ensure_future(s.wait_subscribed(stream))
                done, _ = await asyncio.wait({pending, resubscribed}, timeout=10,
                                             return_when=asyncio.FIRST_COMPLETED)
                if pending in done and isinstance(pending.exception(), NetworkError):
                    # like user code: watch again, which reconnects
                    pending = asyncio.ensure_future(ex.watch_order_book("BTC/USDT"))
                new, = await resubscribed
                assert new is not old
                await asyncio.wait_for(pending, 5)      # resolves on the new snapshot
                await s.step(5)
                target = s.source.market("spot", "BTCUSDT").update_id
                await ex.wait_until(lambda: ex.trace.get("BTC/USDT", [(None,)])[-1][0] == target)
                bids, asks, _ = _truth(s, "spot")
                book = ex.orderbooks["BTC/USDT"]
                assert _levels(book["bids"]) == bids and _levels(book["asks"]) == asks
                assert sum("/depth?" in p for _, p in s.rest_log) == 2
            finally:
                await ex.close()

    run(main())


def test_stall_holds_frames_then_flushes_in_order():
    async def main():
        async with sim.serve("binance", sim.Generator(seed=1)) as s:
            ex = await _synced(s, ccxt.pro.binance, "BTC/USDT")
            try:
                conn, = await s.wait_subscribed("btcusdt@depth@100ms")
                before = len(ex.trace.get("BTC/USDT", []))
                stall = s.inject(sim.Stall("btcusdt@depth*"))
                await s.step(5)
                assert conn.sent == before and len(conn._held) == 5      # nothing left the server
                stall.release()
                target = s.source.market("spot", "BTCUSDT").update_id
                await ex.wait_until(lambda: ex.trace.get("BTC/USDT", [(None,)])[-1][0] == target)
                bids, asks, _ = _truth(s, "spot")
                book = ex.orderbooks["BTC/USDT"]
                assert _levels(book["bids"]) == bids and _levels(book["asks"]) == asks
            finally:
                await ex.close()

    run(main())


def test_failed_snapshot_request_is_retried_by_ccxt():
    async def main():
        async with sim.serve("binance", sim.Generator(seed=1)) as s:
            fault = s.inject(sim.FailRest("/api/v3/depth", status=503))
            ex = await _synced(s, ccxt.pro.binance, "BTC/USDT")
            try:
                assert fault.hits == 1
                assert sum("/depth?" in p for _, p in s.rest_log) == 2
                bids, asks, nonce = _truth(s, "spot")
                book = ex.orderbooks["BTC/USDT"]
                assert book["nonce"] == nonce and _levels(book["bids"]) == bids
            finally:
                await ex.close()

    run(main())
