# cython: freethreading_compatible = False
"""Compiled order books, drop-in for ccxt's OrderBook, CountedOrderBook, IndexedOrderBook.

A side keeps its levels in one C array (see src/ccxf.h); `side[i]` builds the
`[price, amount]` list only when it is read. Prices and amounts are the floats ccxt would
have (float() of the wire text, correctly rounded), and the wire text itself is kept so
that checksums hash the exchange's exact string.
"""
import sys

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_GetItemWithError
from cpython.float cimport PyFloat_AS_DOUBLE
from cpython.list cimport PyList_GET_SIZE
from cpython.long cimport PyLong_AsLongLong, PyLong_CheckExact
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE
from libc.math cimport isfinite
from libc.stdint cimport int64_t, int8_t, uint8_t, uint32_t
from libc.string cimport memchr, memcmp, memcpy, memset
from cpython.mem cimport PyMem_Free, PyMem_Malloc

from ccxt.base.exchange import Exchange as _CcxtExchange

cdef extern from "Python.h":
    ctypedef struct PyObject
    PyObject *PyList_GET_ITEM(object l, Py_ssize_t i)
    bint PyList_CheckExact(PyObject *o)
    const char *PyUnicode_AsUTF8AndSize(object s, Py_ssize_t *size) except NULL
    bint PyUnicode_IS_COMPACT_ASCII(object s)
    void *PyUnicode_DATA(object s)
    Py_ssize_t PyUnicode_GET_LENGTH(object s)
    object PyUnicode_FromStringAndSize(const char *s, Py_ssize_t size)

cdef extern from "ccxf.h":
    uint32_t ccxf_crc32(uint32_t crc, const unsigned char *buf, size_t len) nogil
    uint32_t ccxf_crc32_zlib(uint32_t crc, const unsigned char *buf, size_t len) nogil
    int ccxf_crc32_uses_pclmul() nogil
    const char *ccxf_ascii_text(PyObject *o, Py_ssize_t *len)
    Py_ssize_t ccxf_store_text_levels(ccxf_side *side, list levels, Py_ssize_t i,
                                      int keep_extra)
    int ccxf_parse_amount_words(const char *s, Py_ssize_t n, double *value, int *lazy)
    int ccxf_parse_amount_sse2(const char *s, Py_ssize_t n, double *value, int *lazy)
    bint CCXF_HAVE_SSE2

cdef object _iso8601 = _CcxtExchange.iso8601
cdef Py_ssize_t _UNLIMITED = sys.maxsize
# an order count is kept as a double: ints beyond 2**53 would not come back exactly
cdef object _MAX_EXACT_COUNT = 1 << 53
cdef object _INT64_MIN = -(1 << 63)
cdef object _INT64_MAX = (1 << 63) - 1
# Kraken v2 precisions past this are no real pair's: refuse them rather than render text
# the renderer cannot write exactly (it fell back to a float that overflowed and wrote
# nothing at all for that number)
cdef int _MAX_KRAKEN_PRECISION = 30


cdef Py_ssize_t _side_depth(object depth) except -1:
    """ccxt's rule: a falsy depth means unlimited. A negative depth used to pass through:
    limit() then gave the side a negative length (SystemError from len(), and the next
    store moved memory with a negative size: a crash)."""
    if not depth:
        return _UNLIMITED
    if depth < 0:
        raise ValueError(f'depth must be None, 0 or positive, not {depth!r}')
    return depth


cdef int _checksum_depth(object book, int depth) except -1:
    """The depth a checksum really covers: no more levels than the book holds. The text
    buffer is sized from it; `2 * depth * CCXF_LEVEL_TEXT_MAX` used to overflow a C int
    for huge depths (a tiny buffer, then a heap overflow) or ask gigabytes for a small book."""
    cdef Py_ssize_t nb, na
    if depth < 0:
        raise ValueError('checksum depth must be >= 0')
    bids = book['bids']
    asks = book['asks']
    # typed lengths: Python's min/max here cost more than the whole checksum text
    nb = (<OrderBookSide>bids).s.n if isinstance(bids, OrderBookSide) else len(bids)
    na = (<OrderBookSide>asks).s.n if isinstance(asks, OrderBookSide) else len(asks)
    if nb < na:
        nb = na
    return depth if depth < nb else <int>nb


cdef inline Py_ssize_t _kraken_number(char *out, double v, const char *text, uint8_t len,
                                      int precision) except -1:
    # the renderer used to write nothing (a wrong checksum text, silently) for a number
    # without wire text that it cannot write exactly at this precision
    cdef Py_ssize_t n = ccxf_render_kraken(out, v, text, len, precision)
    if n < 0:
        raise ValueError(f'Kraken v2 checksum: {v!r} came without text and cannot be '
                         f'written exactly at {precision} decimals')
    return n


cdef inline Py_ssize_t _kraken_level(char *out, ccxf_level *lv, double price,
                                     int price_precision, int amount_precision) except -1:
    # a level's two numbers in Kraken's form: from the kept wire text by word moves when
    # it is short and plain (ccxf_kraken_text16), else by the general renderer, which
    # alone needs a lazily stored amount's value
    cdef Py_ssize_t n = -2, m = -2
    if price_precision >= 0:
        n = ccxf_kraken_text16(out, ccxf_price_text(lv), lv.price_len, price_precision)
    if n == -2:
        n = _kraken_number(out, price, ccxf_price_text(lv), lv.price_len, price_precision)
    if amount_precision >= 0:
        m = ccxf_kraken_text16(out + n, ccxf_amount_text(lv), lv.amount_len,
                               amount_precision)
    if m == -2:
        m = _kraken_number(out + n, ccxf_amount(lv), ccxf_amount_text(lv), lv.amount_len,
                           amount_precision)
    return n + m


def _kraken_number_for_tests(text, int precision, bint word_moves):
    """Kraken's form of one number's wire text (str) at `precision`, by the general
    renderer or by the word-move path (None where that path declines the text), read
    from a level's text field as the checksum reads it."""
    cdef ccxf_level lv
    cdef char out[256]
    cdef Py_ssize_t n
    data = text.encode('ascii')
    if len(data) > 23:      # CCXF_TEXT_MAX
        raise ValueError('longer than a level keeps')
    memset(&lv, 0x55, sizeof(lv))      # bytes past the text are not zeros in a real level
    lv.price_len = <uint8_t>len(data)
    memcpy(<char *>ccxf_price_text(&lv), <const char *>data, len(data))
    if word_moves:
        n = ccxf_kraken_text16(out, ccxf_price_text(&lv), lv.price_len, precision)
        if n == -2:
            return None
    else:
        try:
            value = float(text)
        except ValueError:
            value = float('nan')     # text the store would refuse; only its bytes count
        n = _kraken_number(out, value, ccxf_price_text(&lv), lv.price_len, precision)
    return out[:n].decode('ascii')


cdef inline bint _json_ws(char c):
    # JSON whitespace only: the old `<= 32` test let control characters through, and (char
    # is signed) every byte >= 0x80 as well
    return c == b' ' or c == b'\n' or c == b'\r' or c == b'\t'


cdef inline Py_ssize_t _skip_ws(const char *data, Py_ssize_t i, Py_ssize_t size) noexcept:
    while i < size and _json_ws(data[i]):
        i += 1
    return i


cdef int _check_json_number(const char *data, Py_ssize_t size) except -1:
    # parse_text takes what float() takes; a bare JSON number also has no leading zero
    cdef Py_ssize_t j = 1 if size > 0 and data[0] == b'-' else 0
    if j + 1 < size and data[j] == b'0' and b'0' <= data[j + 1] <= b'9':
        raise ValueError(f'level array: number with a leading zero: {data[:size]!r}')
    return 0


cdef Py_ssize_t _skip_json_value(const char *data, Py_ssize_t i, Py_ssize_t size) except -1:
    """Skip one flat JSON value (string, number, true, false, null) that a level carries
    after its amount; returns the index after it."""
    cdef Py_ssize_t start = i, k
    cdef number_t scratch
    if i >= size:
        raise ValueError('level array: truncated')
    if data[i] == b'"':
        i += 1
        while i < size and data[i] != b'"':
            if <unsigned char>data[i] < 0x20:
                raise ValueError(f'level array: control character in a string at byte {i}')
            if data[i] == b'\\':
                i += 1
                if i >= size or data[i] not in b'"\\/bfnrtu':
                    raise ValueError(f'level array: bad escape at byte {i}')
                if data[i] == b'u':
                    for k in range(4):
                        i += 1
                        if i >= size or data[i] not in b'0123456789abcdefABCDEF':
                            raise ValueError(f'level array: bad escape at byte {i}')
            i += 1
        if i >= size:
            raise ValueError('level array: unterminated string')
        return i + 1
    if data[i] == b'[' or data[i] == b'{':
        raise ValueError(f'level array: nested value at byte {i}')
    while i < size and data[i] != b',' and data[i] != b']' and not _json_ws(data[i]):
        i += 1
    if data[start:i] in (b'true', b'false', b'null'):
        return i
    _check_json_number(data + start, i - start)
    parse_text(data + start, i - start, &scratch)
    return i

# Checksum formats. Each is chosen once, when the adapter is written; see checksum_text.
CHECKSUM_OKX = 1        # OKX, Bitget: top 25, bid:ask interleaved "p:q", wire text, signed
CHECKSUM_KRAKEN = 2     # Kraken v1: top 10 asks then bids, "." and leading zeros removed
CHECKSUM_KRAKEN_V2 = 3  # Kraken v2: as v1, numbers rendered at the pair's precisions
CHECKSUM_BITFINEX = 4   # Bitfinex: top 25, bid/ask interleaved, JS numbers, asks negative

cdef enum:
    # what a counted level's third value is
    EXTRA_FLOAT = 0
    EXTRA_INT = 1
    EXTRA_OBJECT = 2
    EXTRA_INT64 = 3     # a plain side's kept third item: int64 bits in `extra`

cdef enum:
    FMT_OKX = 1
    FMT_KRAKEN = 2
    FMT_KRAKEN_V2 = 3
    FMT_BITFINEX = 4


class DecimalError(ValueError):
    """A price or amount that is not a finite decimal number."""


# ------------------------------------------------------------------------------ numbers

cdef int _raise_parse_error(int rc, const char *data, Py_ssize_t size) except -1:
    text = data[:min(size, 40)].decode('utf-8', 'replace')
    if rc == CCXF_PARSE_TOO_LONG:
        raise DecimalError(f'number text longer than {CCXF_MAX_NUMBER_TEXT} bytes: {text!r}...')
    if rc == CCXF_PARSE_RANGE:
        raise DecimalError(f'number out of range: {text!r}')
    raise DecimalError(f'not a decimal number: {text!r}')


cdef inline int _parse_level_text(const char *data, Py_ssize_t size, number_t *out, int k,
                                  int *lazy) except -1:
    """A level's price (k 0) or amount (k 1) from its text; the amount lazily."""
    cdef int rc
    if k == 0:
        return parse_text(data, size, out)
    rc = ccxf_parse_amount(data, size, &out.value, lazy)
    if rc != CCXF_PARSE_OK:
        return _raise_parse_error(rc, data, size)
    out.text = data
    out.len = size
    return 0


cdef inline int _parse_level_str(const char *data, Py_ssize_t size, number_t *out, int k,
                                 int *lazy) except -1:
    """_parse_level_text for text with 16 readable bytes before its end (inside a bytes or
    compact ASCII str object): the word-at-a-time parsers."""
    cdef int rc
    if k == 0:
        rc = ccxf_parse_price_str(data, size, &out.value)
    else:
        rc = ccxf_parse_amount_str(data, size, &out.value, lazy)
    if rc != CCXF_PARSE_OK:
        return _raise_parse_error(rc, data, size)
    out.text = data
    out.len = size
    return 0


cdef inline int parse_text(const char *data, Py_ssize_t size, number_t *out) except -1:
    cdef int64_t mant
    cdef int8_t scale
    cdef int rc = ccxf_parse_decimal(data, size, &out.value, &mant, &scale)
    if rc != CCXF_PARSE_OK:
        return _raise_parse_error(rc, data, size)
    out.text = data
    out.len = size
    return 0


cdef inline int parse_number(object obj, number_t *out) except -1:
    cdef Py_ssize_t size
    cdef const char *data
    cdef type t = type(obj)
    if t is float:
        out.value = PyFloat_AS_DOUBLE(obj)
        out.len = 0
    elif t is str:
        if PyUnicode_IS_COMPACT_ASCII(obj):
            # what orjson gives: the text bytes are the str's own data, no conversion
            return parse_text(<const char *>PyUnicode_DATA(obj), PyUnicode_GET_LENGTH(obj), out)
        data = PyUnicode_AsUTF8AndSize(obj, &size)
        return parse_text(data, size, out)
    elif t is int:
        out.value = <double>obj
        if -1000000000000000000 < obj < 1000000000000000000:
            out.len = ccxf_render_decimal(out.scratch, PyLong_AsLongLong(obj), 0)
            out.text = out.scratch
        else:
            out.len = 0
    elif t is bytes:
        return parse_text(PyBytes_AS_STRING(obj), PyBytes_GET_SIZE(obj), out)
    elif obj is None or t is bool:
        raise TypeError(f'a price or amount must be a number or decimal text, not {obj!r}')
    else:
        # Decimal, numpy scalars, str subclasses: whatever float() accepts
        out.value = float(obj)
        out.len = 0
    if not isfinite(out.value):
        raise DecimalError(f'not a finite number: {obj!r}')
    return 0


def parse_decimal(text):
    """Parse a decimal number text as the core does: returns (float, mantissa, scale).

    scale is -1 when the text has no exact decimal mantissa of at most 18 significant
    digits (exponent form, very long); the float is then still exactly float(text)."""
    cdef number_t n
    cdef double value
    cdef int64_t mant
    cdef int8_t scale
    parse_number(text, &n)
    if n.len == 0:
        return (n.value, None, -1)
    ccxf_parse_decimal(n.text, n.len, &value, &mant, &scale)
    if scale < 0:
        return (n.value, None, -1)
    return (n.value, mant, scale)


def _crc32_for_tests(bytes data, unsigned int crc=0, Py_ssize_t offset=0, bint zlib_only=False):
    """ccxf_crc32 (or its zlib fallback) over data[offset:] in place: an offset gives the
    folding loads an unaligned buffer, which a sliced copy would not."""
    if offset < 0 or offset > PyBytes_GET_SIZE(data):
        raise ValueError('offset out of range')
    cdef const unsigned char *p = <const unsigned char *>PyBytes_AS_STRING(data) + offset
    cdef size_t n = <size_t>(PyBytes_GET_SIZE(data) - offset)
    if zlib_only:
        return ccxf_crc32_zlib(crc, p, n)
    return ccxf_crc32(crc, p, n)


def _amount_for_tests(bytes data, Py_ssize_t start=16):
    """Each way the core validates an amount in a buffer (see ccxf_parse_amount_str), as
    {way: (return code, value, lazy)}, for the number data[start:]: the ways read the 16
    bytes up to its end, so at least 16 - len bytes must come before it."""
    cdef const char *text
    cdef Py_ssize_t size = PyBytes_GET_SIZE(data)
    cdef double value = 0.0
    cdef int lazy = 0, rc
    if start < 0 or start > size or size < 16:
        raise ValueError('the ways read 16 bytes up to the end of data')
    text = PyBytes_AS_STRING(data) + start
    out = {}
    rc = ccxf_parse_amount_words(text, size - start, &value, &lazy)
    out['words'] = (rc, value, lazy)
    if CCXF_HAVE_SSE2:
        value = 0.0
        lazy = 0
        rc = ccxf_parse_amount_sse2(text, size - start, &value, &lazy)
        out['sse2'] = (rc, value, lazy)
    return out


def _crc32_uses_pclmul():
    """True when ccxf_crc32 folds with PCLMULQDQ on this CPU (False: zlib only)."""
    return bool(ccxf_crc32_uses_pclmul())


cdef inline object _level_extra(object delta):
    """The int a plain side keeps as a level's third item (see OrderBookSide.store_delta),
    or None: an int third item in int64 range; anything else is not kept."""
    if type(delta) is list:
        if PyList_GET_SIZE(delta) < 3:
            return None
        extra = <object>PyList_GET_ITEM(delta, 2)
    elif type(delta) is tuple:
        if PyTuple_GET_SIZE(delta) < 3:
            return None
        extra = <object>PyTuple_GET_ITEM(delta, 2)
    else:
        try:
            if len(delta) < 3:
                return None
            extra = delta[2]
        except TypeError:
            return None
    if type(extra) is int and _INT64_MIN <= extra <= _INT64_MAX:
        return extra
    return None


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
        ccxf_side_init(&self.s, 0)
        self.depth = _UNLIMITED

    def __init__(self, deltas=(), depth=None):
        self.s.is_bid = 1 if type(self).side else 0
        self.depth = _side_depth(depth)
        if deltas:
            self.store_levels(deltas)

    def __dealloc__(self):
        ccxf_side_free(&self.s)

    # -------------------------------------------------------------- writing

    cdef int store_number(self, number_t *price, number_t *amount) except -1:
        if ccxf_store(&self.s, price.value, price.text, price.len,
                      amount.value, amount.text, amount.len, 0, 0) < 0:
            raise MemoryError()
        return 0

    cdef int store_pair(self, object price, object amount) except -1:
        cdef number_t p, a
        parse_number(price, &p)
        if amount is None:
            # ccxt deletes a level whose size is falsy, None included
            a.value = 0.0
            a.len = 0
        else:
            parse_number(amount, &a)
        return self.store_number(&p, &a)

    cdef int store_delta_pair(self, object delta) except -1:
        return self.store_pair(_sequence_item(delta, 0), _sequence_item(delta, 1))

    cdef int store_delta(self, object delta) except -1:
        cdef number_t p, a
        cdef Py_ssize_t pos
        cdef ccxf_level *lv
        cdef bint existed
        cdef long long kept
        extra = _level_extra(delta)
        if extra is None:
            return self.store_delta_pair(delta)
        # ccxt stores a new level's list as given (parse_order_book_bid_ask appends the
        # sequence or count as a third item) and then only ever updates its amount
        parse_number(_sequence_item(delta, 0), &p)
        amount = _sequence_item(delta, 1)
        if amount is None:
            a.value = 0.0
            a.len = 0
        else:
            parse_number(amount, &a)
        existed = self.position(p.value) >= 0
        self.store_number(&p, &a)
        if not existed:
            pos = self.position(p.value)
            if pos >= 0:
                lv = ccxf_at(&self.s, pos)
                kept = extra
                memcpy(&lv.extra, &kept, sizeof(kept))
                lv.extra_is_int = EXTRA_INT64
        return 0

    cdef Py_ssize_t position(self, double price):
        """Storage position of the level at price, -1 if there is none."""
        cdef double key = ccxf_key(&self.s, price)
        cdef Py_ssize_t pos = ccxf_lower_bound(&self.s, key)
        if pos < self.s.n and ccxf_key_at(&self.s, pos) == key:
            return pos
        return -1

    cdef int store_bytes_levels(self, const char *data, Py_ssize_t size,
                                bint padded=False) except -1:
        """Apply `[["price","amount"],...]` JSON text (strings or numbers) in one pass,
        without building a Python object per level. padded: data lies inside a bytes or
        compact str object, so the 16 bytes before any of it are readable.

        Levels are applied in order. Malformed input raises ValueError and leaves the
        levels before the bad one applied: never half a level, never one that was not
        sent. The grammar is JSON's (whitespace is space/tab/CR/LF, values are separated
        by commas, no trailing comma), except that values after the amount (ids, counts)
        must be flat and their strings are not checked for valid UTF-8."""
        cdef Py_ssize_t i = 0, start
        cdef const char *quote
        cdef number_t p, a
        cdef int k, lazy = 0
        cdef number_t *nums[2]
        nums[0] = &p
        nums[1] = &a
        while i < size and _json_ws(data[i]):
            i += 1
        if i >= size or data[i] != b'[':
            raise ValueError('level array: expected "["')
        i += 1
        while i < size and _json_ws(data[i]):
            i += 1
        if i < size and data[i] == b']':
            i += 1
        else:
            while True:
                while i < size and _json_ws(data[i]):
                    i += 1
                if i >= size or data[i] != b'[':
                    raise ValueError(f'level array: expected "[" at byte {i}')
                i += 1
                for k in range(2):
                    while i < size and _json_ws(data[i]):
                        i += 1
                    if i < size and data[i] == b'"':
                        i += 1
                        start = i
                        quote = <const char *>memchr(data + i, b'"', size - i)
                        if quote == NULL:
                            raise ValueError('level array: unterminated string')
                        i = quote - data
                        if padded:
                            _parse_level_str(data + start, i - start, nums[k], k, &lazy)
                        else:
                            _parse_level_text(data + start, i - start, nums[k], k, &lazy)
                        i += 1
                    else:
                        start = i
                        while (i < size and data[i] != b',' and data[i] != b']'
                               and not _json_ws(data[i])):
                            i += 1
                        _check_json_number(data + start, i - start)
                        _parse_level_text(data + start, i - start, nums[k], k, &lazy)
                    while i < size and _json_ws(data[i]):
                        i += 1
                    if k == 0:
                        if i >= size or data[i] != b',':
                            raise ValueError(f'level array: expected "," at byte {i}')
                        i += 1
                # a level may carry more values (ids, counts): ", value" each, then "]".
                # (Anything up to the "]" used to be skipped, garbage included, and a stray
                # quote could swallow the levels after it.)
                while True:
                    if i >= size:
                        raise ValueError('level array: truncated')
                    if data[i] == b']':
                        i += 1
                        break
                    if data[i] != b',':
                        raise ValueError(f'level array: expected "," or "]" at byte {i}')
                    i += 1
                    while i < size and _json_ws(data[i]):
                        i += 1
                    i = _skip_json_value(data, i, size)
                    while i < size and _json_ws(data[i]):
                        i += 1
                if not isfinite(p.value) or not isfinite(a.value):
                    raise DecimalError('not a finite number in level array')
                if ccxf_store(&self.s, p.value, p.text, p.len, a.value, a.text, a.len, lazy,
                              padded) < 0:
                    raise MemoryError()
                while i < size and _json_ws(data[i]):
                    i += 1
                if i < size and data[i] == b',':
                    i += 1
                    continue
                if i < size and data[i] == b']':
                    i += 1
                    break
                raise ValueError(f'level array: expected "," or "]" at byte {i}')
        while i < size and _json_ws(data[i]):
            i += 1
        if i != size:
            raise ValueError(f'level array: trailing bytes at {i}')
        return 0

    cdef int store_bytes_level_objects(self, const char *data, Py_ssize_t size,
                                       bint padded=False) except -1:
        """Apply Kraken v2's level list, ``[{"price":N,"qty":N},...]`` with JSON numbers,
        in order, straight from the text (padded: as for store_bytes_levels). Returns 0 when every level was applied, 1 when
        a level has another shape (a key besides price/qty, a string or null value): the
        caller then hands the whole message to the Python path, whose re-application of
        the levels before it changes nothing (each sets an amount at a price). Malformed
        JSON raises ValueError, the levels before the bad one applied."""
        cdef Py_ssize_t i = 0, start, key_start
        cdef number_t p, a
        cdef number_t *num
        cdef int lazy = 0, seen
        i = _skip_ws(data, i, size)
        if i >= size or data[i] != b'[':
            raise ValueError('level list: expected "["')
        i = _skip_ws(data, i + 1, size)
        if i < size and data[i] == b']':
            i += 1
        else:
            while True:
                if i >= size or data[i] != b'{':
                    raise ValueError(f'level list: expected "{{" at byte {i}')
                seen = 0
                i = _skip_ws(data, i + 1, size)
                while True:
                    if i >= size or data[i] != b'"':
                        raise ValueError(f'level list: key expected at byte {i}')
                    key_start = i + 1
                    i = key_start
                    while i < size and data[i] != b'"' and data[i] != b'\\':
                        i += 1
                    if i >= size:
                        raise ValueError('level list: unterminated key')
                    if data[i] == b'\\':
                        return 1
                    if i - key_start == 5 and memcmp(data + key_start, b"price", 5) == 0:
                        num = &p
                        seen |= 1
                    elif i - key_start == 3 and memcmp(data + key_start, b"qty", 3) == 0:
                        num = &a
                        seen |= 2
                    else:
                        return 1
                    i = _skip_ws(data, i + 1, size)
                    if i >= size or data[i] != b':':
                        raise ValueError(f'level list: ":" expected at byte {i}')
                    i = _skip_ws(data, i + 1, size)
                    if i >= size or not (data[i] == b'-' or b'0' <= data[i] <= b'9'):
                        return 1        # a string, null, true/false or a container
                    start = i
                    while (i < size and data[i] != b',' and data[i] != b'}'
                           and not _json_ws(data[i])):
                        i += 1
                    _check_json_number(data + start, i - start)
                    if padded:
                        _parse_level_str(data + start, i - start, num, 1 if num == &a else 0, &lazy)
                    else:
                        _parse_level_text(data + start, i - start, num, 1 if num == &a else 0, &lazy)
                    i = _skip_ws(data, i, size)
                    if i < size and data[i] == b',':
                        i = _skip_ws(data, i + 1, size)
                        continue
                    if i < size and data[i] == b'}':
                        i += 1
                        break
                    raise ValueError(f'level list: "," or "}}" expected at byte {i}')
                if seen != 3:
                    return 1            # price or qty missing (or given twice)
                if not isfinite(p.value) or not isfinite(a.value):
                    raise DecimalError('not a finite number in level list')
                if ccxf_store(&self.s, p.value, p.text, p.len, a.value, a.text, a.len, lazy,
                              padded) < 0:
                    raise MemoryError()
                i = _skip_ws(data, i, size)
                if i < size and data[i] == b',':
                    i = _skip_ws(data, i + 1, size)
                    continue
                if i < size and data[i] == b']':
                    i += 1
                    break
                raise ValueError(f'level list: expected "," or "]" at byte {i}')
        i = _skip_ws(data, i, size)
        if i != size:
            raise ValueError(f'level list: trailing bytes at {i}')
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
        if type(levels) is not list:
            levels = list(levels)
        self.store_list(levels)

    cdef int store_list(self, list levels, bint keep_extra=True) except -1:
        """store_levels for a list. keep_extra: a level keeps an int third item, as
        ccxt's storeArray keeps the list (False: only price and amount, as store() does).
        Plain [price, amount] text levels go through one C loop; it stops at any other
        level, which store_list_item takes (and raises for, when it is malformed)."""
        cdef Py_ssize_t i = 0, n = PyList_GET_SIZE(levels)
        while i < n:
            i = ccxf_store_text_levels(&self.s, levels, i, keep_extra)
            if i < 0:
                raise MemoryError()
            if i < n:
                self.store_list_item(<object>PyList_GET_ITEM(levels, i), keep_extra)
                i += 1
        return 0

    cdef int store_list_item(self, object delta, bint keep_extra) except -1:
        """One level of store_list that is not plain [price, amount] text."""
        cdef PyObject *price
        cdef PyObject *amount
        cdef number_t p, a
        cdef int rc, lazy = 0
        if not (type(delta) is list and PyList_GET_SIZE(delta) >= 2) or (
                keep_extra and PyList_GET_SIZE(delta) > 2
                and PyLong_CheckExact(<object>PyList_GET_ITEM(delta, 2))):
            if keep_extra:
                self.store_delta(delta)
            else:
                OrderBookSide.store_delta_pair(self, delta)
            return 0
        price = PyList_GET_ITEM(delta, 0)
        amount = PyList_GET_ITEM(delta, 1)
        p.text = ccxf_ascii_text(price, &p.len)
        a.text = ccxf_ascii_text(amount, &a.len)
        if p.text != NULL and a.text != NULL:
            rc = ccxf_parse_price_str(p.text, p.len, &p.value)
            if rc != CCXF_PARSE_OK:
                _raise_parse_error(rc, p.text, p.len)
            rc = ccxf_parse_amount_str(a.text, a.len, &a.value, &lazy)
            if rc != CCXF_PARSE_OK:
                _raise_parse_error(rc, a.text, a.len)
        else:
            parse_number(<object>price, &p)
            if amount == <PyObject *>None:
                a.value = 0.0
                a.len = 0
            else:
                parse_number(<object>amount, &a)
        if ccxf_store(&self.s, p.value, p.text, p.len, a.value, a.text, a.len, lazy, 0) < 0:
            raise MemoryError()
        return 0

    def store_json(self, data, Py_ssize_t start=0, Py_ssize_t stop=-1):
        """Store the levels of a JSON level array given as bytes (or str), e.g. the text
        `[["30000.10","0.5"],["29999.9","0"]]`, without building Python objects.
        start/stop select the array inside a larger message (see jsonscan.scan_object)."""
        cdef const unsigned char[::1] view
        cdef const char *cdata
        cdef Py_ssize_t size
        cdef bint padded = True
        if type(data) is bytes:
            cdata = PyBytes_AS_STRING(data)
            size = PyBytes_GET_SIZE(data)
        elif isinstance(data, str):
            # the data of a compact ASCII str follows its header; other strs' UTF-8 is apart
            padded = PyUnicode_IS_COMPACT_ASCII(data)
            cdata = PyUnicode_AsUTF8AndSize(data, &size)
        else:
            padded = False
            view = data
            size = view.shape[0]
            if size == 0:
                raise ValueError('level array: empty input')
            cdata = <const char *>&view[0]
        if stop < 0 or stop > size:
            stop = size
        if start < 0 or start > stop:
            raise ValueError('level array: bad start/stop')
        return self.store_bytes_levels(cdata + start, stop - start, padded)

    def limit(self):
        """Drop the worst levels beyond the side's depth."""
        ccxf_truncate(&self.s, self.depth)

    def clear(self):
        # keeps the memory, for the snapshot that usually follows
        ccxf_side_clear(&self.s)

    def remove_index(self, order):
        pass

    # -------------------------------------------------------------- reading

    cdef list level(self, Py_ssize_t i):
        cdef Py_ssize_t pos = self.s.n - 1 - i
        cdef ccxf_level *lv = ccxf_at(&self.s, pos)
        cdef long long kept
        if lv.extra_is_int == EXTRA_INT64:
            memcpy(&kept, &lv.extra, sizeof(kept))
            return [ccxf_price_at(&self.s, pos), ccxf_amount(lv), kept]
        return [ccxf_price_at(&self.s, pos), ccxf_amount(lv)]

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
        return ccxf_price_at(&self.s, self.s.n - 1 - i)

    def amount(self, Py_ssize_t i=0):
        """The i-th best amount as a float, without building the level list."""
        if i < 0:
            i += self.s.n
        if i < 0 or i >= self.s.n:
            raise IndexError('order book side index out of range')
        return ccxf_amount(ccxf_at(&self.s, self.s.n - 1 - i))

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
        if ccxf_side_copy(&other.s, &self.s) < 0:
            raise MemoryError()
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
    """Levels are [price, amount, count]; a count (or amount) of 0 removes the level.

    An int or float count lives in the level; any other third value (ccxt.pro's bitget
    keeps the wire strings there) is kept as given in `extras`, by price, so numeric books
    pay nothing for it."""

    cdef int store_delta(self, object delta) except -1:
        cdef number_t p, a
        cdef double count_value = 0.0
        cdef uint8_t count_kind = EXTRA_FLOAT
        cdef Py_ssize_t pos
        cdef ccxf_level *lv
        count = _sequence_item(delta, 2)
        parse_number(_sequence_item(delta, 0), &p)
        amount = _sequence_item(delta, 1)
        if amount is None or count is None or not count:
            a.value = 0.0
            a.len = 0
        else:
            parse_number(amount, &a)
            # Read the count before the level is stored: a count that was not a number used
            # to raise only after the level was in the book, left with a count of 0.
            if type(count) is int:
                if not -_MAX_EXACT_COUNT <= count <= _MAX_EXACT_COUNT:
                    raise DecimalError(f'order count out of range: {count!r}')
                count_value = <double>count
                count_kind = EXTRA_INT
            elif type(count) is float:
                count_value = count
                if not isfinite(count_value):
                    raise DecimalError(f'not a finite order count: {count!r}')
            else:
                count_kind = EXTRA_OBJECT
        self.store_number(&p, &a)
        if a.value != 0.0:
            pos = ccxf_lower_bound(&self.s, ccxf_key(&self.s, p.value))
            lv = ccxf_at(&self.s, pos)
            lv.extra = count_value
            lv.extra_is_int = count_kind
            if count_kind == EXTRA_OBJECT:
                if self.extras is None:
                    self.extras = {}
                self.extras[ccxf_price_at(&self.s, pos)] = count
            elif self.extras:
                self.extras.pop(ccxf_price_at(&self.s, pos), None)
        elif self.extras:
            self.extras.pop(p.value, None)
        return 0

    cdef list level(self, Py_ssize_t i):
        cdef Py_ssize_t pos = self.s.n - 1 - i
        cdef ccxf_level *lv = ccxf_at(&self.s, pos)
        cdef double price = ccxf_price_at(&self.s, pos)
        if lv.extra_is_int == EXTRA_INT:
            return [price, ccxf_amount(lv), <long long>lv.extra]
        if lv.extra_is_int == EXTRA_OBJECT:
            return [price, ccxf_amount(lv), self.extras.get(price)]
        return [price, ccxf_amount(lv), lv.extra]

    def store(self, price, size, count):
        self.store_delta((price, size, count))

    def store_levels(self, levels):
        for delta in levels:
            self.store_delta(delta)

    def store_json(self, data, *args):
        # the raw-bytes parser reads price and amount only: on a counted side every level
        # came out with a count of 0, a level that a count of 0 should have deleted
        raise TypeError('store_json is for price-level sides; a counted side needs its '
                        'counts: use store_levels')

    def limit(self):
        cdef Py_ssize_t pos
        cdef ccxf_level *lv
        ccxf_truncate(&self.s, self.depth)
        if self.extras:
            # drop the extras of the levels the truncation removed
            kept = {}
            for pos in range(self.s.n):
                lv = ccxf_at(&self.s, pos)
                if lv.extra_is_int == EXTRA_OBJECT:
                    price = ccxf_price_at(&self.s, pos)
                    kept[price] = self.extras.get(price)
            self.extras = kept

    def clear(self):
        OrderBookSide.clear(self)
        self.extras = None

    def copy(self):
        cdef CountedOrderBookSide other = OrderBookSide.copy(self)
        other.extras = dict(self.extras) if self.extras else None
        return other


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
        self.depth = _side_depth(depth)
        self.keys = []
        self.levels = []
        self.hashmap = {}
        for delta in deltas:
            self.store_delta(list(delta))

    cdef int store_delta(self, object delta) except -1:
        cdef number_t p, a
        cdef Py_ssize_t index, n, old_index
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
                old_index = self._find(old_price, order_id)
            elif index_price is None:
                raise ValueError(f'order {order_id!r} is not in the book and has no price')
            else:
                level_price = p.value
                old_index = -1
            # Find the slot before changing anything: comparing order ids may raise (ids of
            # mixed types), and it used to do so after the order had been moved out of the
            # side and into the hashmap at its new price (a lost order, a dangling id).
            index = self._bisect(index_price)
            n = len(keys)
            while index < n and keys[index] == index_price and levels[index][2] < order_id:
                index += 1
            if old_index >= 0:
                # the old slot is at another price, so not inside the run just searched
                del keys[old_index]
                del levels[old_index]
                if old_index < index:
                    index -= 1
            self.hashmap[order_id] = index_price
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


cdef inline object _book_side(dict book, str key):
    # the side without dict_subscript's generic path: a borrowed lookup, else the dict's
    # own error
    cdef PyObject *side = PyDict_GetItemWithError(book, key)
    if side == NULL:
        return book[key]
    return <object>side


cdef inline int _store_side_levels(object side, object levels) except -1:
    # the plain sides directly; any other side (counted, indexed, or one a user put in the
    # book) through its own store_levels
    if (type(side) is Asks or type(side) is Bids) and type(levels) is list:
        return (<OrderBookSide>side).store_list(levels)
    side.store_levels(levels)
    return 0


cdef inline int _store_side_json(object side, object data, Py_ssize_t start,
                                 Py_ssize_t stop) except -1:
    if (type(side) is Asks or type(side) is Bids) and type(data) is bytes:
        if stop < 0 or stop > PyBytes_GET_SIZE(data):
            stop = PyBytes_GET_SIZE(data)
        if start > stop:
            raise ValueError('level array: bad start/stop')
        return (<OrderBookSide>side).store_bytes_levels(PyBytes_AS_STRING(data) + start,
                                                        stop - start, True)
    side.store_json(data, start, stop)
    return 0


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

    @cython.binding(False)
    def store_deltas(self, bids, asks):
        """One update's level lists for both sides in one call (None: that side has none),
        each as the exchange sent it, as ``side.store_levels`` takes it."""
        if bids is not None:
            _store_side_levels(_book_side(self, 'bids'), bids)
        if asks is not None:
            _store_side_levels(_book_side(self, 'asks'), asks)

    @cython.binding(False)
    def store_json_deltas(self, data, Py_ssize_t bids_start, Py_ssize_t bids_stop,
                          Py_ssize_t asks_start, Py_ssize_t asks_stop):
        """One update's two JSON level arrays, sliced from the same message bytes (see
        ``side.store_json``), in one call. A side whose start is negative has none."""
        if bids_start >= 0:
            _store_side_json(_book_side(self, 'bids'), data, bids_start, bids_stop)
        if asks_start >= 0:
            _store_side_json(_book_side(self, 'asks'), data, asks_start, asks_stop)

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

    def items(self):
        """(key, value) pairs with each side as a plain list of levels (a copy), as ccxt's
        list-based book gives them: the json module serialises a dict subclass through
        ``items()``, so ``json.dumps(book)`` writes what it writes for ccxt's book."""
        return [(k, v.tolist() if isinstance(v, _SIDE_TYPES) else v)
                for k, v in dict.items(self)]

    def __reduce__(self):
        depth = self['asks']._depth
        return (type(self), (dict(self.items()), None if depth == _UNLIMITED else depth))

    # -------------------------------------------------------------- checksums

    def checksum_text(self, int fmt, int depth=25, int price_precision=-1,
                      int amount_precision=-1):
        """The text a checksum format hashes, for debugging a mismatch."""
        cdef char *buf
        cdef Py_ssize_t n
        depth = _checksum_depth(self, depth)
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
        depth = _checksum_depth(self, depth)
        if <Py_ssize_t>2 * depth * CCXF_LEVEL_TEXT_MAX > <Py_ssize_t>sizeof(stack_buf):
            buf = self._checksum_buffer(depth)
        try:
            n = self._write_checksum_text(buf, fmt, depth, price_precision, amount_precision)
            crc = ccxf_crc32(0, <const unsigned char *>buf, <size_t>n)
        finally:
            if buf != stack_buf:
                PyMem_Free(buf)
        return crc

    cdef char *_checksum_buffer(self, int depth) except NULL:
        cdef char *buf = <char *>PyMem_Malloc(<size_t>2 * max(depth, 1) * CCXF_LEVEL_TEXT_MAX)
        if buf == NULL:
            raise MemoryError()
        return buf

    cdef Py_ssize_t _write_checksum_text(self, char *buf, int fmt, int depth,
                                         int price_precision, int amount_precision) except -1:
        cdef object bids_obj = self['bids'], asks_obj = self['asks']
        cdef OrderBookSide bids, asks
        cdef ccxf_level *lv
        cdef Py_ssize_t i, nb, na, o = 0, j, pos
        if not isinstance(bids_obj, OrderBookSide) or not isinstance(asks_obj, OrderBookSide):
            raise TypeError('checksums need price-level sides (not an indexed book)')
        bids = <OrderBookSide>bids_obj
        asks = <OrderBookSide>asks_obj
        nb = min(bids.s.n, depth)
        na = min(asks.s.n, depth)
        if fmt == FMT_OKX:
            return ccxf_okx_text(buf, &bids.s, &asks.s, depth)
        if fmt == FMT_BITFINEX:
            for i in range(max(nb, na)):
                if i < nb:
                    pos = bids.s.n - 1 - i
                    lv = ccxf_at(&bids.s, pos)
                    if o:
                        buf[o] = b':'
                        o += 1
                    o += ccxf_render_js(buf + o, ccxf_price_at(&bids.s, pos))
                    buf[o] = b':'
                    o += 1
                    o += ccxf_render_js(buf + o, ccxf_amount(lv))
                if i < na:
                    pos = asks.s.n - 1 - i
                    lv = ccxf_at(&asks.s, pos)
                    if o:
                        buf[o] = b':'
                        o += 1
                    o += ccxf_render_js(buf + o, ccxf_price_at(&asks.s, pos))
                    buf[o] = b':'
                    o += 1
                    o += ccxf_render_js(buf + o, -ccxf_amount(lv))
            return o
        if fmt == FMT_KRAKEN or fmt == FMT_KRAKEN_V2:
            if fmt == FMT_KRAKEN:
                price_precision = -1
                amount_precision = -1
            elif price_precision < 0 or amount_precision < 0:
                raise ValueError("Kraken v2 checksums need the pair's price and amount precision")
            elif price_precision > _MAX_KRAKEN_PRECISION or amount_precision > _MAX_KRAKEN_PRECISION:
                raise ValueError(f'Kraken v2 precisions above {_MAX_KRAKEN_PRECISION} decimals')
            for j in range(na):
                pos = asks.s.n - 1 - j
                o += _kraken_level(buf + o, ccxf_at(&asks.s, pos), ccxf_price_at(&asks.s, pos),
                                   price_precision, amount_precision)
            for j in range(nb):
                pos = bids.s.n - 1 - j
                o += _kraken_level(buf + o, ccxf_at(&bids.s, pos), ccxf_price_at(&bids.s, pos),
                                   price_precision, amount_precision)
            return o
        raise ValueError(f'unknown checksum format {fmt}')


cdef uint32_t okx_crc_of_sides(OrderBookSide bids, OrderBookSide asks,
                               Py_ssize_t depth) except? 0xFFFFFFFF:
    # the text OrderBook.checksum(CHECKSUM_OKX, depth) hashes, without looking the sides
    # up in the book again (four dict lookups per update)
    cdef char stack_buf[16384]
    cdef char *buf = stack_buf
    cdef Py_ssize_t n = max(bids.s.n, asks.s.n)
    cdef uint32_t crc
    if depth > n:
        depth = n
    if 2 * depth * CCXF_LEVEL_TEXT_MAX > <Py_ssize_t>sizeof(stack_buf):
        buf = <char *>PyMem_Malloc(<size_t>(2 * depth * CCXF_LEVEL_TEXT_MAX))
        if buf == NULL:
            raise MemoryError()
    n = ccxf_okx_text(buf, &bids.s, &asks.s, depth)
    crc = ccxf_crc32(0, <const unsigned char *>buf, <size_t>n)
    if buf != stack_buf:
        PyMem_Free(buf)
    return crc


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
    const char *CCXF_CYTHON_VERSION

BUILD_MODE = CCXF_BUILD_MODE.decode('ascii')
BUILD_CYTHON = CCXF_CYTHON_VERSION.decode('ascii')
