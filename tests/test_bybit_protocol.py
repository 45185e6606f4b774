"""The Bybit v5 public protocol of the simulator as a raw client sees it."""
from __future__ import annotations

import asyncio

import aiohttp
import orjson
import pytest

from ccxtpro_fast import sim

from sim_helpers import run


async def _recv(ws):
    msg = await asyncio.wait_for(ws.receive(), 5)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    return orjson.loads(msg.data)


def _apply(book, levels):
    for p, q in levels:
        if float(q) == 0:
            book.pop(p, None)
        else:
            book[p] = q


def test_subscribe_snapshot_then_continuous_deltas_of_the_depth_window():
    async def main():
        async with sim.serve("bybit", sim.Generator(seed=3)) as s, aiohttp.ClientSession() as http:
            async with http.ws_connect(f"{s.ws_base}/stream.bybit.com/v5/public/linear") as ws:
                await ws.send_str('{"op":"subscribe","req_id":"7","args":["orderbook.50.BTCUSDT"]}')
                ack = await _recv(ws)
                assert ack["success"] is True and ack["ret_msg"] == "" and ack["req_id"] == "7"
                assert ack["op"] == "subscribe" and ack["conn_id"]
                snap = await _recv(ws)
                assert snap["type"] == "snapshot" and snap["topic"] == "orderbook.50.BTCUSDT"
                assert len(snap["data"]["b"]) == 50 and len(snap["data"]["a"]) == 50
                bids = dict(snap["data"]["b"])
                asks = dict(snap["data"]["a"])
                u = snap["data"]["u"]
                await s.step(40)
                st = s.source.market("linear", "BTCUSDT")
                f = s.protocol.fmt(st.spec)
                deltas = 0
                while True:
                    msg = await _recv(ws)
                    assert msg["type"] == "delta" and msg["data"]["u"] == u + 1      # continuous
                    u = msg["data"]["u"]
                    _apply(bids, msg["data"]["b"])
                    _apply(asks, msg["data"]["a"])
                    deltas += 1
                    # the window stays 50 deep: a level leaving it arrives as size "0"
                    assert len(bids) == 50 and len(asks) == 50
                    if msg["data"]["seq"] == st.update_id:
                        break
                assert deltas > 20
                book = st.book(50)
                assert bids == {f.p(p): f.q(q) for p, q in book["bids"]}
                assert asks == {f.p(p): f.q(q) for p, q in book["asks"]}

    run(main())


def test_replies_pong_errors_and_spot_args_limit():
    async def main():
        async with sim.serve("bybit", sim.Generator(seed=1)) as s, aiohttp.ClientSession() as http:
            async with http.ws_connect(f"{s.ws_base}/stream.bybit.com/v5/public/spot") as spot:
                await spot.send_str('{"op":"ping"}')
                pong = await _recv(spot)
                assert pong["success"] and pong["ret_msg"] == "pong" and pong["op"] == "ping" and "req_id" not in pong
                await spot.send_str('{"op":"subscribe","req_id":"1","args":["publicTrade.BTCUSDT"]}')
                assert (await _recv(spot))["ret_msg"] == "subscribe"      # spot's ack text
                await spot.send_str('{"op":"subscribe","req_id":"2","args":["publicTrade.BTCUSDT"]}')
                again = await _recv(spot)
                assert again["success"] is False
                assert again["ret_msg"] == "error:already subscribed,topic:publicTrade.BTCUSDT"
                args = [f"kline.1.X{i}USDT" for i in range(11)]
                await spot.send_str(orjson.dumps({"op": "subscribe", "req_id": "3", "args": args}).decode())
                assert (await _recv(spot))["ret_msg"] == "args size >10"
                await s.step(30)
                trade = await _recv(spot)
                row = trade["data"][0]
                assert trade["topic"] == "publicTrade.BTCUSDT" and "L" not in row and row["S"] in ("Buy", "Sell")
            async with http.ws_connect(f"{s.ws_base}/stream.bybit.com/v5/public/linear") as lin:
                await lin.send_str('{"req_id":"p1","op":"ping"}')
                pong = await _recv(lin)
                assert pong["ret_msg"] == "pong" and pong["req_id"] == "p1"
                for topic in ("orderbook.30.BTCUSDT", "orderbook.50.NOPEUSDT", "nope.BTCUSDT"):
                    await lin.send_str(orjson.dumps({"op": "subscribe", "args": [topic]}).decode())
                    err = await _recv(lin)
                    assert err["success"] is False and err["ret_msg"] == f"error:handler not found,topic:{topic}"
                await lin.send_str('{"op":"nope"}')
                assert (await _recv(lin))["ret_msg"] == "error:invalid op"
                await lin.send_str('{"op":"unsubscribe","req_id":"9","args":["tickers.BTCUSDT"]}')
                unsub = await _recv(lin)
                assert unsub["op"] == "unsubscribe" and unsub["success"] and unsub["req_id"] == "9"
            # private and unknown paths are refused
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await http.ws_connect(f"{s.ws_base}/stream.bybit.com/v5/private")

    run(main())


def test_depth_one_is_snapshot_only_and_repushed_after_three_quiet_seconds():
    async def main():
        gen = sim.Generator(seed=2, tick_ms=3000)
        async with sim.serve("bybit", gen) as s, aiohttp.ClientSession() as http:
            async with http.ws_connect(f"{s.ws_base}/stream.bybit.com/v5/public/inverse") as ws:
                await ws.send_str('{"op":"subscribe","args":["orderbook.1.BTCUSD"]}')
                await _recv(ws)
                first = await _recv(ws)
                assert first["type"] == "snapshot" and len(first["data"]["b"]) == 1
                for _ in range(60):
                    await s.step(1)
                conn, = s.connections
                seen = [await _recv(ws) for _ in range(conn.sent - 1)]
                assert seen and all(m["type"] == "snapshot" for m in seen)
                us = [m["data"]["u"] for m in seen]
                assert all(b in (a, a + 1) for a, b in zip(us, us[1:]))     # +1 on change, same u on re-push
                repushed = [b for a, b in zip(seen, seen[1:]) if a["data"]["u"] == b["data"]["u"]]
                assert repushed and all(b["ts"] - a["ts"] >= 3000 for a, b in zip(seen, seen[1:])
                                        if a["data"]["u"] == b["data"]["u"])

    run(main())


def test_instruments_and_orderbook_rest():
    async def main():
        async with sim.serve("bybit", sim.Generator(seed=1)) as s, aiohttp.ClientSession() as http:
            base = f"{s.http_base}/api.bybit.com/v5/market"
            async with http.get(f"{base}/instruments-info?category=inverse&limit=1000") as r:
                body = await r.json()
            assert body["retCode"] == 0 and body["result"]["category"] == "inverse"
            item, = body["result"]["list"]
            assert item["contractType"] == "InversePerpetual" and item["settleCoin"] == "BTC"
            assert item["priceFilter"]["tickSize"] == "0.50"
            async with http.get(f"{base}/instruments-info?category=linear&status=PreLaunch") as r:
                assert (await r.json())["result"]["list"] == []
            async with http.get(f"{base}/orderbook?category=linear&symbol=BTCUSDT&limit=5") as r:
                book = (await r.json())["result"]
            assert len(book["b"]) == 5 and float(book["b"][0][0]) < float(book["a"][0][0])
            async with http.get(f"{base}/instruments-info?category=nope") as r:
                assert (await r.json())["retCode"] == 10001

    run(main())
