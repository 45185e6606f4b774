# cython: freethreading_compatible = False
"""Compiled order books, drop-in for ccxt's OrderBook, CountedOrderBook, IndexedOrderBook.

A side keeps its levels in one C array (see src/ccxf.h); `side[i]` builds the
`[price, amount]` list only when it is read. Prices and amounts are the floats ccxt would
have (float() of the wire text, correctly rounded), and the wire text itself is kept as a
decimal mantissa and scale so that checksums rebuild the exchange's exact string.
"""
import sys

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.float cimport PyFloat_AS_DOUBLE
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.long cimport PyLong_AsLongLong
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE
from libc.math cimport isfinite
from libc.stdint cimport int64_t, int8_t, uint32_t
from libc.string cimport memcpy
from cpython.mem cimport PyMem_Free, PyMem_Malloc

from ccxt.base.exchange import Exchange as _CcxtExchange

cdef extern from "Python.h":
    const char *PyUnicode_AsUTF8AndSize(object s, Py_ssize_t *size) except NULL
    object PyUnicode_FromStringAndSize(const char *s, Py_ssize_t size)

cdef extern from "zlib.h":
    unsigned long crc32(unsigned long crc, const unsigned char *buf, unsigned int len) nogil

cdef object _iso8601 = _CcxtExchange.iso8601
cdef Py_ssize_t _UNLIMITED = sys.maxsize

# Checksum formats. Each is chosen once, when the adapter is written; see checksum_text.
CHECKSUM_OKX = 1        # OKX, Bitget: top 25, bid:ask interleaved "p:q", wire text, signed
CHECKSUM_KRAKEN = 2     # Kraken v1: top 10 asks then bids, "." and leading zeros removed
CHECKSUM_KRAKEN_V2 = 3  # Kraken v2: as v1, numbers rendered at the pair's precisions
CHECKSUM_BITFINEX = 4   # Bitfinex: top 25, bid/ask interleaved, JS numbers, asks negative

cdef enum:
    FMT_OKX = 1
    FMT_KRAKEN = 2
    FMT_KRAKEN_V2 = 3
    FMT_BITFINEX = 4


class DecimalError(ValueError):
    """A price or amount that is not a finite decimal number."""


# ------------------------------------------------------------------------------ numbers

cdef int parse_text(const char *data, Py_ssize_t size, number_t *out) except -1:
    cdef int rc = ccxf_parse_decimal(data, size, &out.value, &out.mant, &out.scale)
    if rc == CCXF_PARSE_OK:
        return 0
    text = data[:min(size, 40)].decode('utf-8', 'replace')
    if rc == CCXF_PARSE_TOO_LONG:
        raise DecimalError(f'number text longer than {CCXF_MAX_NUMBER_TEXT} bytes: {text!r}...')
    if rc == CCXF_PARSE_RANGE:
        raise DecimalError(f'number out of range: {text!r}')
    raise DecimalError(f'not a decimal number: {text!r}')


cdef int parse_number(object obj, number_t *out) except -1:
    cdef Py_ssize_t size
    cdef const char *data
    cdef type t = type(obj)
    if t is float:
        out.value = PyFloat_AS_DOUBLE(obj)
        out.scale = CCXF_NO_TEXT
    elif t is str:
        data = PyUnicode_AsUTF8AndSize(obj, &size)
        return parse_text(data, size, out)
    elif t is int:
        out.value = <double>obj
        if -1000000000000000000 < obj < 1000000000000000000:
            out.mant = PyLong_AsLongLong(obj)
            out.scale = 0
        else:
            out.scale = CCXF_NO_TEXT
    elif t is bytes:
        return parse_text(PyBytes_AS_STRING(obj), PyBytes_GET_SIZE(obj), out)
    elif obj is None or t is bool:
        raise TypeError(f'a price or amount must be a number or decimal text, not {obj!r}')
    else:
        # Decimal, numpy scalars, str subclasses: whatever float() accepts
        out.value = float(obj)
        out.scale = CCXF_NO_TEXT
    if not isfinite(out.value):
        raise DecimalError(f'not a finite number: {obj!r}')
    return 0


def parse_decimal(text):
    """Parse a decimal number text as the core does: returns (float, mantissa, scale).

    scale is -1 when the text cannot be kept exactly (exponent form or more than 18
    significant digits); the float is then still exactly float(text)."""
    cdef number_t n
    parse_number(text, &n)
    if n.scale < 0:
        return (n.value, None, -1)
    return (n.value, n.mant, n.scale)


cdef inline object _sequence_item(object seq, Py_ssize_t i):
    if type(seq) is list:
        if i < PyList_GET_SIZE(seq):
            return <object>PyList_GET_ITEM(seq, i)
    elif type(seq) is tuple:
        if i < PyTuple_GET_SIZE(seq):
            return <object>PyTuple_GET_ITEM(seq, i)
    else:
        return seq[i]
    raise IndexError(f'a level needs at least {i + 1} values: {seq!r}')


# ------------------------------------------------------------------------------ sides

cdef class OrderBookSide:
    """One side of a book: a sorted sequence of [price, amount] levels, best first.

    Behaves like ccxt's OrderBookSide (a list subclass there): indexing, slicing,
    iteration, len, equality with plain lists, store/store_array/storeArray, limit.
    `store_levels` applies a whole list of levels in one call."""

    side = None

    def __cinit__(self, *args, **kwargs):
        self.s.buf = NULL
        self.s.lo = 0
        self.s.n = 0
        self.s.cap = 0
        self.s.is_bid = 0
        self.depth = _UNLIMITED

    def __init__(self, deltas=(), depth=None):
        self.s.is_bid = 1 if type(self).side else 0
        self.depth = depth if depth else _UNLIMITED
        if deltas:
            self.store_levels(deltas)

    def __dealloc__(self):
        PyMem_Free(self.s.buf)
        self.s.buf = NULL

    # -------------------------------------------------------------- writing

    cdef int store_number(self, number_t *price, number_t *amount) except -1:
        if ccxf_store(&self.s, price.value, price.mant, price.scale,
                      amount.value, amount.mant, amount.scale) < 0:
            raise MemoryError()
        return 0

    cdef int store_pair(self, object price, object amount) except -1:
        cdef number_t p, a
        parse_number(price, &p)
        if amount is None:
            # ccxt deletes a level whose size is falsy, None included
            a.value = 0.0
            a.scale = CCXF_NO_TEXT
        else:
            parse_number(amount, &a)
        return self.store_number(&p, &a)

    cdef int store_delta(self, object delta) except -1:
        return self.store_pair(_sequence_item(delta, 0), _sequence_item(delta, 1))

    cdef int store_bytes_levels(self, const char *data, Py_ssize_t size) except -1:
        """Apply `[["price","amount"],...]` JSON text (strings or numbers) in one pass,
        without building a Python object per level."""
        cdef Py_ssize_t i = 0, start
        cdef number_t p, a
        cdef int k
        cdef number_t *nums[2]
        nums[0] = &p
        nums[1] = &a
        while i < size and data[i] <= 32:
            i += 1
        if i >= size or data[i] != b'[':
            raise ValueError('level array: expected "["')
        i += 1
        while True:
            while i < size and data[i] <= 32:
                i += 1
            if i < size and data[i] == b']':
                i += 1
                break
            if i >= size or data[i] != b'[':
                raise ValueError(f'level array: expected "[" at byte {i}')
            i += 1
            for k in range(2):
                while i < size and data[i] <= 32:
                    i += 1
                if i < size and data[i] == b'"':
                    i += 1
                    start = i
                    while i < size and data[i] != b'"':
                        i += 1
                    if i >= size:
                        raise ValueError('level array: unterminated string')
                    parse_text(data + start, i - start, nums[k])
                    i += 1
                else:
                    start = i
                    while i < size and data[i] != b',' and data[i] != b']' and data[i] > 32:
                        i += 1
                    parse_text(data + start, i - start, nums[k])
                while i < size and data[i] <= 32:
                    i += 1
                if k == 0:
                    if i >= size or data[i] != b',':
                        raise ValueError(f'level array: expected "," at byte {i}')
                    i += 1
            # a level may carry more values (ids, counts): skip them
            while i < size and data[i] != b']':
                if data[i] == b'"':
                    i += 1
                    while i < size and data[i] != b'"':
                        i += 1
                elif data[i] == b'[' or data[i] == b'{':
                    raise ValueError(f'level array: nested value at byte {i}')
                i += 1
            if i >= size:
                raise ValueError('level array: truncated')
            i += 1
            if not isfinite(p.value) or not isfinite(a.value):
                raise DecimalError('not a finite number in level array')
            self.store_number(&p, &a)
            while i < size and data[i] <= 32:
                i += 1
            if i < size and data[i] == b',':
                i += 1
                continue
            if i < size and data[i] == b']':
                i += 1
                break
            raise ValueError(f'level array: expected "," or "]" at byte {i}')
        while i < size and data[i] <= 32:
            i += 1
        if i != size:
            raise ValueError(f'level array: trailing bytes at {i}')
        return 0

    def store(self, price, size, *rest):
        """Set the amount at price; an amount of 0 (or None) removes the level."""
        if rest:
            return self.store_delta((price, size) + rest)
        self.store_pair(price, size)

    def store_array(self, delta):
        """Store one [price, amount] level (numbers or decimal text)."""
        self.store_delta(delta)

    def storeArray(self, delta):
        self.store_delta(delta)

    def store_levels(self, levels):
        """Store a whole list of levels as the exchange sent it, in one call:
        [["30000.10", "0.5"], ...] with decimal strings or numbers."""
        cdef Py_ssize_t i, n
        cdef object delta
        cdef number_t p, a
        if type(levels) is not list:
            levels = list(levels)
        n = PyList_GET_SIZE(levels)
        for i in range(n):
            delta = <object>PyList_GET_ITEM(levels, i)
            if type(delta) is list and PyList_GET_SIZE(delta) >= 2:
                # the hot path: one [price, amount] list as orjson gives it
                parse_number(<object>PyList_GET_ITEM(delta, 0), &p)
                amount = <object>PyList_GET_ITEM(delta, 1)
                if amount is None:
                    a.value = 0.0
                    a.scale = CCXF_NO_TEXT
                else:
                    parse_number(amount, &a)
                if ccxf_store(&self.s, p.value, p.mant, p.scale, a.value, a.mant, a.scale) < 0:
                    raise MemoryError()
            else:
                self.store_delta(delta)

    def store_json(self, data):
        """Store the levels of a JSON level array given as bytes (or str), e.g. the text
        `[["30000.10","0.5"],["29999.9","0"]]`, without building Python objects."""
        cdef const unsigned char[::1] view
        cdef Py_ssize_t size
        if type(data) is bytes:
            return self.store_bytes_levels(PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))
        if isinstance(data, str):
            cdata = PyUnicode_AsUTF8AndSize(data, &size)
            return self.store_bytes_levels(cdata, size)
        view = data
        if view.shape[0] == 0:
            raise ValueError('level array: empty input')
        return self.store_bytes_levels(<const char *>&view[0], view.shape[0])

    def limit(self):
        """Drop the worst levels beyond the side's depth."""
        ccxf_truncate(&self.s, self.depth)

    def clear(self):
        # keep the buffer; centre it so a snapshot loads without moving levels
        self.s.lo = self.s.cap // 2
        self.s.n = 0

    def remove_index(self, order):
        pass

    # -------------------------------------------------------------- reading

    cdef list level(self, Py_ssize_t i):
        cdef ccxf_level *lv = ccxf_at(&self.s, self.s.n - 1 - i)
        return [lv.price, lv.amount]

    def __len__(self):
        return self.s.n

    def __getitem__(self, index):
        cdef Py_ssize_t i, n = self.s.n
        if isinstance(index, slice):
            start, stop, step = index.indices(n)
            return [self.level(i) for i in range(start, stop, step)]
        i = index
        if i < 0:
            i += n
        if i < 0 or i >= n:
            raise IndexError('order book side index out of range')
        return self.level(i)

    def __iter__(self):
        cdef Py_ssize_t i
        for i in range(self.s.n):
            if i >= self.s.n:
                break
            yield self.level(i)

    def __reversed__(self):
        cdef Py_ssize_t i
        for i in range(self.s.n - 1, -1, -1):
            if i < self.s.n:
                yield self.level(i)

    def price(self, Py_ssize_t i=0):
        """The i-th best price as a float, without building the level list."""
        # negative i counts from the worst level, exactly as side[i] does
        if i < 0:
            i += self.s.n
        if i < 0 or i >= self.s.n:
            raise IndexError('order book side index out of range')
        return ccxf_at(&self.s, self.s.n - 1 - i).price

    def amount(self, Py_ssize_t i=0):
        """The i-th best amount as a float, without building the level list."""
        if i < 0:
            i += self.s.n
        if i < 0 or i >= self.s.n:
            raise IndexError('order book side index out of range')
        return ccxf_at(&self.s, self.s.n - 1 - i).amount

    def tolist(self):
        return [self.level(i) for i in range(self.s.n)]

    def __eq__(self, other):
        if isinstance(other, (list, tuple, OrderBookSide, IndexedOrderBookSide)):
            return self.tolist() == list(other)
        return NotImplemented

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = None

    def __repr__(self):
        return str(self.tolist())

    @property
    def _depth(self):
        return self.depth

    def copy(self):
        cdef OrderBookSide other = type(self)((), self.depth)
        if self.s.n:
            other.s.buf = <ccxf_level *>PyMem_Malloc(self.s.n * sizeof(ccxf_level))
            if other.s.buf == NULL:
                raise MemoryError()
            memcpy(other.s.buf, ccxf_at(&self.s, 0), self.s.n * sizeof(ccxf_level))
            other.s.n = other.s.cap = self.s.n
        return other

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    def __reduce__(self):
        return (type(self), (self.tolist(), None if self.depth == _UNLIMITED else self.depth))


cdef class Asks(OrderBookSide):
    side = False


cdef class Bids(OrderBookSide):
    side = True


cdef class CountedOrderBookSide(OrderBookSide):
    """Levels are [price, amount, count]; a count (or amount) of 0 removes the level."""

    cdef int store_delta(self, object delta) except -1:
        cdef number_t p, a
        cdef double count_value
        cdef Py_ssize_t pos
        cdef ccxf_level *lv
        count = _sequence_item(delta, 2)
        parse_number(_sequence_item(delta, 0), &p)
        amount = _sequence_item(delta, 1)
        if amount is None or count is None or not count:
            a.value = 0.0
            a.scale = CCXF_NO_TEXT
        else:
            parse_number(amount, &a)
        self.store_number(&p, &a)
        if a.value != 0.0:
            pos = ccxf_lower_bound(&self.s, ccxf_key(&self.s, p.value))
            lv = ccxf_at(&self.s, pos)
            if type(count) is int:
                lv.extra = <double>count
                lv.extra_is_int = 1
            else:
                lv.extra = float(count)
                lv.extra_is_int = 0
        return 0

    cdef list level(self, Py_ssize_t i):
        cdef ccxf_level *lv = ccxf_at(&self.s, self.s.n - 1 - i)
        if lv.extra_is_int:
            return [lv.price, lv.amount, <long long>lv.extra]
        return [lv.price, lv.amount, lv.extra]

    def store(self, price, size, count):
        self.store_delta((price, size, count))

    def store_levels(self, levels):
        for delta in levels:
            self.store_delta(delta)


cdef class CountedAsks(CountedOrderBookSide):
    side = False


cdef class CountedBids(CountedOrderBookSide):
    side = True


cdef class IndexedOrderBookSide:
    """Levels are [price, amount, order_id], keyed by order id (level 3 books).

    Same semantics as ccxt's IndexedOrderBookSide: an update may omit the price (None)
    and keeps the order's price; levels at one price are ordered by id."""

    side = None

    def __init__(self, deltas=(), depth=None):
        self.is_bid = bool(type(self).side)
        self.depth = depth if depth else _UNLIMITED
        self.keys = []
        self.levels = []
        self.hashmap = {}
        for delta in deltas:
            self.store_delta(list(delta))

    cdef int store_delta(self, object delta) except -1:
        cdef number_t p, a
        cdef Py_ssize_t index, n
        price = _sequence_item(delta, 0)
        size = _sequence_item(delta, 1)
        order_id = _sequence_item(delta, 2)
        keys = self.keys
        levels = self.levels
        if price is not None:
            parse_number(price, &p)
            index_price = -p.value if self.is_bid else p.value
        else:
            index_price = None
        if size is not None:
            parse_number(size, &a)
        else:
            a.value = 0.0
        if a.value != 0.0:
            if order_id in self.hashmap:
                old_price = self.hashmap[order_id]
                if not index_price:
                    index_price = old_price
                level_price = abs(index_price)
                if index_price == old_price:
                    index = self._find(old_price, order_id)
                    levels[index] = [level_price, a.value, order_id]
                    return 0
                index = self._find(old_price, order_id)
                del keys[index]
                del levels[index]
            elif index_price is None:
                raise ValueError(f'order {order_id!r} is not in the book and has no price')
            else:
                level_price = p.value
            self.hashmap[order_id] = index_price
            index = self._bisect(index_price)
            n = len(keys)
            while index < n and keys[index] == index_price and levels[index][2] < order_id:
                index += 1
            keys.insert(index, index_price)
            levels.insert(index, [level_price, a.value, order_id])
        elif order_id in self.hashmap:
            index = self._find(self.hashmap[order_id], order_id)
            del keys[index]
            del levels[index]
            del self.hashmap[order_id]
        return 0

    cdef Py_ssize_t _bisect(self, double key):
        cdef list keys = self.keys
        cdef Py_ssize_t lo = 0, hi = len(keys), mid
        while lo < hi:
            mid = (lo + hi) >> 1
            if <double>keys[mid] < key:
                lo = mid + 1
            else:
                hi = mid
        return lo

    cdef Py_ssize_t _find(self, double key, object order_id) except -1:
        cdef Py_ssize_t index = self._bisect(key), n = len(self.levels)
        while index < n and self.levels[index][2] != order_id:
            index += 1
        if index >= n:
            raise KeyError(order_id)
        return index

    def store(self, price, size, order_id):
        self.store_delta([price, size, order_id])

    def store_array(self, delta):
        self.store_delta(delta)

    def storeArray(self, delta):
        self.store_delta(delta)

    def store_levels(self, levels):
        for delta in levels:
            self.store_delta(delta)

    def limit(self):
        cdef Py_ssize_t extra = len(self.levels) - self.depth
        while extra > 0:
            order = self.levels.pop()
            self.keys.pop()
            self.hashmap.pop(order[2], None)
            extra -= 1

    def clear(self):
        self.keys.clear()
        self.levels.clear()
        self.hashmap.clear()

    def remove_index(self, order):
        self.hashmap.pop(order[2], None)

    def __len__(self):
        return len(self.levels)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [list(level) for level in self.levels[index]]
        return list(self.levels[index])

    def __iter__(self):
        for level in self.levels:
            yield list(level)

    def price(self, Py_ssize_t i=0):
        return self.levels[self._index(i)][0]

    def amount(self, Py_ssize_t i=0):
        return self.levels[self._index(i)][1]

    def _index(self, Py_ssize_t i):
        # The module compiles with boundscheck and wraparound off, so `self.levels[i]` with
        # a C index is read unchecked: an index out of range read freed memory or crashed.
        # Check it here; negative i counts from the worst level, as side[i] does.
        cdef Py_ssize_t n = len(self.levels)
        if i < 0:
            i += n
        if i < 0 or i >= n:
            raise IndexError('order book side index out of range')
        return i

    def tolist(self):
        return [list(level) for level in self.levels]

    def __eq__(self, other):
        if isinstance(other, (list, tuple, OrderBookSide, IndexedOrderBookSide)):
            return self.tolist() == list(other)
        return NotImplemented

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = None

    def __repr__(self):
        return str(self.tolist())

    @property
    def _depth(self):
        return self.depth

    def copy(self):
        return type(self)(self.tolist(), self.depth)

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    def __reduce__(self):
        return (type(self), (self.tolist(), None if self.depth == _UNLIMITED else self.depth))


cdef class IndexedAsks(IndexedOrderBookSide):
    side = False


cdef class IndexedBids(IndexedOrderBookSide):
    side = True


_SIDE_TYPES = (OrderBookSide, IndexedOrderBookSide)

# ------------------------------------------------------------------------------ books


cdef class OrderBook(dict):
    """A dict with 'bids', 'asks', 'timestamp', 'datetime', 'nonce', 'symbol', exactly as
    ccxt's OrderBook, over compiled sides."""

    def __init__(self, snapshot={}, depth=None):
        self.cache = []
        defaults = {
            'bids': [],
            'asks': [],
            'timestamp': None,
            'datetime': None,
            'nonce': None,
            'symbol': None,
        }
        defaults.update(snapshot)
        if not isinstance(defaults['asks'], _SIDE_TYPES):
            defaults['asks'] = self.new_side(defaults['asks'], depth, False)
        if not isinstance(defaults['bids'], _SIDE_TYPES):
            defaults['bids'] = self.new_side(defaults['bids'], depth, True)
        defaults['datetime'] = _iso8601(defaults.get('timestamp'))
        dict.__init__(self, defaults)

    cdef object new_side(self, object levels, object depth, bint is_bid):
        return (Bids if is_bid else Asks)(levels, depth)

    def limit(self):
        self['asks'].limit()
        self['bids'].limit()
        return self

    def reset(self, snapshot={}):
        """Replace the whole book with a snapshot (levels as numbers or decimal text)."""
        asks = self['asks']
        bids = self['bids']
        asks.clear()
        asks.store_levels(snapshot.get('asks', ()))
        bids.clear()
        bids.store_levels(snapshot.get('bids', ()))
        self['nonce'] = snapshot.get('nonce')
        self['timestamp'] = snapshot.get('timestamp')
        self['datetime'] = _iso8601(self['timestamp'])
        self['symbol'] = snapshot.get('symbol')
        if 'outcome' in snapshot:
            # prediction-market books are keyed by outcome, as in ccxt
            self['outcome'] = snapshot.get('outcome')
            self['outcomeId'] = snapshot.get('outcomeId')
            self['market'] = snapshot.get('market')
            self.pop('symbol', None)

    def update(self, snapshot):
        nonce = snapshot.get('nonce')
        if nonce is not None and self['nonce'] is not None and nonce < self['nonce']:
            return self
        self.reset(snapshot)

    def copy(self):
        snapshot = {}
        if 'outcome' in self:
            snapshot['outcome'] = self.get('outcome')
            snapshot['outcomeId'] = self.get('outcomeId')
            snapshot['market'] = self.get('market')
        else:
            snapshot['symbol'] = self.get('symbol')
        other = type(self)(snapshot, self['asks']._depth)
        other['asks'] = self['asks'].copy()
        other['bids'] = self['bids'].copy()
        other['nonce'] = self.get('nonce')
        other['timestamp'] = self.get('timestamp')
        other['datetime'] = self.get('datetime')
        return other

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    def __reduce__(self):
        depth = self['asks']._depth
        state = {k: (v.tolist() if isinstance(v, _SIDE_TYPES) else v) for k, v in self.items()}
        return (type(self), (state, None if depth == _UNLIMITED else depth))

    # -------------------------------------------------------------- checksums

    def checksum_text(self, int fmt, int depth=25, int price_precision=-1,
                      int amount_precision=-1):
        """The text a checksum format hashes, for debugging a mismatch."""
        cdef char *buf
        cdef Py_ssize_t n
        buf = self._checksum_buffer(depth)
        try:
            n = self._write_checksum_text(buf, fmt, depth, price_precision, amount_precision)
            return PyUnicode_FromStringAndSize(buf, n)
        finally:
            PyMem_Free(buf)

    def checksum(self, int fmt, int depth=25, int price_precision=-1, int amount_precision=-1):
        """The book's checksum in the exchange's format, as the exchange publishes it:
        signed 32-bit for OKX, Bitget and Bitfinex, unsigned for Kraken."""
        cdef uint32_t crc = self.checksum_crc(fmt, depth, price_precision, amount_precision)
        if fmt == FMT_OKX or fmt == FMT_BITFINEX:
            return <int>crc
        return crc

    cdef uint32_t checksum_crc(self, int fmt, int depth, int price_precision,
                               int amount_precision) except? 0xFFFFFFFF:
        cdef char stack_buf[16384]
        cdef char *buf = stack_buf
        cdef Py_ssize_t n
        cdef uint32_t crc
        if depth < 0:
            raise ValueError('checksum depth must be >= 0')
        if 2 * depth * CCXF_LEVEL_TEXT_MAX > sizeof(stack_buf):
            buf = self._checksum_buffer(depth)
        try:
            n = self._write_checksum_text(buf, fmt, depth, price_precision, amount_precision)
            crc = <uint32_t>crc32(0, <const unsigned char *>buf, <unsigned int>n)
        finally:
            if buf != stack_buf:
                PyMem_Free(buf)
        return crc

    cdef char *_checksum_buffer(self, int depth) except NULL:
        cdef char *buf = <char *>PyMem_Malloc(2 * max(depth, 1) * CCXF_LEVEL_TEXT_MAX)
        if buf == NULL:
            raise MemoryError()
        return buf

    cdef Py_ssize_t _write_checksum_text(self, char *buf, int fmt, int depth,
                                         int price_precision, int amount_precision) except -1:
        cdef object bids_obj = self['bids'], asks_obj = self['asks']
        cdef OrderBookSide bids, asks
        cdef ccxf_level *lv
        cdef Py_ssize_t i, nb, na, o = 0, j
        if not isinstance(bids_obj, OrderBookSide) or not isinstance(asks_obj, OrderBookSide):
            raise TypeError('checksums need price-level sides (not an indexed book)')
        bids = <OrderBookSide>bids_obj
        asks = <OrderBookSide>asks_obj
        nb = min(bids.s.n, depth)
        na = min(asks.s.n, depth)
        if fmt == FMT_OKX or fmt == FMT_BITFINEX:
            for i in range(max(nb, na)):
                if i < nb:
                    lv = ccxf_at(&bids.s, bids.s.n - 1 - i)
                    if o:
                        buf[o] = b':'
                        o += 1
                    if fmt == FMT_OKX:
                        o += ccxf_render_wire(buf + o, lv.price, lv.price_mant, lv.price_scale)
                        buf[o] = b':'
                        o += 1
                        o += ccxf_render_wire(buf + o, lv.amount, lv.amount_mant, lv.amount_scale)
                    else:
                        o += ccxf_render_js(buf + o, lv.price)
                        buf[o] = b':'
                        o += 1
                        o += ccxf_render_js(buf + o, lv.amount)
                if i < na:
                    lv = ccxf_at(&asks.s, asks.s.n - 1 - i)
                    if o:
                        buf[o] = b':'
                        o += 1
                    if fmt == FMT_OKX:
                        o += ccxf_render_wire(buf + o, lv.price, lv.price_mant, lv.price_scale)
                        buf[o] = b':'
                        o += 1
                        o += ccxf_render_wire(buf + o, lv.amount, lv.amount_mant, lv.amount_scale)
                    else:
                        o += ccxf_render_js(buf + o, lv.price)
                        buf[o] = b':'
                        o += 1
                        o += ccxf_render_js(buf + o, -lv.amount)
            return o
        if fmt == FMT_KRAKEN or fmt == FMT_KRAKEN_V2:
            if fmt == FMT_KRAKEN:
                price_precision = -1
                amount_precision = -1
            elif price_precision < 0 or amount_precision < 0:
                raise ValueError("Kraken v2 checksums need the pair's price and amount precision")
            for j in range(na):
                lv = ccxf_at(&asks.s, asks.s.n - 1 - j)
                o += ccxf_render_kraken(buf + o, lv.price, lv.price_mant, lv.price_scale,
                                        price_precision)
                o += ccxf_render_kraken(buf + o, lv.amount, lv.amount_mant, lv.amount_scale,
                                        amount_precision)
            for j in range(nb):
                lv = ccxf_at(&bids.s, bids.s.n - 1 - j)
                o += ccxf_render_kraken(buf + o, lv.price, lv.price_mant, lv.price_scale,
                                        price_precision)
                o += ccxf_render_kraken(buf + o, lv.amount, lv.amount_mant, lv.amount_scale,
                                        amount_precision)
            return o
        raise ValueError(f'unknown checksum format {fmt}')


cdef class CountedOrderBook(OrderBook):
    """Levels are [price, amount, count]; as ccxt's CountedOrderBook."""

    cdef object new_side(self, object levels, object depth, bint is_bid):
        return (CountedBids if is_bid else CountedAsks)(levels, depth)


cdef class IndexedOrderBook(OrderBook):
    """Levels are [price, amount, order_id]; as ccxt's IndexedOrderBook."""

    cdef object new_side(self, object levels, object depth, bint is_bid):
        return (IndexedBids if is_bid else IndexedAsks)(levels, depth)


cdef extern from *:
    const char *CCXF_BUILD_MODE

BUILD_MODE = CCXF_BUILD_MODE.decode('ascii')
