"""Exact decimal parsing: parse_decimal(text) == float(text) bit for bit, and the wire
text's mantissa/scale are kept exactly whenever they are returned."""
import math
import os
import struct
from decimal import Decimal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ccxtpro_fast import _core
from ccxtpro_fast._core import DecimalError, parse_decimal

# `pytest -m slow` reruns this file with CCXF_DEEP=20 (tests/test_fuzz_deep.py)
DEEP = int(os.environ.get("CCXF_DEEP", "1"))

SETTINGS = settings(max_examples=1500 * DEEP, deadline=None)


def same_float(a, b):
    return struct.pack("<d", a) == struct.pack("<d", b)


@st.composite
def decimal_text(draw):
    """Decimal texts as exchanges write them, and harder ones: long fractions, trailing
    zeros, huge and tiny magnitudes, exponent forms, 17-20 significant digits."""
    sign = draw(st.sampled_from(["", "", "-"]))
    int_part = draw(st.one_of(
        st.just("0"),
        st.integers(1, 10**6).map(str),
        st.integers(10**16, 10**20).map(str),          # 17-21 digits
        st.integers(1, 10**300).map(str).filter(lambda s: len(s) <= 40),
    ))
    frac = draw(st.one_of(
        st.just(None),
        st.text("0123456789", min_size=1, max_size=8),
        st.text("0123456789", min_size=9, max_size=30),
        st.integers(0, 10**8).map(lambda i: f"{i:08d}0000"),  # trailing zeros
        st.integers(1, 999).map(lambda i: "0" * draw(st.integers(5, 25)) + str(i)),  # tiny
    ))
    text = sign + int_part + ("" if frac is None else "." + frac)
    if draw(st.integers(0, 4)) == 0:
        text += draw(st.sampled_from(["e", "E"])) + draw(st.sampled_from(["", "+", "-"])) + \
            str(draw(st.integers(0, 330)))
    return text[:64]


def check(text):
    try:
        expected = float(text)
    except ValueError:
        return
    if math.isinf(expected):
        with pytest.raises(DecimalError):
            parse_decimal(text)
        return
    value, mant, scale = parse_decimal(text)
    assert type(value) is float
    assert same_float(value, expected), (text, value, expected)
    body = text.lstrip("-")
    has_exp = "e" in body or "E" in body
    digits = body.replace(".", "").lstrip("0")
    frac_digits = len(body.split(".")[1]) if "." in body and not has_exp else 0
    if scale == -1:
        assert mant is None
        # the text can only be dropped when it cannot be kept in 64 bits exactly
        assert has_exp or len(digits) > 18, text
    else:
        assert not has_exp
        assert scale == frac_digits, text
        assert Decimal(mant).scaleb(-scale) == Decimal(text), text
        if float(text) != 0:
            assert (mant < 0) == text.startswith("-")


@SETTINGS
@given(decimal_text())
@example("0.35210000")
@example("30000.10")
@example("9007199254740993")          # 2^53 + 1: not exact in the fast path
@example("9007199254740993.0")
@example("0.1000000000000000055511151231257827")
@example("123456789012345678")        # 18 digits
@example("1234567890123456789")       # 19 digits
@example("12345678901234567890")      # 20 digits
@example("9223372036854775807")       # INT64_MAX
@example("9223372036854775808")       # INT64_MAX + 1
@example("18446744073709551616")      # 2^64 (wraps a uint64 accumulator)
@example("0.0000000000000000000000000001")
@example("1e-400")
@example("-0")
@example("-0.0")
@example("1.7976931348623157e308")
@example("2.2250738585072011e-308")   # the classic strtod trap
@example("4.9406564584124654e-324")
def test_parse_decimal_equals_float(text):
    check(text)


@SETTINGS
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_parse_decimal_round_trips_repr(v):
    check(repr(v))
    check(f"{v:.17g}")
    if abs(v) < 1e15:
        check(f"{v:.20f}"[:64])


@pytest.mark.parametrize("text", [
    "", ".", "1.", ".5", "-", "+1", " 1", "1 ", "1e", "1e+", "e5", "nan", "NaN", "inf",
    "-inf", "Infinity", "0x10", "1_000", "1,5", "--1", "1..2", "1.2.3", "١", "1e400",
    "-1e400", "1" * 65, "0." + "1" * 63, "\x001", "1\x00",
])
def test_parse_decimal_rejects_malformed_text(text):
    with pytest.raises(DecimalError) as info:
        parse_decimal(text)
    assert isinstance(info.value, ValueError)


def test_parse_decimal_accepts_the_longest_allowed_text():
    text = "0." + "1" * 62
    assert len(text) == 64
    assert same_float(parse_decimal(text)[0], float(text))


@pytest.mark.parametrize("value", [None, True, [1], {}, object()])
def test_parse_decimal_rejects_non_numbers(value):
    with pytest.raises((TypeError, ValueError)):
        parse_decimal(value)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_parse_decimal_rejects_non_finite_floats(value):
    with pytest.raises(DecimalError):
        parse_decimal(value)


def test_parse_decimal_numbers_and_bytes():
    assert parse_decimal(5) == (5.0, 5, 0)
    assert parse_decimal(b"1.50") == (1.5, 150, 2)
    assert parse_decimal(0.1) == (0.1, None, -1)
    assert parse_decimal(10**30)[0] == 1e30


@st.composite
def wire_text(draw):
    """Price/size text as exchanges send it: fixed decimals with trailing zeros kept."""
    decimals = draw(st.integers(0, 12))
    units = draw(st.integers(1, 10**15))
    text = str(Decimal(units).scaleb(-decimals)) if decimals else str(units)
    if "E" in text:
        text = f"{Decimal(units).scaleb(-decimals):.{decimals}f}"
    return text


@settings(max_examples=200 * DEEP, deadline=None)
@given(bids=st.lists(st.tuples(wire_text(), wire_text()), max_size=30, unique_by=lambda l: Decimal(l[0])),
       asks=st.lists(st.tuples(wire_text(), wire_text()), max_size=30, unique_by=lambda l: Decimal(l[0])))
def test_checksum_text_rebuilds_wire_strings_with_trailing_zeros(bids, asks):
    book = _core.OrderBook({})
    book["bids"].store_levels([list(l) for l in bids])
    book["asks"].store_levels([list(l) for l in asks])
    # floats that collide (distinct decimals, same double) keep the first text stored
    best_bids = sorted({float(p): (p, a) for p, a in reversed(bids)}.values(),
                       key=lambda l: -Decimal(l[0]))[:25]
    best_asks = sorted({float(p): (p, a) for p, a in reversed(asks)}.values(),
                       key=lambda l: Decimal(l[0]))[:25]
    parts = []
    for i in range(max(len(best_bids), len(best_asks))):
        for side in (best_bids, best_asks):
            if i < len(side):
                parts += list(side[i])
    assert book.checksum_text(_core.CHECKSUM_OKX, 25) == ":".join(parts)
    kraken = "".join(
        (p.replace(".", "").lstrip("0") + a.replace(".", "").lstrip("0"))
        for p, a in best_asks[:10] + best_bids[:10])
    assert book.checksum_text(_core.CHECKSUM_KRAKEN, 10) == kraken
