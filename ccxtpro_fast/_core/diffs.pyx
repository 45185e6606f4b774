# cython: freethreading_compatible = False
"""Depth diffs applied in one compiled step, for the common case of an adapter's hot path.

``apply_binance_diff`` takes a Binance ``depthUpdate`` frame's bytes and, when the frame
is the next one in sequence for a synchronised book, applies both sides straight from the
bytes, sets ``nonce``/``timestamp``/``datetime`` and resolves the book's waiters: what
``exchanges/binance.py``'s ``_DepthSync.on_diff`` does on that path, without a Python
frame, a Python int or a slice per field. Anything else (a gap, an old event, the first
event after a snapshot, bookTicker checkpoints on, a frame it cannot read) changes
nothing and returns False, and the adapter's Python path handles the frame in full.
"""
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_Check, PyDict_GetItem, PyDict_SetItem
from cpython.ref cimport PyObject
from libc.stdint cimport int64_t

from ccxtpro_fast._core.jsonscan cimport (
    _Keys, _compile_keys, scan_spans, Spans, SPAN_STRING, SPAN_SCALAR, SPAN_CONTAINER,
    SPAN_ABSENT,
)
from ccxtpro_fast._core.orderbook cimport Asks, Bids, OrderBookSide
from ccxtpro_fast._core.timefmt cimport Iso8601

from ccxt.async_support.base.ws.client import Client as _CcxtClient

from ccxtpro_fast._core.jsonscan import JSONScanError

# ccxt's resolve does nothing but a dict lookup when no one waits on the hash (the rest
# of a burst): skipped here then, as long as the client's resolve is that one
cdef object _CCXT_RESOLVE = _CcxtClient.resolve

cdef extern from "Python.h":
    object PyUnicode_DecodeUTF8(const char *s, Py_ssize_t size, const char *errors)
    object PyLong_FromLongLong(long long v)
    long long PyLong_AsLongLong(object o) except? -1

cdef bytes _PREFIX = b'{"e":"depthUpdate"'
# the order of the spans below
cdef tuple _KEYS = (b's', b'U', b'u', b'pu', b'E', b'b', b'a')
cdef enum:
    K_S, K_FIRST, K_LAST, K_PREV, K_TIME, K_BIDS, K_ASKS
cdef _Keys _keys
_compile_keys(_KEYS, &_keys)


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


def apply_binance_diff(bytes data not None, dict states not None, client):
    """Apply ``data`` (a depthUpdate frame) to its symbol's book when it is the next event
    in sequence; True when the frame was applied and its waiters resolved, False when the
    adapter must handle it (nothing was changed). ``states`` maps the connection's market
    ids to the adapter's per-symbol sync state (``_DepthSync``: ``synced``, ``first``,
    ``cross``, ``exchange``, ``symbol``, ``hash``, ``iso``)."""
    cdef const char *d = PyBytes_AS_STRING(data)
    cdef Py_ssize_t size = PyBytes_GET_SIZE(data)
    cdef Spans sp
    cdef int64_t first, last, prev = 0, time_ms, nonce
    cdef bint futures
    cdef PyObject *found
    cdef object state, book, bids, asks, nonce_obj
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
    found = PyDict_GetItem(states, PyUnicode_DecodeUTF8(d + sp.start[K_S],
                                                        sp.stop[K_S] - sp.start[K_S], NULL))
    if found is NULL:
        return False
    state = <object>found
    # the adapter's own path for anything but a synchronised book past its first event,
    # without checkpoints to keep
    if not state.synced or state.first or state.cross:
        return False
    found = PyDict_GetItem(state.exchange.orderbooks, state.symbol)
    if found is NULL:
        return False
    book = <object>found
    if not PyDict_Check(book):
        return False
    found = PyDict_GetItem(book, 'nonce')
    if found is NULL or type(<object>found) is not int:
        return False
    nonce_obj = <object>found
    try:
        nonce = PyLong_AsLongLong(nonce_obj)
    except OverflowError:
        return False
    # spot: U == nonce + 1 (u > nonce); futures: pu == nonce (u >= nonce)
    if futures:
        if last < nonce or prev != nonce:
            return False
    elif last <= nonce or first != nonce + 1:
        return False
    found = PyDict_GetItem(book, 'bids')
    if found is NULL or type(<object>found) is not Bids:
        return False
    bids = <object>found
    found = PyDict_GetItem(book, 'asks')
    if found is NULL or type(<object>found) is not Asks:
        return False
    asks = <object>found
    (<OrderBookSide>bids).store_bytes_levels(d + sp.start[K_BIDS],
                                             sp.stop[K_BIDS] - sp.start[K_BIDS], True)
    (<OrderBookSide>asks).store_bytes_levels(d + sp.start[K_ASKS],
                                             sp.stop[K_ASKS] - sp.start[K_ASKS], True)
    time_obj = PyLong_FromLongLong(time_ms)
    PyDict_SetItem(book, 'nonce', PyLong_FromLongLong(last))
    PyDict_SetItem(book, 'timestamp', time_obj)
    iso = state.iso
    if type(iso) is Iso8601:
        PyDict_SetItem(book, 'datetime', (<Iso8601>iso).text(time_ms))
    else:
        PyDict_SetItem(book, 'datetime', iso(time_obj))
    message_hash = state.hash
    if (getattr(type(client), 'resolve', None) is not _CCXT_RESOLVE or client.verbose
            or message_hash in client.futures):
        client.resolve(book, message_hash)
    return True
