"""The same generated Bitget v2 session to ccxt.pro.bitget and to ccxtpro_fast.bitget
(the registry's native adapter), side by side on one simulator: identical unified results.

Books are compared at every update either client applied (prices and amounts; ccxt.pro's
rows carry the wire strings as a third element, see exchanges/bitget.py), and both are
compared with the generator's ground truth; trades, tickers, bids/asks and OHLCV are
compared as ccxt's unified structures, at every ticker and in the final caches."""
from __future__ import annotations

import asyncio

from ccxtpro_fast import sim
from ccxtpro_fast.sim.generator import Stats, Trade

from bitget_helpers import SYMBOLS, both, record_truth, subscribe_books
from sim_helpers import run

ALL = list(SYMBOLS.values())


def test_books_identical_to_ccxt_pro_and_to_the_generator_at_every_update():
    async def main():
        async with sim.serve("bitget", sim.Generator(seed=11, levels=120)) as s:
            Pro, Fast = both()
            pro, fast = s.attach(Pro()), s.attach(Fast())
            truth: dict = {}
            try:
                await asyncio.gather(pro.load_markets(), fast.load_markets())
                first = await asyncio.gather(subscribe_books(s, pro, ALL), subscribe_books(s, fast, ALL))
                for a, b in zip(*first):                     # the snapshots
                    assert [r[:2] for r in a["bids"]] == b["bids"].tolist() and len(b["bids"]) == 120
                    assert [r[:2] for r in a["asks"]] == b["asks"].tolist()
                record_truth(s, truth)
                await s.step(120)
                targets = {sym: truth[sym][-1][0] for sym in ALL}
                for ex in (pro, fast):
                    await ex.wait_until(lambda: all(ex.last_seq(sym) == targets[sym] for sym in ALL))
                for sym in ALL:
                    expected = [(seq, b, a) for seq, b, a in truth[sym]]
                    # the snapshot first, then one entry per update, each equal to the truth
                    assert pro.book_trace[sym][1:] == expected
                    assert fast.book_trace[sym][1:] == expected
                    assert fast.book_trace[sym] == pro.book_trace[sym]
                    assert len(expected) == 120
                    ob = fast.orderbooks[sym]
                    assert ob["symbol"] == sym and ob["timestamp"] == pro.orderbooks[sym]["timestamp"]
                    assert ob["datetime"] == pro.orderbooks[sym]["datetime"] and ob["nonce"] is None
                syncs = fast.book_syncs.values()
                assert sum(st.checksums for st in syncs) == 4 * (120 + 1)     # snapshots too
                assert fast.raw_handled >= 4 * 119      # the compiled path carried the updates
                assert sum(st.resyncs for st in syncs) == 0
            finally:
                await asyncio.gather(pro.close(), fast.close())

    run(main())


def test_trades_tickers_bidasks_ohlcv_identical_to_ccxt_pro():
    async def main():
        async with sim.serve("bitget", sim.Generator(seed=5, levels=60)) as s:
            Pro, Fast = both()
            pro, fast = s.attach(Pro()), s.attach(Fast())
            seen = {"trades": 0, "stats": 0}
            s.source.listeners.append(lambda k, e: seen.__setitem__("trades", seen["trades"] + 1)
                                      if isinstance(e, Trade) else
                                      seen.__setitem__("stats", seen["stats"] + 1) if isinstance(e, Stats) else None)
            try:
                await asyncio.gather(pro.load_markets(), fast.load_markets())
                watches = {}
                for name, ex in (("pro", pro), ("fast", fast)):
                    watches[name] = [asyncio.ensure_future(c) for sym in ALL for c in (
                        ex.watch_trades(sym), ex.watch_ticker(sym), ex.watch_bids_asks([sym]), ex.watch_ohlcv(sym))]
                for sym, (kind, market_id) in zip(ALL, SYMBOLS):
                    t = "SPOT" if kind == "spot" else "USDT-FUTURES"
                    for channel in ("trade", "ticker", "candle1m"):
                        await s.wait_subscribed(f"{t}:{channel}:{market_id}", count=2)
                # books of one symbol are the "all received" marker: one connection each,
                # so once a later tick's update is in, every earlier frame was handled
                await asyncio.gather(subscribe_books(s, pro, ["BTC/USDT"]), subscribe_books(s, fast, ["BTC/USDT"]))
                await s.step(150)
                first = {name: await asyncio.wait_for(asyncio.gather(*ws), 10) for name, ws in watches.items()}
                await s.step(1)
                target = s.source.market("spot", "BTCUSDT").update_id
                for ex in (pro, fast):
                    await ex.wait_until(lambda: ex.last_seq("BTC/USDT") == target)
                # what a first watch_* returns depends on how many frames were in when its
                # task resumed (newUpdates): compare its kind, the caches below compare data
                assert [type(x) for x in first["pro"]] == [type(x) for x in first["fast"]]
                assert all(first["fast"])
                assert seen["trades"] > 50 and seen["stats"] > 20
                for sym in ALL:
                    assert list(fast.trades[sym]) == list(pro.trades[sym]) and len(pro.trades[sym]) > 5
                    assert fast.tickers[sym] == pro.tickers[sym]
                    assert fast.bidsasks[sym] == pro.bidsasks[sym]
                    assert fast.ticker_trace[sym] == pro.ticker_trace[sym] and len(pro.ticker_trace[sym]) > 5
                    assert fast.bidask_trace[sym] == pro.bidask_trace[sym]
                    assert list(fast.ohlcvs[sym]["1m"]) == list(pro.ohlcvs[sym]["1m"])
                    assert len(pro.ohlcvs[sym]["1m"]) >= 1
                    t = fast.trades[sym][-1]
                    assert t["cost"] == pro.trades[sym][-1]["cost"] and t["symbol"] == sym
            finally:
                await asyncio.gather(pro.close(), fast.close())

    run(main())
