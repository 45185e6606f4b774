# cython: freethreading_compatible = False
"""Depth diffs applied in one compiled step, for the common case of an adapter's hot path.

Each function here reads one venue's update frame straight from its bytes and, when the
frame is the next one in sequence for a book the adapter has synchronised, applies it and
resolves the book's waiters; otherwise it changes nothing and the adapter's Python path
handles the frame in full, so the venue's rules live in the adapter and these functions
only take the path the adapter would take for an in-sequence update.

``apply_binance_diff`` takes a Binance ``depthUpdate`` frame's bytes and, when the frame
is the next one in sequence for a synchronised book, applies both sides straight from the
bytes, sets ``nonce``/``timestamp``/``datetime`` and resolves the book's waiters: what
``exchanges/binance.py``'s ``_DepthSync.on_diff`` does on that path, without a Python
frame, a Python int or a slice per field. Anything else (a gap, an old event, the first
event after a snapshot, bookTicker checkpoints on, a frame it cannot read) changes
nothing and returns False, and the adapter's Python path handles the frame in full.
"""
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_Check, PyDict_GetItemWithError, PyDict_SetItem
from cpython.ref cimport PyObject
from libc.stdint cimport int64_t, uint32_t
from libc.string cimport memcmp

from ccxtpro_fast._core.jsonscan cimport (
    _Keys, _compile_keys, _level_keys, scan_spans, scan_spans_nested, Spans, SPAN_STRING, SPAN_SCALAR,
    SPAN_CONTAINER, SPAN_ABSENT, NEST_OBJECT, NEST_SINGLE,
)
from ccxtpro_fast._core.orderbook cimport (
    Asks, Bids, OrderBook, OrderBookSide, ccxf_truncate, okx_crc_of_sides,
)
from ccxtpro_fast._core.timefmt cimport Iso8601

from ccxt.async_support.base.ws.client import Client as _CcxtClient

from ccxtpro_fast._core.dispatch import resolve as _compiled_resolve
from ccxtpro_fast._core.jsonscan import JSONScanError
from ccxtpro_fast._core.orderbook import CHECKSUM_KRAKEN_V2, CHECKSUM_OKX

cdef int _FMT_OKX = CHECKSUM_OKX
cdef int _FMT_KRAKEN_V2 = CHECKSUM_KRAKEN_V2

# ccxt's resolve does nothing but a dict lookup when no one waits on the hash (the rest
# of a burst): skipped here then, as long as the client's resolve is that one (or our
# client's compiled copy of it)
cdef object _CCXT_RESOLVE = _CcxtClient.resolve
cdef object _COMPILED_RESOLVE = _compiled_resolve

cdef extern from "Python.h":
    object PyUnicode_DecodeUTF8(const char *s, Py_ssize_t size, const char *errors)
    object PyBytes_FromStringAndSize(const char *s, Py_ssize_t size)
    bint PyUnicode_IS_COMPACT_ASCII(object s)
    void *PyUnicode_DATA(object s)
    Py_ssize_t PyUnicode_GET_LENGTH(object s)
    object PyLong_FromLongLong(long long v)
    long long PyLong_AsLongLong(object o) except? -1

cdef enum:
    _RECENT_KEYS = 16


cdef class _RecentKeys:
    """The routing keys frames carried last (a push's raw ``arg`` bytes, a symbol or topic
    as text): a frame whose key is one of them is looked up with that object, whose hash
    is kept, instead of one made and hashed per frame. Only the key object is reused;
    every lookup is made afresh in the caller's dict."""
    cdef list keys
    cdef Py_ssize_t next
    cdef bint text

    def __cinit__(self, bint text):
        self.keys = [('' if text else b'')] * _RECENT_KEYS
        self.next = 0
        self.text = text

    cdef object get(self, const char *data, Py_ssize_t size):
        cdef Py_ssize_t i
        for i in range(_RECENT_KEYS):
            key = self.keys[i]
            if self.text:
                # only compact ASCII strs are kept: their data is the UTF-8 text
                if (PyUnicode_GET_LENGTH(key) == size
                        and memcmp(PyUnicode_DATA(key), data, size) == 0):
                    return key
            elif PyBytes_GET_SIZE(key) == size and memcmp(PyBytes_AS_STRING(key), data, size) == 0:
                return key
        if self.text:
            fresh = PyUnicode_DecodeUTF8(data, size, NULL)
            if not PyUnicode_IS_COMPACT_ASCII(fresh):
                return fresh
        else:
            fresh = PyBytes_FromStringAndSize(data, size)
        self.keys[self.next] = fresh
        self.next = (self.next + 1) % _RECENT_KEYS
        return fresh


def _recent_keys_for_tests(bint text, list keys):
    """What a fresh _RecentKeys gives for each bytes in keys, in order."""
    cdef _RecentKeys recent = _RecentKeys(text)
    return [recent.get(PyBytes_AS_STRING(k), PyBytes_GET_SIZE(k)) for k in keys]


cdef _RecentKeys _arg_keys = _RecentKeys(False)
cdef _RecentKeys _text_keys = _RecentKeys(True)


cdef bytes _PREFIX = b'{"e":"depthUpdate"'
# the order of the spans below
cdef tuple _KEYS = (b's', b'U', b'u', b'pu', b'E', b'b', b'a')
cdef enum:
    K_S, K_FIRST, K_LAST, K_PREV, K_TIME, K_BIDS, K_ASKS
cdef _Keys _keys
_compile_keys(_KEYS, &_keys)
_level_keys(&_keys, (b'b', b'a'))


cdef inline bint _int64(const char *d, Py_ssize_t start, Py_ssize_t stop, int64_t *out) noexcept:
    """A JSON integer of at most 18 digits (no sign: update ids and times are positive)."""
    cdef int64_t v = 0
    cdef Py_ssize_t i
    cdef unsigned c
    if stop - start < 1 or stop - start > 18:
        return False
    for i in range(start, stop):
        c = <unsigned>(d[i] - 48)
        if c > 9:
            return False
        v = v * 10 + c
    out[0] = v
    return True


cdef inline void _resolve(object client, object book, object message_hash) except *:
    resolve = getattr(type(client), 'resolve', None)
    if ((resolve is not _CCXT_RESOLVE and resolve is not _COMPILED_RESOLVE) or client.verbose
            or message_hash in client.futures):
        client.resolve(book, message_hash)


cdef inline bint _as_int64(object value, int64_t *out) except -1:
    """An exact int that fits: its value (anything else: False, the adapter decides)."""
    if type(value) is not int:
        return False
    try:
        out[0] = PyLong_AsLongLong(value)
    except OverflowError:
        return False
    return True


cdef inline bint _plain_sides(object book, PyObject **asks, PyObject **bids) except -1:
    """The book's sides (borrowed, into asks/bids) when they are the plain compiled ones;
    False for any other (the adapter's path). Looked up once per update: the store and
    the checksum take them from here."""
    asks[0] = PyDict_GetItemWithError(book, 'asks')
    bids[0] = PyDict_GetItemWithError(book, 'bids')
    return (asks[0] is not NULL and bids[0] is not NULL and type(<object>asks[0]) is Asks
            and type(<object>bids[0]) is Bids)


cdef inline int _store_side(OrderBookSide side, const char *d, Spans *sp, int k) except -1:
    if sp.kind[k] == SPAN_CONTAINER:
        side.store_bytes_levels(d + sp.start[k], sp.stop[k] - sp.start[k], True)
    return 0


cdef inline int _stamp(object book, int64_t ts, object iso) except -1:
    """timestamp and datetime, as the adapters set them (iso: the exchange's iso8601)."""
    time_obj = PyLong_FromLongLong(ts)
    PyDict_SetItem(book, 'timestamp', time_obj)
    if type(iso) is Iso8601:
        PyDict_SetItem(book, 'datetime', (<Iso8601>iso).text(ts))
    else:
        PyDict_SetItem(book, 'datetime', iso(time_obj))
    return 0


cdef inline int _okx_checksum(object book, OrderBookSide asks, OrderBookSide bids,
                              int depth) except? -1:
    """The OKX-format checksum (OKX, Bitget); a subclass's checksum() is honoured."""
    if type(book) is OrderBook:
        return <int>okx_crc_of_sides(bids, asks, depth)
    return book.checksum(_FMT_OKX, depth)


def apply_binance_diff(bytes data not None, dict states not None, client):
    """Apply ``data`` (a depthUpdate frame) to its symbol's book when it is the next event
    in sequence; True when the frame was applied and its waiters resolved, False when the
    adapter must handle it (nothing was changed). ``states`` maps the connection's market
    ids to the adapter's per-symbol sync state (``_DepthSync``: ``synced``, ``first``,
    ``cross``, ``exchange``, ``symbol``, ``hash``, ``iso``)."""
    return _binance_diff(data, states, client)


cdef object _binance_diff(bytes data, dict states, client):
    cdef const char *d = PyBytes_AS_STRING(data)
    cdef Py_ssize_t size = PyBytes_GET_SIZE(data)
    cdef Spans sp
    cdef int64_t first, last, prev = 0, time_ms, nonce
    cdef bint futures
    cdef PyObject *found
    cdef PyObject *asks = NULL
    cdef PyObject *bids = NULL
    cdef object state, book
    if size < 18 or not data.startswith(_PREFIX):
        return False
    try:
        scan_spans(d, 0, size, &_keys, &sp)
    except JSONScanError:
        return False
    if (sp.kind[K_S] != SPAN_STRING or sp.kind[K_FIRST] != SPAN_SCALAR
            or sp.kind[K_LAST] != SPAN_SCALAR or sp.kind[K_TIME] != SPAN_SCALAR
            or sp.kind[K_BIDS] != SPAN_CONTAINER or sp.kind[K_ASKS] != SPAN_CONTAINER):
        return False
    if not (_int64(d, sp.start[K_FIRST], sp.stop[K_FIRST], &first)
            and _int64(d, sp.start[K_LAST], sp.stop[K_LAST], &last)
            and _int64(d, sp.start[K_TIME], sp.stop[K_TIME], &time_ms)):
        return False
    futures = sp.kind[K_PREV] != SPAN_ABSENT
    if futures and not (sp.kind[K_PREV] == SPAN_SCALAR
                        and _int64(d, sp.start[K_PREV], sp.stop[K_PREV], &prev)):
        return False
    found = PyDict_GetItemWithError(states, _text_keys.get(d + sp.start[K_S],
                                                           sp.stop[K_S] - sp.start[K_S]))
    if found is NULL:
        return False
    state = <object>found
    # the adapter's own path for anything but a synchronised book past its first event,
    # without checkpoints to keep
    if not state.synced or state.first or state.cross:
        return False
    found = PyDict_GetItemWithError(state.exchange.orderbooks, state.symbol)
    if found is NULL:
        return False
    book = <object>found
    if not PyDict_Check(book):
        return False
    found = PyDict_GetItemWithError(book, 'nonce')
    if found is NULL or not _as_int64(<object>found, &nonce):
        return False
    # spot: U <= nonce + 1 < u + 1 (an overlap is applied, as the update procedure
    # says); futures: pu == nonce (u >= nonce)
    if futures:
        if last < nonce or prev != nonce:
            return False
    elif last <= nonce or first > nonce + 1:
        return False
    if not _plain_sides(book, &asks, &bids):
        return False
    _store_side(<OrderBookSide>bids, d, &sp, K_BIDS)
    _store_side(<OrderBookSide>asks, d, &sp, K_ASKS)
    PyDict_SetItem(book, 'nonce', PyLong_FromLongLong(last))
    _stamp(book, time_ms, state.iso)
    _resolve(client, book, state.hash)
    return True


cdef inline bint _signed_int64(const char *d, Py_ssize_t start, Py_ssize_t stop,
                               int64_t *out) noexcept:
    if stop - start >= 2 and d[start] == b'-':
        if not _int64(d, start + 1, stop, out):
            return False
        out[0] = -out[0]
        return True
    return _int64(d, start, stop, out)


# OKX and Bitget push book updates in the same envelope:
#   {"arg":{...},"action":"update","data":[{...one update...}]}   (key order varies)
cdef tuple _PUSH_KEYS = (b'arg', b'action', b'data', b'event', b'code')
cdef enum:
    P_ARG, P_ACTION, P_DATA, P_EVENT, P_CODE
cdef _Keys _push_keys
_compile_keys(_PUSH_KEYS, &_push_keys)


cdef bint _update_push(const char *d, Py_ssize_t size, const _Keys *update_keys,
                       Spans *top, Spans *update) except -1:
    """An ``action: update`` push with one update and no event/code: its envelope's
    spans in top (P_*), its update's in update (False: anything else, or unreadable)."""
    if size < 8 or d[0] != b'{':
        return False
    try:
        if scan_spans_nested(d, 0, size, &_push_keys, top, P_DATA, update_keys, update) != NEST_SINGLE:
            return False
    except JSONScanError:
        return False
    return (top.kind[P_EVENT] == SPAN_ABSENT and top.kind[P_CODE] == SPAN_ABSENT
            and top.kind[P_ARG] == SPAN_CONTAINER and top.kind[P_ACTION] == SPAN_STRING
            and top.stop[P_ACTION] - top.start[P_ACTION] == 6
            and memcmp(d + top.start[P_ACTION], b'update', 6) == 0)


# OKX's update: {"asks":..,"bids":..,"ts":"..","checksum":..,"prevSeqId":..,"seqId":..}
cdef tuple _OKX_UPDATE_KEYS = (b'asks', b'bids', b'ts', b'checksum', b'prevSeqId', b'seqId')
cdef enum:
    U_ASKS, U_BIDS, U_TS, U_CHECKSUM, U_PREV, U_SEQ
cdef _Keys _okx_update_keys
_compile_keys(_OKX_UPDATE_KEYS, &_okx_update_keys)
_level_keys(&_okx_update_keys, (b'asks', b'bids'))


def apply_okx_update(bytes data not None, dict routes not None, dict orderbooks not None,
                     iso, client, bint verify):
    """An OKX ``books`` update push whose ``prevSeqId`` is the book's ``seqId``: applied
    (asks, bids), its checksum checked (when ``verify`` and non-zero), nonce/timestamp/
    datetime set and the waiters resolved. ``routes`` maps the raw bytes of a push's
    ``arg`` to (symbol, message hash), as the adapter registered them. Returns True when
    done, False when nothing was changed (the adapter handles the frame), or
    (got, expected) when the update was applied and its checksum does not match (the
    adapter resynchronises)."""
    return _okx_update(data, routes, orderbooks, iso, client, verify)


cdef object _okx_update(bytes data, dict routes, dict orderbooks, iso, client, bint verify):
    cdef const char *d = PyBytes_AS_STRING(data)
    cdef Spans top, up
    cdef int64_t ts, checksum = 0, prev, seq, nonce
    cdef PyObject *found
    cdef PyObject *asks = NULL
    cdef PyObject *bids = NULL
    cdef int got
    if not _update_push(d, PyBytes_GET_SIZE(data), &_okx_update_keys, &top, &up):
        return False
    if (up.kind[U_TS] != SPAN_STRING or up.kind[U_PREV] != SPAN_SCALAR
            or up.kind[U_SEQ] != SPAN_SCALAR
            or (up.kind[U_ASKS] != SPAN_ABSENT and up.kind[U_ASKS] != SPAN_CONTAINER)
            or (up.kind[U_BIDS] != SPAN_ABSENT and up.kind[U_BIDS] != SPAN_CONTAINER)):
        return False
    if not (_int64(d, up.start[U_TS], up.stop[U_TS], &ts)
            and _signed_int64(d, up.start[U_PREV], up.stop[U_PREV], &prev)
            and _signed_int64(d, up.start[U_SEQ], up.stop[U_SEQ], &seq)):
        return False
    if up.kind[U_CHECKSUM] != SPAN_ABSENT and not (
            up.kind[U_CHECKSUM] == SPAN_SCALAR
            and _signed_int64(d, up.start[U_CHECKSUM], up.stop[U_CHECKSUM], &checksum)):
        return False
    found = PyDict_GetItemWithError(routes, _arg_keys.get(d + top.start[P_ARG],
                                                         top.stop[P_ARG] - top.start[P_ARG]))
    if found is NULL:
        return False
    symbol, message_hash = <tuple>found
    found = PyDict_GetItemWithError(orderbooks, symbol)
    if found is NULL or not isinstance(<object>found, OrderBook):
        return False
    book = <object>found
    found = PyDict_GetItemWithError(book, 'nonce')
    if found is NULL or not _as_int64(<object>found, &nonce):
        return False
    if prev == -1 or prev != nonce or not _plain_sides(book, &asks, &bids):
        return False
    _store_side(<OrderBookSide>asks, d, &up, U_ASKS)
    _store_side(<OrderBookSide>bids, d, &up, U_BIDS)
    if verify and checksum != 0:
        got = _okx_checksum(book, <OrderBookSide>asks, <OrderBookSide>bids, 25)
        if got != checksum:
            return (got, checksum)
    PyDict_SetItem(book, 'nonce', PyLong_FromLongLong(seq))
    _stamp(book, ts, iso)
    _resolve(client, book, message_hash)
    return True


# Bybit v5: {"topic":"orderbook.50.BTCUSDT","type":"delta","ts":..,"data":{"s":..,"b":[..],
#            "a":[..],"u":..,"seq":..},"cts":..}
cdef tuple _BYBIT_KEYS = (b'topic', b'type', b'ts', b'data')
cdef enum:
    Y_TOPIC, Y_TYPE, Y_TS, Y_DATA
cdef _Keys _bybit_keys
_compile_keys(_BYBIT_KEYS, &_bybit_keys)
cdef tuple _BYBIT_DATA_KEYS = (b'b', b'a', b'u', b'seq')
cdef enum:
    YD_BIDS, YD_ASKS, YD_U, YD_SEQ
cdef _Keys _bybit_data_keys
_compile_keys(_BYBIT_DATA_KEYS, &_bybit_data_keys)
_level_keys(&_bybit_data_keys, (b'b', b'a'))


def apply_bybit_delta(bytes data not None, dict states not None, dict orderbooks not None,
                      client):
    """A Bybit ``orderbook`` delta whose ``u`` is the topic's last ``u`` + 1: applied
    (asks, bids), ``timestamp``/``datetime`` set, the topic's ``u``/``seq`` advanced and
    the waiters resolved. ``states`` maps a topic to the adapter's sync state (``_Book``:
    ``synced``, ``bidask``, ``u``, ``seq``, ``symbol``, ``hash``, ``iso``). True when done,
    False when nothing was changed (the adapter handles the frame)."""
    return _bybit_delta(data, states, orderbooks, client)


cdef object _bybit_delta(bytes data, dict states, dict orderbooks, client):
    cdef const char *d = PyBytes_AS_STRING(data)
    cdef Py_ssize_t size = PyBytes_GET_SIZE(data)
    cdef Spans top, inner
    cdef int64_t ts, u, seq = 0, last
    cdef PyObject *found
    cdef PyObject *asks = NULL
    cdef PyObject *bids = NULL
    if size < 10 or d[0] != b'{':
        return False
    try:
        if scan_spans_nested(d, 0, size, &_bybit_keys, &top, Y_DATA, &_bybit_data_keys,
                             &inner) != NEST_OBJECT:
            return False
    except JSONScanError:
        return False
    if (top.kind[Y_TOPIC] != SPAN_STRING or top.kind[Y_TYPE] != SPAN_STRING
            or top.kind[Y_TS] != SPAN_SCALAR
            or top.stop[Y_TYPE] - top.start[Y_TYPE] != 5
            or memcmp(d + top.start[Y_TYPE], b'delta', 5) != 0):
        return False
    if (inner.kind[YD_BIDS] != SPAN_CONTAINER or inner.kind[YD_ASKS] != SPAN_CONTAINER
            or inner.kind[YD_U] != SPAN_SCALAR):
        return False
    if not (_int64(d, top.start[Y_TS], top.stop[Y_TS], &ts)
            and _int64(d, inner.start[YD_U], inner.stop[YD_U], &u)):
        return False
    if inner.kind[YD_SEQ] != SPAN_ABSENT and not (
            inner.kind[YD_SEQ] == SPAN_SCALAR
            and _int64(d, inner.start[YD_SEQ], inner.stop[YD_SEQ], &seq)):
        return False
    found = PyDict_GetItemWithError(states, _text_keys.get(d + top.start[Y_TOPIC],
                                                           top.stop[Y_TOPIC] - top.start[Y_TOPIC]))
    if found is NULL:
        return False
    state = <object>found
    # a topic being resynced, or a depth-1 topic (it also resolves bids/asks): the adapter
    if not state.synced or state.bidask:
        return False
    if not _as_int64(state.u, &last) or u != last + 1:
        return False
    found = PyDict_GetItemWithError(orderbooks, state.symbol)
    if found is NULL or not PyDict_Check(<object>found) or not _plain_sides(<object>found, &asks, &bids):
        return False
    book = <object>found
    _store_side(<OrderBookSide>asks, d, &inner, YD_ASKS)
    _store_side(<OrderBookSide>bids, d, &inner, YD_BIDS)
    state.u = PyLong_FromLongLong(u)
    state.seq = PyLong_FromLongLong(seq) if inner.kind[YD_SEQ] != SPAN_ABSENT else None
    _stamp(book, ts, state.iso)
    _resolve(client, book, state.hash)
    return True


# Bitget's update: {"asks":[..],"bids":[..],"checksum":..,"seq":..,"ts":".."}
cdef tuple _BITGET_UPDATE_KEYS = (b'asks', b'bids', b'checksum', b'seq', b'ts', b'a', b'b')
cdef enum:
    GU_ASKS, GU_BIDS, GU_CHECKSUM, GU_SEQ, GU_TS, GU_A, GU_B
cdef _Keys _bitget_update_keys
_compile_keys(_BITGET_UPDATE_KEYS, &_bitget_update_keys)
_level_keys(&_bitget_update_keys, (b'asks', b'bids', b'a', b'b'))


def apply_bitget_update(bytes data not None, dict states not None, dict orderbooks not None,
                        iso, client):
    """A Bitget ``books`` update of a synchronised channel whose ``seq`` (when present)
    increases: applied (asks, bids), its checksum verified (when the channel verifies),
    ``timestamp``/``datetime`` set and the waiters resolved. ``states`` maps the raw
    bytes of a push's ``arg`` to the adapter's ``_BookSync`` (``synced``, ``verify``,
    ``seq``, ``symbol``, ``hash``, ``checksums``, ``failures``). Returns True when done,
    False when nothing was changed (the adapter handles the frame), or (got, expected)
    when the update was applied and its checksum does not match (the adapter
    resynchronises)."""
    return _bitget_update(data, states, orderbooks, iso, client)


cdef object _bitget_update(bytes data, dict states, dict orderbooks, iso, client):
    cdef const char *d = PyBytes_AS_STRING(data)
    cdef Spans top, up
    cdef int64_t ts, checksum = 0, seq = 0, last
    cdef bint has_seq, has_checksum
    cdef PyObject *found
    cdef PyObject *asks = NULL
    cdef PyObject *bids = NULL
    cdef int got
    if not _update_push(d, PyBytes_GET_SIZE(data), &_bitget_update_keys, &top, &up):
        return False
    if (up.kind[GU_A] != SPAN_ABSENT or up.kind[GU_B] != SPAN_ABSENT
            or (up.kind[GU_ASKS] != SPAN_ABSENT and up.kind[GU_ASKS] != SPAN_CONTAINER)
            or (up.kind[GU_BIDS] != SPAN_ABSENT and up.kind[GU_BIDS] != SPAN_CONTAINER)
            or up.kind[GU_TS] != SPAN_STRING
            or not _int64(d, up.start[GU_TS], up.stop[GU_TS], &ts)):
        return False
    has_seq = up.kind[GU_SEQ] != SPAN_ABSENT
    if has_seq and not ((up.kind[GU_SEQ] == SPAN_SCALAR or up.kind[GU_SEQ] == SPAN_STRING)
                        and _int64(d, up.start[GU_SEQ], up.stop[GU_SEQ], &seq)):
        return False
    has_checksum = up.kind[GU_CHECKSUM] != SPAN_ABSENT
    if has_checksum and not (up.kind[GU_CHECKSUM] == SPAN_SCALAR and _signed_int64(
            d, up.start[GU_CHECKSUM], up.stop[GU_CHECKSUM], &checksum)):
        return False
    found = PyDict_GetItemWithError(states, _arg_keys.get(d + top.start[P_ARG],
                                                         top.stop[P_ARG] - top.start[P_ARG]))
    if found is NULL:
        return False
    st = <object>found
    if not st.synced:
        return False
    if has_seq and st.seq is not None and not (_as_int64(st.seq, &last) and seq > last):
        return False
    found = PyDict_GetItemWithError(orderbooks, st.symbol)
    if found is NULL or not isinstance(<object>found, OrderBook) or not _plain_sides(<object>found, &asks, &bids):
        return False
    book = <object>found
    if has_seq:
        st.seq = PyLong_FromLongLong(seq)
    _store_side(<OrderBookSide>asks, d, &up, GU_ASKS)
    _store_side(<OrderBookSide>bids, d, &up, GU_BIDS)
    if has_checksum and st.verify:
        got = _okx_checksum(book, <OrderBookSide>asks, <OrderBookSide>bids, 25)
        if got != checksum:
            return (got, checksum)
        st.checksums += 1
        st.failures = 0
    _stamp(book, ts, iso)
    _resolve(client, book, st.hash)
    return True



# Kraken v2: {"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":..,
#            "qty":..}],"asks":[..],"checksum":..,"timestamp":"2023-10-06T17:35:55.440295Z"}]}
cdef tuple _KRAKEN_KEYS = (b'channel', b'type', b'data')
cdef enum:
    KR_CHANNEL, KR_TYPE, KR_DATA
cdef _Keys _kraken_keys
_compile_keys(_KRAKEN_KEYS, &_kraken_keys)
cdef tuple _KRAKEN_BOOK_KEYS = (b'symbol', b'bids', b'asks', b'checksum', b'timestamp')
cdef enum:
    KB_SYMBOL, KB_BIDS, KB_ASKS, KB_CHECKSUM, KB_TIMESTAMP
cdef _Keys _kraken_book_keys
_compile_keys(_KRAKEN_BOOK_KEYS, &_kraken_book_keys)
cdef enum:
    KRAKEN_CHECKSUM_DEPTH = 10    # "always calculated over the top 10 price levels"


cdef inline int _digits(const char *d, Py_ssize_t at, int n) noexcept:
    """The n digits at d[at:] as a number, -1 if one is not a digit."""
    cdef int v = 0, k
    cdef unsigned c
    for k in range(n):
        c = <unsigned>(d[at + k] - 48)
        if c > 9:
            return -1
        v = v * 10 + <int>c
    return v


cdef bint _kraken_ms(const char *d, Py_ssize_t start, Py_ssize_t stop, int64_t *out) noexcept:
    """v2's 'YYYY-MM-DDTHH:MM:SS.fff...Z' (at least three fraction digits) as epoch ms, as
    the adapter's _kraken_ms computes it (parse8601 of the second + the first three
    fraction digits); False for any other text, or a date it cannot be sure of."""
    cdef Py_ssize_t n = stop - start, k
    cdef int y, mo, day, h, mi, sec, ms, month_days
    cdef int64_t days, era, yoe, doy, doe, yy
    cdef const char *t = d + start
    if n < 24 or t[4] != b'-' or t[7] != b'-' or t[10] != b'T' or t[13] != b':' or t[16] != b':' \
            or t[19] != b'.' or t[n - 1] != b'Z':
        return False
    y = _digits(t, 0, 4)
    mo = _digits(t, 5, 2)
    day = _digits(t, 8, 2)
    h = _digits(t, 11, 2)
    mi = _digits(t, 14, 2)
    sec = _digits(t, 17, 2)
    ms = _digits(t, 20, 3)
    for k in range(23, n - 1):
        if <unsigned>(t[k] - 48) > 9:
            return False
    if (y < 1970 or mo < 1 or mo > 12 or day < 1 or h < 0 or h > 23 or mi < 0 or mi > 59
            or sec < 0 or sec > 59 or ms < 0):
        return False
    if mo == 2:
        month_days = 29 if y % 4 == 0 and (y % 100 != 0 or y % 400 == 0) else 28
    elif mo == 4 or mo == 6 or mo == 9 or mo == 11:
        month_days = 30
    else:
        month_days = 31
    if day > month_days:
        return False
    # days from 1970-01-01 (proleptic Gregorian; Howard Hinnant's days_from_civil)
    yy = y - (1 if mo <= 2 else 0)
    era = yy // 400
    yoe = yy - era * 400
    doy = (153 * (mo + (-3 if mo > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    out[0] = ((days * 24 + h) * 60 + mi) * 60000 + sec * 1000 + ms
    return True


cdef inline int _kraken_side(OrderBookSide side, const char *d, Spans *sp, int k) except -1:
    # 1: a level of another shape (the Python path takes the message; see
    # store_bytes_level_objects)
    if sp.kind[k] == SPAN_CONTAINER:
        return side.store_bytes_level_objects(d + sp.start[k], sp.stop[k] - sp.start[k], True)
    return 0


cdef object _KRAKEN_SNAPSHOT = object()     # _kraken_update: a book snapshot, not applied


def apply_kraken_update(bytes data not None, dict syncs not None, client):
    """A Kraken v2 ``book`` update of a synchronised symbol: applied (asks, bids, as
    exchanges/kraken.py's handle_order_book does: timestamp/datetime set, truncated to
    the book's depth), its checksum verified (when the symbol verifies) and the waiters
    resolved. ``syncs`` maps the wire symbol to the adapter's ``BookSync``. True when
    done; False when nothing was changed, or when a level has another shape than
    ``{"price":N,"qty":N}`` (the adapter's path then takes the message: applying the
    levels again changes nothing); the BookSync when the update was applied and its
    checksum does not match (the adapter resynchronises)."""
    result = _kraken_update(data, syncs, client)
    return False if result is _KRAKEN_SNAPSHOT else result


cdef object _kraken_update(bytes data, dict syncs, client):
    cdef const char *d = PyBytes_AS_STRING(data)
    cdef Py_ssize_t size = PyBytes_GET_SIZE(data)
    cdef Spans top, bk
    cdef int64_t checksum = -1, ts
    cdef PyObject *found
    cdef PyObject *asks = NULL
    cdef PyObject *bids = NULL
    cdef uint32_t got
    if size < 16 or d[0] != b'{':
        return False
    try:
        if scan_spans_nested(d, 0, size, &_kraken_keys, &top, KR_DATA, &_kraken_book_keys, &bk) != NEST_SINGLE:
            return False
    except JSONScanError:
        return False
    if (top.kind[KR_CHANNEL] != SPAN_STRING or top.stop[KR_CHANNEL] - top.start[KR_CHANNEL] != 4
            or memcmp(d + top.start[KR_CHANNEL], b'book', 4) != 0
            or top.kind[KR_TYPE] != SPAN_STRING):
        return False
    if (top.stop[KR_TYPE] - top.start[KR_TYPE] == 8
            and memcmp(d + top.start[KR_TYPE], b'snapshot', 8) == 0):
        return _KRAKEN_SNAPSHOT
    if (top.stop[KR_TYPE] - top.start[KR_TYPE] != 6
            or memcmp(d + top.start[KR_TYPE], b'update', 6) != 0):
        return False
    if (bk.kind[KB_SYMBOL] != SPAN_STRING or bk.kind[KB_TIMESTAMP] != SPAN_STRING
            or (bk.kind[KB_BIDS] != SPAN_ABSENT and bk.kind[KB_BIDS] != SPAN_CONTAINER)
            or (bk.kind[KB_ASKS] != SPAN_ABSENT and bk.kind[KB_ASKS] != SPAN_CONTAINER)):
        return False
    if bk.kind[KB_CHECKSUM] != SPAN_ABSENT and not (
            bk.kind[KB_CHECKSUM] == SPAN_SCALAR
            and _int64(d, bk.start[KB_CHECKSUM], bk.stop[KB_CHECKSUM], &checksum)):
        return False
    if not _kraken_ms(d, bk.start[KB_TIMESTAMP], bk.stop[KB_TIMESTAMP], &ts):
        return False
    found = PyDict_GetItemWithError(syncs, _text_keys.get(
        d + bk.start[KB_SYMBOL], bk.stop[KB_SYMBOL] - bk.start[KB_SYMBOL]))
    if found is NULL:
        return False
    sync = <object>found
    if sync.resyncing:
        return False
    book = sync.book
    if type(book) is not OrderBook or not _plain_sides(book, &asks, &bids):
        return False
    if (_kraken_side(<OrderBookSide>asks, d, &bk, KB_ASKS)
            or _kraken_side(<OrderBookSide>bids, d, &bk, KB_BIDS)):
        return False
    PyDict_SetItem(book, 'timestamp', PyLong_FromLongLong(ts))
    PyDict_SetItem(book, 'datetime', PyUnicode_DecodeUTF8(
        d + bk.start[KB_TIMESTAMP], bk.stop[KB_TIMESTAMP] - bk.start[KB_TIMESTAMP], NULL))
    ccxf_truncate(&(<OrderBookSide>asks).s, (<OrderBookSide>asks).depth)
    ccxf_truncate(&(<OrderBookSide>bids).s, (<OrderBookSide>bids).depth)
    if sync.verify and checksum >= 0:
        got = (<OrderBook>book).checksum_crc(_FMT_KRAKEN_V2, KRAKEN_CHECKSUM_DEPTH,
                                             sync.price_precision, sync.qty_precision)
        if got != checksum:
            return sync
        sync.verified += 1
        sync.attempts = 0
    _resolve(client, book, sync.message_hash)
    return True

# ---------------------------------------------------------------- raw-frame hooks
#
# A native adapter's handle_raw_message, compiled: the client's raw-frame callback is one
# of these objects (``ccxtpro_fast.base.exchange.raw_hook`` makes it per exchange), which
# the compiled listener calls in C, without the Python frame and attribute loads a bound
# method costs per frame. Python code calls it like the method. Each holds the adapter's
# own routing dicts (made once in its __init__, only ever mutated) and reads the
# exchange's public attributes (orderbooks, iso8601, options) on every frame, since user
# code may replace those.


cdef class RawHook:
    """``hook(client, data) -> bool``: True when the frame was handled. ``applied``
    counts the frames the core applied (with a checksum mismatch too)."""

    cdef int handle(self, object client, bytes data) except -1:
        raise NotImplementedError

    def __call__(self, client, bytes data not None):
        return self.handle(client, data) == 1


cdef inline object _attribute(dict attributes, object exchange, str name):
    """exchange.<name> for a plain instance attribute (ccxt sets orderbooks, options and
    iso8601 in __init__), read from the instance dict: a generic getattr would first
    search the exchange's long MRO for a descriptor, on every frame."""
    cdef PyObject *found = PyDict_GetItemWithError(attributes, name)
    return <object>found if found is not NULL else getattr(exchange, name)


cpdef bint okx_verify_checksums(options) except -1:
    """OKX's ``options['watchOrderBook']['checksum']`` (default: verify)."""
    book_options = options.get('watchOrderBook') if type(options) is not dict else (
        (<dict>options).get('watchOrderBook'))
    if isinstance(book_options, dict):
        return bool((<dict>book_options).get('checksum', True))
    return True


cdef class OkxUpdateHook(RawHook):
    """okx.handle_raw_message: apply_okx_update unless a resync runs; a checksum
    mismatch goes to ``on_mismatch(client, data, (got, expected))``."""
    cdef object exchange
    cdef dict attributes, resyncs, routes
    cdef object on_mismatch

    def __init__(self, exchange, dict resyncs not None, dict routes not None, on_mismatch):
        self.exchange = exchange
        self.attributes = exchange.__dict__
        self.resyncs = resyncs
        self.routes = routes
        self.on_mismatch = on_mismatch

    cdef int handle(self, object client, bytes data) except -1:
        if self.resyncs:
            return 0
        exchange = self.exchange
        orderbooks = _attribute(self.attributes, exchange, 'orderbooks')
        if not isinstance(orderbooks, dict):
            return 0
        result = _okx_update(data, self.routes, orderbooks, _attribute(self.attributes, exchange, 'iso8601'),
                             client, okx_verify_checksums(_attribute(self.attributes, exchange, 'options')))
        if result is False:
            return 0
        self.applied += 1
        if result is not True:
            self.on_mismatch(client, data, result)
        return 1


cdef class BitgetUpdateHook(RawHook):
    """bitget.handle_raw_message: apply_bitget_update; a checksum mismatch goes to
    ``on_mismatch(client, data)``."""
    cdef object exchange
    cdef dict attributes, routes
    cdef object on_mismatch

    def __init__(self, exchange, dict routes not None, on_mismatch):
        self.exchange = exchange
        self.attributes = exchange.__dict__
        self.routes = routes
        self.on_mismatch = on_mismatch

    cdef int handle(self, object client, bytes data) except -1:
        exchange = self.exchange
        orderbooks = _attribute(self.attributes, exchange, 'orderbooks')
        if not isinstance(orderbooks, dict):
            return 0
        result = _bitget_update(data, self.routes, orderbooks, _attribute(self.attributes, exchange, 'iso8601'),
                                client)
        if result is False:
            return 0
        self.applied += 1
        if result is not True:
            self.on_mismatch(client, data)
        return 1


cdef class BybitDeltaHook(RawHook):
    """bybit.handle_raw_message: apply_bybit_delta with the client's topic states."""
    cdef object exchange
    cdef dict attributes, books

    def __init__(self, exchange, dict books not None):
        self.exchange = exchange
        self.attributes = exchange.__dict__
        self.books = books

    cdef int handle(self, object client, bytes data) except -1:
        cdef PyObject *states = PyDict_GetItemWithError(self.books, client)
        orderbooks = _attribute(self.attributes, self.exchange, 'orderbooks')
        if states is NULL or not isinstance(<object>states, dict) or not isinstance(orderbooks, dict):
            return 0
        if not _bybit_delta(data, <dict>states, orderbooks, client):
            return 0
        self.applied += 1
        return 1


cdef class BinanceDepthHook(RawHook):
    """binance.handle_raw_message: a depthUpdate frame is applied by apply_binance_diff
    when it is the next of a synchronised book, else handed to ``slow(client, data)``
    (the adapter's sync rules); any other frame is not handled here."""
    cdef dict routes
    cdef object slow

    def __init__(self, dict routes not None, slow):
        self.routes = routes
        self.slow = slow

    cdef int handle(self, object client, bytes data) except -1:
        cdef PyObject *routes
        if PyBytes_GET_SIZE(data) < 18 or memcmp(PyBytes_AS_STRING(data), <const char *>_PREFIX, 18) != 0:
            return 0
        routes = PyDict_GetItemWithError(self.routes, client)
        if routes is not NULL:
            depth = (<object>routes).depth
            if isinstance(depth, dict) and _binance_diff(data, depth, client):
                self.applied += 1
                return 1
        return 1 if self.slow(client, data) else 0


cdef class KrakenBookHook(RawHook):
    """kraken.handle_raw_message: apply_kraken_update; a checksum mismatch goes to
    ``on_mismatch(client, sync)``, a book snapshot's frame (one symbol) to
    ``on_snapshot(client, data)`` when given."""
    cdef dict syncs
    cdef object on_mismatch
    cdef object on_snapshot

    def __init__(self, dict syncs not None, on_mismatch, on_snapshot=None):
        self.syncs = syncs
        self.on_mismatch = on_mismatch
        self.on_snapshot = on_snapshot

    cdef int handle(self, object client, bytes data) except -1:
        result = _kraken_update(data, self.syncs, client)
        if result is False:
            return 0
        if result is _KRAKEN_SNAPSHOT:
            if self.on_snapshot is None:
                return 0
            self.on_snapshot(client, data)
            return 1
        self.applied += 1
        if result is not True:
            self.on_mismatch(client, result)
        return 1
