"""Recorded Binance sessions replayed through the simulator to vanilla ccxt.pro.

Oracle: the expected files (computed from the recordings by a reference
implementation of Binance's documented sync procedure) list every bookTicker
whose ``u`` equals a depth event's ``u``; the book ccxt.pro builds from the
simulator must agree with each of them at that event, and with the final top 5.
"""
from __future__ import annotations

import asyncio

import ccxt.pro
import orjson
import pytest

from ccxtpro_fast import sim

from sim_helpers import SESSIONS, load_expected, run, tracing

CASES = [
    # session, ccxt.pro class, symbol id -> unified symbol, market kind, checkpoint total in the file
    ("binance_spot_depth", ccxt.pro.binance, "spot", 26),
    ("binance_usdm_depth", ccxt.pro.binanceusdm, "linear", 50),
]


def _unified(ex, market_id: str, kind: str) -> str:
    market_type = "spot" if kind == "spot" else "swap"
    return ex.safe_market(market_id, None, None, market_type)["symbol"]


@pytest.mark.parametrize("session,cls,kind,total", CASES, ids=[c[0] for c in CASES])
def test_replay_book_matches_every_bookticker_checkpoint(session, cls, kind, total):
    expected = load_expected(session)
    checkpoints = sum(len(v["bookTicker_checkpoints"]) for v in expected["symbols"].values())
    assert checkpoints == total

    async def main():
        async with sim.serve("binance", sim.Replay(SESSIONS / f"{session}.jsonl")) as s:
            ex = s.attach(tracing(cls)({"enableRateLimit": False}))
            try:
                await ex.load_markets()
                symbols = {mid: _unified(ex, mid, kind) for mid in expected["symbols"]}
                watchers = [ex.watch_order_book(sym) for sym in symbols.values()]
                tasks = [asyncio.ensure_future(w) for w in watchers]
                finals = {symbols[mid]: v["final_update_id"] for mid, v in expected["symbols"].items()}

                def all_final():
                    return all(ex.trace.get(sym) and ex.trace[sym][-1][0] == u for sym, u in finals.items())

                await ex.wait_until(all_final, timeout=20)
                await asyncio.gather(*tasks)
            finally:
                await ex.close()
            return symbols, ex.trace, s.rest_log

    symbols, trace, rest_log = run(main())

    matched = 0
    for mid, v in expected["symbols"].items():
        states = {nonce: (bid, ask, b5, a5) for nonce, bid, ask, b5, a5 in trace[symbols[mid]]}
        # the first applied event is the documented one
        assert trace[symbols[mid]][0][0] == v["first_applied_event"]["u"]
        for cp in v["bookTicker_checkpoints"]:
            bid, ask, _, _ = states[cp["after_event_u"]]
            bt = cp["bookTicker"]
            assert bid == [float(bt["b"]), float(bt["B"])], (mid, cp)
            assert ask == [float(bt["a"]), float(bt["A"])], (mid, cp)
            matched += 1
        final = v["final_top5_reference_book"]
        _, _, b5, a5 = states[v["final_update_id"]]
        assert b5 == [[float(p), float(q)] for p, q in final["bids"]]
        assert a5 == [[float(p), float(q)] for p, q in final["asks"]]
    assert matched == checkpoints
    # the snapshots ccxt.pro used are the recorded ones (one per symbol, limit 1000)
    depth_requests = [path for _, path in rest_log if "/depth?" in path]
    assert len(depth_requests) == len(expected["symbols"])


def test_replay_streams_recorded_bookticker_frames_in_raw_shape():
    """watch_bids_asks over a replay receives every recorded spot bookTicker of the
    symbol, unwrapped from the recorded combined-stream envelope, byte for byte."""
    path = SESSIONS / "binance_spot_depth.jsonl"
    recorded = []
    for line in path.read_bytes().splitlines():
        rec = orjson.loads(line)
        if rec["t"] == "recv":
            msg = orjson.loads(rec["data"])
            if msg["stream"] == "nknusdt@bookTicker":
                recorded.append(msg["data"])

    async def main():
        async with sim.serve("binance", sim.Replay(path)) as s:
            ex = s.attach(tracing(ccxt.pro.binance)())
            try:
                task = asyncio.ensure_future(ex.watch_bids_asks(["NKN/USDT"]))
                await ex.wait_until(lambda: len(ex.bidask_trace.get("NKNUSDT", [])) == len(recorded))
                first = await task
                last = ex.bidsasks["NKN/USDT"]
            finally:
                await ex.close()
            return first, last, ex.bidask_trace["NKNUSDT"]

    first, last, got = run(main())
    assert got == recorded
    assert last["bid"] == float(recorded[-1]["b"]) and last["askVolume"] == float(recorded[-1]["A"])
    assert first["NKN/USDT"]["symbol"] == "NKN/USDT"


def test_replay_frames_are_cut_verbatim_from_the_combined_envelope():
    data = sim.SimServer("binance", sim.Replay(SESSIONS / "binance_usdm_depth.jsonl")).protocol.load_replay(
        str(SESSIONS / "binance_usdm_depth.jsonl"))
    raw = [orjson.loads(l) for l in (SESSIONS / "binance_usdm_depth.jsonl").read_bytes().splitlines()]
    texts = {r["data"] for r in raw if r["t"] == "recv"}
    assert len(data.frames) == len(texts)
    for f in data.frames:
        wrapped = b'{"stream":"' + f.stream.encode() + b'","data":' + f.payload + b"}"
        assert wrapped.decode() in texts
    # markets synthesized from the recording: ids, base/quote from the recorder's header,
    # ticks that every recorded price is a multiple of
    by_id = {m.id: m for m in data.markets}
    assert set(by_id) == {"SUSHIUSDT", "AKROUSDT", "KEEPUSDT", "CTKUSDT"}
    assert (by_id["SUSHIUSDT"].base, by_id["SUSHIUSDT"].quote, by_id["SUSHIUSDT"].kind) == ("SUSHI", "USDT", "linear")
    assert by_id["SUSHIUSDT"].tick == "0.001"
    for f in data.frames:
        if f.meta is not None:
            body = orjson.loads(f.payload)
            m = by_id[body["s"]]
            for p, _ in body["b"] + body["a"]:
                assert sim.core.to_units(p, 8) % sim.core.to_units(m.tick, 8) == 0
