"""Faults on OKX books through the simulator: what our adapter detects and repairs, and
what ccxt.pro misses.

Each test runs one implementation against a fresh simulator with the same seed, so both
see the same market and the same damage. "Truth" is the generator's book after each
tick (ticks have distinct timestamps, so a book's timestamp names the tick it shows).
"""
from __future__ import annotations

import asyncio

import ccxt.pro
import pytest
from ccxt.base.errors import ChecksumError, InvalidNonce, NetworkError

import ccxtpro_fast
from ccxtpro_fast import sim

from okx_helpers import record_truth, traced, truth_levels, watcher
from sim_helpers import run

BTC, SWAP = "BTC-USDT", "BTC-USDT-SWAP"
TICKS = 40


async def _start(s, cls, config=None):
    ex = s.attach(traced(cls)(config))
    await ex.load_markets()
    results = {"BTC/USDT": [], "BTC/USDT:USDT": []}
    tasks = [watcher(ex, symbol, out) for symbol, out in results.items()]
    await s.wait_subscribed("books:" + BTC)
    await s.wait_subscribed("books:" + SWAP)
    await ex.wait_until(lambda: ex.counts[("books", BTC)] and ex.counts[("books", SWAP)])
    return ex, tasks, results


async def _stop(ex, tasks):
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await ex.close()


def _wrong_states(ex, truth, inst):
    """Books shown after a books message that differ from the truth at their tick."""
    wrong = []
    for _, state in ex.trace[("books", inst)]:
        if state is not None:
            nonce, ts, _, _, bids, asks = state
            if ts in truth[inst] and (bids, asks) != truth[inst][ts]:
                wrong.append(ts)
    return wrong


def _snapshots(ex, inst):
    return sum(1 for m, _ in ex.trace[("books", inst)] if m["action"] == "snapshot")


def _assert_swap_uninterrupted(ex, truth, s, ticks):
    """The other instrument on the connection: every update applied in sequence, each
    book right, no resync, its waiter never saw an error."""
    states = [state for _, state in ex.trace[("books", SWAP)]]
    assert len(states) == ticks + 1
    msgs = [m for m, _ in ex.trace[("books", SWAP)]]
    for before, after in zip(msgs, msgs[1:]):
        assert after["data"][0]["prevSeqId"] == before["data"][0]["seqId"]
    assert _wrong_states(ex, truth, SWAP) == []
    assert all(r[1] != SWAP for r in ex.resyncs)
    assert all(symbol != "BTC/USDT:USDT" for symbol, _ in ex.errors)
    assert states[-1][4:] == truth_levels(s, SWAP)


@pytest.mark.parametrize("impl", ["ours", "ccxtpro"])
def test_corrupted_level(impl):
    """One level's size changed in an update (checksum left as published). Ours: the
    checksum fails, BTC-USDT alone is resubscribed and its book is right again, no book
    ever shown wrong, no error to the waiter. ccxt.pro never checks: a wrong book, silently."""
    async def main():
        async with sim.serve("okx", sim.Generator(seed=5)) as s:
            truth = record_truth(s)
            cls = ccxtpro_fast.okx if impl == "ours" else ccxt.pro.okx
            ex, tasks, results = await _start(s, cls)
            try:
                fault = s.inject(sim.Corrupt("books:" + BTC, after=6))
                await s.step(TICKS)
                await ex.wait_until(lambda: ex.counts[("books", SWAP)] == TICKS + 1)
                await ex.wait_until(lambda: (ex.orderbooks.get("BTC/USDT") or {}).get("nonce")
                                    == s.protocol.current_seq(BTC))
                assert fault.done.is_set()
                _assert_swap_uninterrupted(ex, truth, s, TICKS)
                if impl == "ours":
                    assert ex.resyncs == [("books", BTC, "ChecksumError")]
                    assert _wrong_states(ex, truth, BTC) == []
                    assert ex.errors == []
                    book = ex.orderbooks["BTC/USDT"]
                    assert (book["bids"][:], book["asks"][:]) == truth_levels(s, BTC)
                    # the resync was a second snapshot on the same connection
                    snaps = [m for m, _ in ex.trace[("books", BTC)] if m["action"] == "snapshot"]
                    assert len(snaps) == 2 and len(s.connections) == 1
                else:
                    assert ex.errors == []
                    assert len(_wrong_states(ex, truth, BTC)) >= 1
            finally:
                await _stop(ex, tasks)

    run(main())


@pytest.mark.parametrize("impl", ["ours", "ccxtpro"])
def test_dropped_update_with_sequence_ids(impl):
    """A lost update breaks prevSeqId == last seqId. Both notice; ours resyncs that one
    instrument without bothering the waiter, ccxt.pro rejects the waiter (InvalidNonce)
    and resubscribes on the next call."""
    async def main():
        async with sim.serve("okx", sim.Generator(seed=6)) as s:
            truth = record_truth(s)
            cls = ccxtpro_fast.okx if impl == "ours" else ccxt.pro.okx
            ex, tasks, results = await _start(s, cls)
            try:
                s.inject(sim.Drop("books:" + BTC, after=4))
                await s.step(TICKS)
                await ex.wait_until(lambda: ex.counts[("books", SWAP)] == TICKS + 1)
                await ex.wait_until(lambda: (ex.orderbooks.get("BTC/USDT") or {}).get("nonce")
                                    == s.protocol.current_seq(BTC))
                _assert_swap_uninterrupted(ex, truth, s, TICKS)
                book = ex.orderbooks["BTC/USDT"]
                assert (book["bids"][:], book["asks"][:]) == truth_levels(s, BTC)
                if impl == "ours":
                    assert ex.resyncs == [("books", BTC, "InvalidNonce")]
                    assert ex.errors == []
                    assert _wrong_states(ex, truth, BTC) == []
                else:
                    # ccxt.pro hands the gap to the waiter (and, as observed here, more
                    # than once before its next watch resubscribes)
                    assert ex.errors and {type(e) for _, e in ex.errors} == {InvalidNonce}
                    assert {sym for sym, _ in ex.errors} == {"BTC/USDT"}
            finally:
                await _stop(ex, tasks)

    run(main())


@pytest.mark.parametrize("impl", ["ours", "ccxtpro"])
def test_dropped_update_without_sequence_ids(impl):
    """Messages as OKX sent them before seqId (the 2022 recording): only the checksum
    can reveal a lost update. Ours catches it and repairs the book; ccxt.pro keeps a
    wrong book without an error."""
    async def main():
        async with sim.serve("okx", sim.Generator(seed=8)) as s:
            s.protocol.seq_ids = False
            truth = record_truth(s)
            cls = ccxtpro_fast.okx if impl == "ours" else ccxt.pro.okx
            ex, tasks, results = await _start(s, cls)
            try:
                s.inject(sim.Drop("books:" + BTC, after=4))
                await s.step(TICKS)
                last_ts = s.source.clock
                await ex.wait_until(lambda: ex.counts[("books", SWAP)] == TICKS + 1)
                await ex.wait_until(lambda: (ex.orderbooks.get("BTC/USDT") or {}).get("timestamp") == last_ts)
                assert ex.errors == []
                if impl == "ours":
                    assert ex.resyncs == [("books", BTC, "ChecksumError")]
                    assert _wrong_states(ex, truth, BTC) == []
                    book = ex.orderbooks["BTC/USDT"]
                    assert (book["bids"][:], book["asks"][:]) == truth_levels(s, BTC)
                else:
                    assert len(_wrong_states(ex, truth, BTC)) >= 1
            finally:
                await _stop(ex, tasks)

    run(main())


def test_keepalive_and_sequence_reset_are_not_gaps():
    """The two documented exceptions: a keep-alive (seqId == prevSeqId, no levels) and a
    reset after maintenance (seqId < prevSeqId) chain normally: no resync, right book."""
    async def main():
        async with sim.serve("okx", sim.Generator(seed=9)) as s:
            truth = record_truth(s)
            ex, tasks, results = await _start(s, ccxtpro_fast.okx)
            try:
                await s.step(5)
                assert s.protocol.keepalive(BTC) == 1
                s.protocol.reset_sequence(BTC, 3)
                await s.step(5)
                await ex.wait_until(lambda: ex.counts[("books", BTC)] == 12)
                msgs = [m["data"][0] for m, _ in ex.trace[("books", BTC)]]
                keep = msgs[6]
                assert keep["bids"] == keep["asks"] == [] and keep["seqId"] == keep["prevSeqId"] == msgs[5]["seqId"]
                reset = msgs[7]
                assert reset["prevSeqId"] == keep["seqId"] and reset["seqId"] < reset["prevSeqId"]
                assert ex.resyncs == [] and ex.errors == []
                assert _wrong_states(ex, truth, BTC) == []
                assert ex.orderbooks["BTC/USDT"]["nonce"] == msgs[-1]["seqId"] == s.protocol.current_seq(BTC)
            finally:
                await _stop(ex, tasks)

    run(main())


def test_resync_that_keeps_failing_reaches_the_waiter():
    """Every BTC-USDT book frame corrupted, snapshots included: after maxResyncAttempts
    resyncs the waiter gets ChecksumError (ccxt's class); the swap keeps flowing. Once the
    data is clean, the next watch_order_book resubscribes and the book is right."""
    async def main():
        async with sim.serve("okx", sim.Generator(seed=10)) as s:
            truth = record_truth(s)
            ex, tasks, results = await _start(s, ccxtpro_fast.okx,
                                              {"options": {"watchOrderBook": {"maxResyncAttempts": 2}}})
            try:
                fault = s.inject(sim.Corrupt("books:" + BTC, count=1000))
                await s.step(3)
                await ex.wait_until(lambda: ex.errors)
                assert [(sym, type(e)) for sym, e in ex.errors] == [("BTC/USDT", ChecksumError)]
                assert [r[2] for r in ex.resyncs] == ["ChecksumError"] * 2
                s.faults.clear()
                assert fault.hits >= 3
                await s.step(6)
                await ex.wait_until(lambda: ex.counts[("books", SWAP)] == 10)
                await ex.wait_until(lambda: (ex.orderbooks.get("BTC/USDT") or {}).get("nonce")
                                    == s.protocol.current_seq(BTC))
                book = ex.orderbooks["BTC/USDT"]
                assert (book["bids"][:], book["asks"][:]) == truth_levels(s, BTC)
                _assert_swap_uninterrupted(ex, truth, s, 9)
            finally:
                await _stop(ex, tasks)

    run(main())


def test_resync_without_a_snapshot_times_out_with_the_error():
    """The new snapshot never comes (every BTC-USDT frame lost after the one that
    revealed the gap): the waiter gets InvalidNonce after resyncTimeout."""
    async def main():
        async with sim.serve("okx", sim.Generator(seed=12)) as s:
            ex, tasks, results = await _start(s, ccxtpro_fast.okx,
                                              {"options": {"watchOrderBook": {"resyncTimeout": 300}}})
            try:
                # frames 1-2 pass, 3 is lost (the gap), 4 shows it, 5 and later are lost
                s.inject(sim.Drop("books:" + BTC, after=2))
                s.inject(sim.Drop("books:" + BTC, after=3, count=1000))
                await s.step(5)
                await ex.wait_until(lambda: ex.errors, timeout=5)
                assert [(sym, type(e)) for sym, e in ex.errors] == [("BTC/USDT", InvalidNonce)]
                assert ex.resyncs == [("books", BTC, "InvalidNonce")]
                assert ex.counts[("books", SWAP)] == 6
            finally:
                await _stop(ex, tasks)

    run(main())


@pytest.mark.parametrize("fault", ["reorder", "stall", "disconnect"])
def test_other_shared_faults(fault):
    """Reorder: two BTC-USDT updates swapped -> a prevSeqId gap -> that symbol resyncs.
    Stall: output held, then flushed in order -> nothing to repair. Disconnect: the
    connection drops -> the mixin reconnects (autoReconnect), resubscribes, and the new
    snapshots make both books right again."""
    async def main():
        async with sim.serve("okx", sim.Generator(seed=13)) as s:
            truth = record_truth(s)
            config = {"options": {"ws": {"autoReconnect": True, "reconnectDelay": 10}}}
            ex, tasks, results = await _start(s, ccxtpro_fast.okx, config)
            try:
                if fault == "reorder":
                    f = s.inject(sim.Reorder("books:" + BTC, after=3))
                elif fault == "stall":
                    f = s.inject(sim.Stall("books:*", after=3))
                else:
                    f = s.inject(sim.Disconnect("books:" + BTC, after=3))
                await s.step(10)
                assert f.done.is_set()
                if fault == "stall":
                    assert ex.counts[("books", BTC)] < 11
                    f.release()
                if fault == "disconnect":
                    # reconnected and resubscribed: a second snapshot of each instrument
                    await ex.wait_until(lambda: _snapshots(ex, BTC) == 2 and _snapshots(ex, SWAP) == 2)
                await s.step(10)
                for inst, symbol in (("BTC-USDT", "BTC/USDT"), (SWAP, "BTC/USDT:USDT")):
                    await ex.wait_until(lambda: (ex.orderbooks.get(symbol) or {}).get("nonce")
                                        == s.protocol.current_seq(inst))
                    book = ex.orderbooks[symbol]
                    assert (book["bids"][:], book["asks"][:]) == truth_levels(s, inst)
                    assert _wrong_states(ex, truth, inst) == []
                if fault == "reorder":
                    assert ex.resyncs == [("books", BTC, "InvalidNonce")] and ex.errors == []
                    _assert_swap_uninterrupted(ex, truth, s, 20)
                elif fault == "stall":
                    assert ex.resyncs == [] and ex.errors == []
                    _assert_swap_uninterrupted(ex, truth, s, 20)
                else:
                    # frames the simulator still sends after it dropped the socket (the
                    # connection is marked closed only when picows reports it) can reveal
                    # a gap first: that instrument may resync before the reconnect
                    assert set(ex.resyncs) <= {("books", BTC, "InvalidNonce")}
                    # whether a waiter sees the drop is the transport's business (ccxt's
                    # NetworkError if it does); the books must be right either way
                    assert all(isinstance(e, NetworkError) for _, e in ex.errors)
            finally:
                await _stop(ex, tasks)

    run(main())
