"""The recorded Bitget session (legacy v1 ``books``, 8 spot + 2 USDT-M symbols, 637
published checksums) replayed through the simulator's v2 path to ccxtpro_fast.bitget and,
on its own connection, to ccxt.pro.bitget.

The v1 ``books`` message is the v2 one without ``seq`` (instType ``sp``/``mc``); the
simulator renames the instType to ``SPOT``/``USDT-FUTURES`` and sends ``data`` byte for
byte (see ccxtpro_fast/sim/bitget.py), so the adapter verifies the exchange's own
checksums over the exchange's own strings."""
from __future__ import annotations

import asyncio

from ccxtpro_fast import _core, sim

from bitget_helpers import both, rows
from sim_helpers import SESSIONS, load_expected, run

NAME = "bitget_v1_books_checksum"


def _interleave(ref):
    parts = []
    for i in range(max(len(ref["bids"]), len(ref["asks"]))):
        for key in ("bids", "asks"):
            if i < len(ref[key]):
                parts += ref[key][i][:2]
    return ":".join(parts)


def test_recorded_session_every_checksum_verifies_without_resync():
    expected = load_expected(NAME)["instruments"]
    total = sum(v["checksums_verified"] for v in expected.values())
    messages = sum(v["snapshots"] + v["updates"] for v in expected.values())
    assert total == 637 and messages == 637

    async def main():
        async with sim.serve("bitget", sim.Replay(str(SESSIONS / f"{NAME}.jsonl"))) as s:
            Pro, Fast = both()
            pro, fast = s.attach(Pro()), s.attach(Fast())
            try:
                await asyncio.gather(pro.load_markets(), fast.load_markets())
                symbols = sorted(pro.symbols)
                assert len(symbols) == 10 and "DASH/USDT:USDT" in symbols and "CULT/USDT" in symbols
                # one subscribe message for all ten: the replay starts with all streams on
                await asyncio.gather(pro.watch_order_book_for_symbols(symbols),
                                     fast.watch_order_book_for_symbols(symbols))
                await s.source.wait_completed(2)
                await fast.wait_until(lambda: sum(len(t) for t in fast.book_trace.values()) == messages)
                await pro.wait_until(lambda: sum(len(t) for t in pro.book_trace.values()) == messages)
                syncs = fast.book_syncs
                assert sum(st.checksums for st in syncs.values()) == 637
                assert sum(st.resyncs for st in syncs.values()) == 0
                # the updates after each channel's first took the compiled path
                assert fast.raw_handled > 637 - 4 * len(syncs)
                for (inst_type, inst_id), st in syncs.items():
                    exp = expected[inst_id]
                    assert st.checksums == exp["checksums_verified"]
                    assert len(fast.book_trace[st.symbol]) == exp["snapshots"] + exp["updates"]
                    book = fast.orderbooks[st.symbol]
                    # the final top five, as the exchange's own strings (trailing zeros kept)
                    assert book.checksum_text(_core.CHECKSUM_OKX, 5) == _interleave(exp["final_top5_reference_book"])
                    # and ccxt.pro, which verifies the updates' checksums too, ends equal
                    assert rows(pro.orderbooks[st.symbol]["bids"]) == book["bids"].tolist()
                    assert rows(pro.orderbooks[st.symbol]["asks"]) == book["asks"].tolist()
                    assert fast.book_trace[st.symbol] == pro.book_trace[st.symbol]
                assert {k[0] for k in syncs} == {"SPOT", "USDT-FUTURES"}
            finally:
                await asyncio.gather(pro.close(), fast.close())

    run(main())
