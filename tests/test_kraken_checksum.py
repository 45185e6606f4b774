"""Kraken v2 book checksums: the documented example through the adapter, the simulator's
plain-Python rule, float exactness, and the adapter's fixed-format helpers.

- Kraken "Book checksum (WebSocket v2)" guide: the BTC/USD book (price precision 1,
  qty precision 8) has checksum 3310070434; its first ask 45285.2 / 0.00100000 prints
  as "452852" + "100000".
"""
from __future__ import annotations

import datetime
from decimal import Decimal

import ccxt.pro
import orjson
import pytest
from ccxt.base.errors import ChecksumError
from ccxt.base.precise import Precise
from hypothesis import given, settings, strategies as st

import ccxtpro_fast
from ccxtpro_fast import _core, sim
from ccxtpro_fast.sim.kraken import checksum_text, decimal_text, kraken_v2_checksum

from sim_helpers import run

DOC_BIDS = [("45283.5", "0.10000000"), ("45283.4", "1.54582015"), ("45282.1", "0.10000000"),
            ("45281.0", "0.10000000"), ("45280.3", "1.54592586"), ("45279.0", "0.07990000"),
            ("45277.6", "0.03310103"), ("45277.5", "0.30000000"), ("45277.3", "1.54602737"),
            ("45276.6", "0.15445238")]
DOC_ASKS = [("45285.2", "0.00100000"), ("45286.4", "1.54571953"), ("45286.6", "1.54571109"),
            ("45289.6", "1.54560911"), ("45290.2", "0.15890660"), ("45291.8", "1.54553491"),
            ("45294.7", "0.04454749"), ("45296.1", "0.35380000"), ("45297.5", "0.09945542"),
            ("45299.5", "0.18772827")]
DOC_CHECKSUM = 3310070434


def _units(text: str, scale: int) -> int:
    return int(Decimal(text).scaleb(scale))


def test_simulator_rule_reproduces_the_documented_example():
    asks = [(_units(p, 1), _units(q, 8)) for p, q in DOC_ASKS]
    bids = [(_units(p, 1), _units(q, 8)) for p, q in DOC_BIDS]
    assert checksum_text(*asks[0][:1], 1, 1) + checksum_text(asks[0][1], 8, 8) == "452852100000"
    assert kraken_v2_checksum(asks, bids, 1, 8, 1, 8) == DOC_CHECKSUM
    # one digit off anywhere changes it
    assert kraken_v2_checksum(asks, bids[:-1] + [(bids[-1][0], bids[-1][1] + 1)], 1, 8, 1, 8) != DOC_CHECKSUM


class FakeClient:
    """The part of the Client contract the book handler uses."""

    def __init__(self):
        self.subscriptions = {}
        self.subscribe_messages = {}
        self.resolved = []
        self.rejected = []
        self.spawned = []

    def resolve(self, result, message_hash):
        self.resolved.append((message_hash, result))

    def reject(self, error, message_hash=None):
        self.rejected.append((message_hash, error))

    def _spawn(self, coroutine):
        # not started: its frame holds the arguments (the messages it would send)
        self.spawned.append(dict(coroutine.cr_frame.f_locals))
        coroutine.close()


def _wire(levels):
    # the JSON numbers v2 sends, decoded by orjson as the transport does
    return orjson.loads("[" + ",".join('{"price":%s,"qty":%s}' % lv for lv in levels) + "]")


_MARKETS = []


async def _load():
    async with sim.serve("kraken", sim.Generator(seed=0)) as s:
        ex = s.attach(ccxtpro_fast.kraken())
        await ex.load_markets()
        await ex.close()
    return ex.markets


def _loaded():
    """A fresh adapter with the simulator's markets (loaded once per module)."""
    if not _MARKETS:
        _MARKETS.append(run(_load()))
    ex = ccxtpro_fast.kraken()
    ex.set_markets(list(_MARKETS[0].values()))
    return ex


def test_documented_example_verifies_in_the_adapter_and_a_wrong_checksum_resyncs():
    ex = _loaded()
    assert ex.markets["BTC/USD"]["info"]["pair_decimals"] == 1
    assert ex.markets["BTC/USD"]["info"]["lot_decimals"] == 8
    client = FakeClient()
    snapshot = {"channel": "book", "type": "snapshot", "data": [{
        "symbol": "BTC/USD", "bids": _wire(DOC_BIDS), "asks": _wire(DOC_ASKS), "checksum": DOC_CHECKSUM}]}
    ex.handle_order_book(client, snapshot)
    sync = ex.book_syncs["BTC/USD"]
    assert sync.verified == 1 and sync.resyncs == 0 and not sync.resyncing
    assert client.resolved[-1][0] == "orderbook@BTC/USD"
    book = ex.orderbooks["BTC/USD"]
    assert book["asks"][0] == [45285.2, 0.001] and book["bids"][0] == [45283.5, 0.1]

    # an update whose checksum does not match the book: resubscribe, nothing resolved
    update = {"channel": "book", "type": "update", "data": [{
        "symbol": "BTC/USD", "bids": _wire([("45283.5", "0.2")]), "asks": [],
        "checksum": DOC_CHECKSUM, "timestamp": "2023-10-06T17:35:55.440295Z"}]}
    before = len(client.resolved)
    ex.handle_order_book(client, update)
    assert sync.resyncing and sync.resyncs == 1 and len(client.resolved) == before
    assert len(client.spawned) == 1 and not client.rejected
    sent = client.spawned[0]
    assert sent["message"]["method"] == "unsubscribe"
    assert sent["message"]["params"] == {"channel": "book", "symbol": ["BTC/USD"], "depth": 10}
    (subscribe,) = sent["more"]
    assert subscribe["method"] == "subscribe" and subscribe["req_id"] > sent["message"]["req_id"]
    assert subscribe["params"] == {"channel": "book", "symbol": ["BTC/USD"], "depth": 10, "snapshot": True}
    # updates before the new snapshot are ignored
    ex.handle_order_book(client, dict(update, data=[dict(update["data"][0], bids=_wire([("1.0", "1.0")]))]))
    assert book["bids"][0] == [45283.5, 0.2]
    # the new snapshot restores the (same) book object
    ex.handle_order_book(client, snapshot)
    assert not sync.resyncing and ex.orderbooks["BTC/USD"] is book and book["bids"][0] == [45283.5, 0.1]
    assert sync.verified == 2 and client.resolved[-1] == ("orderbook@BTC/USD", book)


def test_repeated_mismatches_end_in_checksum_error_for_that_symbol_only():
    ex = _loaded()
    client = FakeClient()
    bad = {"channel": "book", "type": "snapshot", "data": [{
        "symbol": "BTC/USD", "bids": _wire(DOC_BIDS), "asks": _wire(DOC_ASKS), "checksum": DOC_CHECKSUM + 1}]}
    limit = ex.options["watchOrderBook"]["maxResyncAttempts"]
    for attempt in range(limit):
        ex.handle_order_book(client, bad)
        assert ex.book_syncs["BTC/USD"].resyncs == attempt + 1 and not client.rejected
    ex.handle_order_book(client, bad)
    assert "BTC/USD" not in ex.book_syncs and "BTC/USD" not in ex.orderbooks
    (message_hash, error), = client.rejected
    assert message_hash == "orderbook@BTC/USD" and isinstance(error, ChecksumError)


def test_checksum_option_off_skips_verification():
    ex = _loaded()
    ex.options["watchOrderBook"]["checksum"] = False
    client = FakeClient()
    ex.handle_order_book(client, {"channel": "book", "type": "snapshot", "data": [{
        "symbol": "BTC/USD", "bids": _wire(DOC_BIDS), "asks": _wire(DOC_ASKS), "checksum": 1}]})
    assert ex.book_syncs["BTC/USD"].verified == 0 and client.resolved and not client.spawned


def test_ccxt_pro_cannot_verify_even_when_asked():
    """ccxt.pro's format_number splits the level's price as a string, but its book holds
    floats: with options['watchOrderBook']['checksum'] set it fails on the first book."""
    ex = ccxt.pro.kraken({"options": {"watchOrderBook": {"checksum": True}}})
    ex.orderbooks = {}
    client = FakeClient()
    with pytest.raises(AttributeError):
        ex.handle_order_book(client, {"channel": "book", "type": "snapshot", "data": [{
            "symbol": "BTC/USD", "bids": _wire(DOC_BIDS), "asks": _wire(DOC_ASKS), "checksum": DOC_CHECKSUM}]})


# ------------------------------------------------------------------ float exactness

@settings(max_examples=400, deadline=None)
@given(st.integers(0, 12), st.integers(0, 12), st.data())
def test_floats_render_exactly_at_the_pair_precision(pp, qp, data):
    """A v2 number with at most `precision` decimals, decoded to a float, checksums with
    exactly the exchange's digits while its value in units stays below 2**51 (about 15
    significant digits: every Kraken price and practical quantity)."""
    def level():
        p = data.draw(st.integers(1, 2 ** 51 - 1))
        q = data.draw(st.integers(1, 2 ** 51 - 1))
        return p, q

    asks = sorted({level() for _ in range(3)})
    bids = sorted({level() for _ in range(3)}, reverse=True)
    # distinct prices per side, asks above bids is not needed for a checksum
    asks = list(dict(asks).items())
    bids = list(dict(bids).items())
    wire = lambda side: _wire([(decimal_text(p, pp), decimal_text(q, qp)) for p, q in side])
    book = _core.OrderBook()
    book["asks"].store_levels([[lv["price"], lv["qty"]] for lv in wire(asks)])
    book["bids"].store_levels([[lv["price"], lv["qty"]] for lv in wire(bids)])
    asks_sorted = sorted(asks)
    bids_sorted = sorted(bids, reverse=True)
    expected = "".join(checksum_text(p, pp, pp) + checksum_text(q, qp, qp) for p, q in asks_sorted + bids_sorted)
    assert book.checksum_text(_core.CHECKSUM_KRAKEN_V2, 10, pp, qp) == expected
    assert book.checksum(_core.CHECKSUM_KRAKEN_V2, 10, pp, qp) == \
        kraken_v2_checksum(asks_sorted, bids_sorted, pp, qp, pp, qp)


def test_whole_numbers_and_trailing_zeros_pad_to_the_precision():
    book = _core.OrderBook()
    # 30000 arrives as 30000.0 (or an int), 0.1 as 0.1: both pad to the pair's decimals
    book["asks"].store_levels([[v["price"], v["qty"]] for v in orjson.loads(
        '[{"price":30000.0,"qty":1.0},{"price":30000.1,"qty":0.1}]')])
    book["bids"].store_levels([[v["price"], v["qty"]] for v in orjson.loads('[{"price":29999,"qty":2}]')])
    assert book.checksum_text(_core.CHECKSUM_KRAKEN_V2, 10, 1, 8) == \
        "300000" "100000000" "300001" "10000000" "299990" "200000000"


def _kraken_digits(text: str, precision: int) -> str:
    # the rule on decimal text: "." and leading zeros removed, padded to the precision
    whole, _, frac = text.lstrip("-").partition(".")
    digits = (whole + frac).lstrip("0")
    return digits + "0" * (precision - len(frac)) if digits else ""


@settings(max_examples=400, deadline=None)
@given(st.integers(0, 8), st.integers(0, 8), st.data())
def test_wire_text_renders_at_the_pair_precision(pp, qp, data):
    """Levels stored with their wire text (the compiled v2 path keeps it): the checksum
    text prints each from the text, at every length and precision it can have."""
    def number(precision, low):
        whole = data.draw(st.integers(low, 10 ** 6))
        frac = data.draw(st.text("0123456789", max_size=precision))
        return f"{whole}.{frac}" if frac else str(whole)

    ask, bid = number(pp, 2), number(pp, 0)
    ask_qty, bid_qty = number(qp, 1), number(qp, 1)
    if float(bid) >= float(ask):
        bid = "1"
    book = _core.OrderBook()
    book["asks"].store_levels([[ask, ask_qty]])
    book["bids"].store_levels([[bid, bid_qty]])
    assert book.checksum_text(_core.CHECKSUM_KRAKEN_V2, 10, pp, qp) == (
        _kraken_digits(ask, pp) + _kraken_digits(ask_qty, qp)
        + _kraken_digits(bid, pp) + _kraken_digits(bid_qty, qp))


# ------------------------------------------------------------------ fixed-format helpers

_ex = ccxtpro_fast.kraken()


@settings(max_examples=500, deadline=None)
@given(st.datetimes(min_value=datetime.datetime(1971, 1, 1), max_value=datetime.datetime(2200, 1, 1)),
       st.integers(1, 9))
def test_timestamp_parser_equals_ccxt_parse8601(moment, digits):
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}{moment.microsecond % 997:03d}"[:digits] + "Z"
    assert _ex._kraken_ms(text) == ccxt.pro.kraken.parse8601(text)


@pytest.mark.parametrize("text", [None, "", "2023-10-06T17:35:55Z", "2023-10-06T17:35:55.Z",
                                  "2023-02-30T10:00:00.000Z", "2023-10-06T24:00:00.000Z",
                                  "2023-10-06T17:35:60.000000Z", "2023-10-06 17:35:55.440295Z",
                                  "garbage-garbage-garbage", "2023-10-06T17:35:55.4402+01:00"])
def test_timestamp_parser_edge_cases_match_ccxt(text):
    assert _ex._kraken_ms(text) == ccxt.pro.kraken.parse8601(text)


_json_numbers = st.one_of(
    st.integers(0, 10 ** 12),
    st.builds(lambda units, scale: orjson.loads(decimal_text(units, scale)),
              st.integers(0, 10 ** 15), st.integers(0, 12)),
    st.floats(min_value=1e-12, max_value=1e12, allow_nan=False, allow_infinity=False))


@settings(max_examples=500, deadline=None)
@given(_json_numbers, _json_numbers)
def test_trade_cost_equals_ccxt_precise(price, qty):
    client = FakeClient()
    ex = _ex
    ex.markets = {"BTC/USD": {"symbol": "BTC/USD", "id": "XXBTZUSD"}}
    ex.markets_by_id = {}
    ex.trades = {}
    ex.handle_trades(client, {"channel": "trade", "type": "update", "data": [{
        "symbol": "BTC/USD", "side": "buy", "price": price, "qty": qty, "ord_type": "limit",
        "trade_id": 1, "timestamp": "2023-09-25T07:49:37.708706Z"}]})
    trade = ex.trades["BTC/USD"][-1]
    assert trade["cost"] == float(Precise.string_mul(str(price), str(qty)))
    assert trade["price"] == float(str(price)) and trade["amount"] == float(str(qty))


# ---------------------------------------------------------------- the word-move renderer
# ccxf_kraken_text16 (a checksum's numbers from short plain wire text by whole-word moves)
# must write exactly what the general byte-by-byte renderer writes, and decline the rest.

_number_text = st.text(alphabet="0123456789.-e+", min_size=1, max_size=23)
_plain_text = st.builds(
    lambda whole, frac, dot: whole + ("." + frac if dot else ""),
    st.text(alphabet="0123456789", min_size=1, max_size=12),
    st.text(alphabet="0123456789", min_size=0, max_size=10),
    st.booleans(),
)


def _general(text, precision):
    try:
        return _core.orderbook._kraken_number_for_tests(text, precision, False)
    except ValueError:      # not a number at all: the renderer is never given one
        return None


@settings(max_examples=3000, deadline=None)
@given(text=_number_text, precision=st.integers(0, 32))
def test_word_moves_write_what_the_byte_loop_writes(text, precision):
    fast = _core.orderbook._kraken_number_for_tests(text, precision, True)
    if fast is not None:
        assert fast == _general(text, precision)


@settings(max_examples=3000, deadline=None)
@given(text=_plain_text, precision=st.integers(0, 30))
def test_word_moves_take_every_short_plain_number_that_fits(text, precision):
    fast = _core.orderbook._kraken_number_for_tests(text, precision, True)
    decimals = len(text.split(".")[1]) if "." in text else 0
    if len(text) <= 16 and decimals <= precision:
        assert fast is not None
        assert fast == _general(text, precision)
        # and it is Kraken's form: no point, no leading zeros, `precision` decimals
        units = _units(text, precision)
        assert fast == (str(units) if units else "")
    else:
        assert fast is None


@pytest.mark.parametrize("text, precision, expected", [
    ("45285.2", 1, "452852"), ("0.00100000", 8, "100000"), ("0.001", 8, "100000"),
    ("1234567890123456", 0, "1234567890123456"), ("0.0", 3, ""), ("5.", 2, "500"),
    ("0012.30", 4, "123000"), ("9.99", 30, "999" + "0" * 28),
])
def test_word_moves_on_the_documented_and_edge_forms(text, precision, expected):
    assert _core.orderbook._kraken_number_for_tests(text, precision, True) == expected
    assert _general(text, precision) == expected


# ------------------------------------------------------------------ large quantities

def _big_book(symbol_checksum_args):
    # ALGO/USD in the simulator's markets: pair_decimals 5, lot_decimals 8
    asks = [("0.12346", "152000000.0"), ("0.12347", "1.5"), ("0.1235", "123456789.12345")]
    bids = [("0.1234", "2.5"), ("0.12339", "1e-05"), ("0.12338", "900000000")]
    units = lambda side: [(_units(p, 5), _units(q, 8)) for p, q in side]
    return asks, bids, kraken_v2_checksum(units(asks), units(bids), 5, 8, 5, 8)


def _algo_ask_added(price, qty, asks, bids):
    """The frame of an ALGO/USD book update adding the ask (price, qty) to the book
    ``asks``/``bids`` (texts), with the checksum of the book it leaves."""
    units = lambda side: [(_units(p, 5), _units(q, 8)) for p, q in side]
    after = asks + [(price, qty)]
    return ('{"channel":"book","type":"update","data":[{"symbol":"ALGO/USD","bids":[],"asks":'
            '[{"price":%s,"qty":%s}],"checksum":%d,"timestamp":"2023-10-06T17:35:56.440295Z"}]}'
            % (price, qty, kraken_v2_checksum(units(after), units(bids), 5, 8, 5, 8))).encode()


def test_quantities_of_hundreds_of_millions_verify_on_the_python_path():
    """A meme-coin book (PEPE, SHIB, BONK: 8 qty decimals, sizes of 10**8 and more) has
    quantities whose value in units passes 2**53: the float alone cannot be written at
    8 decimals, and the snapshot handler raised ValueError (ccxt.pro delivers the book).
    Their text is the float's shortest form, exact for the wire's <= 15 digits."""
    ex = _loaded()
    client = FakeClient()
    asks, bids, checksum = _big_book(None)
    ex.handle_order_book(client, {"channel": "book", "type": "snapshot", "data": [{
        "symbol": "ALGO/USD", "bids": _wire(bids), "asks": _wire(asks), "checksum": checksum}]})
    sync = ex.book_syncs["ALGO/USD"]
    assert sync.verified == 1 and sync.resyncs == 0 and client.resolved[-1][0] == "orderbook@ALGO/USD"
    book = ex.orderbooks["ALGO/USD"]
    assert book["asks"][0] == [0.12346, 152000000.0] and book["bids"][-1] == [0.12338, 900000000.0]
    # an update on the Python path (as when the compiled path declines a frame)
    asks2 = [("0.12346", "0")] + asks[1:] + [("0.12351", "987654321.5")]
    units = lambda side: [(_units(p, 5), _units(q, 8)) for p, q in side]
    update = {"channel": "book", "type": "update", "data": [{
        "symbol": "ALGO/USD", "asks": _wire([("0.12346", "0"), ("0.12351", "987654321.5")]), "bids": [],
        "checksum": kraken_v2_checksum(units(asks2[1:]), units(bids), 5, 8, 5, 8),
        "timestamp": "2023-10-06T17:35:55.440295Z"}]}
    ex.handle_order_book(client, update)
    assert sync.verified == 2 and sync.resyncs == 0 and book["asks"][-1] == [0.12351, 987654321.5]
    # and on the compiled path, where the snapshot's levels are under the update's
    frame = _algo_ask_added("0.12352", "1000000000.00000000", asks2[1:], bids)
    assert ex.handle_raw_message(client, frame) is True
    assert sync.verified == 3 and sync.resyncs == 0


def test_a_snapshot_frame_with_17_significant_digits_verifies_from_its_text():
    """Quantities like 961425548.08470054 (8 decimals, 17 significant digits) are beyond a
    float: its shortest form is 961425548.0847006. The snapshot frame, as the transport
    hands it to the raw hook, is decoded with its numbers as text, so the checksum hashes
    the exchange's digits and the book still holds the float ccxt would."""
    ex = _loaded()
    client = FakeClient()
    asks = [("0.12346", "961425548.08470054"), ("0.12347", "87960647.08795134")]
    bids = [("0.1234", "123456789.12345678"), ("0.12339", "0.00000001")]
    units = lambda side: [(_units(p, 5), _units(q, 8)) for p, q in side]
    checksum = kraken_v2_checksum(units(asks), units(bids), 5, 8, 5, 8)
    assert str(float(asks[0][1])) != asks[0][1]         # what the float alone would hash
    levels = lambda side: ",".join('{"price":%s,"qty":%s}' % lv for lv in side)
    frame = ('{"channel":"book","type":"snapshot","data":[{"symbol":"ALGO/USD","bids":[%s],'
             '"asks":[%s],"checksum":%d,"timestamp":"2023-10-06T17:35:55.440295Z"}]}'
             % (levels(bids), levels(asks), checksum)).encode()
    assert ex.handle_raw_message(client, frame) is True
    sync = ex.book_syncs["ALGO/USD"]
    assert sync.verified == 1 and sync.resyncs == 0 and client.resolved[-1][0] == "orderbook@ALGO/USD"
    book = ex.orderbooks["ALGO/USD"]
    assert book["asks"][0] == [0.12346, 961425548.08470054] and book["bids"][-1] == [0.12339, 1e-08]
    # the next update on the compiled path verifies over those levels
    frame = _algo_ask_added("0.12348", "5.50000000", asks, bids)
    assert ex.handle_raw_message(client, frame) is True
    assert sync.verified == 2 and sync.resyncs == 0


# ------------------------------------------------------------------ precisions of another source

@pytest.mark.parametrize("symbol, price_precision", [
    ("BTC/USD", 2),     # the market says 1 decimal (REST pair_decimals), the book has 2
    ("ALGO/USD", 4),    # the market says 5, the exchange prints 4
])
def test_snapshot_checksum_finds_the_precision_the_exchange_prints_with(symbol, price_precision):
    """The checksum prints with the instrument channel's price/qty precision; the adapter
    has REST's pair_decimals/lot_decimals, loaded once (a tick size Kraken changes later,
    or a pair whose two sources differ, gives another). A snapshot is the exchange's book
    as it is: when its checksum does not match, the precisions are what is wrong, and
    resubscribing only loops into ChecksumError (ccxt.pro, which verifies nothing, gives
    the book). The adapter adopts the precisions that reproduce the exchange's checksum."""
    ex = _loaded()
    client = FakeClient()
    scale = 10 ** price_precision
    asks = [("%.*f" % (price_precision, (123456 + 7 * i) / scale), "1.%d" % (i + 1)) for i in range(10)]
    bids = [("%.*f" % (price_precision, (123450 - 3 * i) / scale), "0.0%d" % (i + 1)) for i in range(10)]
    units = lambda side: [(_units(p, price_precision), _units(q, 8)) for p, q in side]
    checksum = kraken_v2_checksum(units(asks), units(bids), price_precision, 8, price_precision, 8)
    ex.handle_order_book(client, {"channel": "book", "type": "snapshot", "data": [{
        "symbol": symbol, "bids": _wire(bids), "asks": _wire(asks), "checksum": checksum}]})
    sync = ex.book_syncs[symbol]
    assert sync.resyncs == 0 and sync.verified == 1 and client.resolved[-1][0] == "orderbook@" + symbol
    assert (sync.price_precision, sync.qty_precision) == (price_precision, 8)
    # the updates verify at those precisions, on both paths
    asks2 = asks[1:] + [("%.*f" % (price_precision, 123600 / scale), "2.5")]
    frame = ('{"channel":"book","type":"update","data":[{"symbol":"%s","bids":[],"asks":'
             '[{"price":%s,"qty":0},{"price":%s,"qty":2.5}],"checksum":%d,'
             '"timestamp":"2023-10-06T17:35:56.440295Z"}]}'
             % (symbol, asks[0][0], asks2[-1][0],
                kraken_v2_checksum(units(asks2), units(bids), price_precision, 8, price_precision, 8))).encode()
    assert ex.handle_raw_message(client, frame) is True
    bids2 = bids[1:]
    ex.handle_order_book(client, {"channel": "book", "type": "update", "data": [{
        "symbol": symbol, "bids": _wire([(bids[0][0], "0")]), "asks": [],
        "checksum": kraken_v2_checksum(units(asks2), units(bids2), price_precision, 8, price_precision, 8),
        "timestamp": "2023-10-06T17:35:57.440295Z"}]})
    assert sync.verified == 3 and sync.resyncs == 0 and not client.spawned
