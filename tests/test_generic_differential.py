"""The generic path (ccxt.pro's own handlers on ccxtpro_fast's transport, books and compiled
helpers: ``type(id, (ccxtpro_fast.Exchange, ccxt.pro.<id>), {})``) against ccxt.pro itself,
on the same sessions: the book after every depth message is the same, message for message.

This is what the compiled ``safe_*`` accessors and the bulk ``handle_deltas``
(ccxtpro_fast/base/fastpaths.py) must not change: ccxt.pro's routing, snapshot and nonce
logic run as they are, only the helpers underneath are compiled."""
from __future__ import annotations

import asyncio

import ccxt.pro
import pytest

import ccxtpro_fast
from ccxtpro_fast import sim
from ccxtpro_fast.base import fastpaths

from binance_helpers import drained, markets, tracing
from okx_helpers import traced
from sim_helpers import SESSIONS, load_expected, run


def generic(exchange_id):
    cls = type(exchange_id, (ccxtpro_fast.Exchange, getattr(ccxt.pro, exchange_id)), {})
    done = fastpaths.installed(cls)
    assert done['handle_deltas'] and done['safe_integer'] and done['safe_dict']
    return cls


BINANCE = {
    "binance": ["BTC/USDT", "ETH/USDT", "BTC/USDT:USDT"],
    "binanceusdm": ["ETH/USDT:USDT", "BTC/USDT:USDT"],
    "binancecoinm": ["BTC/USD:BTC"],
}


@pytest.mark.parametrize("exchange_id", list(BINANCE))
def test_binance_generated_session_books_equal_ccxt_pro(exchange_id):
    books = BINANCE[exchange_id]

    async def main():
        async with sim.serve("binance", sim.Generator(markets(), seed=5)) as s:
            old = s.attach(tracing(getattr(ccxt.pro, exchange_id))({"enableRateLimit": False}))
            new = s.attach(tracing(generic(exchange_id))({"enableRateLimit": False}))
            try:
                for ex in (old, new):
                    await ex.load_markets()
                first = [asyncio.ensure_future(old.watch_order_book(sym)) for sym in books]
                second = [asyncio.ensure_future(new.watch_order_book(sym)) for sym in books]
                await asyncio.wait_for(asyncio.gather(*first, *second), 10)
                for _ in range(4):
                    await s.step(40)
                await drained(s, [old, new])
                for sym in books:
                    assert len(old.books[sym]) >= 150, sym
                    assert old.books[sym] == new.books[sym], sym
            finally:
                await old.close()
                await new.close()

    run(main(), timeout=60)


def applying(cls):
    """``cls`` recording the whole book after every event ccxt.pro's
    handle_order_book_message applies (live, or from the buffer when the snapshot
    arrives)."""

    class Applying(cls):
        def __init__(self, config=None):
            super().__init__(config or {})
            self.applied = {}

        def handle_order_book_message(self, client, message, orderbook):
            ob = super().handle_order_book_message(client, message, orderbook)
            self.applied.setdefault(ob["symbol"], []).append(
                (ob["nonce"], ob["timestamp"], ob["datetime"], [list(x) for x in ob["bids"]],
                 [list(x) for x in ob["asks"]]))
            return ob

    return Applying


@pytest.mark.parametrize("session,exchange_id,market_type", [
    ("binance_spot_depth", "binance", "spot"),
    ("binance_usdm_depth", "binanceusdm", "swap"),
])
def test_binance_recorded_session_books_equal_ccxt_pro(session, exchange_id, market_type):
    """The recorded sessions (real Binance frames: events buffered until the snapshot,
    events dropped before it), replayed to each client in turn; the whole book after
    every applied event."""
    expected = load_expected(session)

    async def one(cls):
        async with sim.serve("binance", sim.Replay(SESSIONS / f"{session}.jsonl")) as s:
            ex = s.attach(applying(cls)({"enableRateLimit": False}))
            try:
                await ex.load_markets()
                finals = {ex.safe_market(mid, None, None, market_type)["symbol"]: v["final_update_id"]
                          for mid, v in expected["symbols"].items()}
                tasks = [asyncio.ensure_future(ex.watch_order_book(sym)) for sym in finals]
                deadline = asyncio.get_running_loop().time() + 20
                while not all(ex.applied.get(sym) and ex.applied[sym][-1][0] == u for sym, u in finals.items()):
                    assert asyncio.get_running_loop().time() < deadline, "the replay did not reach the final ids"
                    await asyncio.sleep(0.005)
                await asyncio.wait_for(asyncio.gather(*tasks), 5)
                return ex.applied
            finally:
                await ex.close()

    theirs = run(one(getattr(ccxt.pro, exchange_id)))
    mine = run(one(generic(exchange_id)))
    assert set(theirs) == set(mine) and len(theirs) == len(expected["symbols"])
    for mid, v in expected["symbols"].items():
        sym = next(s for s in theirs if s.replace("/", "").split(":")[0] == mid)
        assert len(theirs[sym]) == v["depth_events_total"] - v["events_to_drop_before_first_applied"], sym
        assert mine[sym] == theirs[sym], sym


def test_okx_generated_session_books_equal_ccxt_pro():
    symbols = {"BTC-USDT": "BTC/USDT", "BTC-USDT-SWAP": "BTC/USDT:USDT"}

    async def main():
        async with sim.serve("okx", sim.Generator(seed=3)) as s:
            old = s.attach(traced(ccxt.pro.okx)())
            new = s.attach(traced(generic("okx"))())
            tasks = []
            try:
                for ex in (old, new):
                    await ex.load_markets()
                    tasks += [asyncio.ensure_future(ex.watch_order_book(sym)) for sym in symbols.values()]
                for inst in symbols:
                    await s.wait_subscribed(f"books:{inst}", count=2)
                for ex in (old, new):
                    await ex.wait_until(lambda: all(ex.counts[("books", inst)] for inst in symbols))
                await s.step(80)
                for ex in (old, new):
                    await ex.wait_until(lambda: all(ex.counts[("books", inst)] >= 81 for inst in symbols))
                assert old.errors == [] and new.errors == []
                for inst in symbols:
                    theirs = [state for _, state in old.trace[("books", inst)]]
                    mine = [state for _, state in new.trace[("books", inst)]]
                    assert len(theirs) >= 81
                    assert mine == theirs, inst
            finally:
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                await old.close()
                await new.close()

    run(main(), timeout=60)
