"""The recorded Binance spot and USD-M sessions replayed through the simulator to our
adapter (raw-frame path): the documented sync succeeds on the first snapshot with zero
resyncs, the book agrees with every recorded bookTicker checkpoint (checked both by the
test, from the book after every depth frame, and by the adapter itself, which compares
each bookTicker with the book at the same ``u``), and the final top 5 equals the
reference book of the expected files."""
from __future__ import annotations

import asyncio

import pytest

from ccxtpro_fast import sim

from ccxtpro_fast.exchanges.binance import _DepthSync

from binance_helpers import fast
from sim_helpers import SESSIONS, load_expected, run

CASES = [
    # session, our exchange id, market type of the recorded symbols, checkpoints in the file
    ("binance_spot_depth", "binance", "spot", 26),
    ("binance_usdm_depth", "binanceusdm", "swap", 50),
]


@pytest.mark.parametrize("session,exchange_id,market_type,total", CASES, ids=[c[0] for c in CASES])
def test_recorded_session_replays_cleanly(session, exchange_id, market_type, total, monkeypatch):
    expected = load_expected(session)
    applied = {}     # symbol -> [(u, top 5 bids, top 5 asks)] after every event the book took
    apply = _DepthSync.apply

    def traced_apply(self, book, u, *rest):
        apply(self, book, u, *rest)
        applied.setdefault(self.symbol, []).append(
            (u, [list(x) for x in book["bids"][:5]], [list(x) for x in book["asks"][:5]]))

    # buffered events are applied when the snapshot arrives, not when their frame does
    monkeypatch.setattr(_DepthSync, "apply", traced_apply)

    async def main():
        async with sim.serve("binance", sim.Replay(SESSIONS / f"{session}.jsonl")) as s:
            ex = s.attach(fast(exchange_id))
            try:
                await ex.load_markets()
                symbols = {mid: ex.safe_market(mid, None, None, market_type)["symbol"] for mid in expected["symbols"]}
                # bid/ask tickers too: the adapter then checks every bookTicker against its book
                bidask = asyncio.ensure_future(ex.watch_bids_asks(list(symbols.values())))
                books = [asyncio.ensure_future(ex.watch_order_book(sym)) for sym in symbols.values()]
                finals = {symbols[mid]: v["final_update_id"] for mid, v in expected["symbols"].items()}

                def at_final():
                    return all(applied.get(sym) and applied[sym][-1][0] == u for sym, u in finals.items())

                deadline = asyncio.get_running_loop().time() + 20
                while not at_final():
                    assert asyncio.get_running_loop().time() < deadline, "replay did not reach the final ids"
                    await asyncio.sleep(0.005)
                await asyncio.wait_for(asyncio.gather(*books, bidask), 5)
                await s.source.wait_completed(len(s.connections))
                states = {sym: ex.binance_book_state(sym) for sym in symbols.values()}
            finally:
                await ex.close()
            return symbols, states, s.rest_log

    symbols, states, rest_log = run(main())

    matched = 0
    for mid, v in expected["symbols"].items():
        trace = applied[symbols[mid]]
        by_u = {entry[0]: entry for entry in trace}
        # the first event applied is the documented one, after the documented drops, and
        # every later one continues it (each depth event applied once)
        assert trace[0][0] == v["first_applied_event"]["u"]
        assert len(trace) == v["depth_events_total"] - v["events_to_drop_before_first_applied"]
        for cp in v["bookTicker_checkpoints"]:
            _, bids, asks = by_u[cp["after_event_u"]]
            bt = cp["bookTicker"]
            assert bids[0] == [float(bt["b"]), float(bt["B"])], (mid, cp)
            assert asks[0] == [float(bt["a"]), float(bt["A"])], (mid, cp)
            matched += 1
        final = v["final_top5_reference_book"]
        _, bids, asks = by_u[v["final_update_id"]]
        assert bids[:5] == [[float(p), float(q)] for p, q in final["bids"]]
        assert asks[:5] == [[float(p), float(q)] for p, q in final["asks"]]
    assert matched == total
    # the adapter's own view: one snapshot per symbol, no resync, every checkpoint agreed
    assert all(st["resyncs"] == 0 and st["mismatches"] == 0 and st["snapshots"] == 1 for st in states.values())
    assert sum(st["checks"] for st in states.values()) == total
    assert len([p for _, p in rest_log if "/depth?" in p]) == len(symbols)
