"""Faults on a Bitget v2 session: ccxtpro_fast.bitget detects them, resynchronises the
one symbol they hit (resubscribe: a fresh snapshot) and never resolves a book that differs
from the generator's truth, while the other symbols on the connection keep every update.
Where ccxt.pro misses a fault (a snapshot's checksum is never verified; a snapshot after
a reconnect is merged into the stale book), the same session shows its book wrong."""
from __future__ import annotations

import asyncio

import pytest
from ccxt.base.errors import ChecksumError, InvalidNonce, NetworkError

from ccxtpro_fast import sim

from bitget_helpers import SYMBOLS, both, fast_class, record_truth, rows, subscribe_books, traced, truth_now
from sim_helpers import run

ALL = list(SYMBOLS.values())
TARGET = "BTC/USDT"
OTHERS = [s for s in ALL if s != TARGET]


async def _started(s, ex, truth):
    await ex.load_markets()
    record_truth(s, truth)
    for sym in ALL:     # the snapshots' truth: the book before the next diff
        bids, asks, seq = truth_now(s, sym)
        truth.setdefault(sym, []).append((seq, bids, asks))
    await subscribe_books(s, ex, ALL)


def _assert_every_resolved_book_true(ex, truth):
    by_seq = {sym: {seq: (b, a) for seq, b, a in entries} for sym, entries in truth.items()}
    for sym, trace in ex.book_trace.items():
        for seq, bids, asks in trace:
            assert (bids, asks) == by_seq[sym][seq], f"{sym} wrong at seq {seq}"


async def _caught_up(s, ex):
    targets = {sym: truth_now(s, sym)[2] for sym in ALL}
    await ex.wait_until(lambda: all(ex.last_seq(sym) == targets[sym] for sym in ALL))
    for sym in ALL:
        bids, asks, _ = truth_now(s, sym)
        assert rows(ex.orderbooks[sym]["bids"]) == bids and rows(ex.orderbooks[sym]["asks"]) == asks


@pytest.mark.parametrize("fault,reasons", [
    (lambda: sim.Corrupt("SPOT:books:BTCUSDT", after=6), {"checksum"}),
    (lambda: sim.Drop("SPOT:books:BTCUSDT", after=6), {"checksum"}),
    (lambda: sim.Reorder("SPOT:books:BTCUSDT", after=6), {"checksum", "seq"}),
], ids=["corrupt", "drop", "reorder"])
def test_fault_resyncs_one_symbol_others_flow(fault, reasons):
    async def main():
        async with sim.serve("bitget", sim.Generator(seed=3, levels=80)) as s:
            fast = s.attach(traced(fast_class())())
            truth: dict = {}
            try:
                await _started(s, fast, truth)
                f = s.inject(fault())
                watcher_errors = []

                async def keep_watching():
                    while True:
                        try:
                            await fast.watch_order_book(TARGET)
                        except asyncio.CancelledError:
                            raise
                        except Exception as error:          # must never happen
                            watcher_errors.append(error)
                watcher = asyncio.ensure_future(keep_watching())
                await s.step(40)
                assert f.done.is_set()
                await _caught_up(s, fast)
                watcher.cancel()
                assert watcher_errors == []
                st = fast.book_syncs[("SPOT", "BTCUSDT")]
                assert st.resyncs == 1 and set(st.reasons) <= reasons and st.synced
                _assert_every_resolved_book_true(fast, truth)
                for sym in OTHERS:       # untouched: every update, in order, no resync
                    assert [seq for seq, _, _ in fast.book_trace[sym]] == [seq for seq, _, _ in truth[sym]]
                for key, other in fast.book_syncs.items():
                    if key != ("SPOT", "BTCUSDT"):
                        assert other.resyncs == 0
                # the target missed only what its resync skipped, and kept its snapshot order
                seqs = [seq for seq, _, _ in fast.book_trace[TARGET]]
                assert seqs == sorted(seqs) and len(seqs) < len(truth[TARGET]) + 1
            finally:
                await fast.close()

    run(main())


def test_stall_then_release_needs_no_resync():
    async def main():
        async with sim.serve("bitget", sim.Generator(seed=8, levels=60)) as s:
            fast = s.attach(traced(fast_class())())
            truth: dict = {}
            try:
                await _started(s, fast, truth)
                stall = s.inject(sim.Stall("*:books:*", after=4))
                await s.step(20)
                assert stall.done.is_set()
                stall.release()
                await _caught_up(s, fast)
                assert sum(st.resyncs for st in fast.book_syncs.values()) == 0
                _assert_every_resolved_book_true(fast, truth)
            finally:
                await fast.close()

    run(main())


def test_corrupted_snapshot_ccxt_pro_resolves_a_wrong_book_ours_resyncs():
    """ccxt.pro never verifies a snapshot's checksum: the first book it resolves is wrong
    (one level, until an update happens to overwrite it or a later checksum fails); ours
    verifies it, resubscribes and resolves the true book."""
    async def session(cls):
        async with sim.serve("bitget", sim.Generator(seed=21, levels=60)) as s:
            ex = s.attach(cls())
            try:
                await ex.load_markets()
                s.inject(sim.Corrupt("SPOT:books:BTCUSDT", after=0))     # the snapshot
                book = await ex.watch_order_book(TARGET)
                bids, asks, _ = truth_now(s, TARGET)
                first = (rows(book["bids"]), rows(book["asks"])) == (bids, asks)
                wrong = [i for i, (a, b) in enumerate(zip(rows(book["bids"]) + rows(book["asks"]), bids + asks))
                         if a != b]
                syncs = getattr(ex, "book_syncs", {})
                return first, wrong, [st.reasons for st in syncs.values()]
            finally:
                await ex.close()

    async def main():
        Pro, Fast = both()
        pro_ok, pro_wrong, _ = await session(Pro)
        fast_ok, fast_wrong, reasons = await session(Fast)
        assert not pro_ok and len(pro_wrong) == 1
        assert fast_ok and fast_wrong == [] and reasons == [["checksum"]]

    run(main())


def test_snapshot_after_reconnect_ccxt_pro_keeps_stale_levels_ours_replaces():
    """A dropped connection, the user watches again: the new subscription's snapshot must
    replace the book. ccxt.pro merges it into the old one, keeping levels deleted meanwhile."""
    async def session(cls):
        async with sim.serve("bitget", sim.Generator(seed=5, levels=60)) as s:
            ex = s.attach(cls())
            try:
                await ex.load_markets()
                await ex.watch_order_book(TARGET)
                await s.step(5)
                seq = truth_now(s, TARGET)[2]
                await ex.wait_until(lambda: ex.last_seq(TARGET) == seq)
                s.inject(sim.Disconnect("SPOT:books:BTCUSDT"))
                pending = asyncio.ensure_future(ex.watch_order_book(TARGET))
                await s.step(1)
                with pytest.raises(NetworkError):
                    await asyncio.wait_for(pending, 5)
                await s.step(30)                          # the market moves while we are away
                book = await asyncio.wait_for(ex.watch_order_book(TARGET), 5)
                bids, asks, _ = truth_now(s, TARGET)
                got = (rows(book["bids"]), rows(book["asks"]))
                stale = {p for p, _ in got[0] + got[1]} - {p for p, _ in bids + asks}
                return got == (bids, asks), stale
            finally:
                await ex.close()

    async def main():
        Pro, Fast = both()
        pro_ok, pro_stale = await session(Pro)
        fast_ok, fast_stale = await session(Fast)
        assert not pro_ok and pro_stale
        assert fast_ok and not fast_stale

    run(main())


def test_resync_that_keeps_failing_rejects_only_that_symbol():
    """Every frame of BTC/USDT's books corrupted: after maxResyncs (3) the waiter gets
    ChecksumError and the channel is unwatched; ETH/USDT on the same connection flows."""
    async def main():
        async with sim.serve("bitget", sim.Generator(seed=9, levels=60)) as s:
            fast = s.attach(traced(fast_class())())
            truth: dict = {}
            try:
                await fast.load_markets()
                record_truth(s, truth)
                await subscribe_books(s, fast, ["ETH/USDT"])
                s.inject(sim.Corrupt("SPOT:books:BTCUSDT", count=1000))
                with pytest.raises(ChecksumError):
                    await asyncio.wait_for(fast.watch_order_book(TARGET), 10)
                st = fast.book_syncs[("SPOT", "BTCUSDT")]
                assert st.resyncs == 4 and st.reasons == ["checksum"] * 4
                await s.step(10)
                target = truth_now(s, "ETH/USDT")[2]
                await fast.wait_until(lambda: fast.last_seq("ETH/USDT") == target)
                assert [seq for seq, _, _ in fast.book_trace["ETH/USDT"][1:]] == [seq for seq, _, _ in truth["ETH/USDT"]]
                assert fast.book_syncs[("SPOT", "ETHUSDT")].resyncs == 0
            finally:
                await fast.close()

    run(main())


class _Client:
    """Just what the books handler touches on a client, to feed it messages by hand."""

    def __init__(self):
        self.sent, self.resolved, self.rejected = [], [], []

    async def send(self, message):
        self.sent.append(message)

    def closed(self):
        return False

    def resolve(self, result, message_hash):
        self.resolved.append(message_hash)

    def reject(self, error, message_hash=None):
        self.rejected.append((error, message_hash))


def _books(action, seq, bids, asks, checksum):
    return {"action": action, "arg": {"instType": "SPOT", "channel": "books", "instId": "BTCUSDT"},
            "data": [{"asks": asks, "bids": bids, "checksum": checksum, "seq": seq, "ts": "1700000000000"}],
            "ts": 1700000000000}


def test_seq_that_does_not_increase_and_update_without_snapshot_resync():
    from ccxtpro_fast.sim.bitget import checksum_of

    async def main():
        ex = fast_class()()
        ex.open()           # the event loop for spawned tasks; no connection is made
        ex.set_markets([{"id": "BTCUSDT", "symbol": "BTC/USDT", "base": "BTC", "quote": "USDT", "type": "spot",
                         "spot": True, "swap": False, "contract": False, "linear": None, "inverse": None,
                         "baseId": "BTC", "quoteId": "USDT", "active": True, "precision": {}, "limits": {}}])
        unwatched = []

        async def un_watch_order_book(symbol, params={}):      # never a real connection
            unwatched.append(symbol)
        ex.un_watch_order_book = un_watch_order_book
        client = _Client()
        bids, asks = [["100.0", "1.50"], ["99.9", "2"]], [["100.1", "0.10"]]
        # an update before any snapshot: resubscribe
        ex.handle_message(client, _books("update", 5, [], [], 0))
        await asyncio.sleep(0)
        st = ex.book_syncs[("SPOT", "BTCUSDT")]
        assert st.reasons == ["no snapshot"] and [m["op"] for m in client.sent] == ["unsubscribe", "subscribe"]
        assert client.sent[0]["args"] == [{"instType": "SPOT", "channel": "books", "instId": "BTCUSDT"}]
        # our unsubscribe's ack is ours: ccxt.pro's handler (which drops the book) never sees it
        ex.handle_message(client, {"event": "unsubscribe", "arg": client.sent[0]["args"][0]})
        assert client.rejected == []
        ex.handle_message(client, _books("snapshot", 10, bids, asks, checksum_of(bids, asks)))
        assert st.synced and client.resolved == ["orderbook:BTC/USDT"] and st.checksums == 1
        # a seq that does not increase is out of order, even when its checksum matches
        ex.handle_message(client, _books("update", 10, [], [], checksum_of(bids, asks)))
        await asyncio.sleep(0)
        assert st.reasons == ["no snapshot", "seq"] and not st.synced and len(client.resolved) == 1
        ex.handle_message(client, _books("snapshot", 12, bids, asks, checksum_of(bids, asks)))
        new_bids = [["100.0", "0"], ["99.9", "2"]]
        ex.handle_message(client, _books("update", 13, [["100.0", "0"]], [], checksum_of(new_bids[1:], asks)))
        assert st.synced and st.failures == 0 and ex.orderbooks["BTC/USDT"]["bids"].tolist() == [[99.9, 2.0]]
        # trailing zeros matter: the same numbers with other text fail the checksum
        ex.handle_message(client, _books("update", 14, [], [["100.1", "0.10"]],
                                         checksum_of(new_bids[1:], [["100.1", "0.1"]])))
        assert st.reasons[-1] == "checksum"
        # a failing resync rejects with the ccxt error class of its cause
        ex.options["watchOrderBook"] = {"maxResyncs": 0}
        ex.handle_message(client, _books("snapshot", 20, bids, asks, checksum_of(bids, asks)))
        ex.handle_message(client, _books("update", 19, [], [], checksum_of(bids, asks)))
        assert isinstance(client.rejected[-1][0], InvalidNonce) and client.rejected[-1][1] == "orderbook:BTC/USDT"
        await asyncio.sleep(0)
        assert unwatched == ["BTC/USDT"]        # as ccxt.pro: the next watch subscribes anew
        await ex.close()

    run(main())
