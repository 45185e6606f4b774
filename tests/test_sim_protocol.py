"""The Binance wire protocol as a raw client sees it (requests, replies, framing, REST, CLI)."""
from __future__ import annotations

import asyncio
import subprocess
import sys

import aiohttp
import orjson
import pytest

from ccxtpro_fast import sim

from sim_helpers import SESSIONS, run


async def _recv_json(ws):
    msg = await asyncio.wait_for(ws.receive(), 5)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    return msg.data


def test_subscription_requests_and_replies():
    async def main():
        async with sim.serve("binance", sim.Generator(seed=1)) as s, aiohttp.ClientSession() as http:
            async with http.ws_connect(f"{s.ws_base}/stream.binance.com/ws") as ws:
                await ws.send_str('{"method":"SUBSCRIBE","params":["btcusdt@depth@100ms"],"id":1}')
                assert await _recv_json(ws) == '{"result":null,"id":1}'
                await ws.send_str('{"method":"LIST_SUBSCRIPTIONS","id":2}')
                assert await _recv_json(ws) == '{"result":["btcusdt@depth@100ms"],"id":2}'
                await s.step(1)
                raw = orjson.loads(await _recv_json(ws))       # raw stream: no envelope
                assert raw["e"] == "depthUpdate" and raw["s"] == "BTCUSDT" and "pu" not in raw
                await ws.send_str('{"method":"SET_PROPERTY","params":["combined",true],"id":3}')
                assert await _recv_json(ws) == '{"result":null,"id":3}'
                await ws.send_str('{"method":"GET_PROPERTY","params":["combined"],"id":4}')
                assert await _recv_json(ws) == '{"result":true,"id":4}'
                await s.step(1)
                wrapped = orjson.loads(await _recv_json(ws))
                assert wrapped["stream"] == "btcusdt@depth@100ms" and wrapped["data"]["U"] == raw["u"] + 1
                await ws.send_str('{"method":"UNSUBSCRIBE","params":["btcusdt@depth@100ms"],"id":5}')
                assert await _recv_json(ws) == '{"result":null,"id":5}'
                # documented error replies
                await ws.send_str("{nope")
                assert orjson.loads(await _recv_json(ws))["code"] == 3
                await ws.send_str('{"method":"FOO","id":6}')
                err = orjson.loads(await _recv_json(ws))
                assert err["code"] == 2 and "unknown variant `FOO`" in err["msg"]
                await ws.send_str('{"method":"GET_PROPERTY","params":["x"],"id":7}')
                assert orjson.loads(await _recv_json(ws)) == {"code": 0, "msg": "Unknown property", "id": 7}

    run(main())


def test_combined_and_raw_stream_urls_and_404():
    async def main():
        async with sim.serve("binance", sim.Generator(seed=1)) as s, aiohttp.ClientSession() as http:
            url = f"{s.ws_base}/fstream.binance.com/stream?streams=btcusdt@depth@100ms/btcusdt@bookTicker"
            async with http.ws_connect(url) as ws:
                await s.wait_subscribed("btcusdt@bookTicker", "linear")
                await s.step(1)
                got = {orjson.loads(await _recv_json(ws))["stream"] for _ in range(2)}
                assert got == {"btcusdt@depth@100ms", "btcusdt@bookTicker"}
            async with http.ws_connect(f"{s.ws_base}/ws/ethusdt@trade") as ws:   # no host prefix: spot
                await s.wait_subscribed("ethusdt@trade", "spot")
                for _ in range(400):       # until the generator prints its first ETHUSDT trade
                    await s.step(1)
                    if any(c.sent for c in s.connections):
                        break
                trade = orjson.loads(await _recv_json(ws))
                assert trade["e"] == "trade" and trade["s"] == "ETHUSDT"
            with pytest.raises(aiohttp.WSServerHandshakeError) as e:
                await http.ws_connect(f"{s.ws_base}/stream.binance.com/nope")
            assert e.value.status == 404

    run(main())


def test_rest_depth_snapshot_is_consistent_with_the_stream():
    async def main():
        async with sim.serve("binance", sim.Generator(seed=1)) as s, aiohttp.ClientSession() as http:
            base = f"{s.http_base}/fapi.binance.com/fapi/v1"
            async with http.get(f"{base}/depth", params={"symbol": "NOPE"}) as r:
                assert r.status == 400 and await r.json() == {"code": -1121, "msg": "Invalid symbol."}
            async with http.ws_connect(f"{s.ws_base}/fstream.binance.com/public/ws/btcusdt@depth") as ws:
                await s.wait_subscribed("btcusdt@depth", "linear")
                async with http.get(f"{base}/depth", params={"symbol": "BTCUSDT", "limit": "5"}) as r:
                    snap = await r.json()
                assert list(snap) == ["lastUpdateId", "E", "T", "bids", "asks"] and len(snap["bids"]) == 5
                await s.step(1)
                diff = orjson.loads(await _recv_json(ws))
                assert diff["pu"] == snap["lastUpdateId"] and diff["U"] > snap["lastUpdateId"]

    run(main())


def test_replay_rest_serves_the_recorded_snapshot_verbatim():
    path = SESSIONS / "binance_spot_depth.jsonl"
    recorded = next(orjson.loads(l)["data"] for l in path.read_bytes().splitlines()
                    if orjson.loads(l)["t"] == "http" and "RUNEEUR" in orjson.loads(l)["url"])

    async def main():
        async with sim.serve("binance", sim.Replay(path)) as s, aiohttp.ClientSession() as http:
            async with http.get(f"{s.http_base}/api.binance.com/api/v3/depth?symbol=RUNEEUR&limit=1000") as r:
                assert await r.text() == recorded
            async with http.get(f"{s.http_base}/api.binance.com/api/v3/exchangeInfo") as r:
                info = await r.json()
            rune = next(x for x in info["symbols"] if x["symbol"] == "RUNEEUR")
            assert (rune["baseAsset"], rune["quoteAsset"]) == ("RUNE", "EUR")
            assert rune["filters"][0]["tickSize"] == "0.00100000"

    run(main())


def test_cli_serves_until_interrupted():
    proc = subprocess.Popen([sys.executable, "-m", "ccxtpro_fast.sim", "binance", "--rate", "20"],
                            stdout=subprocess.PIPE, text=True)
    try:
        ws_line = proc.stdout.readline()
        rest_line = proc.stdout.readline()
        assert ws_line.startswith("websocket ws://127.0.0.1:") and rest_line.startswith("rest      http://")
        ws_base = ws_line.split()[1]

        async def main():
            async with aiohttp.ClientSession() as http:
                async with http.ws_connect(f"{ws_base}/stream.binance.com/ws/btcusdt@bookTicker") as ws:
                    msg = orjson.loads(await _recv_json(ws))
                    assert msg["s"] == "BTCUSDT" and float(msg["b"]) < float(msg["a"])

        run(main(), timeout=15)
    finally:
        proc.terminate()
        proc.wait(10)
