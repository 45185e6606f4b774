# The compiled order books: the contract other Cython code cimports.
from libc.stdint cimport int64_t, int8_t, uint8_t, uint32_t


cdef extern from "ccxf.h":
    ctypedef struct ccxf_level:
        char price_text[24]
        char amount_text[24]
        double amount
        double extra
        uint8_t price_len
        uint8_t amount_len
        uint8_t extra_is_int
        uint8_t amount_lazy

    const char *ccxf_price_text(const ccxf_level *lv) nogil
    const char *ccxf_amount_text(const ccxf_level *lv) nogil
    int CCXF_TEXT_FIELD

    ctypedef struct ccxf_side:
        Py_ssize_t n
        int is_bid

    int CCXF_NO_TEXT
    int CCXF_PARSE_OK
    int CCXF_PARSE_SYNTAX
    int CCXF_PARSE_RANGE
    int CCXF_PARSE_TOO_LONG
    int CCXF_MAX_NUMBER_TEXT
    int CCXF_LEVEL_TEXT_MAX

    # not nogil: its slow path (long or exponent forms) calls CPython's dtoa
    int ccxf_parse_decimal(const char *s, Py_ssize_t n, double *value, int64_t *mant,
                           int8_t *scale)
    Py_ssize_t ccxf_render_decimal(char *out, int64_t mant, int scale) nogil
    Py_ssize_t ccxf_render_wire(char *out, double v, const char *text, uint8_t len)
    Py_ssize_t ccxf_okx_text(char *buf, ccxf_side *bids, ccxf_side *asks, Py_ssize_t depth)
    Py_ssize_t ccxf_render_js(char *out, double v)
    Py_ssize_t ccxf_render_kraken(char *out, double v, const char *text, uint8_t len,
                                  int precision)
    Py_ssize_t ccxf_kraken_text16(char *out, const char *text, Py_ssize_t len,
                                  int precision) nogil
    void ccxf_side_init(ccxf_side *side, int is_bid) nogil
    void ccxf_side_free(ccxf_side *side) nogil
    void ccxf_side_clear(ccxf_side *side) nogil
    int ccxf_side_copy(ccxf_side *dst, const ccxf_side *src) nogil
    double ccxf_key(const ccxf_side *side, double price) nogil
    double ccxf_key_at(const ccxf_side *side, Py_ssize_t pos) nogil
    ccxf_level *ccxf_at(const ccxf_side *side, Py_ssize_t pos) nogil
    double ccxf_price_at(const ccxf_side *side, Py_ssize_t pos) nogil
    Py_ssize_t ccxf_lower_bound(const ccxf_side *side, double key) nogil
    void ccxf_truncate(ccxf_side *side, Py_ssize_t depth) nogil
    int ccxf_store(ccxf_side *side, double price, const char *ptext, Py_ssize_t plen,
                   double amount, const char *atext, Py_ssize_t alen, int amount_lazy,
                   int padded) nogil
    int ccxf_parse_price_str(const char *s, Py_ssize_t n, double *value)
    int ccxf_parse_amount_str(const char *s, Py_ssize_t n, double *value, int *lazy)
    double ccxf_amount(ccxf_level *lv)
    int ccxf_parse_amount(const char *s, Py_ssize_t n, double *value, int *lazy)


# A number as it came: its float value and, when it came as text, that text (borrowed from
# the caller's object, or in scratch for an int); len 0 when there is none.
cdef struct number_t:
    double value
    const char *text
    Py_ssize_t len
    char scratch[24]

cdef int parse_number(object obj, number_t *out) except -1
cdef int parse_text(const char *data, Py_ssize_t size, number_t *out) except -1


cdef class OrderBookSide:
    cdef ccxf_side s
    cdef Py_ssize_t depth

    cdef int store_number(self, number_t *price, number_t *amount) except -1
    cdef int store_pair(self, object price, object amount) except -1
    cdef int store_delta(self, object delta) except -1
    cdef int store_delta_pair(self, object delta) except -1
    cdef int store_bytes_levels(self, const char *data, Py_ssize_t size, bint padded=*) except -1
    cdef int store_bytes_level_objects(self, const char *data, Py_ssize_t size, bint padded=*) except -1
    cdef int store_list(self, list levels, bint keep_extra=*) except -1
    cdef int store_list_item(self, object delta, bint keep_extra) except -1
    cdef list level(self, Py_ssize_t i)
    cdef Py_ssize_t position(self, double price)
    cdef inline Py_ssize_t length(self):
        return self.s.n


cdef class Asks(OrderBookSide):
    pass


cdef class Bids(OrderBookSide):
    pass


cdef class CountedOrderBookSide(OrderBookSide):
    cdef dict extras


cdef class CountedAsks(CountedOrderBookSide):
    pass


cdef class CountedBids(CountedOrderBookSide):
    pass


cdef class IndexedOrderBookSide:
    cdef readonly bint is_bid
    cdef Py_ssize_t depth
    cdef list keys
    cdef list levels
    cdef dict hashmap

    cdef int store_delta(self, object delta) except -1
    cdef Py_ssize_t _bisect(self, double key)
    cdef Py_ssize_t _find(self, double key, object order_id) except -1


cdef class IndexedAsks(IndexedOrderBookSide):
    pass


cdef class IndexedBids(IndexedOrderBookSide):
    pass


cdef class OrderBook(dict):
    cdef public object cache

    cdef object new_side(self, object levels, object depth, bint is_bid)
    cdef uint32_t checksum_crc(self, int fmt, int depth, int price_precision,
                               int amount_precision) except? 0xFFFFFFFF
    cdef char *_checksum_buffer(self, int depth) except NULL
    cdef Py_ssize_t _write_checksum_text(self, char *buf, int fmt, int depth,
                                         int price_precision, int amount_precision) except -1


cdef class CountedOrderBook(OrderBook):
    pass


cdef class IndexedOrderBook(OrderBook):
    pass


# OKX's CRC (unsigned) of a book's two price-level sides, top `depth`: for the adapters'
# update paths, which hold the sides already
cdef uint32_t okx_crc_of_sides(OrderBookSide bids, OrderBookSide asks,
                               Py_ssize_t depth) except? 0xFFFFFFFF
