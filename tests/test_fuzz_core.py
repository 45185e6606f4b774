"""Fuzzing the compiled core: whatever the input, a clear Python exception or a correct
result, never a crash, and never a corrupted book.

"Consistent" for a book that rejected an input means: every side is strictly sorted best
first, holds only finite prices and non-zero finite amounts, and agrees with itself
(len, indexing, iteration, price(i)/amount(i)). Bulk inputs apply their levels in order,
so after a rejection the book must equal the old book with exactly the levels read before
the error applied: for store_levels, the same deltas stored one by one up to the first that
raises; for store_json, the levels a slow twin built on Python's json reads from the same
bytes before the first error. Never half a level, never one that was not in the input."""
import gc
import json
import math
import os
import resource
import sys
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccxtpro_fast import _core
from ccxtpro_fast._core import framing

# `pytest -m slow` reruns this file with CCXF_DEEP=20 (tests/test_fuzz_deep.py)
DEEP = int(os.environ.get("CCXF_DEEP", "1"))

SETTINGS = settings(max_examples=500 * DEEP, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ERRORS = (ValueError, TypeError, IndexError, OverflowError)


def assert_consistent(side, is_bid):
    levels = side.tolist()
    assert len(side) == len(levels) == len(list(side))
    for i, row in enumerate(levels):
        assert math.isfinite(row[0]) and math.isfinite(row[1]) and row[1] != 0
        assert side[i] == row and side.price(i) == row[0] and side.amount(i) == row[1]
    for a, b in zip(levels, levels[1:]):
        assert (a[0] > b[0]) if is_bid else (a[0] < b[0])


def apply_model(model, levels):
    for price, amount in levels:
        if amount:
            model[price] = amount
        else:
            model.pop(price, None)
    return model


def model_list(model, is_bid):
    return [[p, model[p]] for p in sorted(model, reverse=is_bid)]


def prefixes(start, levels, is_bid):
    """Every book a bulk store may leave: the start with levels[:k] applied."""
    model = dict(start)
    out = [model_list(model, is_bid)]
    for level in levels:
        apply_model(model, [level])
        out.append(model_list(model, is_bid))
    return out


# ------------------------------------------------------------------ parse_decimal


@SETTINGS
@given(st.one_of(st.text(max_size=70),
                 st.text("0123456789.eE+- \x00", max_size=70),
                 st.binary(max_size=70)))
def test_parse_decimal_accepts_only_what_float_agrees_with(text):
    try:
        value, mant, scale = _core.parse_decimal(text)
    except _core.DecimalError:
        return
    assert float(text) == value


# ------------------------------------------------------------------ store_json

PRICE = st.integers(1, 2000).map(lambda i: f"{i / 4:.2f}")
AMOUNT = st.one_of(st.just("0"), st.integers(1, 10**6).map(lambda i: f"{i / 1000:.3f}"))
LEVELS = st.lists(st.tuples(PRICE, AMOUNT), max_size=8)
GARBAGE = st.sampled_from([b"x", b"{", b"}", b"[", b"]", b'"', b",", b":", b"\x00", b"\xff",
                           b"\x80", b"\x1f", b"-", b".", b"e", b"\\", b"null", b"true", b" "])


def encode(levels, quoted, extra):
    """The JSON level array, prices and amounts quoted or as bare JSON numbers."""
    rows = []
    for p, a in levels:
        values = [f'"{p}"', f'"{a}"'] if quoted else [p, a]
        if extra:
            values += ['"0"', "3"]
        rows.append("[" + ",".join(values) + "]")
    return ("[" + ",".join(rows) + "]").encode()


JSON_WS = " \t\n\r"


def _no_constants(name):
    raise ValueError(name)


_DECODER = json.JSONDecoder(parse_constant=_no_constants)


def _level_values(row):
    """(price, amount) of one decoded level, or None if store_json must refuse it: not a
    list of at least two decimal values (text without escapes, or numbers), or carrying
    nested extra values."""
    if not isinstance(row, list) or len(row) < 2:
        return None
    if any(isinstance(v, (list, dict)) for v in row[2:]):
        return None
    values = []
    for v in row[:2]:
        if isinstance(v, bool) or not isinstance(v, (str, int, float)):
            return None
        try:
            values.append(_core.parse_decimal(v if isinstance(v, str) else repr(v))[0])
        except ValueError:
            return None
    return tuple(values)


def reference_store_json(data):
    """Slow twin of store_json, built on Python's json: the levels the bytes hold, in
    order, up to the first error, and whether there is an error. A level counts once its
    closing bracket is read. (latin-1: store_json does not check UTF-8 in strings.)"""
    text, levels = data.decode("latin-1"), []

    def ws(i):
        while i < len(text) and text[i] in JSON_WS:
            i += 1
        return i

    i = ws(0)
    if i >= len(text) or text[i] != "[":
        return levels, True
    i = ws(i + 1)
    if i < len(text) and text[i] == "]":
        return levels, ws(i + 1) != len(text)
    while True:
        i = ws(i)
        if i >= len(text) or text[i] != "[":
            return levels, True
        try:
            row, i = _DECODER.raw_decode(text, i)
        except ValueError:
            return levels, True
        level = _level_values(row)
        if level is None or any("\\" in v for v in row[:2] if isinstance(v, str)):
            return levels, True
        # a bare number must be written the way JSON writes it (no "01", no "1.")
        levels.append(level)
        i = ws(i)
        if i < len(text) and text[i] == ",":
            i += 1
            continue
        if i < len(text) and text[i] == "]":
            return levels, ws(i + 1) != len(text)
        return levels, True


@SETTINGS
@given(is_bid=st.booleans(), start=LEVELS, levels=LEVELS, quoted=st.booleans(),
       extra=st.booleans(), mutation=st.sampled_from(["truncate", "insert", "replace", "none"]),
       where=st.integers(0, 10**6), garbage=GARBAGE)
def test_store_json_applies_exactly_the_levels_before_an_error(is_bid, start, levels, quoted,
                                                               extra, mutation, where, garbage):
    side = (_core.Bids if is_bid else _core.Asks)()
    side.store_levels([list(l) for l in start])
    start_model = apply_model({}, [(float(p), float(a)) for p, a in start])
    data = encode(levels, quoted, extra)
    pos = where % (len(data) + 1)
    if mutation == "truncate":
        data = data[:pos]
    elif mutation == "insert":
        data = data[:pos] + garbage + data[pos:]
    elif mutation == "replace" and pos < len(data):
        data = data[:pos] + garbage + data[pos + 1:]
    read, failed = reference_store_json(data)
    if failed:
        with pytest.raises(ValueError):
            side.store_json(data)
    else:
        side.store_json(data)
    assert side.tolist() == model_list(apply_model(start_model, read), is_bid), data
    if mutation == "none":
        assert not failed and len(read) == len(levels)
    assert_consistent(side, is_bid)


@SETTINGS
@given(data=st.binary(max_size=200), is_bid=st.booleans())
def test_store_json_random_bytes_never_corrupt(data, is_bid):
    side = (_core.Bids if is_bid else _core.Asks)([["100.5", "1"], ["99", "2"]])
    try:
        side.store_json(data)
    except ValueError:
        pass
    assert_consistent(side, is_bid)


@pytest.mark.parametrize("data", [
    b'[["1",\xff"2"]]',          # a non-ASCII byte is not whitespace
    b'[["1","2"xyz]]',           # garbage after the amount
    b'[["1","2" "3"]]',          # two values without a comma
    b'[["1","2",]]',             # a comma with no value
    b'[["1","2"]\x0b]',          # vertical tab is not JSON whitespace
    b'\x01[["1","2"]]',
])
def test_store_json_rejects_what_json_rejects(data):
    side = _core.Asks()
    with pytest.raises(ValueError):
        side.store_json(data)
    with pytest.raises(ValueError):
        json.loads(data)
    # at most the complete level before the bad byte
    assert side.tolist() in ([], [[1.0, 2.0]])


def test_store_json_accepts_json_whitespace_and_flat_extra_values():
    side = _core.Bids()
    side.store_json(b' \t\r\n[ [ "1.5" , "2" , "0" , "3" ] ,\n[2.5,3,null,true,-1.5e3,"x\\"\\u00e9"]] ')
    assert side.tolist() == [[2.5, 3.0], [1.5, 2.0]]
    side.store_json(b"[]")
    side.store_json(b" [ ] ")
    assert side.tolist() == [[2.5, 3.0], [1.5, 2.0]]


@pytest.mark.parametrize("data", [b'[["1","2",[]]]', b'[["1","2",{}]]', b'[["1","2"],]',
                                  b'[[01,2]]', b'[["1","2",01]]', b'[["1","2","\\x"]]'])
def test_store_json_rejects_nested_extras_trailing_commas_and_bad_tokens(data):
    side = _core.Asks()
    with pytest.raises(ValueError):
        side.store_json(data)


# ------------------------------------------------------------------ store_levels

BAD_VALUES = st.sampled_from([None, True, "abc", "", "nan", "1e999", float("nan"), float("inf"),
                              [], {}, object(), b"\xff", "0x1", 10**400])
GOOD_VALUES = st.one_of(PRICE, st.integers(1, 500).map(float), st.integers(1, 500))


@SETTINGS
@given(is_bid=st.booleans(), kind=st.sampled_from(["plain", "counted"]),
       rows=st.lists(st.tuples(GOOD_VALUES, st.one_of(AMOUNT, GOOD_VALUES), st.integers(0, 3),
                               st.sampled_from([None, "price", "amount", "count", "short", "type"]),
                               BAD_VALUES), max_size=8))
def test_store_levels_with_garbage_applies_exactly_a_prefix(is_bid, kind, rows):
    """Bulk store_levels == the same deltas stored one by one, stopping with the same
    error at the same delta; a delta that raises changes nothing."""
    counted = kind == "counted"
    cls = {(False, False): _core.Asks, (False, True): _core.Bids,
           (True, False): _core.CountedAsks, (True, True): _core.CountedBids}[counted, is_bid]
    deltas, clean = [], True
    for price, amount, count, bad_at, bad in rows:
        delta = [price, amount] + ([count] if counted else [])
        if bad_at == "price":
            delta[0] = bad
        elif bad_at == "amount":
            delta[1] = bad
        elif bad_at == "count" and counted:
            delta[2] = bad
        elif bad_at == "short":
            delta = delta[:1]
        elif bad_at == "type":
            delta = 12345
        clean = clean and bad_at in (None, "count" if not counted else None)
        deltas.append(delta)
    one_by_one, error = cls(), None
    for delta in deltas:
        before = one_by_one.tolist()
        try:
            one_by_one.store_array(delta)
        except ERRORS as e:
            error = type(e)
            assert one_by_one.tolist() == before  # a rejected delta changes nothing
            break
    side = cls()
    try:
        side.store_levels(deltas)
    except ERRORS as e:
        assert type(e) is error
    else:
        assert error is None
    assert side.tolist() == one_by_one.tolist()
    assert_consistent(side, is_bid)
    if counted:
        for row in side.tolist():
            assert row[2] != 0
    if clean:
        intended = [(float(p), float(a) if (not counted or c) else 0.0) for p, a, c, *_ in rows]
        assert [row[:2] for row in side.tolist()] == prefixes({}, intended, is_bid)[-1]


@pytest.mark.parametrize("count", [float("nan"), float("inf"), 2**64, -(2**70)])
def test_counted_bad_count_leaves_the_level_untouched(count):
    # (a falsy count, [] or {} included, deletes the level, as in ccxt; a third value that
    # is not a number is kept as given, as in ccxt: tests/test_orderbook_regressions.py)
    side = _core.CountedBids([[10.0, 1.0, 2]])
    with pytest.raises(ERRORS):
        side.store_array([10.0, 5.0, count])
    with pytest.raises(ERRORS):
        side.store_array([11.0, 5.0, count])
    assert side.tolist() == [[10.0, 1.0, 2]]


@SETTINGS
@given(rows=st.lists(st.tuples(st.one_of(GOOD_VALUES, BAD_VALUES), st.one_of(AMOUNT, BAD_VALUES),
                               st.one_of(st.sampled_from(["a", "b", "c"]), st.integers(0, 2),
                                         st.sampled_from([None, 1.5, ("t",)]))), max_size=10),
       is_bid=st.booleans())
def test_indexed_side_with_garbage_stays_consistent(rows, is_bid):
    side = (_core.IndexedBids if is_bid else _core.IndexedAsks)()
    for row in rows:
        before = side.tolist()
        try:
            side.store_array(list(row))
        except ERRORS + (KeyError,):
            assert side.tolist() == before
    levels = side.tolist()
    ids = [row[2] for row in levels]
    assert len(ids) == len(set(ids))
    for row in levels:
        assert math.isfinite(row[0]) and math.isfinite(row[1]) and row[1] != 0
    for a, b in zip(levels, levels[1:]):
        assert (a[0] >= b[0]) if is_bid else (a[0] <= b[0])
    for i in range(-len(levels), len(levels)):
        assert side.price(i) == levels[i][0]
    # every order is still reachable by id: a delete of each empties the side
    for oid in ids:
        side.store_array([None, 0, oid])
    assert side.tolist() == []


# ------------------------------------------------------------------ depth and checksums


@pytest.mark.parametrize("cls", [_core.Asks, _core.Bids, _core.CountedAsks,
                                 _core.IndexedBids])
@pytest.mark.parametrize("depth", [-1, -5, -(2**62)])
def test_negative_depth_is_rejected(cls, depth):
    with pytest.raises(ValueError):
        cls([], depth)
    with pytest.raises(ValueError):
        _core.OrderBook({}, depth)


@settings(max_examples=100 * DEEP, deadline=None)
@given(depth=st.one_of(st.integers(0, 100), st.integers(0, 2**31 - 1),
                       st.sampled_from([10737419, 5368710, 2**31 - 1, 2**30])),
       pp=st.integers(-3, 2**31 - 1), ap=st.integers(-3, 2**31 - 1),
       fmt=st.sampled_from([1, 2, 3, 4]))
def test_checksum_with_any_depth_or_precision(depth, pp, ap, fmt):
    b = BIG_BOOK
    try:
        crc = b.checksum(fmt, depth, pp, ap)
        text = b.checksum_text(fmt, depth, pp, ap)
    except ValueError as e:
        # only Kraken v2 takes precisions: out of range, or a number that came without
        # wire text and cannot be written exactly at that precision (the asks here)
        assert fmt == _core.CHECKSUM_KRAKEN_V2
        assert min(pp, ap) < 0 or max(pp, ap) > 30 or "cannot be written exactly" in str(e)
        return
    assert zlib.crc32(text.encode()) & 0xFFFFFFFF == crc & 0xFFFFFFFF
    # beyond the book's size the depth changes nothing
    n = max(len(b["bids"]), len(b["asks"]))
    if depth >= n:
        assert text == b.checksum_text(fmt, n, pp, ap)


BIG_BOOK = _core.OrderBook({})
BIG_BOOK["bids"].store_levels([[f"{50000 - i}.12345678", f"{i + 1}.123456789012"] for i in range(1500)])
BIG_BOOK["asks"].store_levels([[50001.0 + i * 0.5, 0.1 + i] for i in range(1500)])


@pytest.mark.parametrize("pp, ap, expected", [
    (1, 8, "451" "100000000"),        # 45.1 at 1 decimal, 1 at 8 decimals
    (19, 8, "451" + "0" * 18 + "100000000"),
    (30, 2, "451" + "0" * 29 + "100"),
])
def test_kraken_v2_rendering_at_large_precisions_is_exact(pp, ap, expected):
    b = _core.OrderBook({})
    b["asks"].store_levels([["45.1", "1"]])
    assert b.checksum_text(_core.CHECKSUM_KRAKEN_V2, 10, pp, ap) == expected


# ------------------------------------------------------------------ references and memory


def test_no_reference_leaks_on_inputs():
    price, amount, count, oid = "30000.10", "0.5", 3, "order-1"
    level, counted, indexed = [price, amount], [price, amount, count], [price, amount, oid]
    levels = [level] * 10
    blob = b'[["1.5","2"],["2.5","0"]]'
    bad = [["1", "x"]]
    tracked = (price, amount, count, oid, level, counted, indexed, levels, blob, bad)
    book = _core.OrderBook({})
    cbook = _core.CountedOrderBook({})
    ibook = _core.IndexedOrderBook({})

    def work():
        for _ in range(200):
            book["bids"].store_array(level)
            book["asks"].store(price, amount)
            book["bids"].store_levels(levels)
            book["asks"].store_json(blob)
            cbook["bids"].store_array(counted)
            ibook["asks"].store_array(indexed)
            book.checksum(_core.CHECKSUM_OKX)
            book.checksum_text(_core.CHECKSUM_KRAKEN, 10)
            book["bids"][0]
            book["bids"][:3]
            book.copy()
            try:
                book["bids"].store_levels(bad)
            except ValueError:
                pass
            try:
                framing.decompress(blob)
            except framing.DecompressionError:
                pass

    work()
    gc.collect()
    before = [sys.getrefcount(x) for x in tracked]
    work()
    gc.collect()
    assert [sys.getrefcount(x) for x in tracked] == before


def rss_kb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() // 1024


def test_memory_stays_bounded_under_churn():
    """200k level updates on a bounded book, copies, checksums, decompressions and
    rejected inputs: the process must not keep growing."""
    blob = zlib.compress(b"x" * 10000)

    def churn(rounds):
        book = _core.OrderBook({}, 100)
        for r in range(rounds):
            book["bids"].store_levels([[f"{1000 - (r + i) % 300}.5", f"{i + 1}.25"] for i in range(50)])
            book["asks"].store_json(b'[["2000.5","1"],["2001","2"],["2000.5","0"]]')
            book.limit()
            book.checksum(_core.CHECKSUM_OKX)
            book.copy()
            framing.decompress(blob, framing.ZLIB)
            for bad in (b'[["1","', b'[["x","1"]]'):
                try:
                    book["asks"].store_json(bad)
                except ValueError:
                    pass

    churn(500)
    gc.collect()
    start = rss_kb()
    churn(4000)
    gc.collect()
    assert rss_kb() - start < 4096
