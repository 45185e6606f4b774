# cython: boundscheck=True, wraparound=True, binding=True
"""ccxt's ``safe_*`` accessors, compiled, with exactly ccxt's semantics.

Each function here is the text of its namesake in ``ccxt/base/exchange.py`` (ccxt 4.5.90)
written against the C API that the Python statements compile to:

* ``dictionary[key]`` is ``PyObject_GetItem`` (lists, tuples, strings, dicts and their
  subclasses alike, ``__missing__`` and negative indices included);
* ``float(x)`` is ``PyNumber_Float``, ``int(x)`` ``PyNumber_Long``, ``str(x)``
  ``PyObject_Str``, ``isinstance`` ``PyObject_IsInstance``, ``a * b``
  ``PyNumber_Multiply``, and ``value != ''`` the rich comparison;
* ``except Exception`` catches what ccxt's catches (a ``BaseException`` that is not an
  ``Exception``, such as ``KeyboardInterrupt``, goes through as in ccxt).

The gain is the Python frame, the ``try`` set-up and, on a missing key, the raised and
caught ``KeyError``/``IndexError`` that ccxt pays on every call: in C the miss is a
cleared error indicator. ``tests/test_safe.py`` compares every function with ccxt's on
generated inputs (same result, or the same exception type).

The module-level functions taking ``dictionary`` first are ccxt's static methods; the
ones taking ``self`` first (``safe_dict``, ``safe_list``, ``safe_bool``) are ccxt's
instance methods, which call ``self.safe_value`` and ``self.is_dictionary``: here those
calls are inlined, so they stand for ccxt's only on a class whose ``safe_value`` and
``is_dictionary`` are ccxt's (or these). ``ExchangeMixin`` installs them only there.
"""
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.long cimport PyLong_AsSsize_t
from cpython.number cimport PyNumber_Float, PyNumber_Long, PyNumber_Multiply
from cpython.object cimport PyObject, PyObject_GetItem, PyObject_IsInstance, PyObject_Str

cdef extern from "Python.h":
    long long PyLong_AsLongLongAndOverflow(object obj, int *overflow) except? -1
    object PyLong_FromLongLong(long long v)
    bint PyUnicode_IS_COMPACT_ASCII(object o)
    const char *PyUnicode_DATA(object o)
    Py_ssize_t PyUnicode_GET_LENGTH(object o)
    # NULL without an error set is a miss; with one (an unhashable key) Cython raises it
    PyObject *PyDict_GetItemWithError(object mp, object key) except? NULL

__all__ = [
    'safe_value', 'safe_value_2', 'safe_string', 'safe_string_2', 'safe_string_lower',
    'safe_string_upper', 'safe_integer', 'safe_integer_2', 'safe_integer_product',
    'safe_timestamp', 'safe_float', 'safe_float_2', 'safe_dict', 'safe_list', 'safe_bool',
    'handle_deltas',
]


# ------------------------------------------------------------------ the shared steps
#
# Each returns NULL-free objects; a miss (any Exception) is reported as `_MISS`, so the
# callers keep ccxt's "try the next key, else the default" shape.

cdef object _MISS = object()


cdef inline object _get(object dictionary, object key):
    """dictionary[key], or _MISS where that raises an Exception (raising instead when the
    lookup itself raises something ccxt's `except Exception` would also catch: callers
    catch it). The shortcuts give what the subscript gives, without building the
    KeyError/IndexError/TypeError that a miss costs in Python."""
    cdef PyObject *found
    cdef Py_ssize_t i, n
    if type(dictionary) is dict:
        # an exact dict has no __missing__: a miss is a KeyError, nothing else runs
        found = PyDict_GetItemWithError(dictionary, key)
        if found is NULL:
            return _MISS
        return <object>found
    if dictionary is None:
        return _MISS    # None[key] is always a TypeError
    if type(dictionary) is list and type(key) is int:
        i = PyLong_AsSsize_t(key)   # OverflowError: Python's list raises IndexError
        n = PyList_GET_SIZE(dictionary)
        if i < 0:
            i += n
        if 0 <= i < n:
            return <object>PyList_GET_ITEM(dictionary, i)
        return _MISS
    return PyObject_GetItem(dictionary, key)


cdef inline object _value(object dictionary, object key):
    # try: value = dictionary[key]; if value is not None and value != '': return value
    try:
        value = _get(dictionary, key)
        if value is not _MISS and value is not None and value != '':
            return value
    except Exception:
        pass
    return _MISS


cdef inline object _string(object dictionary, object key):
    try:
        value = _get(dictionary, key)
        if value is not None and value is not _MISS:
            t = type(value)
            if t is str and value != '':
                return value
            if t is float or t is int:
                return PyObject_Str(value)
    except Exception:
        pass
    return _MISS


# |n| <= 2**53: float(n) is exact, so int(float(n)) == n
cdef long long _EXACT = 9007199254740992


cdef inline object _integer(object dictionary, object key):
    # int(float(dictionary[key]))
    cdef int overflow = 0
    cdef long long n
    cdef const char *text
    cdef Py_ssize_t i, size
    try:
        value = _get(dictionary, key)
        if value is _MISS:
            return _MISS
        t = type(value)
        if t is int:
            # the usual case (ids, timestamps): no float and int objects in between
            n = PyLong_AsLongLongAndOverflow(value, &overflow)
            if overflow == 0 and -_EXACT <= n <= _EXACT:
                return value
        elif t is str and PyUnicode_IS_COMPACT_ASCII(value):
            # plain decimal digits (an optional '-'), at most 15 of them: float() reads
            # them exactly, so int(float(s)) is their integer
            text = PyUnicode_DATA(value)
            size = PyUnicode_GET_LENGTH(value)
            i = 1 if size > 1 and text[0] == b'-' else 0
            if 0 < size - i <= 15:
                n = 0
                while i < size and b'0' <= text[i] <= b'9':
                    n = n * 10 + (text[i] - 48)
                    i += 1
                if i == size:
                    return PyLong_FromLongLong(-n if text[0] == b'-' else n)
        return PyNumber_Long(PyNumber_Float(value))
    except Exception:
        return _MISS


cdef inline object _float(object dictionary, object key):
    try:
        value = _get(dictionary, key)
        if value is _MISS:
            return _MISS
        return PyNumber_Float(value)
    except Exception:
        return _MISS


cdef inline object _integer_product(object dictionary, object key, object factor):
    # int(float(dictionary[key]) * factor)
    try:
        value = _get(dictionary, key)
        if value is _MISS:
            return _MISS
        return PyNumber_Long(PyNumber_Multiply(PyNumber_Float(value), factor))
    except Exception:
        return _MISS


# ------------------------------------------------------------------ ccxt's static methods

def safe_value(dictionary, key, default_value=None):
    value = _value(dictionary, key)
    return default_value if value is _MISS else value


def safe_value_2(dictionary, key1, key2, default_value=None):
    value = _value(dictionary, key1)
    if value is _MISS:
        value = _value(dictionary, key2)
    return default_value if value is _MISS else value


def safe_string(dictionary, key, default_value=None):
    value = _string(dictionary, key)
    return default_value if value is _MISS else value


def safe_string_2(dictionary, key1, key2, default_value=None):
    value = _string(dictionary, key1)
    if value is _MISS:
        value = _string(dictionary, key2)
    return default_value if value is _MISS else value


def safe_string_lower(dictionary, key, default_value=None):
    # ccxt: value.lower() (or str(value).lower()) inside the try, so a failure is a miss
    try:
        value = _get(dictionary, key)
        if value is not None and value is not _MISS:
            t = type(value)
            if t is str and value != '':
                return value.lower()
            if t is float or t is int:
                return PyObject_Str(value).lower()
    except Exception:
        pass
    return default_value


def safe_string_upper(dictionary, key, default_value=None):
    try:
        value = _get(dictionary, key)
        if value is not None and value is not _MISS:
            t = type(value)
            if t is str and value != '':
                return value.upper()
            if t is float or t is int:
                return PyObject_Str(value).upper()
    except Exception:
        pass
    return default_value


def safe_integer(dictionary, key, default_value=None):
    value = _integer(dictionary, key)
    return default_value if value is _MISS else value


def safe_integer_2(dictionary, key1, key2, default_value=None):
    value = _integer(dictionary, key1)
    if value is _MISS:
        value = _integer(dictionary, key2)
    return default_value if value is _MISS else value


def safe_integer_product(dictionary, key, factor, default_value=None):
    value = _integer_product(dictionary, key, factor)
    return default_value if value is _MISS else value


def safe_timestamp(dictionary, key, default_value=None):
    # ccxt: Exchange.safe_integer_product(dictionary, key, 1000, default_value)
    value = _integer_product(dictionary, key, 1000)
    return default_value if value is _MISS else value


def safe_float(dictionary, key, default_value=None):
    value = _float(dictionary, key)
    return default_value if value is _MISS else value


def safe_float_2(dictionary, key1, key2, default_value=None):
    value = _float(dictionary, key1)
    if value is _MISS:
        value = _float(dictionary, key2)
    return default_value if value is _MISS else value


# ------------------------------------------------------------------ ccxt's instance methods
#
#     value = self.safe_value(dictionaryOrList, key, defaultValue)
#     if value is None: return defaultValue
#     if <test>(value): return value
#     return defaultValue
#
# with self.safe_value inlined (and self.is_dictionary: value is not None and
# isinstance(value, dict)).

def safe_dict(self, dictionaryOrList, key, defaultValue=None):
    value = _value(dictionaryOrList, key)
    if value is _MISS:
        value = defaultValue
    if value is None:
        return defaultValue
    if PyObject_IsInstance(value, dict):
        return value
    return defaultValue


def safe_list(self, dictionaryOrList, key, defaultValue=None):
    value = _value(dictionaryOrList, key)
    if value is _MISS:
        value = defaultValue
    if value is None:
        return defaultValue
    if PyObject_IsInstance(value, list):
        return value
    return defaultValue


def safe_bool(self, dictionaryOrList, key, defaultValue=None):
    value = _value(dictionaryOrList, key)
    if value is _MISS:
        value = defaultValue
    if PyObject_IsInstance(value, bool):
        return value
    return defaultValue


# ------------------------------------------------------------------ handle_deltas
#
# ccxt's standard pair (binance, okx, htx, bitvavo, bittrade, whitebit):
#
#     def handle_delta(self, bookside, delta):
#         price = self.safe_float(delta, 0)
#         amount = self.safe_float(delta, 1)
#         bookside.store(price, amount)
#
#     def handle_deltas(self, bookside, deltas):
#         for i in range(0, len(deltas)):
#             self.handle_delta(bookside, deltas[i])
#
# as one bulk store. ccxtpro_fast/base/fastpaths.py decides which classes qualify and
# records on each (class attribute `_ccxf_handle_deltas`) the exchange's own
# handle_deltas, and the handle_delta and safe_float it checked.

from ccxtpro_fast._core.orderbook cimport Asks as _Asks, Bids as _Bids, OrderBookSide


cdef extern from *:
    """
    static inline unsigned int ccxf_safe_type_version(PyObject *type) {
        /* 0 after the type or a base was modified, until a lookup gives it a new tag */
        return ((PyTypeObject *)type)->tp_version_tag;
    }
    """
    unsigned int ccxf_safe_type_version(object type)
    object PyObject_GenericGetDict(object obj, void *context)


# The last class found to qualify (its handle_delta and safe_float still the ones
# checked), with its version tag then: until the class or a base is modified (the tag
# changes) the check is a comparison instead of three class attribute lookups.
cdef object _qualified_cls = None
cdef unsigned int _qualified_version = 0
cdef object _qualified_original = None


def handle_deltas(self, bookside, deltas):
    """ccxt's standard ``handle_deltas`` as one ``bookside.store_levels(deltas)``.

    ``store_levels`` reads each price and amount as ``float()`` does (correctly rounded)
    and applies the levels in order. Where it cannot do what the loop would (a text
    ``float()`` reads differently or refuses, a ``None`` price, a non-finite number, a
    level that is not a ``[price, amount, ...]`` list) it raises, having applied the
    levels before that one, and the exchange's own loop then runs over the whole list.
    Storing a level is an assignment (price -> amount, 0 deletes), so a prefix applied
    twice leaves the book as applied once: the result, and the exception if any, are
    the loop's. The bulk store is skipped (the loop runs) for any other side type, a
    ``deltas`` that is not a list, and when ``handle_delta`` or ``safe_float`` are no
    longer the ones checked (patched on the class or the instance)."""
    global _qualified_cls, _qualified_version, _qualified_original
    cls = type(self)
    cdef unsigned int version = ccxf_safe_type_version(cls)
    cdef bint qualifies
    if version != 0 and version == _qualified_version and cls is _qualified_cls:
        original = _qualified_original
        qualifies = True
    else:
        record = cls._ccxf_handle_deltas
        original = record[0]
        qualifies = cls.handle_delta is record[1] and cls.safe_float is record[2]
        if qualifies:
            _qualified_cls = cls
            _qualified_original = original
            # read after the lookups, which give a modified type its new tag
            _qualified_version = ccxf_safe_type_version(cls)
    side_type = type(bookside)
    if qualifies and (side_type is _Asks or side_type is _Bids) and type(deltas) is list:
        own = PyObject_GenericGetDict(self, NULL)
        if 'handle_delta' not in own and 'safe_float' not in own:
            try:
                # price and amount only, as the loop's store(price, amount)
                (<OrderBookSide>bookside).store_list(deltas, False)
                return None
            except Exception:
                pass
    return original(self, bookside, deltas)
