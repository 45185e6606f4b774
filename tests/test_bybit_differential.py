"""ccxt.pro's bybit and ours on the same generated session, at the same time, on the same
simulator: every book after every message, every ticker, all trades, candles and
bid/ask tickers are identical, and the books equal the generator's ground truth."""
from __future__ import annotations

import asyncio

from ccxtpro_fast import sim

from bybit_helpers import KIND, MARKET_ID, drained, fast, sides, truth, vanilla
from sim_helpers import run

BOOKS = ["BTC/USDT", "ETH/USDT", "BTC/USDT:USDT", "BTC/USD:BTC"]
TRADES = ["BTC/USDT", "BTC/USDT:USDT", "BTC/USD:BTC"]
TICKERS = ["BTC/USDT", "BTC/USDT:USDT", "BTC/USD:BTC"]
OHLCV = ["BTC/USDT", "BTC/USDT:USDT", "BTC/USD:BTC"]
BIDASK = "ETH/USDT:USDT"


async def _subscribe_all(s, ex):
    tasks = [ex.watch_order_book(sym) for sym in BOOKS]
    tasks += [ex.watch_ticker(sym) for sym in TICKERS]
    tasks += [ex.watch_trades(sym) for sym in TRADES]
    tasks += [ex.watch_ohlcv(sym, "1m") for sym in OHLCV]
    tasks.append(ex.watch_bids_asks([BIDASK]))
    return [asyncio.ensure_future(t) for t in tasks]


def test_same_session_gives_identical_unified_results():
    async def main():
        async with sim.serve("bybit", sim.Generator(seed=11)) as s:
            old, new = s.attach(vanilla()), s.attach(fast())
            try:
                for ex in (old, new):
                    await ex.load_markets()
                pending = await _subscribe_all(s, old) + await _subscribe_all(s, new)
                topics = [(f"orderbook.50.{MARKET_ID[x]}", KIND[x]) for x in BOOKS]
                topics += [(f"orderbook.1.{MARKET_ID[BIDASK]}", "linear")]
                topics += [(f"publicTrade.{MARKET_ID[x]}", KIND[x]) for x in TRADES]
                topics += [(f"tickers.{MARKET_ID[x]}", KIND[x]) for x in TICKERS]
                topics += [(f"kline.1.{MARKET_ID[x]}", KIND[x]) for x in OHLCV]
                for topic, kind in topics:
                    await s.wait_subscribed(topic, kind, count=2)
                for _ in range(4):
                    await s.step(50)
                await drained(s, [old, new])
                await asyncio.wait_for(asyncio.gather(*pending), 5)

                # every book after every message
                assert old.books.keys() == new.books.keys() and len(old.books) == len(BOOKS) + 1
                for key in old.books:
                    assert len(old.books[key]) > 50, key
                    assert old.books[key] == new.books[key], key
                # the deltas of the depth-50 books took the compiled path
                assert new.raw_handled > 50
                # every ticker state after every ticker message
                assert old.ticks and old.ticks == new.ticks
                for sym in TRADES:
                    assert len(old.trades[sym]) > 20 and list(old.trades[sym]) == list(new.trades[sym]), sym
                for sym in OHLCV:
                    assert old.ohlcvs[sym]["1m"] and list(old.ohlcvs[sym]["1m"]) == list(new.ohlcvs[sym]["1m"])
                bo, bn = old.bidsasks[BIDASK], new.bidsasks[BIDASK]
                assert {k: v for k, v in bo.items() if k != "info"} == {k: v for k, v in bn.items() if k != "info"}
                assert bo["bid"] == truth(s, BIDASK, 1)[0][0][0] and bo["ask"] == truth(s, BIDASK, 1)[1][0][0]
                for sym in BOOKS:
                    assert sides(new, sym) == truth(s, sym) == sides(old, sym), sym
                    assert new.bybit_book_state(sym)[0]["resyncs"] == 0
            finally:
                await old.close()
                await new.close()

    run(main())


def test_registry_gives_the_native_adapter():
    import ccxt.pro
    import ccxtpro_fast
    from ccxtpro_fast.base import registry

    assert registry.has_adapter("bybit")
    ex = ccxtpro_fast.bybit()
    assert isinstance(ex, ccxt.pro.bybit) and type(ex).__module__ == "ccxtpro_fast.exchanges.bybit"
    # the hot handlers are ours, the rest is ccxt.pro's
    assert type(ex).handle_message is not ccxt.pro.bybit.handle_message
    assert type(ex).watch_order_book is ccxt.pro.bybit.watch_order_book
    assert type(ex).create_order_ws is ccxt.pro.bybit.create_order_ws
