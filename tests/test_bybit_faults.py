"""Faults on the Bybit wire: what ccxt.pro misses, what we detect, and that a resync of
one symbol leaves the other symbols on the same connection flowing."""
from __future__ import annotations

import asyncio

import pytest
from ccxt.base.errors import InvalidNonce, NetworkError

from ccxtpro_fast import sim

from bybit_helpers import drained, fast, sides, truth, until, vanilla
from sim_helpers import run

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"
BTC_TOPIC, ETH_TOPIC = "orderbook.50.BTCUSDT", "orderbook.50.ETHUSDT"


def _view_u(s, market_id):
    return s.protocol._views[("linear", market_id)][50].u


async def _synced(s, ex):
    await ex.watch_order_book(BTC)
    await ex.watch_order_book(ETH)
    await s.wait_subscribed(ETH_TOPIC, "linear")
    return ex


async def _caught_up(s, ex):
    """Ours: both topics synced at the simulator's latest update id."""
    def done():
        states = [ex.bybit_book_state(BTC), ex.bybit_book_state(ETH)]
        return all(st and st[0]["synced"] for st in states) and \
            states[0][0]["u"] == _view_u(s, "BTCUSDT") and states[1][0]["u"] == _view_u(s, "ETHUSDT")
    await until(done, what="books in sync with the simulator")


def _eth_uninterrupted(ex, s):
    """Every ETH message was applied, in order, none missing, no ETH resync."""
    us = [entry[0] for entry in ex.books[ETH_TOPIC + "@linear"]]
    assert us == list(range(us[0], us[0] + len(us))) and us[-1] == _view_u(s, "ETHUSDT")
    assert ex.bybit_book_state(ETH)[0]["resyncs"] == 0


@pytest.mark.parametrize("fault", ["drop", "reorder", "truncated"])
def test_gap_is_detected_and_only_that_symbol_resyncs(fault):
    async def main():
        async with sim.serve("bybit", sim.Generator(seed=5)) as s:
            ex = await _synced(s, s.attach(fast()))
            try:
                make = {"drop": lambda: sim.Drop(BTC_TOPIC, after=4),
                        "reorder": lambda: sim.Reorder(BTC_TOPIC, after=4),
                        "truncated": lambda: sim.Corrupt(BTC_TOPIC, mode="json", after=4)}[fault]
                f = s.inject(make())
                # a waiter of the resynced symbol must never see an error
                waiter = asyncio.ensure_future(ex.watch_order_book(BTC))
                for _ in range(6):
                    await s.step(10)
                await _caught_up(s, ex)
                assert f.hits == 1
                assert ex.bybit_book_state(BTC)[0]["resyncs"] == 1
                assert sides(ex, BTC) == truth(s, BTC) and sides(ex, ETH) == truth(s, ETH)
                _eth_uninterrupted(ex, s)
                book = await asyncio.wait_for(waiter, 5)
                assert book["symbol"] == BTC
                # the resync was an unsubscribe + subscribe of that one topic on the same connection
                conn, = [c for c in s.connections if c.kind == "linear"]
                assert conn.streams == {BTC_TOPIC, ETH_TOPIC}
            finally:
                await ex.close()

    run(main())


def test_ccxt_pro_misses_a_dropped_delta_and_serves_a_wrong_book():
    """The same session and fault given to ccxt.pro: it applies the next delta over the
    gap and hands out a book that is not the exchange's; ours resyncs (previous test)."""
    async def main():
        async with sim.serve("bybit", sim.Generator(seed=5)) as s:
            ex = await _synced(s, s.attach(vanilla()))
            try:
                f = s.inject(sim.Drop(BTC_TOPIC, after=4))
                while not f.done.is_set():
                    await s.step(1)
                waiter = asyncio.ensure_future(ex.watch_order_book(BTC))
                await s.step(1)
                await drained(s, [ex], kinds=("linear",))
                book = await asyncio.wait_for(waiter, 5)            # no error: it did not notice
                us = [entry[0] for entry in ex.books[BTC_TOPIC + "@linear"]]
                assert us[-1] == us[-2] + 2                         # the gap it applied over
                got = ([list(x) for x in book["bids"]], [list(x) for x in book["asks"]])
                assert got != truth(s, BTC)
                assert sides(ex, ETH) == truth(s, ETH)
            finally:
                await ex.close()

    run(main())


def test_corrupted_quantity_cannot_be_detected_on_bybit():
    """Bybit publishes no checksum: a well-formed but wrong quantity keeps ``u``
    continuous, so neither ccxt.pro nor we can see it; both books differ from the truth
    at exactly that level (and agree with each other). Documented in docs/exchanges/bybit.md."""
    async def main():
        results = []
        for make in (vanilla, fast):
            async with sim.serve("bybit", sim.Generator(seed=9)) as s:
                ex = await _synced(s, s.attach(make()))
                try:
                    s.inject(sim.Corrupt(BTC_TOPIC, after=2))
                    await s.step(3)
                    await drained(s, [ex], kinds=("linear",))
                    bids, asks = sides(ex, BTC)
                    tb, ta = truth(s, BTC)
                    wrong = [a for a, b in zip(bids + asks, tb + ta) if a != b]
                    assert len(wrong) == 1 and len(bids) == len(tb)
                    results.append((bids, asks))
                    if make is fast:
                        assert ex.bybit_book_state(BTC)[0]["resyncs"] == 0
                finally:
                    await ex.close()
        assert results[0] == results[1]

    run(main())


def test_failed_resync_rejects_the_waiters_with_invalid_nonce_then_recovers():
    """resyncTimeout 0: the resync counts as failed before its snapshot can arrive, so the
    symbol's waiter gets ccxt's InvalidNonce; the snapshot still lands and the book is
    right afterwards."""
    async def main():
        async with sim.serve("bybit", sim.Generator(seed=5)) as s:
            ex = await _synced(s, s.attach(fast({"resyncTimeout": 0, "maxResyncAttempts": 1})))
            try:
                await s.step(2)
                await drained(s, [ex], kinds=("linear",))
                f = s.inject(sim.Drop(BTC_TOPIC))
                waiter = asyncio.ensure_future(ex.watch_order_book(BTC))
                while not f.done.is_set():
                    await s.step(1)
                await s.step(5)
                with pytest.raises(InvalidNonce):
                    await asyncio.wait_for(waiter, 5)
                await _caught_up(s, ex)
                assert sides(ex, BTC) == truth(s, BTC)
                assert ex.bybit_book_state(BTC)[0]["resyncs"] == 1
                _eth_uninterrupted(ex, s)
                later = asyncio.ensure_future(ex.watch_order_book(BTC))
                await s.step(3)
                assert (await asyncio.wait_for(later, 5))["symbol"] == BTC
            finally:
                await ex.close()

    run(main())


@pytest.mark.parametrize("code", [None, 1001])
def test_disconnect_then_watch_again_resubscribes_both_books(code):
    async def main():
        async with sim.serve("bybit", sim.Generator(seed=6)) as s:
            ex = await _synced(s, s.attach(fast()))
            try:
                old, = await s.wait_subscribed(BTC_TOPIC, "linear")
                s.inject(sim.Disconnect(BTC_TOPIC, code=code))
                pending = asyncio.ensure_future(ex.watch_order_book(BTC))
                await s.step(1)
                await asyncio.wait_for(old.closed.wait(), 5)
                try:
                    await asyncio.wait_for(pending, 5)
                except NetworkError:
                    pass
                book = await asyncio.wait_for(ex.watch_order_book(BTC), 5)     # reconnects
                new, = await s.wait_subscribed(ETH_TOPIC, "linear")           # replayed too
                assert new is not old and book["symbol"] == BTC
                await s.step(20)
                await _caught_up(s, ex)
                assert sides(ex, BTC) == truth(s, BTC) and sides(ex, ETH) == truth(s, ETH)
                assert ex.bybit_book_state(BTC)[0]["resyncs"] == 0
            finally:
                await ex.close()

    run(main())


def test_stall_then_flush_keeps_the_books_in_sync():
    async def main():
        async with sim.serve("bybit", sim.Generator(seed=7)) as s:
            ex = await _synced(s, s.attach(fast()))
            try:
                stall = s.inject(sim.Stall(BTC_TOPIC))
                await s.step(15)
                conn, = [c for c in s.connections if c.kind == "linear"]
                assert conn._held                       # nothing left the server
                stall.release()
                await _caught_up(s, ex)
                assert sides(ex, BTC) == truth(s, BTC) and sides(ex, ETH) == truth(s, ETH)
                assert ex.bybit_book_state(BTC)[0]["resyncs"] == 0
            finally:
                await ex.close()

    run(main())


def test_snapshot_sent_again_by_the_server_resets_the_book():
    """A snapshot mid-stream (the server re-sending one, or u == 1 after a restart)
    replaces the book and restarts the u chain; no resync is needed."""
    async def main():
        async with sim.serve("bybit", sim.Generator(seed=8)) as s:
            ex = await _synced(s, s.attach(fast()))
            try:
                await s.step(5)
                await _caught_up(s, ex)
                conn, = [c for c in s.connections if c.kind == "linear"]
                view = s.protocol._views[("linear", "BTCUSDT")][50]
                view.u = 1                                  # a backend restart
                st = s.source.market("linear", "BTCUSDT")
                snapshot = s.protocol._book_message(BTC_TOPIC, st.spec, view, view.bids.items(),
                                                    view.asks.items(), "snapshot", st.update_id,
                                                    s.source.clock, ordered=False)
                conn.send_stream(BTC_TOPIC, snapshot)
                await s.step(10)
                await _caught_up(s, ex)
                assert ex.bybit_book_state(BTC)[0]["resyncs"] == 0
                assert ex.bybit_book_state(BTC)[0]["u"] == view.u > 1
                assert sides(ex, BTC) == truth(s, BTC)
            finally:
                await ex.close()

    run(main())
