"""The registry: every ccxt.pro exchange through ccxtpro_fast, the ``exchanges`` list
(also the adapters' package), adapter preference, and ccxt.pro's exports."""
import importlib
import importlib.util
import sys
import textwrap

import ccxt
import ccxt.pro
import pytest

import ccxtpro_fast
import ccxtpro_fast as ccxtpro
from ccxtpro_fast.base import registry
from ccxtpro_fast.base.client import Client
from test_client_helpers import run


def test_every_ccxt_pro_exchange_instantiates_with_the_same_has():
    for exchange_id in ccxt.pro.exchanges:
        fast = getattr(ccxtpro, exchange_id)()
        vanilla = getattr(ccxt.pro, exchange_id)()
        assert isinstance(fast, getattr(ccxt.pro, exchange_id)), exchange_id
        assert isinstance(fast, ccxtpro.Exchange) and isinstance(fast, ccxt.pro.Exchange)
        assert fast.id == vanilla.id
        assert fast.has == vanilla.has, exchange_id
        assert type(fast.order_book()) is ccxtpro.OrderBook
        assert fast.ws_client_class is Client


def test_exchanges_get_our_client_without_touching_the_network():
    async def main():
        for exchange_id in ccxt.pro.exchanges[::7] + ['binance', 'okx', 'kraken']:
            fast = getattr(ccxtpro, exchange_id)({'timeout_on_exit': 0})
            assert isinstance(fast.client('ws://127.0.0.1:9/x'), Client)
            await fast.close()
    run(main, timeout=60)


def test_exchanges_behaves_as_ccxt_pros_list():
    ids = ccxt.pro.exchanges
    assert list(ccxtpro.exchanges) == ids
    assert [exchange_id for exchange_id in ccxtpro.exchanges] == ids
    assert len(ccxtpro.exchanges) == len(ids)
    assert 'binance' in ccxtpro.exchanges and 'nope' not in ccxtpro.exchanges
    assert ccxtpro.exchanges[0] == ids[0] and ccxtpro.exchanges[-1] == ids[-1]
    assert ccxtpro.exchanges[1:4] == ids[1:4]
    assert ccxtpro.exchanges == ids and ids == ccxtpro.exchanges
    assert not (ccxtpro.exchanges != ids)
    assert ccxtpro.exchanges.index('binance') == ids.index('binance')
    assert ccxtpro.exchanges.count('okx') == 1
    assert sorted(ccxtpro.exchanges) == sorted(ids)
    assert list(reversed(ccxtpro.exchanges)) == ids[::-1]
    assert ccxtpro.exchanges + ['x'] == ids + ['x'] and ['x'] + ccxtpro.exchanges == ['x'] + ids
    assert repr(ccxtpro.exchanges) == repr(ids)
    assert {ccxtpro.exchanges: 1}  # hashable, as a module is
    with pytest.raises(IndexError):
        ccxtpro.exchanges[len(ids)]


def test_exchanges_is_also_the_adapters_package():
    module = importlib.import_module('ccxtpro_fast.exchanges')
    assert module is ccxtpro.exchanges and sys.modules['ccxtpro_fast.exchanges'] is module
    assert module.__path__ and module.__name__ == 'ccxtpro_fast.exchanges'


def test_getattr_dir_and_import_forms():
    for exchange_id in ('binance', 'kraken', 'okx'):
        cls = getattr(ccxtpro, exchange_id)
        assert cls is getattr(ccxtpro, exchange_id)  # made once
        assert cls.__name__ == exchange_id and issubclass(cls, getattr(ccxt.pro, exchange_id))
    from ccxtpro_fast import bybit
    assert bybit is ccxtpro.bybit
    assert set(ccxt.pro.exchanges) <= set(dir(ccxtpro))
    with pytest.raises(AttributeError):
        ccxtpro.not_an_exchange


def test_ccxt_pro_exports():
    assert ccxtpro.__version__
    assert issubclass(ccxtpro.Exchange, ccxt.pro.Exchange)
    for name in dir(ccxt.pro):
        value = getattr(ccxt.pro, name)
        if isinstance(value, type) and issubclass(value, BaseException):
            assert getattr(ccxtpro, name) is value, name  # the same classes: except clauses keep working
    assert ccxtpro.error_hierarchy is ccxt.pro.error_hierarchy
    assert ccxtpro.NetworkError is ccxt.NetworkError
    assert {'OrderBook', 'CountedOrderBook', 'IndexedOrderBook', 'build_info'} <= set(dir(ccxtpro))


def _ids_without_adapter(count):
    """Ids no real adapter module exists for (other engineers add exchanges/<id>.py)."""
    found = [exchange_id for exchange_id in ccxt.pro.exchanges
             if 'ccxtpro_fast.exchanges.' + exchange_id not in sys.modules
             and importlib.util.find_spec('ccxtpro_fast.exchanges.' + exchange_id) is None]
    return found[-count:]


@pytest.fixture
def adapters_dir(tmp_path):
    """A temporary folder on the adapters package's path, as if exchanges/<id>.py existed."""
    package = sys.modules['ccxtpro_fast.exchanges']
    package.__path__.append(str(tmp_path))
    registry.clear_cache()
    added = []
    yield tmp_path, added
    package.__path__.remove(str(tmp_path))
    for exchange_id in added:
        sys.modules.pop('ccxtpro_fast.exchanges.' + exchange_id, None)
        if hasattr(package, exchange_id):
            delattr(package, exchange_id)
    importlib.invalidate_caches()
    registry.clear_cache()


def _write_adapter(tmp_path, added, exchange_id, body):
    (tmp_path / (exchange_id + '.py')).write_text(textwrap.dedent(body))
    importlib.invalidate_caches()
    added.append(exchange_id)


def test_an_adapter_module_is_preferred(adapters_dir):
    tmp_path, added = adapters_dir
    exchange_id, = _ids_without_adapter(1)
    assert not registry.has_adapter(exchange_id)
    registry.clear_cache()
    _write_adapter(tmp_path, added, exchange_id, f'''
        import ccxt.pro
        from ccxtpro_fast.base.exchange import Exchange

        class {exchange_id}(Exchange, ccxt.pro.{exchange_id}):
            native = True
    ''')
    cls = getattr(ccxtpro, exchange_id)
    assert cls.native is True and cls.__module__ == 'ccxtpro_fast.exchanges.' + exchange_id
    assert registry.has_adapter(exchange_id)
    assert isinstance(cls(), getattr(ccxt.pro, exchange_id)) and isinstance(cls(), ccxtpro.Exchange)
    assert exchange_id in ccxtpro.exchanges and len(ccxtpro.exchanges) == len(ccxt.pro.exchanges)


def test_mixin_only_adapters_count_as_exchanges():
    # an adapter may also be written class x(ExchangeMixin, ccxt.pro.x)
    cls = type('okx', (ccxtpro.ExchangeMixin, ccxt.pro.okx), {})
    assert isinstance(cls(), ccxtpro.Exchange) and issubclass(cls, ccxtpro.Exchange)
    assert not isinstance(ccxt.pro.okx(), ccxtpro.Exchange)
    assert not issubclass(ccxtpro.ExchangeMixin, ccxtpro.Exchange)


def test_a_broken_adapter_is_an_error_not_a_silent_fallback(adapters_dir):
    tmp_path, added = adapters_dir
    broken, wrong = _ids_without_adapter(2)
    _write_adapter(tmp_path, added, broken, 'import a_module_that_does_not_exist\n')
    with pytest.raises(ModuleNotFoundError, match='a_module_that_does_not_exist'):
        getattr(ccxtpro, broken)
    _write_adapter(tmp_path, added, wrong, f'''
        import ccxt.pro

        class {wrong}(ccxt.pro.{wrong}):  # forgot the mixin
            pass
    ''')
    with pytest.raises(TypeError, match=rf'class {wrong}\(Exchange, ccxt.pro.{wrong}\)'):
        getattr(ccxtpro, wrong)
