"""Checksum formats against the exchanges' documented worked examples, and Bitfinex's
JavaScript number rendering against hand-checked `Number.prototype.toString` outputs.

Sources of the vectors (numbers only, re-typed here):
- OKX v5 API docs, "Checksum" section of the order book channel: two examples with
  their check strings and checksums -1881014294 and 831078360, and a third check string.
- Kraken "Book checksum (WebSocket v1)" guide: 10 asks 0.05005..0.05050 and 10 bids
  0.05000..0.04950, all volume 0.00000500, checksum 974947235.
- Kraken "Book checksum (WebSocket v2)" guide: the BTC/USD snapshot (price precision 1,
  qty precision 8), checksum 3310070434.
"""
import zlib

import pytest

from ccxtpro_fast import _core


def signed(crc):
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def book(bids, asks, cls=_core.OrderBook):
    b = cls({})
    b["bids"].store_levels(bids)
    b["asks"].store_levels(asks)
    return b


# ------------------------------------------------------------------ OKX (and Bitget)

OKX_EXAMPLES = [
    ([["3366.1", "7", "0", "3"], ["3366", "6", "3", "4"]],
     [["3366.8", "9", "10", "3"], ["3368", "8", "3", "4"]],
     "3366.1:7:3366.8:9:3366:6:3368:8", -1881014294),
    ([["3366.1", "7", "0", "3"]],
     [["3366.8", "9", "10", "3"], ["3368", "8", "3", "4"], ["3372", "8", "3", "4"]],
     "3366.1:7:3366.8:9:3368:8:3372:8", 831078360),
]


@pytest.mark.parametrize("bids, asks, text, checksum", OKX_EXAMPLES)
def test_okx_documented_examples(bids, asks, text, checksum):
    b = book(bids, asks)
    assert b.checksum_text(_core.CHECKSUM_OKX, 25) == text
    assert b.checksum(_core.CHECKSUM_OKX, 25) == checksum
    # the order the levels arrive in does not matter
    b2 = book(list(reversed(bids)), list(reversed(asks)))
    assert b2.checksum(_core.CHECKSUM_OKX, 25) == checksum


def test_okx_documented_check_string_from_the_float_example():
    b = book([["43231.1", "4"], ["43231", "6"]], [["43232.8", "9"], ["43232.9", "8"]])
    assert b.checksum_text(_core.CHECKSUM_OKX) == "43231.1:4:43232.8:9:43231:6:43232.9:8"


def test_okx_uses_only_the_top_25_levels_per_side():
    bids = [[f"{1000 - i}", "1"] for i in range(40)]
    asks = [[f"{2000 + i}.50", "2.0"] for i in range(30)]
    b = book(bids, asks)
    parts = []
    for i in range(25):
        parts += bids[i] + asks[i]
    text = ":".join(parts)
    assert b.checksum_text(_core.CHECKSUM_OKX, 25) == text
    assert b.checksum(_core.CHECKSUM_OKX, 25) == signed(zlib.crc32(text.encode()))


# ------------------------------------------------------------------ Kraken v1

KRAKEN_V1_ASKS = [[f"0.0{5005 + 5 * i}", "0.00000500"] for i in range(10)]
KRAKEN_V1_BIDS = [[p, "0.00000500"] for p in
                  ["0.05000", "0.04995", "0.04990", "0.04980", "0.04975", "0.04970",
                   "0.04965", "0.04960", "0.04955", "0.04950"]]
KRAKEN_V1_TEXT = ("5005500501050050155005020500502550050305005035500504050050455005050500"
                  "5000500499550049905004980500497550049705004965500496050049555004950500")


def test_kraken_v1_documented_example():
    assert KRAKEN_V1_ASKS[0] == ["0.05005", "0.00000500"] and KRAKEN_V1_ASKS[-1][0] == "0.05050"
    b = book(KRAKEN_V1_BIDS, KRAKEN_V1_ASKS)
    assert b.checksum_text(_core.CHECKSUM_KRAKEN, 10) == KRAKEN_V1_TEXT
    assert b.checksum(_core.CHECKSUM_KRAKEN, 10) == 974947235


def test_kraken_v1_only_top_10_count_and_checksum_is_unsigned():
    b = book(KRAKEN_V1_BIDS + [["0.04000", "1.0"]], KRAKEN_V1_ASKS + [["0.06000", "1.0"]])
    assert b.checksum(_core.CHECKSUM_KRAKEN, 10) == 974947235
    for bids in (KRAKEN_V1_BIDS, [["1.0", "2.5"]], [["9.99", "0.001"]]):
        crc = book(bids, KRAKEN_V1_ASKS).checksum(_core.CHECKSUM_KRAKEN, 10)
        assert 0 <= crc < 1 << 32


# ------------------------------------------------------------------ Kraken v2

KRAKEN_V2_BIDS = [(45283.5, 0.10000000), (45283.4, 1.54582015), (45282.1, 0.10000000),
                  (45281.0, 0.10000000), (45280.3, 1.54592586), (45279.0, 0.07990000),
                  (45277.6, 0.03310103), (45277.5, 0.30000000), (45277.3, 1.54602737),
                  (45276.6, 0.15445238)]
KRAKEN_V2_ASKS = [(45285.2, 0.00100000), (45286.4, 1.54571953), (45286.6, 1.54571109),
                  (45289.6, 1.54560911), (45290.2, 0.15890660), (45291.8, 1.54553491),
                  (45294.7, 0.04454749), (45296.1, 0.35380000), (45297.5, 0.09945542),
                  (45299.5, 0.18772827)]


@pytest.mark.parametrize("form", ["float", "text"])
def test_kraken_v2_documented_example(form):
    def conv(levels):
        if form == "float":
            return [list(level) for level in levels]
        return [[f"{p:.1f}", f"{a:.8f}"] for p, a in levels]

    b = book(conv(KRAKEN_V2_BIDS), conv(KRAKEN_V2_ASKS))
    text = b.checksum_text(_core.CHECKSUM_KRAKEN_V2, 10, 1, 8)
    assert text.startswith("452852100000" "45286415457195345286615457110945289615456091")
    assert b.checksum(_core.CHECKSUM_KRAKEN_V2, 10, 1, 8) == 3310070434


def test_kraken_v2_needs_precisions():
    b = book([[1.0, 1.0]], [[2.0, 1.0]])
    with pytest.raises(ValueError):
        b.checksum(_core.CHECKSUM_KRAKEN_V2, 10)


# ------------------------------------------------------------------ Bitfinex

# value -> JavaScript's String(value), checked by hand against ECMA-262 Number::toString
JS_STRINGS = [
    (1e-7, "1e-7"),
    (0.000001, "0.000001"),
    (1e21, "1e+21"),
    (123.0, "123"),
    (0.5, "0.5"),
    (1.5e-7, "1.5e-7"),
    (1.2e-6, "0.0000012"),
    (0.00001, "0.00001"),
    (1e20, "100000000000000000000"),
    (123456789012345680000.0, "123456789012345680000"),
    (1.2345e21, "1.2345e+21"),
    (0.1 + 0.2, "0.30000000000000004"),
    (5e-324, "5e-324"),
    (1.7976931348623157e308, "1.7976931348623157e+308"),
    (1.23e-18, "1.23e-18"),
    (60417.0, "60417"),
    (0.68807848, "0.68807848"),
    (25.5, "25.5"),
]


@pytest.mark.parametrize("value, js", JS_STRINGS)
def test_bitfinex_renders_numbers_as_javascript(value, js):
    b = book([[100.0, value]], [])
    assert b.checksum_text(_core.CHECKSUM_BITFINEX, 25) == f"100:{js}"
    if value < 1e300:
        b = book([[value, 3.0]], [])
        assert b.checksum_text(_core.CHECKSUM_BITFINEX, 25) == f"{js}:3"


@pytest.mark.parametrize("value, js", JS_STRINGS)
def test_bitfinex_ask_amounts_are_negative(value, js):
    b = book([], [[100.0, value]])
    assert b.checksum_text(_core.CHECKSUM_BITFINEX, 25) == f"100:-{js}"


def test_bitfinex_interleaves_bid_then_ask_and_signs_the_crc():
    b = book([[6000.0, 1.5], [5999.5, 2.0]], [[6001.0, 0.5], [6002.0, 3.0], [6003.0, 1e-7]])
    text = "6000:1.5:6001:-0.5:5999.5:2:6002:-3:6003:-1e-7"
    assert b.checksum_text(_core.CHECKSUM_BITFINEX, 25) == text
    assert b.checksum(_core.CHECKSUM_BITFINEX, 25) == signed(zlib.crc32(text.encode()))
    # wire text does not change the JavaScript form: "6000.0" is still 6000
    b2 = book([["6000.0", "1.50"], ["5999.50", "2"]],
              [["6001", "0.50"], ["6002", "3.000"], ["6003", "0.0000001"]])
    assert b2.checksum_text(_core.CHECKSUM_BITFINEX, 25) == text


# ------------------------------------------------------------------ the API around them


@pytest.mark.parametrize("fmt", [_core.CHECKSUM_OKX, _core.CHECKSUM_KRAKEN,
                                 _core.CHECKSUM_KRAKEN_V2, _core.CHECKSUM_BITFINEX])
@pytest.mark.parametrize("depth", [0, 1, 10, 25, 100])
def test_checksum_is_the_crc_of_checksum_text(fmt, depth):
    b = book([[f"{100 - i}.{i}", f"0.{i + 1}00"] for i in range(30)],
             [[f"{200 + i}.{i}", f"1.{i}0"] for i in range(30)])
    text = b.checksum_text(fmt, depth, 2, 4)
    crc = zlib.crc32(text.encode())
    signed_fmt = fmt in (_core.CHECKSUM_OKX, _core.CHECKSUM_BITFINEX)
    assert b.checksum(fmt, depth, 2, 4) == (signed(crc) if signed_fmt else crc)
    if depth == 0:
        assert text == ""


@pytest.mark.parametrize("cls", [_core.OrderBook, _core.CountedOrderBook])
def test_counted_books_checksum_like_plain_ones(cls):
    levels = [["3366.1", "7", 3], ["3366", "6", 4]]
    b = book(levels, [["3366.8", "9", 3], ["3368", "8", 4]], cls)
    assert b.checksum(_core.CHECKSUM_OKX, 25) == -1881014294


def test_checksum_rejects_bad_arguments():
    b = book([["1", "1"]], [["2", "1"]])
    with pytest.raises(ValueError):
        b.checksum(99)
    with pytest.raises(ValueError):
        b.checksum(_core.CHECKSUM_OKX, -1)
    with pytest.raises(TypeError):
        _core.IndexedOrderBook({"bids": [[1.0, 1.0, "a"]]}).checksum(_core.CHECKSUM_OKX)


# each format's text of the book below, written out by its rule (Kraken v2 at 2 price and 3
# amount decimals)
NUMBER_LEVEL_TEXTS = {
    _core.CHECKSUM_OKX: "43231.1:4:43232.8:9:43231:6.5:43232.9:0.25:43230.75:0.125:43233.5:3",
    _core.CHECKSUM_BITFINEX:
        "43231.1:4:43232.8:-9:43231:6.5:43232.9:-0.25:43230.75:0.125:43233.5:-3",
    _core.CHECKSUM_KRAKEN: "4323289" "43232925" "4323353" "4323114" "4323165" "4323075125",
    _core.CHECKSUM_KRAKEN_V2: "43232809000" "4323290250" "43233503000"
                              "43231104000" "43231006500" "4323075125",
}


@pytest.mark.parametrize("fmt", list(NUMBER_LEVEL_TEXTS))
@pytest.mark.parametrize("as_numbers", [False, True])
def test_prices_render_from_text_and_from_numbers(fmt, as_numbers):
    # a level that came as a number keeps no wire text: its price is rendered from the
    # side's key, which is minus the price on asks
    bids = [["43231.1", "4"], ["43231", "6.5"], ["43230.75", "0.125"]]
    asks = [["43232.8", "9"], ["43232.9", "0.25"], ["43233.5", "3"]]
    if as_numbers:
        bids = [[float(p), float(q)] for p, q in bids]
        asks = [[float(p), float(q)] for p, q in asks]
    assert book(bids, asks).checksum_text(fmt, 25, 2, 3) == NUMBER_LEVEL_TEXTS[fmt]
