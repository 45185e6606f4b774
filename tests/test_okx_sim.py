"""The OKX simulator protocol on the wire, with a raw picows client: acks, errors, the
text ping, URL routing, the books sequence chain and the checksum (checked with the
compiled core, an implementation independent of the simulator's zlib one)."""
from __future__ import annotations

import asyncio

import aiohttp
import orjson
from picows import WSListener, WSMsgType, ws_connect

from ccxtpro_fast import _core, sim

from sim_helpers import run


class _Raw(WSListener):
    def __init__(self):
        self.messages = asyncio.Queue()

    def on_ws_connected(self, transport):
        self.transport = transport

    def on_ws_frame(self, transport, frame):
        if frame.msg_type == WSMsgType.TEXT:
            self.messages.put_nowait(frame.get_payload_as_utf8_text())

    def send(self, data):
        self.transport.send(WSMsgType.TEXT, data if isinstance(data, bytes) else orjson.dumps(data))

    async def next(self):
        text = await asyncio.wait_for(self.messages.get(), 5)
        return text if text == "pong" else orjson.loads(text)


async def _connect(s, path="/ws/v5/public"):
    _, raw = await ws_connect(_Raw, f"{s.ws_base}/ws.okx.com{path}")
    return raw


def test_requests_acks_errors_and_ping():
    async def main():
        async with sim.serve("okx", sim.Generator(seed=1)) as s:
            raw = await _connect(s)
            raw.send(b"ping")
            assert await raw.next() == "pong"
            raw.send({"id": "7", "op": "subscribe", "args": [{"channel": "trades", "instId": "BTC-USDT"},
                                                            {"channel": "tickers", "instId": "NOPE-USDT"}]})
            ack = await raw.next()
            assert ack == {"id": "7", "event": "subscribe", "arg": {"channel": "trades", "instId": "BTC-USDT"},
                           "connId": ack["connId"]} and len(ack["connId"]) == 8
            err = await raw.next()
            assert err["event"] == "error" and err["code"] == "60018" and "NOPE-USDT" in err["msg"]
            raw.send({"op": "subscribe", "args": [{"channel": "candle1m", "instId": "BTC-USDT"}]})
            assert (await raw.next())["code"] == "64001"        # candles live on /business
            raw.send({"op": "nope", "args": []})
            assert (await raw.next())["code"] == "60019"
            raw.send(b"{not json")
            assert (await raw.next())["code"] == "60012"
            raw.send({"op": "unsubscribe", "args": [{"channel": "trades", "instId": "BTC-USDT"}]})
            assert (await raw.next())["event"] == "unsubscribe"
            assert s.subscribers("okx", "trades:BTC-USDT") == set()

            business = await _connect(s, "/ws/v5/business")
            business.send({"op": "subscribe", "args": [{"channel": "books", "instId": "BTC-USDT"}]})
            assert (await business.next())["code"] == "64002"
            business.send({"op": "subscribe", "args": [{"channel": "candle1m", "instId": "BTC-USDT"}]})
            assert (await business.next())["event"] == "subscribe"
            raw.transport.disconnect()
            business.transport.disconnect()

    run(main())


def test_books_chain_and_checksums_on_the_wire():
    async def main():
        async with sim.serve("okx", sim.Generator(seed=2)) as s:
            raw = await _connect(s)
            raw.send({"op": "subscribe", "args": [{"channel": "books", "instId": "ETH-USDT"}]})
            assert (await raw.next())["event"] == "subscribe"
            snapshot = await raw.next()
            assert snapshot["action"] == "snapshot" and snapshot["arg"] == {"channel": "books", "instId": "ETH-USDT"}
            book = _core.OrderBook({})
            data = snapshot["data"][0]
            assert data["prevSeqId"] == -1 and len(data["bids"]) == len(data["asks"]) == 200
            assert all(len(lv) == 4 and lv[2] == "0" for lv in data["bids"] + data["asks"])
            book["bids"].store_levels(data["bids"])
            book["asks"].store_levels(data["asks"])
            assert book.checksum(_core.CHECKSUM_OKX) == data["checksum"]
            last = data["seqId"]
            await s.step(30)
            for _ in range(30):
                msg = await raw.next()
                d = msg["data"][0]
                assert msg["action"] == "update" and d["prevSeqId"] == last and d["seqId"] > last
                for key in ("bids", "asks"):
                    book[key].store_levels(d[key])
                    # deletes are ["px", "0", "0", "0"], as in the recording
                    assert all(lv[1:] == ["0", "0", "0"] for lv in d[key] if lv[1] == "0")
                assert book.checksum(_core.CHECKSUM_OKX) == d["checksum"]
                last = d["seqId"]
            assert last == s.protocol.current_seq("ETH-USDT")
            raw.transport.disconnect()

    run(main())


def test_instruments_rest():
    async def main():
        async with sim.serve("okx", sim.Generator(seed=1)) as s:
            async with aiohttp.ClientSession() as http:
                url = f"{s.http_base}/www.okx.com/api/v5/public/instruments?instType=SWAP"
                async with http.get(url) as r:
                    body = await r.json()
                assert body["code"] == "0"
                [swap] = body["data"]
                assert swap["instId"] == "BTC-USDT-SWAP" and swap["ctVal"] == "0.01" and swap["settleCcy"] == "USDT"
                async with http.get(f"{s.http_base}/www.okx.com/api/v5/public/instruments?instType=BAD") as r:
                    assert (await r.json())["code"] == "51000"
                async with http.get(f"{s.http_base}/www.okx.com/api/v5/market/books?instId=BTC-USDT&sz=3") as r:
                    books = (await r.json())["data"][0]
                assert len(books["bids"]) == 3 and len(books["asks"]) == 3

    run(main())
