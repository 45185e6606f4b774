"""ccxtpro_fast: a drop-in, much faster CCXT Pro.

    import ccxtpro_fast as ccxtpro
    exchange = ccxtpro.binance()

Every id in ``ccxt.pro.exchanges`` is an attribute, made on first use (module
``__getattr__``): the native adapter ``ccxtpro_fast.exchanges.<id>`` when there is one,
else ccxt.pro's class with our transport and books. ``exchanges`` is the list of ids (and
also the adapters' package, see exchanges/__init__.py), the ccxt errors and ``Exchange``
are here as in ``ccxt.pro``. ``busy_poll()`` makes the running asyncio loop spin instead of
sleeping between events (base/busypoll.py).
"""
import ccxt.pro as _ccxt_pro
from ccxt.base import errors as _errors

from ccxtpro_fast._build import build_info
from ccxtpro_fast._core import (
    CountedOrderBook,
    IndexedOrderBook,
    OrderBook,
)
from ccxtpro_fast.base import registry as _registry
from ccxtpro_fast.base.busypoll import busy_poll
from ccxtpro_fast.base.exchange import Exchange, ExchangeMixin
from ccxtpro_fast import exchanges  # noqa: F401  the package that is also the list of ids

__version__ = '0.1.0'

# the error classes ccxt.pro re-exports, whatever this ccxt version has
_ERROR_NAMES = tuple(name for name in dir(_ccxt_pro)
                     if getattr(_errors, name, None) is getattr(_ccxt_pro, name) and not name.startswith('_'))
globals().update({name: getattr(_ccxt_pro, name) for name in _ERROR_NAMES})


def __getattr__(name):
    if name in _registry.ids:
        cls = _registry.exchange_class(name)
        globals()[name] = cls  # later lookups are plain module attribute hits
        return cls
    raise AttributeError("module 'ccxtpro_fast' has no attribute " + repr(name))


def __dir__():
    return sorted(set(globals()) | set(_registry.ids))


__all__ = ['Exchange', 'ExchangeMixin', 'OrderBook', 'CountedOrderBook', 'IndexedOrderBook', 'build_info',
           'busy_poll', 'exchanges', '__version__'] + list(_ERROR_NAMES) + list(_registry.ids)
