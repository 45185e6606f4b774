"""Bybit v5 public pushes fed by hand to ccxt.pro's bybit and to ours (decoded path and
raw-frame path): the unified results must be the same. Message shapes are the ones of
Bybit's docs (docs/v5/websocket/public/orderbook, quoted in exchanges/bybit.py)."""
from __future__ import annotations

import ccxt.pro
import orjson
import pytest

import ccxtpro_fast

from sim_helpers import sim_markets

LINEAR = "ws://127.0.0.1/stream.bybit.com/v5/public/linear"


class FakeClient:
    def __init__(self, url):
        self.url = url
        self.resolved = []
        self.futures = {}
        self.subscriptions = {}

    def resolve(self, result, message_hash):
        self.resolved.append(message_hash)

    def reject(self, error, message_hash=None):
        self.resolved.append(("reject", message_hash, type(error).__name__))

    def closed(self):
        return False

    def send_now(self, message):
        self.resolved.append(("send", message))


def book_push(topic, kind, ts, bids, asks, u, seq):
    return {"topic": topic, "type": kind, "ts": ts,
            "data": {"s": topic.split(".")[2], "b": bids, "a": asks, "u": u, "seq": seq}, "cts": ts - 2}


def feed(cls, url, messages, raw):
    ex = cls({"enableRateLimit": False})
    ex.set_markets(sim_markets("bybit"))
    client = FakeClient(url)
    states = []
    for message in messages:
        data = orjson.dumps(message)
        if not (raw and hasattr(ex, "handle_raw_message") and ex.handle_raw_message(client, data)):
            ex.handle_message(client, orjson.loads(data))
        states.append(state(ex))
    return states, client.resolved


def state(ex):
    out = {}
    for symbol, ob in ex.orderbooks.items():
        out[symbol] = (ob["timestamp"], ob["datetime"], ob["nonce"], ob["symbol"],
                       [list(x) for x in ob["bids"]], [list(x) for x in ob["asks"]])
    for symbol, t in ex.bidsasks.items():
        out["bidask " + symbol] = {k: v for k, v in t.items() if k != "info"}
    return out


@pytest.mark.parametrize("raw", [False, True])
def test_depth_one_snapshot_after_a_service_restart_replaces_the_top(raw):
    """Docs: "If you receive a new snapshot message, you will have to reset your local
    orderbook"; u "Occasionally, you'll receive "u"=1, which is a snapshot data due to the
    restart of the service. So please overwrite your local orderbook". Nothing says to
    skip a snapshot by its ``seq`` (the cross sequence, to compare different depths):
    a restart's u=1 snapshot with a lower seq must still replace the book and the
    bid/ask, as ccxt.pro does."""
    topic = "orderbook.1.ETHUSDT"
    messages = [
        book_push(topic, "snapshot", 1700000000000, [["2000.10", "3.2"]], [["2000.20", "1.1"]], 500, 9000),
        book_push(topic, "snapshot", 1700000000010, [["2000.00", "1.0"]], [["2000.20", "1.1"]], 501, 9004),
        # the service restarted: u starts again at 1, the cross sequence too
        book_push(topic, "snapshot", 1700000005000, [["1999.50", "7"]], [["1999.60", "2"]], 1, 12),
        book_push(topic, "snapshot", 1700000005010, [["1999.40", "1"]], [["1999.60", "2"]], 2, 15),
    ]
    expected, expected_resolved = feed(ccxt.pro.bybit, LINEAR, messages, raw)
    got, got_resolved = feed(ccxtpro_fast.bybit, LINEAR, messages, raw)
    assert got == expected
    assert got_resolved == expected_resolved
    assert got[-1]["bidask ETH/USDT:USDT"]["bid"] == 1999.4
