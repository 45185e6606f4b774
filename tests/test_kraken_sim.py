"""The Kraken v2 simulator protocol on the wire, read by a plain client (aiohttp + json
with Decimal numbers, as Kraken's checksum guide recommends), independent of ccxt and
of the compiled core: greeting, ping/pong, acks and errors, book snapshot/updates whose
checksums a plain-Python book model reproduces at depths 10 and 25, unsubscribe,
heartbeat, REST metadata."""
from __future__ import annotations

import asyncio
import json
import zlib
from decimal import Decimal

import aiohttp
import pytest

from ccxtpro_fast import sim

from sim_helpers import run


def _text(value: Decimal, precision: int) -> str:
    return format(value, f".{precision}f").replace(".", "").lstrip("0")


def _checksum(bids: dict, asks: dict, pp: int, qp: int) -> int:
    top_asks = sorted(asks.items())[:10]
    top_bids = sorted(bids.items(), reverse=True)[:10]
    payload = "".join(_text(p, pp) + _text(q, qp) for p, q in top_asks + top_bids)
    return zlib.crc32(payload.encode()) & 0xFFFFFFFF


class Plain:
    """A WebSocket reader that parses numbers as Decimal."""

    def __init__(self, ws):
        self.ws = ws

    async def recv(self, timeout: float = 5.0) -> dict:
        msg = await asyncio.wait_for(self.ws.receive(), timeout)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        return json.loads(msg.data, parse_float=Decimal)

    async def recv_data(self) -> dict:
        """The next frame that is not a heartbeat."""
        while True:
            msg = await self.recv()
            if msg != {"channel": "heartbeat"}:
                return msg

    async def send(self, obj: dict) -> None:
        await self.ws.send_str(json.dumps(obj))


async def _connect(s, session):
    ws = await session.ws_connect(s.ws_base + "/ws.kraken.com/v2")
    return Plain(ws)


def test_greeting_ping_acks_and_errors():
    async def main():
        async with sim.serve("kraken", sim.Generator(seed=1)) as s, aiohttp.ClientSession() as session:
            c = await _connect(s, session)
            status = await c.recv()
            assert status["channel"] == "status" and status["type"] == "update"
            assert status["data"][0]["api_version"] == "v2" and status["data"][0]["system"] == "online"
            await c.send({"method": "ping", "req_id": 101})
            pong = await c.recv()
            assert pong["method"] == "pong" and pong["req_id"] == 101
            assert pong["time_in"].endswith("Z") and pong["time_out"] >= pong["time_in"]

            await c.send({"method": "subscribe", "params": {"channel": "book", "symbol": ["ETH/USD", "XBT/EUR"]},
                          "req_id": 5})
            ack = await c.recv()
            assert ack["method"] == "subscribe" and ack["success"] is True and ack["req_id"] == 5
            assert ack["result"] == {"channel": "book", "depth": 10, "snapshot": True, "symbol": "ETH/USD"}
            snap = await c.recv()
            assert snap["channel"] == "book" and snap["type"] == "snapshot"
            assert len(snap["data"][0]["bids"]) == len(snap["data"][0]["asks"]) == 10
            err = await c.recv()
            assert err["success"] is False and err["error"] == "Currency pair not supported XBT/EUR"
            assert err["symbol"] == "XBT/EUR" and err["req_id"] == 5 and err["method"] == "subscribe"

            await c.send({"method": "subscribe", "params": {"channel": "book", "symbol": ["ETH/USD"], "depth": 25}})
            again = await c.recv()
            assert again["success"] is False and again["error"] == "Already subscribed"
            await c.send({"method": "subscribe", "params": {"channel": "book", "symbol": ["BTC/USD"], "depth": 7}})
            bad = await c.recv()
            assert bad["success"] is False and bad["error"] == "Subscription depth not supported"

            await c.send({"method": "unsubscribe", "params": {"channel": "book", "symbol": ["ETH/USD"]}, "req_id": 6})
            gone = await c.recv()
            assert gone["method"] == "unsubscribe" and gone["success"] is True
            assert gone["result"] == {"channel": "book", "depth": 10, "symbol": "ETH/USD"}
            await s.step(20)
            assert s.connections[0].streams == set()
            # nothing more for the book: the next frame is the answer to this ping
            await c.send({"method": "ping"})
            assert (await c.recv())["method"] == "pong"

    run(main())


@pytest.mark.parametrize("symbol,depth", [("BTC/USD", 10), ("ALGO/USD", 25)])
def test_book_stream_checksums_reproduce_with_a_plain_model(symbol, depth):
    async def main():
        async with sim.serve("kraken", sim.Generator(seed=4)) as s, aiohttp.ClientSession() as session:
            spec = s.protocol.by_symbol(symbol)
            pp, qp = spec.extra["pair_decimals"], spec.extra["lot_decimals"]
            c = await _connect(s, session)
            await c.recv()      # status
            await c.send({"method": "subscribe", "params": {"channel": "book", "symbol": [symbol], "depth": depth}})
            await c.recv()      # ack
            snap = (await c.recv())["data"][0]
            bids = {lv["price"]: lv["qty"] for lv in snap["bids"]}
            asks = {lv["price"]: lv["qty"] for lv in snap["asks"]}
            assert len(bids) == len(asks) == depth
            assert _checksum(bids, asks, pp, qp) == snap["checksum"]
            await s.step(300)
            count = 0
            while s.connections[0].sent > count + 1:
                msg = await c.recv()
                data = msg["data"][0]
                assert msg["type"] == "update" and data["symbol"] == symbol and data["timestamp"].endswith("Z")
                for side, levels in ((bids, data["bids"]), (asks, data["asks"])):
                    for lv in levels:
                        if lv["qty"] == 0:
                            side.pop(lv["price"], None)
                        else:
                            side[lv["price"]] = lv["qty"]
                # step 2 of the guide: truncate to the subscribed depth
                for side, best_first in ((bids, True), (asks, False)):
                    for price in sorted(side, reverse=best_first)[depth:]:
                        del side[price]
                assert _checksum(bids, asks, pp, qp) == data["checksum"]
                count += 1
            assert count > 200
            truth = s.protocol.truth(spec, depth)
            assert [[float(p), float(q)] for p, q in sorted(bids.items(), reverse=True)] == truth["bids"]
            assert [[float(p), float(q)] for p, q in sorted(asks.items())] == truth["asks"]

    run(main())


def test_trade_ticker_ohlc_shapes_and_heartbeat():
    async def main():
        async with sim.serve("kraken", sim.Generator(seed=2)) as s, aiohttp.ClientSession() as session:
            s.protocol.heartbeat_interval = 0.05
            c = await _connect(s, session)
            await c.recv()
            for params in ({"channel": "trade", "symbol": ["BTC/USD"]},
                           {"channel": "ohlc", "symbol": ["ETH/USD"], "interval": 1},
                           {"channel": "ticker", "symbol": ["BTC/USD"], "event_trigger": "bbo"}):
                await c.send({"method": "subscribe", "params": params})
                ack = await c.recv_data()
                assert ack["success"] is True and ack["result"]["channel"] == params["channel"]
            ticker = await c.recv_data()     # ticker snapshot (trade: no snapshot by default; no candle yet)
            assert ticker["channel"] == "ticker" and ticker["type"] == "snapshot"
            assert set(ticker["data"][0]) == {"symbol", "bid", "bid_qty", "ask", "ask_qty", "last", "volume",
                                              "vwap", "low", "high", "change", "change_pct", "timestamp"}
            # idle and subscribed: heartbeats
            assert await c.recv() == {"channel": "heartbeat"}
            await s.step(200)
            seen = {}
            while len(seen) < 3:
                msg = await c.recv()
                if msg["channel"] != "heartbeat":
                    seen.setdefault(msg["channel"], msg)
            trade = seen["trade"]["data"][0]
            assert set(trade) == {"symbol", "side", "price", "qty", "ord_type", "trade_id", "timestamp"}
            assert trade["side"] in ("buy", "sell") and isinstance(trade["trade_id"], int)
            candle = seen["ohlc"]["data"][0]
            assert candle["interval"] == 1 and candle["interval_begin"].endswith(":00.000000000Z")
            assert seen["ohlc"]["timestamp"].endswith("Z") and candle["low"] <= candle["close"] <= candle["high"]
            bbo = seen["ticker"]["data"][0]
            assert bbo["bid"] < bbo["ask"]

    run(main())


def test_rest_metadata_and_no_v1_replay():
    async def main():
        async with sim.serve("kraken", sim.Generator(seed=0)) as s, aiohttp.ClientSession() as session:
            async with session.get(s.http_base + "/api.kraken.com/0/public/AssetPairs") as r:
                pairs = await r.json()
            async with session.get(s.http_base + "/api.kraken.com/0/public/Assets") as r:
                assets = await r.json()
            assert pairs["error"] == [] and assets["error"] == []
            btc = pairs["result"]["XXBTZUSD"]
            assert (btc["wsname"], btc["base"], btc["quote"], btc["pair_decimals"], btc["lot_decimals"]) == \
                ("XBT/USD", "XXBT", "ZUSD", 1, 8)
            assert assets["result"]["XXBT"]["altname"] == "XBT"
            with pytest.raises(ValueError, match="v2 only"):
                s.protocol.load_replay("tests/data/sessions/kraken_v1_book_checksum.jsonl")

    run(main())
