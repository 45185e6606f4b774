"""A shallow JSON scanner for the hot path of native adapters.

orjson decodes a 10-level depth message in ~1.6 us, mostly building the level strings that
the book then parses again. `scan_object` decodes only one level of a message: scalars
become Python values, and every array or object becomes a `slice` of the input bytes that
the caller hands on (`side.store_json(data, s.start, s.stop)`, or another scan). Nested
containers are skipped by bracket matching, strings with escapes are decoded by orjson,
and malformed input raises ValueError.
"""
cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.ref cimport PyObject, Py_INCREF, Py_XDECREF
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_New, PyTuple_SET_ITEM
from libc.stdint cimport int64_t, int8_t
from libc.string cimport memchr, memcmp, memset

import orjson

from ccxtpro_fast._core.orderbook cimport ccxf_parse_decimal, CCXF_PARSE_OK

cdef object _orjson_loads = orjson.loads

cdef extern from "Python.h":
    object PyUnicode_DecodeUTF8(const char *s, Py_ssize_t size, const char *errors)
    object PyLong_FromString(const char *s, char **pend, int base)

cdef enum:
    # nesting deeper than this is not a market data message
    MAX_DEPTH = 64


class JSONScanError(ValueError):
    """The bytes are not the JSON shape the scanner was asked to read."""


cdef inline Py_ssize_t _ws(const char *d, Py_ssize_t i, Py_ssize_t end) noexcept:
    while i < end and (d[i] == b' ' or d[i] == b'\n' or d[i] == b'\r' or d[i] == b'\t'):
        i += 1
    return i


# byte classes, filled once at import: what the skipping loops stop at
cdef enum:
    C_PLAIN = 0
    C_QUOTE = 1
    C_OPEN = 2
    C_CLOSE = 3
    C_ESCAPE = 4

cdef unsigned char _IN_STRING[256]      # '"' and '\\' stop a string scan
cdef unsigned char _IN_CONTAINER[256]   # '"', brackets and braces stop a container scan


cdef void _init_tables() noexcept:
    cdef int c
    for c in range(256):
        _IN_STRING[c] = C_PLAIN
        _IN_CONTAINER[c] = C_PLAIN
    _IN_STRING[b'"'] = C_QUOTE
    _IN_STRING[b'\\'] = C_ESCAPE
    _IN_CONTAINER[b'"'] = C_QUOTE
    _IN_CONTAINER[b'['] = C_OPEN
    _IN_CONTAINER[b'{'] = C_OPEN
    _IN_CONTAINER[b']'] = C_CLOSE
    _IN_CONTAINER[b'}'] = C_CLOSE


_init_tables()


cdef inline Py_ssize_t _string_end(const char *d, Py_ssize_t i, Py_ssize_t end, bint *escaped) except -1:
    """i is just past an opening quote; returns the index of the closing quote."""
    cdef const unsigned char *u = <const unsigned char *>d
    while True:
        while i < end and _IN_STRING[u[i]] == C_PLAIN:
            i += 1
        if i >= end:
            break
        if u[i] == b'"':
            return i
        escaped[0] = True       # a backslash: the next byte is escaped, whatever it is
        i += 2
    raise JSONScanError('unterminated string')


cdef Py_ssize_t _container_end(const char *d, Py_ssize_t i, Py_ssize_t end) except -1:
    """i is at '[' or '{'; returns the index just past the matching bracket."""
    cdef const unsigned char *u = <const unsigned char *>d
    cdef int depth = 0
    cdef bint escaped = False
    cdef unsigned char k
    while True:
        while i < end and _IN_CONTAINER[u[i]] == C_PLAIN:
            i += 1
        if i >= end:
            break
        k = _IN_CONTAINER[u[i]]
        if k == C_QUOTE:
            i = _string_end(d, i + 1, end, &escaped)
        elif k == C_OPEN:
            depth += 1
            if depth > MAX_DEPTH:
                raise JSONScanError('nesting too deep')
        else:
            depth -= 1
            if depth == 0:
                return i + 1
            if depth < 0:
                raise JSONScanError(f'unbalanced bracket at byte {i}')
        i += 1
    raise JSONScanError('truncated container')


cdef object _string(const char *d, Py_ssize_t start, Py_ssize_t stop, bint escaped):
    if not escaped:
        return PyUnicode_DecodeUTF8(d + start, stop - start, NULL)
    return _orjson_loads(d[start - 1:stop + 1])


cdef object _number(const char *d, Py_ssize_t start, Py_ssize_t stop):
    cdef double value
    cdef int64_t mant
    cdef int8_t scale
    cdef Py_ssize_t i
    cdef bint is_int = True
    cdef char buf[32]
    for i in range(start, stop):
        if d[i] == b'.' or d[i] == b'e' or d[i] == b'E':
            is_int = False
            break
    if is_int:
        if stop - start < 19:
            if ccxf_parse_decimal(d + start, stop - start, &value, &mant, &scale) != CCXF_PARSE_OK:
                raise JSONScanError(f'bad number {d[start:stop]!r}')
            return mant
        return _orjson_loads(d[start:stop])
    if ccxf_parse_decimal(d + start, stop - start, &value, &mant, &scale) != CCXF_PARSE_OK:
        raise JSONScanError(f'bad number {d[start:stop]!r}')
    return value


cdef object _value(const char *d, Py_ssize_t i, Py_ssize_t end, Py_ssize_t *after):
    """Decode the value at i; after[0] is set to the index past it."""
    cdef Py_ssize_t j
    cdef bint escaped = False
    cdef char c
    if i >= end:
        raise JSONScanError('truncated: value expected')
    c = d[i]
    if c == b'"':
        j = _string_end(d, i + 1, end, &escaped)
        after[0] = j + 1
        return _string(d, i + 1, j, escaped)
    if c == b'[' or c == b'{':
        j = _container_end(d, i, end)
        after[0] = j
        return slice(i, j)
    if c == b't' and end - i >= 4 and d[i + 1] == b'r' and d[i + 2] == b'u' and d[i + 3] == b'e':
        after[0] = i + 4
        return True
    if (c == b'f' and end - i >= 5 and d[i + 1] == b'a' and d[i + 2] == b'l'
            and d[i + 3] == b's' and d[i + 4] == b'e'):
        after[0] = i + 5
        return False
    if c == b'n' and end - i >= 4 and d[i + 1] == b'u' and d[i + 2] == b'l' and d[i + 3] == b'l':
        after[0] = i + 4
        return None
    j = i
    while j < end and d[j] != b',' and d[j] != b'}' and d[j] != b']' and d[j] > 32:
        j += 1
    if j == i:
        raise JSONScanError(f'value expected at byte {i}')
    after[0] = j
    return _number(d, i, j)


cdef inline const char *_buffer(object data, Py_ssize_t *size) except NULL:
    if type(data) is not bytes:
        raise TypeError(f'scan needs bytes, not {type(data).__name__}')
    size[0] = PyBytes_GET_SIZE(data)
    return PyBytes_AS_STRING(data)


cdef inline Py_ssize_t _bounds(Py_ssize_t size, Py_ssize_t start, Py_ssize_t *stop) except -1:
    if stop[0] < 0 or stop[0] > size:
        stop[0] = size
    if start < 0 or start > stop[0]:
        raise JSONScanError('bad start/stop')
    return 0


def scan_object(data, Py_ssize_t start=0, Py_ssize_t stop=-1):
    """The top-level fields of the JSON object in data[start:stop] as a dict: scalars
    decoded, arrays and objects as slices of data."""
    cdef Py_ssize_t size, i, key_end
    cdef const char *d = _buffer(data, &size)
    cdef bint escaped
    cdef dict result = {}
    _bounds(size, start, &stop)
    i = _ws(d, start, stop)
    if i >= stop or d[i] != b'{':
        raise JSONScanError('object expected')
    i = _ws(d, i + 1, stop)
    if i < stop and d[i] == b'}':
        return result
    while True:
        if i >= stop or d[i] != b'"':
            raise JSONScanError(f'key expected at byte {i}')
        escaped = False
        key_end = _string_end(d, i + 1, stop, &escaped)
        key = _string(d, i + 1, key_end, escaped)
        i = _ws(d, key_end + 1, stop)
        if i >= stop or d[i] != b':':
            raise JSONScanError(f'":" expected at byte {i}')
        result[key] = _value(d, _ws(d, i + 1, stop), stop, &i)
        i = _ws(d, i, stop)
        if i < stop and d[i] == b',':
            i = _ws(d, i + 1, stop)
            continue
        if i < stop and d[i] == b'}':
            return result
        raise JSONScanError(f'"," or "}}" expected at byte {i}')


def scan_array(data, Py_ssize_t start=0, Py_ssize_t stop=-1):
    """The items of the JSON array in data[start:stop] as a list: scalars decoded, arrays
    and objects as slices of data."""
    cdef Py_ssize_t size, i
    cdef const char *d = _buffer(data, &size)
    cdef list result = []
    _bounds(size, start, &stop)
    i = _ws(d, start, stop)
    if i >= stop or d[i] != b'[':
        raise JSONScanError('array expected')
    i = _ws(d, i + 1, stop)
    if i < stop and d[i] == b']':
        return result
    while True:
        result.append(_value(d, i, stop, &i))
        i = _ws(d, i, stop)
        if i < stop and d[i] == b',':
            i = _ws(d, i + 1, stop)
            continue
        if i < stop and d[i] == b']':
            return result
        raise JSONScanError(f'"," or "]" expected at byte {i}')


cdef inline bint _same(const char *a, const char *b, Py_ssize_t n) noexcept:
    # keys are a few bytes: a loop beats a libc call
    cdef Py_ssize_t i
    for i in range(n):
        if a[i] != b[i]:
            return False
    return True


cdef int _compile_keys(tuple keys, _Keys *ks) except -1:
    """Fill ks from keys; ks borrows the bytes, so keys must outlive it."""
    cdef Py_ssize_t k, n = len(keys)
    cdef object key
    cdef unsigned char c
    if n > MAX_FIELDS:
        raise ValueError(f'at most {MAX_FIELDS} keys')
    memset(ks.single, -1, sizeof(ks.single))
    memset(ks.levels, 0, sizeof(ks.levels))
    for k in range(n):
        key = keys[k]
        if type(key) is not bytes:
            raise TypeError('keys must be bytes')
        ks.ptr[k] = PyBytes_AS_STRING(key)
        ks.len[k] = PyBytes_GET_SIZE(key)
        if ks.len[k] == 1:
            c = <unsigned char>ks.ptr[k][0]
            if ks.single[c] < 0:
                ks.single[c] = <signed char>k
    ks.n = n
    return 0


cdef int _level_keys(_Keys *ks, tuple names) except -1:
    """Mark keys of ks whose array values are order-book level arrays, ``[[..],[..]]``
    with flat levels, as every exchange the raw hooks read sends them: the scan then finds
    their end as the first ``]`` followed by ``]`` instead of matching every bracket and
    quote. The span is only as good as that shape: the caller must hand it to a strict
    parser of level arrays (``OrderBookSide.store_bytes_levels``), which refuses any slice
    that is not exactly one, so another shape (a level holding a list, a ``]]`` inside a
    string) raises or makes the rest of the scan fail; it never yields other levels."""
    cdef Py_ssize_t k
    for name in names:
        for k in range(ks.n):
            if ks.len[k] == len(name) and memcmp(ks.ptr[k], <const char *>name, ks.len[k]) == 0:
                ks.levels[k] = 1
                break
        else:
            raise ValueError(f'{name!r} is not one of the keys')
    return 0


cdef inline Py_ssize_t _level_array_end(const char *d, Py_ssize_t i, Py_ssize_t end) except -1:
    """i is at the '[' of a level array (see _level_keys); returns the index just past
    it: past its "[]", or past the first ']' followed (after whitespace) by ']'."""
    cdef const char *close
    cdef Py_ssize_t j = _ws(d, i + 1, end)
    if j < end and d[j] == b']':
        return j + 1
    while True:
        close = <const char *>memchr(d + j, b']', end - j)
        if close == NULL:
            raise JSONScanError('truncated level array')
        j = _ws(d, close - d + 1, end)
        if j < end and d[j] == b']':
            return j + 1


cdef inline Py_ssize_t _match(const _Keys *ks, const char *key, Py_ssize_t klen) noexcept:
    """The index of the first key equal to key[:klen], -1 when none is."""
    cdef Py_ssize_t k
    if klen == 1:
        return ks.single[<unsigned char>key[0]]
    for k in range(ks.n):
        if ks.len[k] == klen and _same(ks.ptr[k], key, klen):
            return k
    return -1


cdef inline void _put(tuple result, Py_ssize_t k, object value) noexcept:
    # result is ours alone until returned: replace item k (a duplicate key: the last wins)
    cdef PyObject *old = PyTuple_GET_ITEM(result, k)
    Py_INCREF(value)
    PyTuple_SET_ITEM(result, k, value)
    Py_XDECREF(old)


cdef tuple _scan_fields(data, Py_ssize_t start, Py_ssize_t stop, const _Keys *ks):
    """scan_spans, then each found value decoded (a string from its opening quote)."""
    cdef Py_ssize_t size, k, at, after, n = ks.n
    cdef const char *d = _buffer(data, &size)
    cdef Spans sp
    cdef tuple result = PyTuple_New(n)
    for k in range(n):
        Py_INCREF(None)
        PyTuple_SET_ITEM(result, k, None)
    _bounds(size, start, &stop)
    scan_spans(d, start, stop, ks, &sp)
    for k in range(n):
        if sp.kind[k] == SPAN_ABSENT:
            continue
        at = sp.start[k] - 1 if sp.kind[k] == SPAN_STRING or sp.kind[k] == SPAN_ESCAPED else sp.start[k]
        value = _value(d, at, stop, &after)
        if sp.kind[k] == SPAN_SCALAR and after != sp.stop[k]:
            raise JSONScanError(f'bad value at byte {at}')
        _put(result, k, value)
    return result


cdef int scan_spans(const char *d, Py_ssize_t start, Py_ssize_t stop, const _Keys *ks,
                    Spans *out) except -1:
    """_scan_fields without building values: where each key's value lies in d, and its
    kind (SPAN_ABSENT where a key is absent). Strings span their text inside the quotes,
    containers include their brackets, scalars are their bare text (numbers, true, null)."""
    cdef int nested
    _object_spans(d, _ws(d, start, stop), stop, ks, out, -1, NULL, NULL, &nested)
    return 0


cdef int scan_spans_nested(const char *d, Py_ssize_t start, Py_ssize_t stop, const _Keys *ks,
                           Spans *out, int nest, const _Keys *inner_ks, Spans *inner) except -1:
    """scan_spans, and the value of key ``nest`` scanned in the same walk with inner_ks
    into inner, when it is an object (NEST_OBJECT) or an array of exactly one object
    (NEST_SINGLE); NEST_NONE otherwise. An envelope's payload is walked once instead of
    being skipped by bracket matching and then scanned again."""
    cdef int nested = NEST_NONE
    _object_spans(d, _ws(d, start, stop), stop, ks, out, nest, inner_ks, inner, &nested)
    return nested


cdef Py_ssize_t _nested_value(const char *d, Py_ssize_t i, Py_ssize_t stop, const _Keys *inner_ks,
                              Spans *inner, int *nested) except -1:
    """The value at d[i] ('[' or '{'): walked into when it is an object or an array of one
    object (nested says which), else skipped; returns the index just past it."""
    cdef Py_ssize_t j
    cdef int ignored
    if d[i] == b'{':
        nested[0] = NEST_OBJECT
        return _object_spans(d, i, stop, inner_ks, inner, -1, NULL, NULL, &ignored)
    j = _ws(d, i + 1, stop)
    if j < stop and d[j] == b'{':
        j = _ws(d, _object_spans(d, j, stop, inner_ks, inner, -1, NULL, NULL, &ignored), stop)
        if j < stop and d[j] == b']':
            nested[0] = NEST_SINGLE
            return j + 1
    nested[0] = NEST_NONE
    return _container_end(d, i, stop)


cdef Py_ssize_t _object_spans(const char *d, Py_ssize_t i, Py_ssize_t stop, const _Keys *ks,
                              Spans *out, int nest, const _Keys *inner_ks, Spans *inner,
                              int *nested) except -1:
    """The object at d[i]: its keys' spans in out (see scan_spans); returns the index just
    past its closing brace."""
    cdef Py_ssize_t j, key_start, key_end, k
    cdef bint escaped
    cdef char c
    for k in range(ks.n):
        out.kind[k] = SPAN_ABSENT
    if i >= stop or d[i] != b'{':
        raise JSONScanError('object expected')
    i = _ws(d, i + 1, stop)
    if i < stop and d[i] == b'}':
        return i + 1
    while True:
        if i >= stop or d[i] != b'"':
            raise JSONScanError(f'key expected at byte {i}')
        escaped = False
        key_start = i + 1
        key_end = _string_end(d, key_start, stop, &escaped)
        k = _match(ks, d + key_start, key_end - key_start)
        i = _ws(d, key_end + 1, stop)
        if i >= stop or d[i] != b':':
            raise JSONScanError(f'":" expected at byte {i}')
        i = _ws(d, i + 1, stop)
        if i >= stop:
            raise JSONScanError('truncated: value expected')
        c = d[i]
        if c == b'"':
            escaped = False
            j = _string_end(d, i + 1, stop, &escaped)
            if k >= 0:
                out.kind[k] = SPAN_ESCAPED if escaped else SPAN_STRING
                out.start[k] = i + 1
                out.stop[k] = j
            i = j + 1
        elif c == b'[' or c == b'{':
            if k >= 0 and k == nest:
                j = _nested_value(d, i, stop, inner_ks, inner, nested)
            elif k >= 0 and ks.levels[k] and c == b'[':
                j = _level_array_end(d, i, stop)
            else:
                j = _container_end(d, i, stop)
            if k >= 0:
                out.kind[k] = SPAN_CONTAINER
                out.start[k] = i
                out.stop[k] = j
            i = j
        else:
            j = i
            while j < stop and d[j] != b',' and d[j] != b'}' and d[j] != b']' and d[j] > 32:
                j += 1
            if j == i:
                raise JSONScanError(f'value expected at byte {i}')
            if k >= 0:
                out.kind[k] = SPAN_SCALAR
                out.start[k] = i
                out.stop[k] = j
            i = j
        if k >= 0 and k == nest and out.kind[k] != SPAN_CONTAINER:
            nested[0] = NEST_NONE      # a later duplicate key that is not a container
        i = _ws(d, i, stop)
        if i < stop and d[i] == b',':
            i = _ws(d, i + 1, stop)
            continue
        if i < stop and d[i] == b'}':
            return i + 1
        raise JSONScanError(f'"," or "}}" expected at byte {i}')


def scan_fields(data, tuple keys, Py_ssize_t start=0, Py_ssize_t stop=-1):
    """The values of the given top-level keys (a tuple of bytes) of the JSON object in
    data[start:stop], as a tuple in the same order (None where a key is absent). Other
    fields are skipped undecoded, so a handler pays only for what it reads. Keys match by
    their raw JSON text (an escaped key matches only its escaped form). A handler that
    reads the same keys of every message builds a FieldScanner once instead."""
    cdef _Keys ks
    if keys is None:
        raise TypeError('keys must be a tuple of bytes')
    _compile_keys(keys, &ks)
    return _scan_fields(data, start, stop, &ks)


@cython.final
cdef class FieldScanner:
    """``scan_fields`` with its keys checked and compiled once, for a handler that reads
    the same fields of every message::

        depth = FieldScanner((b's', b'U', b'u', b'b', b'a'))
        s, U, u, b, a = depth.scan(data)

    ``scan(data, start=0, stop=-1)`` returns exactly what ``scan_fields(data, keys, start,
    stop)`` returns, and raises the same errors."""
    cdef _Keys ks
    cdef readonly tuple keys

    def __cinit__(self, tuple keys not None):
        _compile_keys(keys, &self.ks)
        self.keys = keys        # ks points into these bytes

    def scan(self, data, Py_ssize_t start=0, Py_ssize_t stop=-1):
        """The values of the scanner's keys in the JSON object data[start:stop]."""
        return _scan_fields(data, start, stop, &self.ks)

    def __repr__(self):
        return f'FieldScanner({self.keys!r})'
