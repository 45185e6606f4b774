"""The Bitget v2 simulator protocol on the wire, with a plain WebSocket client."""
from __future__ import annotations

import aiohttp
import orjson
import pytest

from ccxtpro_fast import sim
from ccxtpro_fast.sim.bitget import checksum_of

from sim_helpers import run


def test_requests_replies_snapshot_updates_and_ping():
    async def main():
        async with sim.serve("bitget", sim.Generator(seed=2, levels=40)) as s:
            async with aiohttp.ClientSession() as http:
                url = f"{s.ws_base}/ws.bitget.com/v2/ws/public"
                async with http.ws_connect(url) as ws:
                    await ws.send_str("ping")
                    assert await ws.receive_str() == "pong"
                    arg = {"instType": "USDT-FUTURES", "channel": "books", "instId": "ETHUSDT"}
                    bad = {"instType": "SPOT", "channel": "books", "instId": "NOPEUSDT"}
                    await ws.send_str(orjson.dumps({"op": "subscribe", "args": [arg, bad]}).decode())
                    assert orjson.loads(await ws.receive_str()) == {"event": "subscribe", "arg": arg}
                    snap = orjson.loads(await ws.receive_str())
                    err = orjson.loads(await ws.receive_str())
                    assert err == {"event": "error", "code": 30001,
                                   "msg": "instType:SPOT,channel:books,instId:NOPEUSDT doesn't exist"}
                    assert snap["action"] == "snapshot" and snap["arg"] == arg
                    d = snap["data"][0]
                    assert list(d) == ["asks", "bids", "checksum", "seq", "ts"] and len(d["bids"]) == 40
                    assert d["checksum"] == checksum_of(d["bids"], d["asks"]) != 0
                    # sizes keep the market's decimals, so the checksum needs the wire text
                    assert any(q.endswith("0") for _, q in d["bids"] + d["asks"])
                    book = {"bids": {p: q for p, q in d["bids"]}, "asks": {p: q for p, q in d["asks"]}}
                    seq = d["seq"]
                    await s.step(20)
                    for _ in range(20):
                        u = orjson.loads(await ws.receive_str())
                        assert u["action"] == "update" and u["data"][0]["seq"] > seq
                        seq = u["data"][0]["seq"]
                        for side in ("bids", "asks"):
                            for p, q in u["data"][0][side]:
                                if q == "0":
                                    del book[side][p]
                                else:
                                    book[side][p] = q
                        bids = sorted(book["bids"].items(), key=lambda x: -float(x[0]))
                        asks = sorted(book["asks"].items(), key=lambda x: float(x[0]))
                        assert u["data"][0]["checksum"] == checksum_of([list(x) for x in bids], [list(x) for x in asks])
                    await ws.send_str(orjson.dumps({"op": "unsubscribe", "args": [arg]}).decode())
                    assert orjson.loads(await ws.receive_str()) == {"event": "unsubscribe", "arg": arg}
                    await ws.send_str('{"op":"nope","args":[]}')
                    assert orjson.loads(await ws.receive_str())["code"] == 30003
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:   # not served
                    await http.ws_connect(f"{s.ws_base}/ws.bitget.com/v2/ws/private")
                assert refused.value.status == 404

    run(main())
