"""ccxt.pro's binance/binanceusdm/binancecoinm and ours on the same generated session, at
the same time, on the same simulator: the books after every depth frame, all trades,
candles, tickers and bid/ask tickers are identical, and the books equal the generator's
ground truth."""
from __future__ import annotations

import asyncio

import ccxt.pro
import pytest

from ccxtpro_fast import sim

from binance_helpers import drained, fast, markets, sides, tracing, truth
from sim_helpers import run

AGG = {"name": "aggTrade"}     # the simulator's futures trades come on @aggTrade only

CASES = {
    # exchange id: (books, trades [(symbol, params)], tickers, ohlcv, bids/asks, ground truth)
    "binance": (["BTC/USDT", "ETH/USDT", "BTC/USDT:USDT"],
                [("BTC/USDT", {}), ("ETH/USDT", AGG), ("BTC/USDT:USDT", AGG)],
                ["BTC/USDT", "ETH/USDT:USDT"], ["BTC/USDT", "BTC/USDT:USDT"], ["BTC/USDT", "ETH/USDT:USDT"],
                {"BTC/USDT": ("spot", "BTCUSDT"), "ETH/USDT": ("spot", "ETHUSDT"),
                 "BTC/USDT:USDT": ("linear", "BTCUSDT")}),
    "binanceusdm": (["ETH/USDT:USDT"], [("ETH/USDT:USDT", AGG)], ["ETH/USDT:USDT"], ["ETH/USDT:USDT"],
                    ["BTC/USDT:USDT"], {"ETH/USDT:USDT": ("linear", "ETHUSDT")}),
    "binancecoinm": (["BTC/USD:BTC", "ETH/USD:ETH"], [("BTC/USD:BTC", AGG), ("ETH/USD:ETH", AGG)],
                     ["BTC/USD:BTC"], ["BTC/USD:BTC", "ETH/USD:ETH"], ["BTC/USD:BTC"],
                     {"BTC/USD:BTC": ("inverse", "BTCUSD_PERP"), "ETH/USD:ETH": ("inverse", "ETHUSD_PERP")}),
}


async def _subscribe(ex, case):
    books, trades, tickers, ohlcv, bidasks, _ = case
    tasks = [ex.watch_order_book(sym) for sym in books]
    tasks += [ex.watch_trades(sym, params=dict(p)) for sym, p in trades]
    tasks += [ex.watch_ticker(sym) for sym in tickers]
    tasks += [ex.watch_ohlcv(sym, "1m") for sym in ohlcv]
    tasks += [ex.watch_bids_asks([sym]) for sym in bidasks]
    return [asyncio.ensure_future(t) for t in tasks]


@pytest.mark.parametrize("exchange_id", list(CASES))
def test_same_session_gives_identical_unified_results(exchange_id):
    case = CASES[exchange_id]
    books, trades, tickers, ohlcv, bidasks, ground = case

    async def main():
        async with sim.serve("binance", sim.Generator(markets(), seed=7)) as s:
            old = s.attach(tracing(getattr(ccxt.pro, exchange_id))({"enableRateLimit": False}))
            new = s.attach(fast(exchange_id))
            try:
                for ex in (old, new):
                    await ex.load_markets()
                first, second = await _subscribe(old, case), await _subscribe(new, case)
                pending = first + second
                # both synced: a book's first watch resolves on its snapshot
                await asyncio.wait_for(asyncio.gather(*first[:len(books)], *second[:len(books)]), 10)
                subscribed = sum(len(conn.streams) for conn in s.connections)
                expected = 2 * (len(books) + len(trades) + len(tickers) + len(ohlcv) + len(bidasks))
                assert subscribed == expected, (subscribed, expected)
                for _ in range(5):
                    await s.step(40)
                await drained(s, [old, new])
                await asyncio.wait_for(asyncio.gather(*pending), 5)

                # every book after every depth frame
                for sym in books:
                    assert len(old.books[sym]) == 200, sym
                    assert old.books[sym] == new.books[sym], sym
                    kind, market_id = ground[sym]
                    assert sides(new, sym) == truth(s, kind, market_id) == sides(old, sym), sym
                    state = new.binance_book_state(sym)
                    assert state["synced"] and state["resyncs"] == 0 and state["snapshots"] == 1
                for sym, _ in trades:
                    assert len(old.trades[sym]) > 20, sym
                    assert list(old.trades[sym]) == list(new.trades[sym]), sym
                for sym in ohlcv:
                    assert len(old.ohlcvs[sym]["1m"]) and list(old.ohlcvs[sym]["1m"]) == list(new.ohlcvs[sym]["1m"])
                for sym in tickers:
                    assert old.tickers[sym]["last"] is not None and old.tickers[sym] == new.tickers[sym], sym
                for sym in bidasks:
                    assert old.bidsasks[sym] == new.bidsasks[sym], sym
                    kind, market_id = {"BTC/USDT": ("spot", "BTCUSDT"), "ETH/USDT:USDT": ("linear", "ETHUSDT"),
                                       "BTC/USDT:USDT": ("linear", "BTCUSDT"),
                                       "BTC/USD:BTC": ("inverse", "BTCUSD_PERP")}[sym]
                    (bid,), (ask,) = truth(s, kind, market_id, 1)
                    assert [new.bidsasks[sym]["bid"], new.bidsasks[sym]["bidVolume"]] == bid
                    assert [new.bidsasks[sym]["ask"], new.bidsasks[sym]["askVolume"]] == ask
                # a bookTicker of a watched book is checked against it whenever the ids meet
                for sym in set(books) & set(bidasks):
                    state = new.binance_book_state(sym)
                    assert state["checks"] > 10 and state["mismatches"] == 0
            finally:
                await old.close()
                await new.close()

    run(main(), timeout=60)


def test_registry_gives_the_native_adapters():
    import ccxtpro_fast
    from ccxtpro_fast.base import registry

    for exchange_id in CASES:
        assert registry.has_adapter(exchange_id)
        ex = getattr(ccxtpro_fast, exchange_id)()
        base = getattr(ccxt.pro, exchange_id)
        assert isinstance(ex, base) and type(ex).__module__ == "ccxtpro_fast.exchanges." + exchange_id
        # the hot handlers are ours, the rest is ccxt.pro's
        assert type(ex).handle_message is not base.handle_message
        assert type(ex).handle_raw_message
        assert type(ex).watch_order_book is base.watch_order_book
        assert type(ex).create_order_ws is base.create_order_ws
