"""Native adapters, one module per exchange (``exchanges/<id>.py`` in the repository,
installed as ``ccxtpro_fast.exchanges.<id>``).

This package is also ``ccxtpro_fast.exchanges``, the name under which ccxt.pro exposes
its list of exchange ids (``ccxt.pro.exchanges``). Both uses must keep working, so the
package module's class is switched to a ``ModuleType`` subclass that also behaves as that
list: iteration, ``len``, ``in``, indexing and slicing, ``==`` with a list, ``repr``,
``index``/``count``. It is still a module (``isinstance(..., list)`` is False; use
``list(ccxtpro.exchanges)`` where a real list is needed, e.g. ``json.dumps``).
See docs/drop-in.md.
"""
import sys
import types

import ccxt.pro

_IDS = tuple(ccxt.pro.exchanges)


class _ExchangeIdsModule(types.ModuleType):
    """A package that is also the tuple of exchange ids (read-only, as a list would be
    shared with ccxt.pro otherwise)."""

    def __iter__(self):
        return iter(_IDS)

    def __reversed__(self):
        return reversed(_IDS)

    def __len__(self):
        return len(_IDS)

    def __bool__(self):
        return True

    def __contains__(self, exchange_id):
        return exchange_id in _IDS

    def __getitem__(self, index):
        if isinstance(index, slice):
            return list(_IDS[index])
        return _IDS[index]

    def __eq__(self, other):
        if isinstance(other, (list, tuple)):
            return list(_IDS) == list(other)
        return self is other

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = types.ModuleType.__hash__

    def __add__(self, other):
        return list(_IDS) + list(other)

    def __radd__(self, other):
        return list(other) + list(_IDS)

    def __repr__(self):
        return repr(list(_IDS))

    def index(self, exchange_id, *args):
        return _IDS.index(exchange_id, *args)

    def count(self, exchange_id):
        return _IDS.count(exchange_id)


sys.modules[__name__].__class__ = _ExchangeIdsModule
