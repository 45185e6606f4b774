"""ccxtpro_fast._core.safe against ccxt's own safe_* accessors: on generated containers,
keys and defaults every compiled function returns what ccxt's returns (same value and
type) or raises what ccxt's raises (same exception type)."""
from __future__ import annotations

import decimal
import inspect
import math

import pytest
from ccxt.base.exchange import BaseExchange
from hypothesis import given, settings
from hypothesis import strategies as st

from ccxtpro_fast._core import safe

STATIC = ['safe_value', 'safe_value_2', 'safe_string', 'safe_string_2', 'safe_string_lower',
          'safe_string_upper', 'safe_integer', 'safe_integer_2', 'safe_integer_product',
          'safe_timestamp', 'safe_float', 'safe_float_2']
METHODS = ['safe_dict', 'safe_list', 'safe_bool']


class Host:
    """What ccxt's instance methods call on self: ccxt's safe_value and is_dictionary."""
    safe_value = BaseExchange.__dict__['safe_value']
    is_dictionary = BaseExchange.__dict__['is_dictionary']


HOST = Host()


def ccxt_function(name):
    value = BaseExchange.__dict__[name]
    if isinstance(value, staticmethod):
        return value.__func__
    return lambda *args, **kwargs: value(HOST, *args, **kwargs)


def ours(name):
    function = getattr(safe, name)
    if name in METHODS:
        return lambda *args, **kwargs: function(HOST, *args, **kwargs)
    return function


# ------------------------------------------------------------------ odd objects

class Missing(dict):
    def __missing__(self, key):
        return 'made:' + repr(key)


class Weird:
    """__ne__ that raises, __float__/__index__ that raise or work."""

    def __init__(self, behaviour):
        self.behaviour = behaviour

    def __ne__(self, other):
        if self.behaviour == 'ne-raises':
            raise ValueError('no comparison')
        return NotImplemented

    def __eq__(self, other):
        return self is other

    __hash__ = object.__hash__

    def __float__(self):
        if self.behaviour == 'float-raises':
            raise ArithmeticError('no float')
        return 2.5

    def __repr__(self):
        return 'Weird(%s)' % self.behaviour


class Ambiguous:
    """A value whose `!= ''` is not a bool and has no truth value (as a numpy array)."""

    def __ne__(self, other):
        return self

    def __bool__(self):
        raise ValueError('ambiguous')

    __hash__ = object.__hash__


class Getter:
    """A container whose __getitem__ raises what it is told (or returns the key)."""

    def __init__(self, error):
        self.error = error

    def __getitem__(self, key):
        if self.error is None:
            return key
        raise self.error

    def __repr__(self):
        return 'Getter(%r)' % (self.error,)


class StrSub(str):
    pass


class ListSub(list):
    pass


class IntSub(int):
    pass


class FloatSub(float):
    pass


NUMBER_TEXT = st.one_of(
    st.from_regex(r'\A-?[0-9]{1,20}(\.[0-9]{0,12})?\Z'),
    st.from_regex(r'\A[ +-]?[0-9]*\.?[0-9]*([eE][+-]?[0-9]{1,4})?\s?\Z'),
    st.sampled_from(['', ' ', '-', '-0', '+1', '0x10', '1_000', 'nan', 'inf', '-inf', 'Infinity',
                     '1e400', '١٢٣', '9007199254740993', '-9007199254740993', '000000000000001',
                     '123456789012345', '1234567890123456', '12345678901234567890', '1.0',
                     'True', 'None', '\x00', '1\x00']),
)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.just(''),
    st.integers(), st.integers(-2**60, 2**60), st.sampled_from([2**53, 2**53 + 1, -2**53, -2**53 - 1, 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6), NUMBER_TEXT,
    st.binary(max_size=4), st.sampled_from([b'1.5', b'12', bytearray(b'3')]),
    st.sampled_from([decimal.Decimal('1.25'), decimal.Decimal('NaN'), decimal.Decimal('-0'), StrSub('7'),
                     StrSub(''), IntSub(5), FloatSub(1.5), Weird('ne-raises'), Weird('float-raises'),
                     Weird('ok'), Ambiguous(), 1j]),
)
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3), st.dictionaries(st.text(max_size=2), SCALARS, max_size=3),
                   st.dictionaries(st.text(max_size=2), SCALARS, max_size=2).map(Missing),
                   st.lists(SCALARS, max_size=2).map(ListSub), st.just(()))
# what a container holds at the key looked up: containers as often as scalars
HELD = st.one_of(st.sampled_from([{}, {'a': 1}, [], [1], Missing(), Missing({'a': 1}), ListSub(), ListSub([2]),
                                  (), True, False, 0, '', None, '1.5', 7, 2.5]), SCALARS)
KEYS = st.one_of(st.sampled_from(['a', 'b', 'x', '', 0, 1, -1, 2, -3, None, True, 1.0, 2**70, -2**70]),
                 st.integers(-4, 4), st.text(max_size=2))
ODD_KEYS = st.one_of(KEYS, st.just([1]), st.just({}), st.just((1,)), st.just(slice(0, 1)))


@st.composite
def containers(draw, keys=()):
    """A container of any kind; dicts and lists often hold something at one of ``keys``."""
    kind = draw(st.sampled_from(['dict', 'dict', 'dict', 'list', 'list', 'tuple', 'str', 'none', 'missing',
                                 'getter', 'scalar', 'bytes']))
    if kind in ('dict', 'missing'):
        d = draw(st.dictionaries(KEYS, VALUES, max_size=5))
        for key in keys:
            if draw(st.booleans()):
                try:
                    d[key] = draw(HELD)
                except TypeError:
                    pass        # an unhashable key
        return Missing(d) if kind == 'missing' else d
    if kind == 'list':
        items = draw(st.lists(VALUES, max_size=5))
        for key in keys:
            if type(key) is int and -8 < key < 8 and draw(st.booleans()):
                while len(items) <= abs(key):
                    items.append(draw(HELD))
        return items
    if kind == 'tuple':
        return tuple(draw(st.lists(VALUES, max_size=4)))
    if kind == 'str':
        return draw(st.text(max_size=4))
    if kind == 'bytes':
        return draw(st.binary(max_size=4))
    if kind == 'getter':
        return Getter(draw(st.sampled_from([None, KeyError('k'), IndexError(), TypeError(), ValueError(),
                                            RuntimeError(), ZeroDivisionError(), StopIteration()])))
    if kind == 'none':
        return None
    return draw(SCALARS)


DEFAULTS = st.one_of(st.none(), st.sampled_from(['default', 0, {}, [], True, False, {'d': 1}, [1]]))
FACTORS = st.one_of(st.sampled_from([1000, 1, 0.001, 1e-9, -1, 2.5, 10**20, 0]), st.floats(-1e6, 1e6))


def outcome(function, *args):
    try:
        return ('value', function(*args))
    except Exception as error:  # noqa: BLE001 - the type is what is compared
        return ('raised', type(error))


def same(a, b):
    if a[0] != b[0]:
        return False
    if a[0] == 'raised':
        return a[1] is b[1]
    x, y = a[1], b[1]
    if type(x) is not type(y):
        return False
    if x is y:
        return True
    if isinstance(x, float) and math.isnan(x):
        return math.isnan(y)
    if isinstance(x, (Weird, Ambiguous, Getter)):
        return x is y       # the accessors hand back the very object
    if isinstance(x, (dict, list)):
        return x is y or x == y     # a slice key makes a new list each time
    try:
        return x == y or (x != x and y != y)    # Decimal('NaN')
    except Exception:  # noqa: BLE001
        return False


def check(name, *args):
    expected = outcome(ccxt_function(name), *args)
    got = outcome(ours(name), *args)
    assert same(expected, got), (name, args, expected, got)


@pytest.mark.parametrize('name', ['safe_value', 'safe_string', 'safe_string_lower', 'safe_string_upper',
                                  'safe_integer', 'safe_timestamp', 'safe_float'] + METHODS)
@settings(max_examples=150, deadline=None)
@given(data=st.data(), key=ODD_KEYS, default=DEFAULTS)
def test_one_key_accessors_match_ccxt(name, data, key, default):
    container = data.draw(containers((key,)))
    check(name, container, key, default)
    check(name, container, key)


@pytest.mark.parametrize('name', ['safe_value_2', 'safe_string_2', 'safe_integer_2', 'safe_float_2'])
@settings(max_examples=150, deadline=None)
@given(data=st.data(), key1=ODD_KEYS, key2=ODD_KEYS, default=DEFAULTS)
def test_two_key_accessors_match_ccxt(name, data, key1, key2, default):
    container = data.draw(containers((key1, key2)))
    check(name, container, key1, key2, default)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), key=ODD_KEYS, factor=FACTORS, default=DEFAULTS)
def test_integer_product_matches_ccxt(data, key, factor, default):
    container = data.draw(containers((key,)))
    check('safe_integer_product', container, key, factor, default)


@settings(max_examples=500, deadline=None)
@given(value=st.one_of(NUMBER_TEXT, st.integers(), st.integers(-2**54, 2**54), st.floats(), st.booleans()),
       default=DEFAULTS)
def test_integer_shortcuts_match_ccxt(value, default):
    """safe_integer hands exact ints (|n| <= 2**53) and short digit strings straight
    back; everything else goes through float() as in ccxt."""
    for container in ({'k': value}, [value]):
        key = 'k' if isinstance(container, dict) else 0
        check('safe_integer', container, key, default)
        check('safe_integer_2', container, 'missing' if key == 'k' else 5, key, default)


@pytest.mark.parametrize('value', [2**53 - 1, 2**53, 2**53 + 1, -2**53, -2**53 - 1, 2**63, -2**63 - 1, 10**30,
                                   '9007199254740992', '999999999999999', '-999999999999999', '0000000000000001',
                                   '-0', '00', '-', '', '1 ', ' 1', '+5', '1.0', '１２'])
def test_integer_edges(value):
    check('safe_integer', {'k': value}, 'k', 'd')
    check('safe_integer', [value], 0, 'd')
    check('safe_integer', [value], -1, 'd')


def test_base_exceptions_propagate_as_in_ccxt():
    for name in STATIC + METHODS:
        args = {'safe_integer_product': (Getter(KeyboardInterrupt()), 'k', 10)}.get(name)
        if args is None:
            args = (Getter(KeyboardInterrupt()), 'k') if not name.endswith('_2') else (Getter(KeyboardInterrupt()), 'k', 'j')
        for function in (ccxt_function(name), ours(name)):
            with pytest.raises(KeyboardInterrupt):
                function(*args)


def test_signatures_are_ccxts():
    """Same parameter names and defaults, so keyword calls work the same."""
    for name in STATIC + METHODS:
        theirs = inspect.signature(inspect.unwrap(BaseExchange.__dict__[name].__func__
                                                  if name in STATIC else BaseExchange.__dict__[name]))
        mine = inspect.signature(getattr(safe, name))
        assert [(p.name, p.default) for p in mine.parameters.values()] == \
            [(p.name, p.default) for p in theirs.parameters.values()], name


def test_keyword_calls():
    assert safe.safe_string(dictionary={'a': 1}, key='a', default_value='x') == '1'
    assert safe.safe_integer({'a': '5'}, 'b', default_value=7) == 7
    assert safe.safe_dict(None, {'a': {}}, 'b', defaultValue={'d': 1}) == {'d': 1}
    assert safe.safe_list(None, dictionaryOrList={'a': [1]}, key='a') == [1]


def test_the_usual_cases():
    message = {'e': 'depthUpdate', 'E': 1700000000123, 'u': '42', 'b': [['1.5', '2']], 'p': '', 'z': None,
               'f': 1.5, 'ok': True}
    assert safe.safe_string(message, 'e') == 'depthUpdate'
    assert safe.safe_string(message, 'E') == '1700000000123'
    assert safe.safe_string(message, 'p', 'd') == 'd'
    assert safe.safe_integer(message, 'E') == 1700000000123
    assert safe.safe_integer(message, 'u') == 42
    assert safe.safe_integer(message, 'f') == 1
    assert safe.safe_timestamp({'t': '1.5'}, 't') == 1500
    assert safe.safe_float(message['b'][0], 0) == 1.5
    assert safe.safe_float(message['b'][0], 2) is None
    assert safe.safe_value(message, 'p', 'd') == 'd'
    assert safe.safe_value(message, 'z', 'd') == 'd'
    assert safe.safe_list(None, message, 'b') is message['b']
    assert safe.safe_dict(None, message, 'b') is None
    assert safe.safe_bool(None, message, 'ok') is True
    assert safe.safe_bool(None, message, 'e', False) is False
    assert safe.safe_string_lower(message, 'e') == 'depthupdate'
    assert safe.safe_value_2(message, 'x', 'e') == 'depthUpdate'
