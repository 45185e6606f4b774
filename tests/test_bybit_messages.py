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


OPTION = "ws://127.0.0.1/stream.bybit.com/v5/public/option"


def with_option_market():
    """The simulator's markets plus one BTC option (shaped as ccxt loads Bybit's USDC
    options: its id is what the option rows carry in ``s``)."""
    markets = dict(sim_markets("bybit"))
    option = dict(markets["BTC/USDT:USDT"], id="BTC-6JAN23-17500-C", symbol="BTC/USDC:USDC-230106-17500-C",
                  quote="USDC", settle="USDC", quoteId="USDC", settleId="USDC", type="option", swap=False,
                  option=True, subType="linear", expiry=1672992000000, expiryDatetime="2023-01-06T08:00:00.000Z",
                  strike=17500.0, optionType="call", contractSize=1.0)
    markets[option["symbol"]] = option
    return list(markets.values())


def feed_trades(cls, url, messages, markets):
    ex = cls({"enableRateLimit": False})
    ex.set_markets(markets)
    client = FakeClient(url)
    for message in messages:
        data = orjson.dumps(message)
        if not (hasattr(ex, "handle_raw_message") and ex.handle_raw_message(client, data)):
            ex.handle_message(client, orjson.loads(data))
    return {symbol: list(trades) for symbol, trades in ex.trades.items()}, client.resolved


def test_option_trades_on_a_base_coin_topic_carry_the_symbol_of_their_row():
    """Bybit's public trade docs: "Topic: publicTrade.{symbol} For option, it should use
    base coin, e.g., publicTrade.BTC"; each row's ``s`` names the option. ccxt.pro's
    parse_ws_trade resolves each trade's symbol from the row's ``s`` (the topic only
    picks the cache and message hash): the same here, not the topic's id."""
    message = {"id": "publicTrade.BTC-2200976837-1672917463960", "topic": "publicTrade.BTC", "ts": 1672917463960,
               "type": "snapshot",
               "data": [{"T": 1672917463958, "s": "BTC-6JAN23-17500-C", "S": "Sell", "v": "0.1", "p": "10",
                         "i": "0b38a9d5-5a5d-5d3b-bfb0-1ee7d5d0bad7", "BT": False, "mP": "7.86976724",
                         "iP": "16823.73", "mIv": "0.4896", "iv": "0.4896"}]}
    markets = with_option_market()
    expected, expected_resolved = feed_trades(ccxt.pro.bybit, OPTION, [message], markets)
    got, got_resolved = feed_trades(ccxtpro_fast.bybit, OPTION, [message], markets)
    assert got == expected
    assert got_resolved == expected_resolved
    assert [t["symbol"] for trades in got.values() for t in trades] == ["BTC/USDC:USDC-230106-17500-C"]


SPOT = "ws://127.0.0.1/stream.bybit.com/v5/public/spot"
ODD = [["0.00000000", "1"], ["1E-8", "2"], ["1.0e+3", "3"], ["123456789012345678901234567890.123456789", "4"],
       ["0.1000000000000000055511151231257827", "5"], ["100", "0.00000000"], ["99.99999999999999999999", "1e-30"]]


@pytest.mark.parametrize("raw", [False, True])
def test_odd_numbers_duplicates_empty_sides_and_unknown_deletes_as_ccxt(raw):
    """Wire edge cases on the documented shapes: zero written as "0.00000000",
    exponents, long decimals, a price twice in one message (the last wins), empty
    sides, deleting a level the book lacks, a topic nobody watches, acks without a
    topic."""
    topic = "orderbook.50.BTCUSDT"
    messages = [
        book_push(topic, "snapshot", 1700000000000, ODD, [["101", "1"], ["101", "2"]], 10, 1),
        book_push(topic, "delta", 1700000000020, ODD[::-1], [["101", "0.0"], ["5e-1", "1"]], 11, 2),
        book_push(topic, "delta", 1700000000040, [], [], 12, 3),
        book_push(topic, "delta", 1700000000060, [["0.1", "0"], ["1e3", "0"], ["42", "0"]], [["77", "0"]], 13, 4),
        book_push(topic, "delta", 1700000000080, [["99", "1"], ["99", "0"], ["98", "0"], ["98", "3"]], [], 14, 5),
        book_push("orderbook.50.ETHUSDT", "snapshot", 1700000000090, [["1", "1"]], [], 3, 6),
        {"success": True, "ret_msg": "", "conn_id": "c1", "req_id": "7", "op": "unsubscribe"},
        {"success": True, "ret_msg": "pong", "conn_id": "c1", "op": "ping"},
    ]
    expected, expected_resolved = feed(ccxt.pro.bybit, SPOT, messages, raw)
    got, got_resolved = feed(ccxtpro_fast.bybit, SPOT, messages, raw)
    assert got == expected
    assert got_resolved == expected_resolved


@pytest.mark.parametrize("raw", [False, True])
def test_a_symbols_book_and_its_bid_ask_watched_together_stay_apart(raw):
    """watch_order_book (orderbook.50) and watch_bids_asks (orderbook.1) of one symbol on
    one connection: ccxt.pro writes the depth-1 pushes into the book the depth-50 topic
    keeps, which is cut to its top and then corrupted by the next depth-50 deltas. Here
    the book stays the depth-50 book after every push and the bid/ask comes from the
    depth-1 topic."""
    deep, top = "orderbook.50.ETHUSDT", "orderbook.1.ETHUSDT"
    symbol = "ETH/USDT:USDT"
    bids = [["2000.10", "3"], ["2000.00", "1"], ["1999.90", "2"]]
    asks = [["2000.20", "1"], ["2000.30", "4"], ["2000.40", "5"]]
    messages = [
        book_push(deep, "snapshot", 1700000000000, bids, asks, 100, 9000),
        book_push(top, "snapshot", 1700000000005, [["2000.10", "2.5"]], [["2000.20", "1"]], 70, 9001),
        book_push(deep, "delta", 1700000000010, [["2000.10", "2.5"]], [["2000.30", "0"]], 101, 9001),
        book_push(top, "snapshot", 1700000000015, [["2000.10", "2.5"]], [["2000.20", "0.5"]], 71, 9002),
        book_push(deep, "delta", 1700000000020, [], [["2000.20", "0.5"]], 102, 9002),
    ]
    truth_bids = [[2000.1, 2.5], [2000.0, 1.0], [1999.9, 2.0]]
    truth_asks = [[2000.2, 0.5], [2000.4, 5.0]]

    def run(cls):
        ex = cls({"enableRateLimit": False})
        ex.set_markets(sim_markets("bybit"))
        client = FakeClient(LINEAR)
        client.subscriptions["orderbook:" + symbol] = {"id": "1", "topics": [deep]}
        client.subscriptions["bidask:" + symbol] = {"id": "2", "topics": [top]}
        for message in messages:
            data = orjson.dumps(message)
            if not (raw and hasattr(ex, "handle_raw_message") and ex.handle_raw_message(client, data)):
                ex.handle_message(client, orjson.loads(data))
        return ex, client

    ours, client = run(ccxtpro_fast.bybit)
    book = ours.orderbooks[symbol]
    assert [list(x) for x in book["bids"]] == truth_bids and [list(x) for x in book["asks"]] == truth_asks
    assert ours.bidsasks[symbol]["bid"] == 2000.1 and ours.bidsasks[symbol]["askVolume"] == 0.5
    # the depth-1 pushes resolve the bid/ask only, never the order book's waiters
    assert client.resolved.count("bidask:" + symbol) == 2
    if not raw:     # (the compiled path resolves only hashes someone waits for)
        assert client.resolved.count("orderbook:" + symbol) == 3
    theirs, _ = run(ccxt.pro.bybit)
    assert [list(x) for x in theirs.orderbooks[symbol]["asks"]] != truth_asks     # ccxt.pro's is not
