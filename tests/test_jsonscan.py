"""The shallow JSON scanner against orjson, the oracle: same values, same containers."""
import math

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccxtpro_fast._core import OrderBook
from ccxtpro_fast._core.jsonscan import JSONScanError, scan_array, scan_fields, scan_object

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
