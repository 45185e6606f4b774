"""Exchange classes by id: a native adapter when ``ccxtpro_fast.exchanges.<id>`` exists,
else ccxt.pro's class with ``Exchange`` (the mixin) in front, made on first use.

Adding an adapter is adding the file ``exchanges/<id>.py`` (installed as
``ccxtpro_fast.exchanges.<id>``) defining ``class <id>(Exchange, ccxt.pro.<id>)``.
"""
import importlib
import sys

import ccxt.pro

from ccxtpro_fast.base.exchange import Exchange, ExchangeMixin

__all__ = ['ADAPTERS_PACKAGE', 'ids', 'exchange_class', 'has_adapter', 'clear_cache']

ADAPTERS_PACKAGE = 'ccxtpro_fast.exchanges'

# the ids users iterate over, in ccxt.pro's order
ids = tuple(ccxt.pro.exchanges)
_id_set = frozenset(ids)
_classes = {}


def exchange_class(exchange_id):
    """The class ``ccxtpro_fast.<exchange_id>``."""
    cls = _classes.get(exchange_id)
    if cls is None:
        if exchange_id not in _id_set:
            raise AttributeError('ccxtpro_fast has no exchange ' + repr(exchange_id))
        cls = _adapter_class(exchange_id) or _mixed_class(exchange_id)
        _classes[exchange_id] = cls
    return cls


def has_adapter(exchange_id):
    """True when the class of ``exchange_id`` comes from a native adapter module."""
    return exchange_class(exchange_id).__module__ == ADAPTERS_PACKAGE + '.' + exchange_id


def _adapter_class(exchange_id):
    name = ADAPTERS_PACKAGE + '.' + exchange_id
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name == name:
            return None
        raise  # an adapter that fails to import is a bug to see, not a reason to fall back
    cls = getattr(module, exchange_id, None)
    if not (isinstance(cls, type) and issubclass(cls, ExchangeMixin)
            and issubclass(cls, getattr(ccxt.pro, exchange_id))):
        raise TypeError('%s must define class %s(Exchange, ccxt.pro.%s)' % (name, exchange_id, exchange_id))
    return cls


def _mixed_class(exchange_id):
    base = getattr(ccxt.pro, exchange_id)
    return type(exchange_id, (Exchange, base), {
        '__module__': 'ccxtpro_fast',
        '__qualname__': exchange_id,
        '__doc__': base.__doc__,
    })


def clear_cache():
    """Forget the classes made so far (tests that add an adapter at run time)."""
    _classes.clear()
    package = sys.modules.get('ccxtpro_fast')
    if package is not None:
        for exchange_id in ids:
            package.__dict__.pop(exchange_id, None)
