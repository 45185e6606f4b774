"""Unit checks of the OKX adapter without sockets: the dispatch table, what still goes
to ccxt.pro, the cached ISO 8601 text, and checksum handling on hand-fed messages."""
from __future__ import annotations

import random

import ccxt.pro
from ccxt.base.errors import BadRequest
from ccxt.base.exchange import Exchange

import ccxtpro_fast
from ccxtpro_fast.sim.okx import _instrument, spot_market


class _Client:
    def __init__(self):
        self.futures = {}
        self.subscriptions = {}
        self.resolved = []
        self.rejected = []
        self.sent = []

    def resolve(self, result, message_hash):
        self.resolved.append(message_hash)

    def reject(self, error, message_hash=None):
        self.rejected.append((error, message_hash))

    def send_now(self, message):
        self.sent.append(message)


def _exchange(cls=ccxtpro_fast.okx):
    ex = cls()
    ex.set_markets(ex.parse_markets([_instrument(spot_market("BTC-USDT", "BTC", "USDT", tick="0.1",
                                                             step="0.00000001", price="1"))]))
    return ex


def _books(action, bids, asks, checksum, **seq):
    return {"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": action,
            "data": [dict({"asks": asks, "bids": bids, "ts": "1652459225507", "checksum": checksum}, **seq)]}


# the documented example: "3366.1:7:3366.8:9:3366:6:3368:8"
BIDS = [["3366.1", "7", "0", "3"], ["3366", "6", "3", "4"]]
ASKS = [["3366.8", "9", "10", "3"], ["3368", "8", "3", "4"]]


def _crc(text):
    import zlib
    c = zlib.crc32(text.encode())
    return c - (1 << 32) if c >= 1 << 31 else c


def test_dispatch_table_is_built_once_and_covers_the_hot_channels():
    ex = _exchange()
    table = ex._okx_handlers
    assert {"books", "books5", "bbo-tbt", "trades", "tickers", "candle1m", "candle1H"} <= set(table)
    client = _Client()
    ex.handle_message(client, _books("snapshot", BIDS, ASKS, _crc("3366.1:7:3366.8:9:3366:6:3368:8")))
    assert ex._okx_handlers is table
    assert client.resolved == ["books:BTC/USDT"]


def test_documented_checksum_example_verifies_and_a_wrong_one_resyncs():
    ex = _exchange()
    client = _Client()
    ex.handle_message(client, _books("snapshot", BIDS, ASKS, _crc("3366.1:7:3366.8:9:3366:6:3368:8"),
                                     prevSeqId=-1, seqId=10))
    assert ex.orderbooks["BTC/USDT"]["nonce"] == 10 and client.sent == []
    # second doc example: one bid left -> "3366.1:7:3366.8:9:3368:8:3372:8"
    ex.handle_message(client, _books("update", [["3366", "0", "0", "0"]], [["3372", "8", "3", "4"]],
                                     _crc("3366.1:7:3366.8:9:3368:8:3372:8"), prevSeqId=10, seqId=15))
    assert ex.orderbooks["BTC/USDT"]["nonce"] == 15 and client.sent == []
    ex.handle_message(client, _books("update", [["3366.1", "8", "0", "1"]], [], 12345, prevSeqId=15, seqId=16))
    assert "BTC/USDT" not in ex.orderbooks          # dropped until the new snapshot
    topic = {"channel": "books", "instId": "BTC-USDT"}
    assert client.sent == [{"op": "unsubscribe", "args": [topic]}, {"op": "subscribe", "args": [topic]}]
    assert client.rejected == []
    # the resync's own unsubscribe ack is not handed to ccxt.pro (it would reject the waiter)
    client.subscriptions["books:BTC/USDT"] = True
    ex.handle_message(client, {"event": "unsubscribe", "arg": topic, "connId": "a4d3ae55"})
    assert client.subscriptions == {"books:BTC/USDT": True} and client.rejected == []
    ex._okx_resyncs.clear()


def test_checksum_zero_is_not_verified():
    """OKX now documents the field as deprecated and fixed to 0."""
    ex = _exchange()
    client = _Client()
    ex.handle_message(client, _books("snapshot", BIDS, ASKS, 0, prevSeqId=-1, seqId=1))
    ex.handle_message(client, _books("update", [["1", "1", "0", "1"]], [], 0, prevSeqId=1, seqId=2))
    assert client.sent == [] and ex.orderbooks["BTC/USDT"]["nonce"] == 2


def test_other_messages_go_to_ccxt_pro():
    ex = _exchange()
    client = _Client()
    # an error event: ccxt.pro's handle_error_message rejects every waiter with its mapping
    ex.handle_message(client, {"event": "error", "code": "60012", "msg": "Invalid request: x", "connId": "1"})
    [(error, message_hash)] = client.rejected
    assert isinstance(error, BadRequest) and message_hash is None
    # a channel we do not replace (mark-price) is handled by ccxt.pro's handle_ticker
    ex.handle_message(client, {"arg": {"channel": "mark-price", "instId": "BTC-USDT"},
                               "data": [{"instType": "SPOT", "instId": "BTC-USDT", "markPx": "3", "ts": "1"}]})
    assert client.resolved[-1] == "mark-price::BTC/USDT"
    assert ex.tickers["BTC/USDT"]["info"]["markPx"] == "3"
    ex.handle_message(client, "pong")
    assert client.lastPong >= 1652459225507


def test_cached_iso8601_equals_ccxt():
    ex = _exchange()
    rng = random.Random(5)
    stamps = [0, 1, 999, 1000, 1652459225507] + sorted(rng.randrange(0, 4_102_444_800_000) for _ in range(5000))
    stamps += [1652459225000 + i for i in range(2500)]
    for ts in stamps:
        assert ex.iso8601(ts) == Exchange.iso8601(ts)
    assert ex.iso8601(-1) is None


def test_books5_levels_are_price_amount():
    """ccxt.pro keeps the deprecated third field of books5/bbo-tbt levels; ours do not."""
    client = _Client()
    client.subscriptions["books5:BTC/USDT"] = True
    msg = {"arg": {"channel": "books5", "instId": "BTC-USDT"},
           "data": [{"asks": ASKS, "bids": BIDS, "instId": "BTC-USDT", "ts": "1670324386802", "seqId": 7}]}
    ours, theirs = _exchange(), _exchange(ccxt.pro.okx)
    ours.handle_message(client, msg)
    theirs.handle_message(client, msg)
    assert ours.orderbooks["BTC/USDT"]["bids"][:] == [[3366.1, 7.0], [3366.0, 6.0]]
    assert [lv[:2] for lv in theirs.orderbooks["BTC/USDT"]["bids"]] == ours.orderbooks["BTC/USDT"]["bids"][:]
    for key in ("nonce", "timestamp", "datetime", "symbol"):
        assert ours.orderbooks["BTC/USDT"][key] == theirs.orderbooks["BTC/USDT"][key]
