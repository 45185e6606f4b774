# The shallow JSON scanner's C level, for other core modules (see jsonscan.pyx).

cdef enum:
    MAX_FIELDS = 32

# the keys of a field scan, as C pointers into the bytes of the caller's key tuple
cdef struct _Keys:
    Py_ssize_t n
    const char *ptr[MAX_FIELDS]
    Py_ssize_t len[MAX_FIELDS]
    signed char single[256]     # a one-byte key -> its index (the first one), -1: none
    unsigned char levels[MAX_FIELDS]    # 1: the key's array is a level array (_level_keys)

cdef enum SpanKind:
    SPAN_ABSENT = 0
    SPAN_STRING = 1         # text inside the quotes, no escapes
    SPAN_ESCAPED = 2        # text inside the quotes, with escapes
    SPAN_CONTAINER = 3      # an array or object, brackets included
    SPAN_SCALAR = 4         # a number, true, false or null as written

cdef struct Spans:
    Py_ssize_t start[MAX_FIELDS]
    Py_ssize_t stop[MAX_FIELDS]
    unsigned char kind[MAX_FIELDS]

cdef int _compile_keys(tuple keys, _Keys *ks) except -1
cdef int _level_keys(_Keys *ks, tuple names) except -1
cdef Py_ssize_t _container_end(const char *d, Py_ssize_t i, Py_ssize_t end) except -1
cdef int scan_spans(const char *d, Py_ssize_t start, Py_ssize_t stop, const _Keys *ks,
                    Spans *out) except -1

cdef enum NestKind:
    NEST_NONE = 0           # the nested key is absent, or not an object / one-object array
    NEST_OBJECT = 1         # its value is an object, scanned
    NEST_SINGLE = 2         # its value is an array of exactly one object, that object scanned

cdef int scan_spans_nested(const char *d, Py_ssize_t start, Py_ssize_t stop, const _Keys *ks,
                           Spans *out, int nest, const _Keys *inner_ks, Spans *inner) except -1
