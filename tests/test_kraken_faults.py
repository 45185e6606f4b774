"""Kraken book faults through the simulator's shared faults, ccxt.pro and ccxtpro_fast on
the same connection-level frames.

Kraken v2 books carry no sequence number: a corrupted level, a lost update or two
swapped updates show up as a checksum mismatch on the next message. Ours resubscribes
that one symbol and is right again after the new snapshot, while the other symbols on
the connection keep flowing (their books match ccxt.pro's, message for message);
ccxt.pro (no checksum verification by default) keeps a wrong book.
"""
from __future__ import annotations

import asyncio

import pytest
from ccxt.base.errors import ChecksumError

from ccxtpro_fast import sim

from kraken_helpers import SYMBOLS, Ours, Theirs, book_of, settle, truth, wait_for
from sim_helpers import run

TARGET = "BTC/USD"
OTHERS = tuple(s for s in SYMBOLS if s != TARGET)


def _resynced(ex, symbol, count=1):
    sync = ex.book_syncs.get(symbol)
    return lambda: sync is not None and sync.resyncs >= count and not sync.resyncing


@pytest.mark.parametrize("fault,seed,ccxt_wrong", [
    pytest.param(lambda: sim.Corrupt("book.*:" + TARGET, count=2, seed=3), 5, True, id="corrupt-level"),
    pytest.param(lambda: sim.Drop("book.*:" + TARGET, count=2), 6, True, id="drop"),
    # two swapped updates of different levels commute: ccxt.pro ends up right by luck,
    # ours sees the first one's checksum fail and resyncs anyway
    pytest.param(lambda: sim.Reorder("book.*:" + TARGET, count=2), 8, False, id="reorder"),
])
def test_fault_resyncs_one_symbol_and_ccxt_pro_stays_wrong(fault, seed, ccxt_wrong):
    async def main():
        async with sim.serve("kraken", sim.Generator(seed=seed)) as s:
            theirs, ours = s.attach(Theirs()), s.attach(Ours())
            try:
                for ex in (theirs, ours):
                    for symbol in SYMBOLS:
                        await ex.watch_order_book(symbol)
                await s.step(20)
                await settle(s, theirs, ours)
                waiter = asyncio.ensure_future(ours.watch_order_book(TARGET))
                injected = s.inject(fault())
                while not injected.done.is_set():
                    await s.step(1)
                # the next update of the symbol shows the damage (its checksum)
                sync = ours.book_syncs[TARGET]
                await settle(s, theirs, ours)
                while sync.resyncs == 0:
                    await s.step(1)
                    await settle(s, theirs, ours)
                await settle(s, theirs, ours, extra=_resynced(ours, TARGET))
                assert sync.resyncs == 1
                # the waiter across the fault got a correct book, not an error
                assert book_of(ours, TARGET) == truth(s, TARGET) == (lambda b: {
                    "bids": [list(x) for x in b["bids"]], "asks": [list(x) for x in b["asks"]]})(await waiter)
                if ccxt_wrong:
                    assert book_of(theirs, TARGET) != truth(s, TARGET)      # ccxt.pro missed it
                # the other symbols never stopped: every frame handled and verified, the same
                # books as ccxt.pro's, message for message
                for symbol in OTHERS:
                    other = ours.book_syncs[symbol]
                    assert other.resyncs == 0 and other.verified == len(ours.books[symbol])
                    assert ours.books[symbol] == theirs.books[symbol]
                    assert book_of(ours, symbol) == truth(s, symbol)
                # and the resynced symbol stays right
                await s.step(100)
                await settle(s, theirs, ours)
                assert book_of(ours, TARGET) == truth(s, TARGET) and sync.resyncs == 1
                for symbol in SYMBOLS:
                    assert book_of(ours, symbol) == truth(s, symbol)
            finally:
                await ours.close()
                await theirs.close()

    run(main())


def test_failed_resync_raises_checksum_error_for_that_symbol_only():
    """Every frame of one symbol corrupted, snapshots included: after
    maxResyncAttempts resubscriptions its waiter gets ChecksumError; the others flow;
    once the damage stops, watching it again subscribes afresh and is right."""
    async def main():
        async with sim.serve("kraken", sim.Generator(seed=11)) as s:
            ours = s.attach(Ours())
            try:
                for symbol in OTHERS:
                    await ours.watch_order_book(symbol)
                damage = s.inject(sim.Corrupt("book.*:" + TARGET, count=10 ** 6))
                with pytest.raises(ChecksumError):
                    await asyncio.wait_for(ours.watch_order_book(TARGET), 10)
                assert damage.hits == ours.options["watchOrderBook"]["maxResyncAttempts"] + 1
                assert TARGET not in ours.book_syncs and TARGET not in ours.orderbooks
                await s.step(30)
                await settle(s, ours)
                for symbol in OTHERS:
                    assert book_of(ours, symbol) == truth(s, symbol)
                    assert ours.book_syncs[symbol].resyncs == 0
                s.faults.clear()
                await wait_for(lambda: not s.subscribers("spot", "book.10:" + TARGET), what="unsubscribed")
                book = await asyncio.wait_for(ours.watch_order_book(TARGET), 10)
                assert book_of(ours, TARGET) == truth(s, TARGET) and book is ours.orderbooks[TARGET]
            finally:
                await ours.close()

    run(main())


def test_stall_loses_nothing_and_needs_no_resync():
    async def main():
        async with sim.serve("kraken", sim.Generator(seed=12)) as s:
            ours = s.attach(Ours())
            try:
                for symbol in SYMBOLS:
                    await ours.watch_order_book(symbol)
                stall = s.inject(sim.Stall("book.*:" + TARGET, after=3))
                await s.step(40)
                assert stall.done.is_set()
                held = ours.received
                stall.release()
                await s.step(10)
                await settle(s, ours)
                assert ours.received > held
                for symbol in SYMBOLS:
                    assert book_of(ours, symbol) == truth(s, symbol)
                    assert ours.book_syncs[symbol].resyncs == 0
            finally:
                await ours.close()

    run(main())


def test_disconnect_then_reconnect_resubscribes_every_book():
    async def main():
        async with sim.serve("kraken", sim.Generator(seed=13)) as s:
            ours = s.attach(Ours({"options": {"ws": {"autoReconnect": True, "reconnectDelay": 10}}}))
            try:
                for symbol in SYMBOLS:
                    await ours.watch_order_book(symbol)
                url = ours.urls["api"]["ws"]["publicV2"]
                first = ours.clients[url]
                cut = s.inject(sim.Disconnect("book.*:" + TARGET, after=2))
                while not cut.done.is_set():
                    await s.step(1)
                await wait_for(lambda: first.closed(), what="the dropped connection")
                # the mixin reconnects and replays the subscriptions: fresh snapshots
                for symbol in SYMBOLS:
                    await s.wait_subscribed("book.10:" + symbol)
                await s.step(20)
                await wait_for(lambda: all(book_of(ours, sym) == truth(s, sym) for sym in SYMBOLS),
                               what="books equal to the truth after the reconnect")
                assert ours.clients[url] is not first
                assert all(ours.book_syncs[sym].resyncs == 0 for sym in SYMBOLS)
            finally:
                await ours.close()

    run(main())
