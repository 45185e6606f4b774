"""The compiled helpers ExchangeMixin installs (ccxtpro_fast/base/fastpaths.py): which
classes get them, that overrides anywhere (subclass, class patched later, instance) keep
their effect, and that the bulk handle_deltas leaves every book exactly as the exchange's
own loop does, malformed levels included."""
from __future__ import annotations

import math

import ccxt.pro
import pytest
from ccxt.base.exchange import BaseExchange
from hypothesis import given, settings
from hypothesis import strategies as st

import ccxtpro_fast
from ccxtpro_fast._core import safe
from ccxtpro_fast.base import fastpaths

# ccxt.pro 4.5.90's exchanges whose handle_delta/handle_deltas are the standard pair
# (safe_float(delta, 0), safe_float(delta, 1), bookside.store; a range(len) loop), read
# one by one; the bytecode check must select exactly these
STANDARD_DELTAS = {'binance', 'binancecoinm', 'binanceus', 'binanceusdm', 'bittrade', 'bitvavo', 'htx',
                   'myokx', 'okx', 'okxus', 'whitebit'}


def generic(exchange_id, body=None):
    return type(exchange_id, (ccxtpro_fast.Exchange, getattr(ccxt.pro, exchange_id)), dict(body or {}))


def test_the_bytecode_check_selects_the_exchanges_read():
    chosen = {i for i in ccxt.pro.exchanges if fastpaths.installed(generic(i))['handle_deltas']}
    assert chosen == STANDARD_DELTAS


def test_every_exchange_gets_the_compiled_accessors():
    # no ccxt.pro exchange overrides them (checked here against the MRO, so a ccxt
    # upgrade that adds an override shows up as the mixin leaving that name alone)
    for exchange_id in ccxt.pro.exchanges:
        cls = generic(exchange_id)
        done = fastpaths.installed(cls)
        for name in fastpaths.REPLACED:
            if name == 'handle_deltas':
                continue
            overridden = any(name in vars(k) for k in getattr(ccxt.pro, exchange_id).__mro__
                             if k is not BaseExchange)
            assert done[name] is not overridden, (exchange_id, name)


def test_registry_classes_and_adapters_get_them():
    assert fastpaths.installed(ccxtpro_fast.okx)['safe_string']
    assert fastpaths.installed(ccxtpro_fast.htx)['handle_deltas']
    assert fastpaths.installed(ccxtpro_fast.kraken)['safe_integer']
    assert not fastpaths.installed(ccxtpro_fast.kraken)['handle_deltas']   # kraken has its own
    assert fastpaths.installed(ccxtpro_fast.Exchange)['safe_value']


def test_shape_check_rejects_near_misses():
    def number(self, bookside, delta):
        price = self.safe_number(delta, 0)
        amount = self.safe_number(delta, 1)
        bookside.store(price, amount)

    def swapped(self, bookside, delta):
        price = self.safe_float(delta, 1)
        amount = self.safe_float(delta, 0)
        bookside.store(price, amount)

    def extra(self, bookside, delta):
        price = self.safe_float(delta, 0)
        amount = self.safe_float(delta, 1)
        bookside.store(price, amount)
        return amount

    def defaults(self, bookside, delta=None):
        price = self.safe_float(delta, 0)
        amount = self.safe_float(delta, 1)
        bookside.store(price, amount)

    def same(self, bookside, delta: object):
        """Documented, annotated: still the standard statements."""
        price = self.safe_float(delta, 0)
        amount = self.safe_float(delta, 1)
        bookside.store(price, amount)

    for f in (number, swapped, extra, defaults):
        assert not fastpaths.is_standard_handle_delta(f), f.__name__
    assert fastpaths.is_standard_handle_delta(same)
    assert fastpaths.is_standard_handle_delta(ccxt.pro.okx.handle_delta)
    assert not fastpaths.is_standard_handle_delta(ccxt.pro.bybit.handle_delta)
    assert fastpaths.is_standard_handle_deltas(ccxt.pro.binance.handle_deltas)
    assert fastpaths.is_standard_handle_deltas(ccxt.pro.bybit.handle_deltas)   # its handle_delta is not

    def backwards(self, bookside, deltas):
        for i in range(len(deltas) - 1, -1, -1):
            self.handle_delta(bookside, deltas[i])

    assert not fastpaths.is_standard_handle_deltas(backwards)


# ------------------------------------------------------------------ overrides keep their effect

LEVELS = [['100.5', '1'], ['101', '2']]


def fresh(cls):
    ex = cls({'timeout_on_exit': 0})
    return ex, ex.order_book({}, 100)


def test_subclass_overriding_handle_delta_keeps_the_loop():
    seen = []

    class Mine(ccxtpro_fast.binance):
        def handle_delta(self, bookside, delta):
            seen.append(delta)
            super().handle_delta(bookside, delta)

    assert not fastpaths.installed(Mine)['handle_deltas']
    assert Mine.handle_deltas is ccxt.pro.binance.handle_deltas
    ex, book = fresh(Mine)
    ex.handle_deltas(book['asks'], LEVELS)
    assert seen == LEVELS and book['asks'].tolist() == [[100.5, 1.0], [101.0, 2.0]]
    # and its own subclass (standard again below it? no: handle_delta is still Mine's)
    assert not fastpaths.installed(type('Sub', (Mine,), {}))['handle_deltas']


def test_subclass_overriding_safe_value_keeps_ccxts_dict_list_bool():
    class Mine(ccxtpro_fast.binance):
        @staticmethod
        def safe_value(dictionary, key, default_value=None):
            if key == 'probe':
                return {'overridden': True}
            return BaseExchange.safe_value(dictionary, key, default_value)

    done = fastpaths.installed(Mine)
    assert not done['safe_value'] and not done['safe_dict'] and not done['safe_list'] and not done['safe_bool']
    assert done['safe_string']
    ex = Mine({'timeout_on_exit': 0})
    assert ex.safe_dict({}, 'probe') == {'overridden': True}       # ccxt's safe_dict, calling the override


def test_subclass_overriding_safe_float_keeps_the_loop():
    calls = []

    class Mine(ccxtpro_fast.okx):
        def safe_float(self, dictionary, key, default_value=None):
            calls.append(key)
            return BaseExchange.safe_float(dictionary, key, default_value)

    assert not fastpaths.installed(Mine)['handle_deltas'] and not fastpaths.installed(Mine)['safe_float']
    ex, book = fresh(Mine)
    ex.handle_deltas(book['bids'], LEVELS)
    assert calls == [0, 1, 0, 1]


def test_a_base_after_the_mixin_that_overrides_is_respected():
    class Custom(ccxt.pro.binance):
        def safe_string(self, dictionary, key, default_value=None):
            if key == 'probe':
                return 'custom'
            return BaseExchange.safe_string(dictionary, key, default_value)

    cls = type('binance', (ccxtpro_fast.Exchange, Custom), {})
    assert not fastpaths.installed(cls)['safe_string']
    assert cls({'timeout_on_exit': 0}).safe_string({'probe': 'b'}, 'probe') == 'custom'
    # and the classes made from it again
    assert type('again', (cls,), {})({'timeout_on_exit': 0}).safe_string({}, 'probe') == 'custom'


def test_class_defining_the_name_itself_is_untouched():
    def handle_deltas(self, bookside, deltas):
        return 'own'

    cls = generic('binance', {'handle_deltas': handle_deltas})
    assert cls.handle_deltas is handle_deltas


def test_patching_later_is_seen(monkeypatch):
    cls = generic('binance')
    ex, book = fresh(cls)
    seen = []

    def patched(self, bookside, delta):
        seen.append(('class', delta))
        bookside.store(float(delta[0]), float(delta[1]))

    monkeypatch.setattr(ccxt.pro.binance, 'handle_delta', patched)
    ex.handle_deltas(book['bids'], LEVELS)
    assert [d for _, d in seen] == LEVELS
    monkeypatch.undo()
    seen.clear()
    ex.handle_delta = lambda bookside, delta: seen.append(('instance', delta))
    ex.handle_deltas(book['bids'], LEVELS)
    assert seen == [('instance', d) for d in LEVELS]
    del ex.handle_delta
    ex.safe_float = lambda d, k, default=None: 7.0
    ex.handle_deltas(book['asks'], LEVELS)
    assert book['asks'].tolist() == [[7.0, 7.0]]


def test_patching_after_the_bulk_path_ran_is_seen(monkeypatch):
    # the class check is remembered by the class's version tag: a patch must change it
    cls = generic('binance')
    ex, book = fresh(cls)
    ex.handle_deltas(book['bids'], LEVELS)
    ex.handle_deltas(book['bids'], LEVELS)
    seen = []

    def patched(self, bookside, delta):
        seen.append(delta)
        bookside.store(float(delta[0]), float(delta[1]))

    monkeypatch.setattr(ccxt.pro.Exchange, 'safe_float', staticmethod(lambda d, k, default=None: 1.0),
                        raising=False)
    ex.handle_deltas(book['asks'], LEVELS)
    assert book['asks'].tolist() != [[1.0, 1.0]]      # binance's MRO resolves ccxt's own first
    monkeypatch.setattr(ccxt.pro.binance, 'handle_delta', patched)
    ex.handle_deltas(book['bids'], LEVELS)
    assert seen == LEVELS
    monkeypatch.undo()
    seen.clear()
    ex.handle_deltas(book['bids'], LEVELS)
    assert seen == []


def test_other_sides_and_sequences_take_the_loop():
    ex, _ = fresh(generic('binance'))
    counted = ex.counted_order_book({}, 10)
    # a counted side needs a count: the standard loop's store(price, amount) fails there,
    # and so does the bulk path (it is not taken)
    with pytest.raises(TypeError):
        ex.handle_deltas(counted['bids'], LEVELS)
    book = ex.order_book({}, 10)
    ex.handle_deltas(book['bids'], tuple(LEVELS))
    assert book['bids'].tolist() == [[101.0, 2.0], [100.5, 1.0]]


# ------------------------------------------------------------------ the bulk store is the loop

TEXT = st.one_of(
    st.from_regex(r'\A-?[0-9]{1,6}(\.[0-9]{0,8})?\Z'),
    st.from_regex(r'\A[ +-]?[0-9]{0,3}\.?[0-9]{0,3}([eE][+-]?[0-9]{1,3})?\s?\Z'),
    st.from_regex(r'\A[0-9]{15,30}(\.[0-9]{1,30})?\Z'),
    st.sampled_from(['0', '0.0', '-0', '0.00000000', 'nan', 'inf', '-inf', '1e400', '1e-400', '', ' ', '1_0',
                     '١', '0x1', '1.5.5', '1e', '.5', '5.', '+.5', '00012.50', '\t3\n']),
    st.text(max_size=4),
)
NUMBER = st.one_of(TEXT, st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**6, 10**6),
                   st.integers(), st.booleans(), st.none(), st.binary(max_size=3),
                   st.sampled_from([b'1.5', 2**1100]))
LEVEL = st.one_of(
    st.tuples(TEXT, TEXT).map(list),
    st.tuples(NUMBER, NUMBER).map(list),
    st.tuples(NUMBER, NUMBER, NUMBER).map(list),
    st.tuples(NUMBER, NUMBER).map(tuple),
    st.lists(NUMBER, max_size=1),
    st.dictionaries(st.sampled_from([0, 1, 'p']), NUMBER, max_size=2),
    st.text(max_size=3), NUMBER,
)
CLEAN_LEVEL = st.tuples(st.integers(1, 300).map(lambda i: f'{i / 4:.2f}'),
                        st.one_of(st.just('0'), st.integers(1, 10**6).map(lambda i: f'{i / 1000:.3f}'))).map(list)


def outcome(call):
    try:
        call()
        return None
    except Exception as error:  # noqa: BLE001 - the type and text are what is compared
        return type(error), str(error)


def state(side):
    return [[p if not math.isnan(p) else 'nan', a if not math.isnan(a) else 'nan'] for p, a in side.tolist()]


@pytest.mark.parametrize('exchange_id', ['binance', 'okx'])
@settings(max_examples=300, deadline=None)
@given(start=st.lists(CLEAN_LEVEL, max_size=8),
       deltas=st.one_of(st.lists(CLEAN_LEVEL, max_size=6), st.lists(LEVEL, max_size=6)),
       side=st.sampled_from(['bids', 'asks']))
def test_bulk_handle_deltas_is_the_exchanges_loop(exchange_id, start, deltas, side):
    cls = generic(exchange_id)
    assert fastpaths.installed(cls)['handle_deltas']
    ex = cls({'timeout_on_exit': 0})
    fast, slow = ex.order_book({}, 50), ex.order_book({}, 50)
    fast[side].store_levels(start)
    slow[side].store_levels(start)
    got = outcome(lambda: ex.handle_deltas(fast[side], deltas))
    expected = outcome(lambda: getattr(ccxt.pro, exchange_id).handle_deltas(ex, slow[side], deltas))
    assert got == expected
    assert state(fast[side]) == state(slow[side])


@settings(max_examples=1000, deadline=None)
@given(text=TEXT)
def test_what_the_bulk_store_reads_is_what_float_reads(text):
    """The property the fallback argument rests on: a text the bulk store accepts is one
    float() reads, to the same number (a price; an amount that is not 0)."""
    ex = generic('binance')({'timeout_on_exit': 0})
    for level, which in (([text, '1'], 'price'), (['100', text], 'amount')):
        side = ex.order_book({}, 10)['bids']
        try:
            side.store_levels([level])
        except Exception:  # noqa: BLE001 - refused: the loop decides
            continue
        value = float(text)
        assert math.isfinite(value)
        if which == 'price':
            assert side.tolist() == [[value, 1.0]]
        elif value:
            assert side.tolist() == [[100.0, value]]
        else:
            assert side.tolist() == []


def test_malformed_levels_fall_back_with_the_loops_error():
    cls = generic('binance')
    ex = cls({'timeout_on_exit': 0})
    book = ex.order_book({}, 10)
    # a bad price: safe_float gives None, the side refuses None; the good level before it
    # is applied once (by both paths), the one after it never
    with pytest.raises(TypeError):
        ex.handle_deltas(book['bids'], [['10', '1'], ['x', '1'], ['11', '1']])
    assert book['bids'].tolist() == [[10.0, 1.0]]
    # a bad amount: safe_float gives None, which deletes the level
    ex.handle_deltas(book['bids'], [['10', 'bad'], ['12', ' 3 ']])
    assert book['bids'].tolist() == [[12.0, 3.0]]
    # short level: no amount, a deletion
    ex.handle_deltas(book['bids'], [['12']])
    assert book['bids'].tolist() == []
    # numbers and booleans read as float() reads them
    ex.handle_deltas(book['asks'], [[True, 2], [1.5, '1e1'], ['１', 1]])
    assert book['asks'].tolist() == [[1.0, 1.0], [1.5, 10.0]]


def test_the_fast_path_is_installed_as_the_compiled_function():
    cls = generic('binance')
    assert cls.handle_deltas is safe.handle_deltas
    assert cls.__dict__['safe_string'].__func__ is safe.safe_string
