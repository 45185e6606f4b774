"""Recorded sessions of exchanges without a native adapter, through ccxt.pro's own handlers
on ccxtpro_fast's books and compiled helpers (``ccxtpro_fast.<id>``) and through ccxt.pro
itself: the books are the same after every message.

The frames are fed to ``handle_message`` in recorded order, as the transport would hand
them over. What ``watch_order_book`` does before the first frame (an empty book with no
nonce per symbol) is done here for both clients alike, and ccxt's REST snapshot requests are
answered with the session's recorded responses, so ccxt's own sync logic (cache, snapshot,
nonce checks) runs unchanged on both sides. The sessions (tests/data/sessions/*.provenance.md)
were captured by cryptofeed, not by ccxt, so their subscribe messages are not ccxt's: the
subscription acknowledgements pass through without effect on either client.

Not here: gate spot. Its recorded snapshots (``with_id=true``) carry no ``current``
timestamp, which ccxt's ``fetch_order_book`` requires, so neither client ever gets a book."""
from __future__ import annotations

import asyncio
import json
from urllib.parse import parse_qsl, urlsplit

import ccxt.pro
import orjson
import pytest

import ccxtpro_fast

from sim_helpers import SESSIONS, load_expected, plain


class RecordingClient:
    """The part of ccxt's Client the handlers touch."""

    def __init__(self, url):
        self.url = url
        self.futures = {}
        self.subscriptions = {}
        self.error = None
        self.resolved = 0
        self.rejected = []

    def resolve(self, result, message_hash=None):
        self.resolved += 1
        return result

    def reject(self, error, message_hash=None):
        self.rejected.append(repr(error))

    def send(self, message):
        pass

    async def close(self):
        pass


def records(name):
    with open(SESSIONS / f"{name}.jsonl") as fh:
        return [json.loads(line) for line in fh]


def market(ex, market_id, base, quote, kind, settle=None):
    contract = kind != "spot"
    m = ex.safe_market_structure({})
    m.update({
        "id": market_id, "symbol": f"{base}/{quote}" + (f":{settle}" if contract else ""),
        "base": base, "quote": quote, "baseId": base, "quoteId": quote,
        "settle": settle, "settleId": settle.lower() if settle else None,
        "type": kind, "spot": not contract, "swap": contract, "future": False, "option": False,
        "contract": contract, "linear": True if contract else None,
        "inverse": False if contract else None, "contractSize": 1.0 if contract else None,
        "active": True, "precision": {"amount": 1e-8, "price": 1e-8}, "info": {},
    })
    return m


def books(ex):
    return {symbol: ([list(x) for x in ob["bids"]], [list(x) for x in ob["asks"]],
                     ob.get("nonce"), ob.get("timestamp"))
            for symbol, ob in ex.orderbooks.items()}


async def replay(cls, recs, markets_of, every=1):
    """Every recorded frame through cls's handle_message; the books after every
    ``every``-th one and after the last."""
    ex = cls({"enableRateLimit": False, "apiKey": "key", "secret": "c2VjcmV0", "password": "pass"})
    responses = []
    for r in recs:
        if r["t"] == "http":
            url = urlsplit(r["url"])
            responses.append((url.path.rstrip("/"), dict(parse_qsl(url.query)), r["data"]))
    fetched = []

    async def fetch(url, method="GET", headers=None, body=None):
        asked = urlsplit(url)
        query = dict(parse_qsl(asked.query))
        for path, recorded_query, data in responses:
            if (asked.path.rstrip("/").endswith(path.split("/api/")[-1])
                    and all(query.get(k) == v for k, v in recorded_query.items() if k in query)):
                fetched.append(url)
                return orjson.loads(data)
        raise ccxt.NetworkError(f"no recorded response for {url}")

    ex.fetch = fetch
    ex.asyncio_loop = asyncio.get_running_loop()
    markets = markets_of(ex)
    if markets:
        ex.set_markets(markets)
        for m in markets:
            book = ex.order_book({}, None)
            book["nonce"] = None
            book.cache = []
            ex.orderbooks[m["symbol"]] = book
    client = RecordingClient(next(r["addr"] for r in recs if r["t"] == "connect"))
    trace = []
    frames = [r["data"] for r in recs if r["t"] == "recv"]
    for i, data in enumerate(frames):
        ex.handle_message(client, orjson.loads(data))
        for _ in range(3):     # let a spawned snapshot request finish
            await asyncio.sleep(0)
        if i % every == 0 or i == len(frames) - 1:
            trace.append((i, books(ex)))
    return ex, client, trace, fetched


def l2_ids(recs):
    return recs[0]["config"]["l2_book"]


SESSIONS_BY_EXCHANGE = {
    # name: (exchange id, markets the ccxt handlers need or None, compare every n messages)
    "bitfinex_book_seq_all": ("bitfinex", None, 1),     # also 7 tickers and trades
    "deribit_book_raw": ("deribit", None, 1),
    "gateio_usdt_futures_order_book_update": ("gate", lambda recs: lambda ex: [
        market(ex, "_".join(i.split("-")[:2]), *i.split("-")[:2], "swap", "USDT")
        for i in l2_ids(recs)], 1),
    "bitstamp_diff_order_book": ("bitstamp", lambda recs: lambda ex: [
        market(ex, i.replace("-", "").lower(), *i.split("-"), "spot") for i in l2_ids(recs)], 1),
    "kucoin_spot_level2": ("kucoin", lambda recs: lambda ex: [
        market(ex, i, *i.split("-"), "spot") for i in l2_ids(recs)], 7),
}


@pytest.mark.parametrize("name", list(SESSIONS_BY_EXCHANGE))
def test_recorded_session_books_equal_ccxt_pro_after_every_message(name):
    # (kucoin's 3,853 messages: after every 7th, which keeps the suite quick)
    exchange_id, markets, every = SESSIONS_BY_EXCHANGE[name]
    recs = records(name)
    markets_of = markets(recs) if markets else (lambda ex: None)
    old, old_client, old_trace, old_fetched = asyncio.run(
        replay(getattr(ccxt.pro, exchange_id), recs, markets_of, every))
    new, new_client, new_trace, new_fetched = asyncio.run(
        replay(getattr(ccxtpro_fast, exchange_id), recs, markets_of, every))
    assert type(new.orderbooks[next(iter(new.orderbooks))]).__module__.startswith("ccxtpro_fast")
    # the session really built books, and both clients asked for the same snapshots
    filled = [s for s, ob in old.orderbooks.items() if len(ob["bids"]) + len(ob["asks"]) > 0]
    assert len(filled) >= 5, filled
    assert old_fetched == new_fetched
    assert old_client.resolved == new_client.resolved > 20
    assert old_client.rejected == new_client.rejected
    assert len(old_trace) == len(new_trace)
    for (i, a), (_, b) in zip(old_trace, new_trace):
        assert a == b, f"{name}: books differ after message {i}"
    # the other channels the session carries that ccxt routes (Bitfinex: ticker, trades)
    assert plain(old.tickers or {}) == plain(new.tickers or {})
    assert ({s: plain(list(t)) for s, t in (old.trades or {}).items()}
            == {s: plain(list(t)) for s, t in (new.trades or {}).items()})


def test_bitfinex_final_books_match_the_recorded_reference():
    # the session's own reference (expected.json): top 5 of every book at the end, amounts
    # as absolute values
    recs = records("bitfinex_book_seq_all")
    ex, _, _, _ = asyncio.run(replay(ccxtpro_fast.bitfinex, recs, lambda ex: None))
    expected = load_expected("bitfinex_book_seq_all")
    reference = expected["final_top5_reference_book (amounts abs, floats via repr)"]
    assert reference
    for market_id, sides in reference.items():
        book = ex.orderbooks[market_id]
        for side in ("bids", "asks"):
            ours = [[float(p), float(a)] for p, a, *_ in book[side][:5]]
            assert ours == [[float(p), float(a)] for p, a in sides[side]], (market_id, side)
