"""The shallow JSON scanner against orjson, the oracle: same values, same containers."""
import math
import sys

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccxtpro_fast._core import OrderBook
from ccxtpro_fast._core.jsonscan import FieldScanner, JSONScanError, scan_array, scan_fields, scan_object

# a Binance diff depth message as documented ("Diff. Depth Stream") plus odd fields
DEPTH = (b'{"e":"depthUpdate","E":1700000000000,"s":"BTCUSDT","U":157,"u":160,"pu":149,'
         b'"b":[["0.0024","10"],["0.0023","0.5"]],"a":[["0.0026","100"]],'
         b'"x":{"y":[1,{"z":"}]\\""}]},"esc":"a\\"b\\u00e9","f":1.5,"t":true,"n":null}')

json_scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(2 ** 63), max_value=2 ** 64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20,
)


def decoded(data, value):
    """A scanned value as orjson would give it: slices decode to their container."""
    return orjson.loads(data[value]) if isinstance(value, slice) else value


def same(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b and type(a) is type(b)


def test_depth_message_fields():
    fields = scan_object(DEPTH)
    expected = orjson.loads(DEPTH)
    assert list(fields) == list(expected)
    for key, value in fields.items():
        assert decoded(DEPTH, value) == expected[key], key
    assert isinstance(fields['b'], slice) and isinstance(fields['x'], slice)


def test_scan_fields_picks_keys_and_skips_the_rest():
    e, u, bids, missing, esc = scan_fields(DEPTH, (b'e', b'u', b'b', b'nope', b'esc'))
    assert (e, u, missing, esc) == ('depthUpdate', 160, None, 'a"b\u00e9')
    book = OrderBook()
    book['bids'].store_json(DEPTH, bids.start, bids.stop)
    assert book['bids'].tolist() == [[0.0024, 10.0], [0.0023, 0.5]]


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=8), json_values, max_size=8))
def test_scan_object_equals_orjson(obj):
    data = orjson.dumps(obj)
    fields = scan_object(data)
    assert list(fields) == list(obj)
    for key, value in fields.items():
        got = decoded(data, value)
        assert got == obj[key] or same(got, obj[key])
        if not isinstance(value, slice):
            assert type(value) is type(orjson.loads(data)[key])
    # scan_fields matches keys by their raw JSON text: take the keys JSON does not escape
    plain = [k for k in obj if orjson.dumps(k)[1:-1] == k.encode()][:5]
    keys = tuple(k.encode() for k in plain)
    assert [decoded(data, v) for v in scan_fields(data, keys)] == [obj[k] for k in plain]


@settings(max_examples=200, deadline=None)
@given(st.lists(json_values, max_size=8))
def test_scan_array_equals_orjson(items):
    data = orjson.dumps(items)
    assert [decoded(data, v) for v in scan_array(data)] == items


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
def test_garbage_raises_or_decodes(data):
    for scan in (scan_object, scan_array):
        try:
            scan(data)
        except ValueError:
            pass


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=8), json_values, min_size=1, max_size=6), st.data())
def test_truncated_messages_raise(obj, data):
    raw = orjson.dumps(obj)
    cut = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    with pytest.raises(ValueError):
        scan_object(raw[:cut])


@pytest.mark.parametrize('bad', [
    b'', b'{', b'{"a"', b'{"a":', b'{"a":1', b'{"a" 1}', b'{"a":1,}', b'{"a":[1,2}',
    b'{"a":"x}', b'{1:2}', b'[1,', b'{"a":tru}', b'{"a":-}', b'{"a":1.}',
    b'{"a":' + b'[' * 100 + b']' * 100 + b'}',
])
def test_malformed_inputs_raise_a_clear_error(bad):
    with pytest.raises(JSONScanError):
        if bad.startswith(b'['):
            scan_array(bad)
        else:
            scan_object(bad)


def test_bounds_and_types():
    with pytest.raises(TypeError):
        scan_object('{"a":1}')
    with pytest.raises(JSONScanError):
        scan_object(b'{"a":1}', 5, 2)
    assert scan_object(b'xx{"a":1}yy', 2, 9) == {'a': 1}
    with pytest.raises(ValueError):
        scan_fields(b'{}', tuple(b'k%d' % i for i in range(33)))


# ---------------------------------------------------------------- FieldScanner


def outcome(call):
    """A scan's result, or its exception's type and text: what must not differ."""
    try:
        return call()
    except Exception as error:
        return type(error), str(error)


def test_field_scanner_reads_the_depth_message():
    keys = (b'e', b'u', b'b', b'nope', b'esc', b'x')
    scanner = FieldScanner(keys)
    assert scanner.keys == keys
    assert scanner.scan(DEPTH) == scan_fields(DEPTH, keys)
    framed = b'xx' + DEPTH + b'yy'
    assert scanner.scan(framed, 2, 2 + len(DEPTH)) == scan_fields(framed, keys, 2, 2 + len(DEPTH))
    assert [decoded(framed, v) for v in scanner.scan(framed, 2, 2 + len(DEPTH))] == \
        [decoded(DEPTH, v) for v in scanner.scan(DEPTH)]
    assert repr(scanner) == 'FieldScanner(%r)' % (keys,)


def test_field_scanner_duplicates():
    # a key listed twice: the first gets the value; a key sent twice: the last value wins
    assert FieldScanner((b'a', b'a', b'bb', b'bb')).scan(b'{"a":1,"bb":2}') == (1, None, 2, None)
    data = b'{"a":1,"bb":[1],"a":"x","bb":{"c":2}}'
    assert FieldScanner((b'a', b'bb')).scan(data) == ('x', slice(29, 36)) == scan_fields(data, (b'a', b'bb'))
    assert FieldScanner(()).scan(b'{"a":1}') == ()
    assert FieldScanner((b'',)).scan(b'{"":5}') == (5,)


def test_field_scanner_leaks_no_reference():
    # duplicate keys replace tuple items in C, errors drop a half-filled tuple
    scanner = FieldScanner((b'a', b'bb', b'zz'))
    data = b'{"a":1,"bb":[1],"a":"x","bb":{"c":2},"a":null}'
    truncated = data[:-3]

    def run(n):
        for _ in range(n):
            scanner.scan(data)
            try:
                scanner.scan(truncated)
            except JSONScanError:
                pass

    run(10)
    before = sys.getrefcount(None)
    run(1000)
    # a reference lost or kept per call would move the count by 1000s
    assert abs(sys.getrefcount(None) - before) < 10


def test_field_scanner_arguments():
    with pytest.raises(TypeError):
        FieldScanner([b'a'])
    with pytest.raises(TypeError):
        FieldScanner(None)
    with pytest.raises(TypeError):
        FieldScanner((b'a', 'b'))
    with pytest.raises(ValueError):
        FieldScanner(tuple(b'k%d' % i for i in range(33)))
    scanner = FieldScanner((b'a',))
    with pytest.raises(TypeError):
        scanner.scan('{"a":1}')
    with pytest.raises(TypeError):
        scanner.scan(bytearray(b'{"a":1}'))
    with pytest.raises(JSONScanError):
        scanner.scan(b'{"a":1}', 5, 2)
    with pytest.raises(TypeError):
        scan_fields(b'{}', None)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=8), json_values, max_size=8), st.data())
def test_field_scanner_equals_scan_fields(obj, data):
    raw = orjson.dumps(obj)
    names = list(obj) + ['absent', '']
    picked = data.draw(st.lists(st.sampled_from(names), max_size=8))
    keys = tuple(orjson.dumps(k)[1:-1] for k in picked)    # as the key's raw JSON text
    got = FieldScanner(keys).scan(raw)
    assert got == scan_fields(raw, keys)
    # a key listed twice: its value goes to the first place, None to the others
    assert [decoded(raw, v) for v in got] == [obj.get(k) if picked.index(k) == i else None
                                              for i, k in enumerate(picked)]


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.binary(max_size=200),
                 st.builds(lambda obj, cut: orjson.dumps(obj)[:cut],
                           st.dictionaries(st.text(max_size=8), json_values, max_size=6),
                           st.integers(min_value=0, max_value=300))))
def test_field_scanner_on_garbage_fails_as_scan_fields(data):
    keys = (b'a', b'', b'e', b'bb')
    assert outcome(lambda: FieldScanner(keys).scan(data)) == outcome(lambda: scan_fields(data, keys))


def _reference_container_end(d, i):
    """The byte-at-a-time bracket matcher the table-driven one replaced (the slow twin)."""
    depth = 0
    end = len(d)
    while i < end:
        c = d[i:i + 1]
        if c == b'"':
            i += 1
            while True:
                if i >= end:
                    raise JSONScanError('unterminated string')
                if d[i:i + 1] == b'"':
                    break
                if d[i:i + 1] == b'\\':
                    i += 1
                i += 1
        elif c in (b'[', b'{'):
            depth += 1
            if depth > 64:
                raise JSONScanError('nesting too deep')
        elif c in (b']', b'}'):
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise JSONScanError('truncated container')


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from([b'[', b']', b'{', b'}', b'"', b'\\', b'a', b'1', b',', b' ', b'\xff']),
                max_size=40))
def test_container_skipping_matches_the_byte_loop(parts):
    blob = b'[' + b''.join(parts)
    data = b'{"k":' + blob
    try:
        expected = ('end', _reference_container_end(data, 5))
    except JSONScanError as error:
        expected = ('error', str(error))
    # the scanner reaches the container through _value (key wanted) and _skip (not wanted)
    for keys in ((b'k',), (b'other',)):
        try:
            FieldScanner(keys).scan(data[:expected[1]] + b'}' if expected[0] == 'end' else data)
            got = ('end', expected[1]) if expected[0] == 'end' else ('no error', None)
        except JSONScanError as error:
            got = ('error', str(error))
        assert got == expected
    if expected[0] == 'end':
        assert FieldScanner((b'k',)).scan(data[:expected[1]] + b'}') == (slice(5, expected[1]),)


@pytest.mark.parametrize("offset", range(9))
def test_strings_end_at_every_position_of_a_word(offset):
    """A closing quote or an escape at any position of a string of any length, after any
    offset (every alignment a word-at-a-time scan would meet), is found where it is."""
    pad = b" " * offset
    for length in range(0, 34):
        for escape_at in [None] + list(range(length)):
            chars = [chr(ord("a") + (k % 26)) for k in range(length)]
            if escape_at is not None:
                chars[escape_at] = '"' if escape_at % 2 else "\\"
            text = "".join(chars)
            data = pad + b'{"k":' + orjson.dumps(text) + b',"n":1}'
            assert scan_fields(data, (b"k", b"n"), offset) == (text, 1)
            assert FieldScanner((b"n",)).scan(data, offset) == (1,)
            # unterminated: the scan must stop at the end, not read past it
            with pytest.raises(JSONScanError):
                scan_fields(pad + b'{"k":"' + text.encode().replace(b'"', b"x").replace(b"\\", b"y"),
                            (b"k",), offset)


@pytest.mark.parametrize("offset", range(9))
def test_level_strings_end_at_every_position_of_a_word(offset):
    """Level strings of every length, at every offset (every alignment a word-at-a-time
    scan would meet), give the book orjson + store_levels gives."""
    for digits in range(1, 20):
        levels = [[f"{10 ** (digits - 1) + k}.5"[:digits + 2], f"0.{'1' * digits}"] for k in range(3)]
        levels += [["7" * min(digits, 15), "1"]]
        data = b" " * offset + orjson.dumps(levels)
        by_bytes, by_lists = OrderBook(), OrderBook()
        by_bytes["bids"].store_json(data, offset, len(data))
        by_lists["bids"].store_levels(orjson.loads(data[offset:]))
        assert by_bytes["bids"].tolist() == by_lists["bids"].tolist()
        with pytest.raises(ValueError):
            OrderBook()["bids"].store_json(data[:-3], offset, len(data) - 3)
