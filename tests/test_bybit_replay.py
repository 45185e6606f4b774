"""No recorded Bybit session exists in the shared data, so a generated one stands in: a
raw client records a seeded generator's linear BTCUSDT/ETHUSDT books (JSONL record
format) with the generator's ground truth at checkpoints; the recording is then replayed
twice through the simulator to our adapter -- clean, and with a lost frame -- and the
book must equal the ground truth at every checkpoint it was in sync for, and at the end."""
from __future__ import annotations

import asyncio
import time

import aiohttp
import orjson
import pytest

from ccxtpro_fast import sim

from bybit_helpers import fast, until
from sim_helpers import run

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"
TOPICS = ["orderbook.50.BTCUSDT", "orderbook.50.ETHUSDT"]


def _truth(s, market_id):
    st = s.source.market("linear", market_id)
    f = s.protocol.fmt(st.spec)
    book = st.book(50)
    return [[[float(f.p(p)), float(f.q(q))] for p, q in book[side]] for side in ("bids", "asks")]


async def _record(path):
    """Record the session; returns {market id: {u: [bids, asks]}} checkpoints."""
    checkpoints = {"BTCUSDT": {}, "ETHUSDT": {}}
    async with sim.serve("bybit", sim.Generator(seed=21)) as s, aiohttp.ClientSession() as http:
        url = "wss://stream.bybit.com/v5/public/linear"
        lines = [{"t": "header", "format": 2, "exchange": "BYBIT", "generated": "sim.Generator(seed=21)"},
                 {"t": "connect", "conn": "c1", "ts": time.time(), "addr": url}]
        async with http.ws_connect(s.local_url(url)) as ws:
            await ws.send_str(orjson.dumps({"op": "subscribe", "req_id": "1", "args": TOPICS}).decode())
            conn, = await s.wait_subscribed(TOPICS[1], "linear")
            received = 0
            last_u = {}
            for _ in range(12):
                await s.step(5)
                while received < conn.sent:
                    msg = await asyncio.wait_for(ws.receive(), 5)
                    data = orjson.loads(msg.data)
                    lines.append({"t": "recv", "conn": "c1", "ts": time.time(), "data": msg.data})
                    if "topic" in data:
                        received += 1
                        last_u[data["data"]["s"]] = data["data"]["u"]
                for market_id in checkpoints:
                    checkpoints[market_id][last_u[market_id]] = _truth(s, market_id)
    with open(path, "wb") as fh:
        for line in lines:
            fh.write(orjson.dumps(line) + b"\n")
    return checkpoints


async def _replay(path, fault=None):
    async with sim.serve("bybit", sim.Replay(str(path))) as s:
        ex = s.attach(fast())
        try:
            if fault is not None:
                s.inject(fault)
            await ex.load_markets()
            await ex.watch_order_book_for_symbols([BTC, ETH])
            await s.source.wait_completed(1)

            def done():
                states = ex.bybit_book_state(BTC) + ex.bybit_book_state(ETH)
                conns = [c for c in s.connections if c.kind == "linear"]
                return len(states) == 2 and all(st["synced"] for st in states) and \
                    ex.data_messages.get("linear", 0) >= conns[0].sent
            await until(done, what="the replay to be applied")
            return ex.books, ex.bybit_book_state(BTC)[0]["resyncs"], ex.bybit_book_state(ETH)[0]["resyncs"]
        finally:
            await ex.close()


def _compare(trace, checkpoints):
    """Checkpoints matched by entries applied in sync: from a snapshot, u continuous."""
    compared = 0
    synced_u = None
    for u, _, _, _, _, bids, asks, kind in trace:
        if kind == "snapshot":
            synced_u = u
        elif synced_u is not None and u == synced_u + 1:
            synced_u = u
        else:
            synced_u = None         # a gap: not in sync until the next snapshot
            continue
        if u in checkpoints:
            assert [bids, asks] == checkpoints[u], u
            compared += 1
    return compared


@pytest.mark.parametrize("fault", [None, "drop"])
def test_generated_session_replayed_matches_ground_truth(tmp_path, fault):
    async def main():
        path = tmp_path / "bybit_linear_books.jsonl"
        checkpoints = await _record(path)
        injected = sim.Drop(TOPICS[0], after=25) if fault else None
        books, btc_resyncs, eth_resyncs = await _replay(path, injected)
        btc = books["orderbook.50.BTCUSDT@linear"]
        eth = books["orderbook.50.ETHUSDT@linear"]
        n_btc = _compare(btc, checkpoints["BTCUSDT"])
        n_eth = _compare(eth, checkpoints["ETHUSDT"])
        final_btc = max(checkpoints["BTCUSDT"])
        assert btc[-1][0] == final_btc and [btc[-1][5], btc[-1][6]] == checkpoints["BTCUSDT"][final_btc]
        assert n_eth == len(checkpoints["ETHUSDT"]) and eth_resyncs == 0
        if fault:
            assert btc_resyncs == 1 and injected.hits == 1
            us = [entry[0] for entry in btc]
            gap = next(b for a, b in zip(us, us[1:]) if b != a + 1)     # the frame after the lost one
            before = sum(1 for u in checkpoints["BTCUSDT"] if u < gap - 1)
            # every checkpoint before the loss, and the ones after the resync (at least the last)
            assert before >= 3 and n_btc >= before + 1
        else:
            assert btc_resyncs == 0 and n_btc == len(checkpoints["BTCUSDT"])

    run(main())
