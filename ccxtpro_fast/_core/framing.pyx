"""Decompression of binary WebSocket frames, with a hard limit on the output size.

Exchanges that compress (HTX and Bitmart gzip or raw deflate, OKX's old API, ...) send
frames of a few kB. A frame that inflates past the limit is a compression bomb or a broken
peer: it raises DecompressionError instead of exhausting memory."""
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from libc.string cimport memset

cdef extern from "zlib.h":
    ctypedef struct z_stream:
        const unsigned char *next_in
        unsigned int avail_in
        unsigned char *next_out
        unsigned int avail_out
        const char *msg
    int Z_OK
    int Z_STREAM_END
    int Z_BUF_ERROR
    int Z_NO_FLUSH
    int inflateInit2(z_stream *strm, int windowBits) nogil
    int inflate(z_stream *strm, int flush) nogil
    int inflateEnd(z_stream *strm) nogil

# window bits: how zlib is told which framing the data has
GZIP = 31
DEFLATE = -15   # raw deflate, no header (what ccxt's `inflate` handles)
ZLIB = 15
AUTO = 47       # zlib or gzip, from the header

DEFAULT_MAX_SIZE = 64 * 1024 * 1024


class DecompressionError(ValueError):
    """A frame that is corrupt, truncated, or inflates past the size limit."""


def decompress(data, int wbits=GZIP, Py_ssize_t max_size=DEFAULT_MAX_SIZE):
    """Inflate one compressed frame (bytes-like) and return the bytes.

    wbits: GZIP, DEFLATE (raw), ZLIB or AUTO. Raises DecompressionError when the input is
    corrupt or truncated, or when the output would exceed max_size bytes."""
    cdef const unsigned char[::1] view = data
    cdef z_stream zs
    cdef Py_ssize_t cap, used = 0, in_size = view.shape[0]
    cdef unsigned char *out
    cdef unsigned char *grown
    cdef int rc
    if max_size < 0:
        # a negative limit became a huge malloc size below (a bogus MemoryError)
        raise ValueError(f'max_size must be >= 0, not {max_size}')
    if in_size == 0:
        raise DecompressionError('empty compressed frame')
    if in_size > 0xFFFFFFFF:
        raise DecompressionError('compressed frame too large')
    memset(&zs, 0, sizeof(zs))
    zs.next_in = &view[0]
    zs.avail_in = <unsigned int>in_size
    if inflateInit2(&zs, wbits) != Z_OK:
        raise DecompressionError(f'bad window bits {wbits}')
    cap = min(max(in_size * 4, 1024), max_size + 1)
    out = <unsigned char *>PyMem_Malloc(cap)
    if out == NULL:
        inflateEnd(&zs)
        raise MemoryError()
    try:
        while True:
            zs.next_out = out + used
            zs.avail_out = <unsigned int>min(cap - used, 0xFFFFFFFF)
            with nogil:
                rc = inflate(&zs, Z_NO_FLUSH)
            used = <Py_ssize_t>(zs.next_out - out)
            if rc == Z_STREAM_END:
                break
            if rc == Z_BUF_ERROR and zs.avail_in == 0 and used < cap:
                raise DecompressionError('truncated compressed frame')
            if rc != Z_OK and rc != Z_BUF_ERROR:
                msg = zs.msg.decode('ascii', 'replace') if zs.msg != NULL else f'zlib error {rc}'
                raise DecompressionError(f'corrupt compressed frame: {msg}')
            if used > max_size:
                raise DecompressionError(f'frame inflates past the {max_size}-byte limit')
            if used == cap:
                if cap > max_size:
                    raise DecompressionError(f'frame inflates past the {max_size}-byte limit')
                cap = min(cap * 2, max_size + 1)
                grown = <unsigned char *>PyMem_Realloc(out, cap)
                if grown == NULL:
                    raise MemoryError()
                out = grown
        if used > max_size:
            raise DecompressionError(f'frame inflates past the {max_size}-byte limit')
        return PyBytes_FromStringAndSize(<char *>out, used)
    finally:
        inflateEnd(&zs)
        PyMem_Free(out)
