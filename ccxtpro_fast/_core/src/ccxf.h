/* ccxtpro_fast core: exact decimal parsing, decimal rendering and the sorted level array.
 *
 * A price level keeps the float ccxt would have (float(wire_text), correctly rounded) for
 * ordering and for the unified output, and the wire text itself (up to CCXF_TEXT_MAX
 * bytes) so that checksums hash the exchange's exact string ("0.35210000" keeps its zeros)
 * with a copy instead of a rendering.
 */
#ifndef CCXF_H
#define CCXF_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <math.h>

/* scale value for a level that arrived as a number: there is no wire text to rebuild */
#define CCXF_NO_TEXT (-1)

/* the per-level hot path: gcc's size heuristics would otherwise call these */
#if defined(__GNUC__)
#define CCXF_HOT static inline __attribute__((always_inline))
#else
#define CCXF_HOT static inline
#endif
/* the longest number text we accept; anything longer is not a price */
#define CCXF_MAX_NUMBER_TEXT 64
/* the longest wire text a level keeps; longer numbers are rendered from the float */
#define CCXF_TEXT_MAX 23
/* A kept text ENDS at its field's end (ccxf_price_text/ccxf_amount_text give its start):
 * text of up to 16 bytes from a str is then kept by one 16-byte copy of the bytes ending
 * at its end. The fields come first and the numbers after them, so that 16 bytes read
 * from any kept text's start stay inside the level (ccxf_render_wire, ccxf_kraken_text16). */
#define CCXF_TEXT_FIELD 24

/* A level's price is not in it: it is its key (ccxf_price_at), kept in the side's array. */
typedef struct {
    char price_text[CCXF_TEXT_FIELD];
    char amount_text[CCXF_TEXT_FIELD];
    double amount;
    double extra;          /* order count on counted sides */
    uint8_t price_len;     /* bytes of price text; 0: the price came as a number */
    uint8_t amount_len;
    uint8_t extra_is_int;  /* the count came as an int: give it back as an int */
    uint8_t amount_lazy;   /* amount not computed yet: it is float(amount text) (ccxf_amount) */
} ccxf_level;

_Static_assert(offsetof(ccxf_level, amount_text) + CCXF_TEXT_FIELD - 1 + 16
               <= sizeof(ccxf_level), "16 bytes from a kept text's start are the level's");

static inline const char *ccxf_price_text(const ccxf_level *lv)
{
    return lv->price_text + CCXF_TEXT_FIELD - lv->price_len;
}

static inline const char *ccxf_amount_text(const ccxf_level *lv)
{
    return lv->amount_text + CCXF_TEXT_FIELD - lv->amount_len;
}

static const double ccxf_pow10[23] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static const int64_t ccxf_ipow10[19] = {
    1LL, 10LL, 100LL, 1000LL, 10000LL, 100000LL, 1000000LL, 10000000LL, 100000000LL,
    1000000000LL, 10000000000LL, 100000000000LL, 1000000000000LL, 10000000000000LL,
    100000000000000LL, 1000000000000000LL, 10000000000000000LL, 100000000000000000LL,
    1000000000000000000LL};

enum {
    CCXF_PARSE_OK = 0,
    CCXF_PARSE_SYNTAX = -1,    /* not a decimal number */
    CCXF_PARSE_RANGE = -2,     /* overflows to inf */
    CCXF_PARSE_TOO_LONG = -3,  /* longer than CCXF_MAX_NUMBER_TEXT */
};

/* Eight ASCII digits at once (the SWAR technique Lemire describes for fast number
 * parsing): a wire amount like "1.49166568" has its eight fraction digits folded into an
 * integer in a few multiplies instead of a chain of eight multiply-adds. */
static inline int ccxf_is_8digits(uint64_t v)
{
    return (((v & 0xF0F0F0F0F0F0F0F0ULL) |
             (((v + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) >> 4)) ==
            0x3333333333333333ULL);
}

static inline uint32_t ccxf_parse_8digits(uint64_t v)
{
    v = (v & 0x0F0F0F0F0F0F0F0FULL) * 2561 >> 8;
    v = (v & 0x00FF00FF00FF00FFULL) * 6553601 >> 16;
    return (uint32_t)((v & 0x0000FFFF0000FFFFULL) * 42949672960001ULL >> 32);
}

/* Accumulate the digits at p into *m (wrapping past 19 digits: the caller checks the
 * count); returns the first byte that is not a digit. */
static inline const char *ccxf_scan_digits(const char *p, const char *end, uint64_t *m)
{
    uint64_t acc = *m;
    unsigned d;
    while (end - p >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        if (!ccxf_is_8digits(v)) break;
        acc = acc * 100000000ULL + ccxf_parse_8digits(v);
        p += 8;
    }
    while (p < end && (d = (unsigned)(*p - '0')) <= 9) { acc = acc * 10 + d; p++; }
    *m = acc;
    return p;
}

/* Parse a JSON-style decimal number: -?digits[.digits][(e|E)[+-]digits].
 * *value is exactly float(text) (correctly rounded). *mant/*scale hold the text's decimal
 * mantissa and number of fraction digits when it has no exponent and at most 19 digits
 * (leading zeros included) or 18 significant ones; otherwise *scale is CCXF_NO_TEXT. */
static int ccxf_parse_decimal_slow(const char *s, Py_ssize_t n, double *value,
                                   int64_t *mant, int8_t *scale);

/* The common grammar in one pass: -?digits[.digits] with at most 19 digits (leading zeros
 * included, so m cannot wrap) and 22 decimals. 1 with m/frac/neg set; 0 for anything
 * else (exponent, long, malformed), which the slow path decides. */
CCXF_HOT int ccxf_scan_plain(const char *s, Py_ssize_t n, uint64_t *m, int *frac, int *neg)
{
    const char *p = s, *end = s + n, *digits_start;
    uint64_t acc = 0;
    int nd, fr = 0;
    *neg = 0;
    if (*p == '-') { *neg = 1; p++; }
    digits_start = p;
    p = ccxf_scan_digits(p, end, &acc);
    nd = (int)(p - digits_start);
    if (nd == 0) return 0;
    if (p < end && *p == '.') {
        const char *frac_start = ++p;
        p = ccxf_scan_digits(p, end, &acc);
        fr = (int)(p - frac_start);
        if (fr == 0) return 0;
        nd += fr;
    }
    if (p != end || nd > 19 || fr > 22) return 0;
    *m = acc;
    *frac = fr;
    return 1;
}

CCXF_HOT int ccxf_parse_decimal(const char *s, Py_ssize_t n, double *value,
                                int64_t *mant, int8_t *scale)
{
    uint64_t m;
    int frac, negative;

    if (n <= 0) return CCXF_PARSE_SYNTAX;
    if (n > CCXF_MAX_NUMBER_TEXT) return CCXF_PARSE_TOO_LONG;
    if (ccxf_scan_plain(s, n, &m, &frac, &negative)) {
        *mant = negative ? -(int64_t)m : (int64_t)m;
        *scale = (int8_t)frac;
        if (m <= (1ULL << 53)) {
            /* Clinger's fast path: m and 10^frac are exact doubles, one division rounds */
            double v = (double)m / ccxf_pow10[frac];
            *value = negative ? -v : v;
            return CCXF_PARSE_OK;
        }
        if (m > (uint64_t)INT64_MAX) { *scale = CCXF_NO_TEXT; *mant = 0; }
        return ccxf_parse_decimal_slow(s, n, value, mant, scale);
    }
    *mant = 0;
    *scale = CCXF_NO_TEXT;
    return ccxf_parse_decimal_slow(s, n, value, mant, scale);
}

/* An amount as the book stores it: validated now, but when its text is kept and exact the
 * division is left to the first read (ccxf_amount) - most levels are overwritten before
 * anyone reads them. *value is then only its sign (1 / -1), or 0: a deletion. */
static inline int ccxf_parse_amount(const char *s, Py_ssize_t n, double *value, int *lazy)
{
    uint64_t m;
    int frac, negative;
    int64_t mant;
    int8_t scale;
    *lazy = 0;
    if (n > 0 && n <= CCXF_TEXT_MAX && ccxf_scan_plain(s, n, &m, &frac, &negative)
            && m <= (1ULL << 53)) {
        if (m) {
            *value = negative ? -1.0 : 1.0;
            *lazy = 1;
        } else {
            *value = 0.0;
        }
        return CCXF_PARSE_OK;
    }
    return ccxf_parse_decimal(s, n, value, &mant, &scale);
}

/* -------- Short numbers from a str's buffer, without a loop over the digits.
 * The caller guarantees that the 16 bytes ending at s + n - 1 are readable, as they are
 * for a str's data (the object header precedes it). The text is read as whole 64-bit
 * words, the bytes before it set to '0', its '.' located by the zero-byte test and
 * squeezed out, and every byte then checked to be a digit: a few ALU operations instead
 * of a multiply-add and a branch per digit. */

static inline uint64_t ccxf_squeeze_dot(uint64_t w, int dot)
{
    uint64_t below = (1ULL << (8 * dot)) - 1;
    return ((w & below) << 8) | (w & ~(below | (0xFFULL << (8 * dot))));
}

static inline int ccxf_find_dot(uint64_t w)
{
    uint64_t x = w ^ 0x2E2E2E2E2E2E2E2EULL;
    uint64_t t = (x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL;
    /* the lowest flagged byte is exact (false positives only sit above a true one) */
    return t ? __builtin_ctzll(t) >> 3 : 8;
}

static inline uint64_t ccxf_pad_zeros(uint64_t w, int pad)
{
    uint64_t low;
    if (pad <= 0) return w;
    low = (1ULL << (8 * pad)) - 1;
    return (w & ~low) | (0x3030303030303030ULL & low);
}

/* 9-16 bytes of -less digits[.digits]: 1 with the digits, point removed, right-aligned in
 * *hi (the last eight) and *lo (the eight before, '0'-padded), and *frac; 0 otherwise. */
CCXF_HOT int ccxf_parse_short16(const char *s, Py_ssize_t n, uint64_t *lo_out,
                                uint64_t *hi_out, int *frac)
{
    uint64_t lo, hi;
    int pad = 16 - (int)n, dot;
    memcpy(&lo, s + n - 16, 8);
    memcpy(&hi, s + n - 8, 8);
    lo = ccxf_pad_zeros(lo, pad);
    dot = ccxf_find_dot(hi);
    if (dot < 8) {
        /* fewer than eight decimals: the point is in the last word */
        if (dot == 7 || ccxf_find_dot(lo) < 8) return 0;
        hi = ccxf_squeeze_dot(hi, dot) | (lo >> 56);
        lo = (lo << 8) | 0x30;
        *frac = 7 - dot;
    } else {
        dot = ccxf_find_dot(lo);
        if (dot < 8) {
            if (dot <= pad) return 0;
            lo = ccxf_squeeze_dot(lo, dot) | 0x30;
            *frac = 15 - dot;
        } else {
            *frac = 0;
        }
    }
    if (!(ccxf_is_8digits(lo) && ccxf_is_8digits(hi))) return 0;
    *lo_out = lo;
    *hi_out = hi;
    return 1;
}

/* 1-8 bytes in one word (the 8 bytes ending at s + n - 1 readable): 1 with the digits,
 * point removed, '0'-padded in *w, and *frac; 0 otherwise. */
CCXF_HOT int ccxf_parse_short8(const char *s, Py_ssize_t n, uint64_t *w_out, int *frac)
{
    uint64_t w;
    int pad = 8 - (int)n, dot;
    memcpy(&w, s + n - 8, 8);
    w = ccxf_pad_zeros(w, pad);
    dot = ccxf_find_dot(w);
    if (dot < 8) {
        if (dot <= pad || dot == 7) return 0;
        w = ccxf_squeeze_dot(w, dot) | 0x30;
        *frac = 7 - dot;
    } else {
        *frac = 0;
    }
    if (!ccxf_is_8digits(w)) return 0;
    *w_out = w;
    return 1;
}

#define CCXF_ZEROS8 0x3030303030303030ULL

/* ccxf_parse_decimal's value and ccxf_parse_amount for text in a str's buffer (16 bytes
 * readable up to its end, see ccxf_parse_short16); other text goes their way. */
CCXF_HOT int ccxf_parse_price_str(const char *s, Py_ssize_t n, double *value)
{
    uint64_t lo, hi, m;
    int64_t mant;
    int8_t scale;
    int frac, negative = n > 0 && *s == '-';
    Py_ssize_t len = n - negative;
    if (len > 0 && len <= 8 && ccxf_parse_short8(s + negative, len, &hi, &frac)) {
        m = ccxf_parse_8digits(hi);
    } else if (len > 8 && len <= 16 && ccxf_parse_short16(s + negative, len, &lo, &hi, &frac)) {
        m = (uint64_t)ccxf_parse_8digits(lo) * 100000000ULL + ccxf_parse_8digits(hi);
        if (m > (1ULL << 53)) return ccxf_parse_decimal(s, n, value, &mant, &scale);
    } else {
        return ccxf_parse_decimal(s, n, value, &mant, &scale);
    }
    /* Clinger's fast path, as in ccxf_parse_decimal */
    *value = negative ? -((double)m / ccxf_pow10[frac]) : (double)m / ccxf_pow10[frac];
    return CCXF_PARSE_OK;
}

/* ccxf_parse_amount for text in a str's buffer (16 bytes readable up to its end, see
 * ccxf_parse_short16). An amount's value is left to its first read, so only its grammar
 * and whether it is zero are needed now: no digit is located or converted. Two ways to
 * the same answer, tested against each other: 16 bytes in one SSE2 register where the
 * platform has it, else two words. */

/* The words: the 1-16 bytes after the sign read as two words, the bytes before them set
 * to '0', the first '.' turned into '0' too, and every byte then checked to be a digit (a
 * second '.' is not). */
CCXF_HOT int ccxf_parse_amount_words(const char *s, Py_ssize_t n, double *value, int *lazy)
{
    const uint64_t zeros = CCXF_ZEROS8, ones = 0x0101010101010101ULL,
                   highs = 0x8080808080808080ULL, dots = 0x2E2E2E2E2E2E2E2EULL;
    uint64_t lo, hi, dlo, dhi, bit_lo, bit_hi, first_lo = 0, first_hi = 0;
    int negative = n > 0 && *s == '-', zero;
    Py_ssize_t len = n - negative;
    if (len < 1 || len > 16) return ccxf_parse_amount(s, n, value, lazy);
    memcpy(&lo, s + n - 16, 8);
    memcpy(&hi, s + n - 8, 8);
    if (len <= 8) {
        uint64_t keep = ~0ULL << (8 * (8 - len));
        hi = (hi & keep) | (zeros & ~keep);
        lo = zeros;
        first_hi = 0x80ULL << (8 * (8 - len));
    } else {
        uint64_t keep = ~0ULL << (8 * (16 - len));
        lo = (lo & keep) | (zeros & ~keep);
        first_lo = 0x80ULL << (8 * (16 - len));
    }
    /* the lowest flag of each word is a true '.' (a false one only sits above a true one) */
    dlo = lo ^ dots;
    dhi = hi ^ dots;
    dlo = (dlo - ones) & ~dlo & highs;
    dhi = (dhi - ones) & ~dhi & highs;
    bit_lo = dlo & (0 - dlo);
    bit_hi = dlo ? 0 : dhi & (0 - dhi);
    /* a point must sit between digits: not first, not last */
    if ((bit_lo & first_lo) | (bit_hi & first_hi) | (bit_hi >> 63))
        return ccxf_parse_amount(s, n, value, lazy);
    lo ^= (bit_lo >> 7) * ('.' ^ '0');
    hi ^= (bit_hi >> 7) * ('.' ^ '0');
    /* 16 digits without a point may pass 2^53: not exact on first read */
    if (!(ccxf_is_8digits(lo) && ccxf_is_8digits(hi)) || (len == 16 && !(bit_lo | bit_hi)))
        return ccxf_parse_amount(s, n, value, lazy);
    zero = (lo | hi) == zeros;
    *value = zero ? 0.0 : (negative ? -1.0 : 1.0);
    *lazy = !zero;
    return CCXF_PARSE_OK;
}

#if defined(__SSE2__)
#include <emmintrin.h>
#define CCXF_HAVE_SSE2 1
/* The register: one bit per byte for "is a digit", "is '.'" and "is '0'", over the bits of
 * the text's bytes; the text is valid when every byte is a digit but at most one '.', and
 * that '.' is neither first nor last. */
CCXF_HOT int ccxf_parse_amount_sse2(const char *s, Py_ssize_t n, double *value, int *lazy)
{
    int negative = n > 0 && *s == '-', nonzero;
    Py_ssize_t len = n - negative;
    __m128i bytes, from_zero;
    unsigned text, first, digit, zero, dot;
    if (len < 1 || len > 16) return ccxf_parse_amount(s, n, value, lazy);
    bytes = _mm_loadu_si128((const __m128i *)(s + n - 16));
    first = 0x10000u >> len;
    text = 0x10000u - first;
    from_zero = _mm_sub_epi8(bytes, _mm_set1_epi8('0'));
    digit = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(
        _mm_min_epu8(from_zero, _mm_set1_epi8(9)), from_zero));
    dot = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, _mm_set1_epi8('.'))) & text;
    zero = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(from_zero, _mm_setzero_si128()));
    /* one test for all: a byte neither digit nor '.', a second '.', a '.' first or last,
       and 16 digits without a point (they may pass 2^53: not exact on first read) */
    if ((((digit | dot) & text) ^ text) | (dot & (dot - 1)) | (dot & (0x8000u | first))
            | (len == 16 && !dot))
        return ccxf_parse_amount(s, n, value, lazy);
    nonzero = ((zero | dot) & text) != text;
    *lazy = nonzero;
    *value = (double)(nonzero - 2 * (nonzero & negative));
    return CCXF_PARSE_OK;
}
#else
#define CCXF_HAVE_SSE2 0
#define ccxf_parse_amount_sse2 ccxf_parse_amount_words
#endif

CCXF_HOT int ccxf_parse_amount_str(const char *s, Py_ssize_t n, double *value, int *lazy)
{
#if CCXF_HAVE_SSE2
    return ccxf_parse_amount_sse2(s, n, value, lazy);
#else
    return ccxf_parse_amount_words(s, n, value, lazy);
#endif
}

/* The bytes and length of an exact str in compact ASCII form (what orjson makes), or NULL
 * for any other object: such a str's text follows its header, so it needs no conversion
 * and no further checks (PyUnicode_DATA would test the form again). */
static inline const char *ccxf_ascii_text(PyObject *o, Py_ssize_t *len)
{
    if (!PyUnicode_CheckExact(o) || !PyUnicode_IS_COMPACT_ASCII(o)) return NULL;
    *len = ((PyASCIIObject *)o)->length;
    return (const char *)(((PyASCIIObject *)o) + 1);
}

/* Long, exponent or malformed text: validate the grammar, then let CPython's dtoa (correctly
 * rounded, locale-free) compute the value. Keeps *mant/*scale as the caller set them,
 * except that a long text with few significant digits ("0.000...0012") still gets them. */
static int ccxf_parse_decimal_slow(const char *s, Py_ssize_t n, double *value,
                                   int64_t *mant, int8_t *scale)
{
    const char *p = s, *end = s + n;
    int negative = 0, has_exp = 0, sig = 0, frac = 0;
    uint64_t m = 0;
    char buf[CCXF_MAX_NUMBER_TEXT + 1];
    double v;
    if (*p == '-') { negative = 1; p++; }
    if (p == end || (unsigned)(*p - '0') > 9) return CCXF_PARSE_SYNTAX;
    while (p < end && (unsigned)(*p - '0') <= 9) {
        unsigned d = (unsigned)(*p - '0');
        if (sig || d) { sig++; if (sig <= 18) m = m * 10 + d; }
        p++;
    }
    if (p < end && *p == '.') {
        p++;
        if (p == end || (unsigned)(*p - '0') > 9) return CCXF_PARSE_SYNTAX;
        while (p < end && (unsigned)(*p - '0') <= 9) {
            unsigned d = (unsigned)(*p - '0');
            if (sig || d) { sig++; if (sig <= 18) m = m * 10 + d; }
            frac++; p++;
        }
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (p == end || (unsigned)(*p - '0') > 9) return CCXF_PARSE_SYNTAX;
        while (p < end && (unsigned)(*p - '0') <= 9) p++;
        has_exp = 1;
    }
    if (p != end) return CCXF_PARSE_SYNTAX;
    if (*scale == CCXF_NO_TEXT && !has_exp && sig <= 18 && frac <= 100) {
        *mant = negative ? -(int64_t)m : (int64_t)m;
        *scale = (int8_t)frac;
    }
    memcpy(buf, s, (size_t)n);
    buf[n] = '\0';
    v = PyOS_string_to_double(buf, NULL, NULL);
    if (v == -1.0 && PyErr_Occurred()) { PyErr_Clear(); return CCXF_PARSE_SYNTAX; }
    if (isinf(v)) return CCXF_PARSE_RANGE;
    *value = v;
    return CCXF_PARSE_OK;
}

static const char ccxf_digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

static inline int ccxf_count_digits(uint64_t u)
{
    int n = 1;
    while (u >= 10000) { u /= 10000; n += 4; }
    if (u >= 100) n += u >= 1000 ? 3 : 2;
    else if (u >= 10) n += 1;
    return n;
}

/* Write `count` digits of u (zero padded) ending just before end; returns u / 10^count.
 * Digits are stored straight into the output two at a time: going through a scratch
 * buffer and copying would stall on store-to-load forwarding. */
static inline uint64_t ccxf_write_digits(char *end, uint64_t u, int count)
{
    while (count >= 2) {
        unsigned r = (unsigned)(u % 100);
        u /= 100;
        end -= 2;
        memcpy(end, ccxf_digit_pairs + 2 * r, 2);
        count -= 2;
    }
    if (count) {
        *--end = (char)('0' + u % 10);
        u /= 10;
    }
    return u;
}

/* Write the decimal text of mant * 10^-scale, exactly as the wire had it (zeros kept).
 * Returns the number of bytes written; out needs 22 + scale bytes. */
static inline Py_ssize_t ccxf_render_decimal(char *out, int64_t mant, int scale)
{
    char *o = out;
    uint64_t u;
    int nd, int_digits;
    Py_ssize_t len;
    if (mant < 0) { *o++ = '-'; u = (uint64_t)0 - (uint64_t)mant; } else { u = (uint64_t)mant; }
    nd = ccxf_count_digits(u);
    int_digits = nd > scale ? nd - scale : 1;
    len = int_digits + (scale > 0 ? scale + 1 : 0);
    u = ccxf_write_digits(o + len, u, scale);
    if (scale > 0) o[int_digits] = '.';
    ccxf_write_digits(o + int_digits, u, int_digits);
    return (o - out) + len;
}

/* Digits of u with no leading zeros: the Kraken form of a wire number ("." removed,
 * leading zeros stripped). Zero gives "" as stripping "0.000" does. */
static inline Py_ssize_t ccxf_render_digits(char *out, uint64_t u)
{
    int nd;
    if (!u) return 0;
    nd = ccxf_count_digits(u);
    ccxf_write_digits(out + nd, u, nd);
    return nd;
}

/* ------------------------------------------------------------------------------------ */
/* A side: positions sorted by key ascending, where key = price on bids and -price on asks,
 * so the best level is the LAST one. Updates cluster at the top of the book, so inserts and
 * deletes there move few entries, and dropping the worst levels (depth limit) only advances
 * `lo`. Positions are relative to lo.
 *
 * The keys are an array of their own, and each position names its level's slot in a pool:
 * a search reads contiguous keys (the top eight in one cache line), and an insert or delete
 * moves 12 bytes an entry (key and slot) instead of whole levels. A level stays in its slot
 * for life; freed slots are reused first. */

typedef struct {
    double *keys;          /* by position, ascending */
    uint32_t *slots;       /* by position: the level's slot in pool */
    Py_ssize_t lo;         /* first used position */
    Py_ssize_t n;          /* used positions */
    Py_ssize_t cap;        /* allocated positions */
    ccxf_level *pool;      /* levels by slot */
    Py_ssize_t pool_used;  /* slots handed out at least once */
    Py_ssize_t pool_cap;   /* allocated slots */
    uint32_t *free_slots;  /* slots freed since, reused last-freed first */
    Py_ssize_t free_n;
    int is_bid;
} ccxf_side;

/* more levels than a slot number can name */
#define CCXF_MAX_LEVELS ((Py_ssize_t)1 << 31)

static inline void ccxf_side_init(ccxf_side *side, int is_bid)
{
    memset(side, 0, sizeof(*side));
    side->is_bid = is_bid;
}

static inline void ccxf_side_free(ccxf_side *side)
{
    PyMem_Free(side->keys);
    PyMem_Free(side->slots);
    PyMem_Free(side->pool);
    PyMem_Free(side->free_slots);
    ccxf_side_init(side, side->is_bid);
}

/* Empty the side, keeping its memory; the positions centred so that a snapshot loads
 * without moving entries. */
static inline void ccxf_side_clear(ccxf_side *side)
{
    side->lo = side->cap / 2;
    side->n = 0;
    side->pool_used = 0;
    side->free_n = 0;
}

static inline double ccxf_key(const ccxf_side *side, double price)
{
    return side->is_bid ? price : -price;
}

static inline double ccxf_key_at(const ccxf_side *side, Py_ssize_t pos)
{
    return side->keys[side->lo + pos];
}

static inline ccxf_level *ccxf_at(const ccxf_side *side, Py_ssize_t pos)
{
    return side->pool + side->slots[side->lo + pos];
}

/* The price of the level at pos, exactly as first stored: its key, unsigned. */
static inline double ccxf_price_at(const ccxf_side *side, Py_ssize_t pos)
{
    double key = side->keys[side->lo + pos];
    return side->is_bid ? key : -key;
}

/* How many of the eight keys at k are >= key. They are sorted, so those form the top of
 * the eight: with SSE2 the eight compares give a mask whose lowest set bit is the first
 * of them; without, a branch-free count. */
CCXF_HOT Py_ssize_t ccxf_count_top8(const double *k, double key)
{
#if CCXF_HAVE_SSE2
    __m128d x = _mm_set1_pd(key);
    unsigned mask = (unsigned)_mm_movemask_pd(_mm_cmpge_pd(_mm_loadu_pd(k), x))
        | (unsigned)_mm_movemask_pd(_mm_cmpge_pd(_mm_loadu_pd(k + 2), x)) << 2
        | (unsigned)_mm_movemask_pd(_mm_cmpge_pd(_mm_loadu_pd(k + 4), x)) << 4
        | (unsigned)_mm_movemask_pd(_mm_cmpge_pd(_mm_loadu_pd(k + 6), x)) << 6;
    return mask ? 8 - __builtin_ctz(mask) : 0;
#else
    Py_ssize_t above = 0, i;
    for (i = 0; i < 8; i++) above += k[i] >= key;
    return above;
#endif
}

/* Position of the first key that is >= key (n if none). Searches from the top with
 * galloping steps, since most updates hit the first few levels. */
#define CCXF_TOP_SCAN 8
CCXF_HOT Py_ssize_t ccxf_lower_bound(const ccxf_side *side, double key)
{
    const double *k = side->keys + side->lo;
    Py_ssize_t n = side->n, hi = n, lo, step = 1, mid;
    /* Most updates land in the first levels: count the top ones whose key is >= key
     * without branches (a gallop's exits there are unpredictable), and search further down
     * only when they all are. */
    if (n >= CCXF_TOP_SCAN) {
        Py_ssize_t above = ccxf_count_top8(k + n - CCXF_TOP_SCAN, key);
        if (above < CCXF_TOP_SCAN) return n - above;
        hi = n - CCXF_TOP_SCAN;
    }
    /* invariant: every key at >= hi is >= key */
    while (hi > 0) {
        Py_ssize_t probe = hi - step;
        if (probe < 0) probe = 0;
        if (k[probe] >= key) {
            hi = probe;
            step <<= 1;
        } else {
            break;
        }
    }
    if (hi == 0) return 0;
    lo = hi - step;
    if (lo < 0) lo = 0;
    /* keys in [lo, hi) may be >= key only after the first one that is < key */
    while (lo < hi) {
        mid = lo + ((hi - lo) >> 1);
        if (k[mid] < key) lo = mid + 1; else hi = mid;
    }
    return lo;
}

/* Make room for one more position with free entries on both ends: grow when 3/4 full, and
 * centre the entries so that inserts at either end (the top for updates, the bottom while
 * a best-first snapshot loads) stay cheap. */
static inline int ccxf_recentre(ccxf_side *side)
{
    Py_ssize_t cap = side->cap, lo;
    if (cap < 16 || side->n + 1 > cap - cap / 4) {
        double *keys;
        uint32_t *slots;
        Py_ssize_t newcap = cap < 16 ? 16 : cap;
        while (side->n + 1 > newcap - newcap / 4) {
            if (newcap > CCXF_MAX_LEVELS) return -1;
            newcap *= 2;
        }
        keys = (double *)PyMem_Malloc((size_t)newcap * sizeof(double));
        slots = (uint32_t *)PyMem_Malloc((size_t)newcap * sizeof(uint32_t));
        if (!keys || !slots) { PyMem_Free(keys); PyMem_Free(slots); return -1; }
        lo = (newcap - side->n) / 2;
        if (side->n) {
            memcpy(keys + lo, side->keys + side->lo, (size_t)side->n * sizeof(double));
            memcpy(slots + lo, side->slots + side->lo, (size_t)side->n * sizeof(uint32_t));
        }
        PyMem_Free(side->keys);
        PyMem_Free(side->slots);
        side->keys = keys;
        side->slots = slots;
        side->cap = newcap;
        side->lo = lo;
        return 0;
    }
    lo = (cap - side->n) / 2;
    memmove(side->keys + lo, side->keys + side->lo, (size_t)side->n * sizeof(double));
    memmove(side->slots + lo, side->slots + side->lo, (size_t)side->n * sizeof(uint32_t));
    side->lo = lo;
    return 0;
}

/* A slot for a new level: a freed one, else the next never used; NULL on memory error. */
static inline ccxf_level *ccxf_new_slot(ccxf_side *side, uint32_t *slot)
{
    if (side->free_n) {
        *slot = side->free_slots[--side->free_n];
        return side->pool + *slot;
    }
    if (side->pool_used == side->pool_cap) {
        Py_ssize_t newcap = side->pool_cap < 16 ? 16 : side->pool_cap * 2;
        ccxf_level *pool;
        uint32_t *free_slots;
        if (newcap > CCXF_MAX_LEVELS) return NULL;
        pool = (ccxf_level *)PyMem_Realloc(side->pool, (size_t)newcap * sizeof(ccxf_level));
        if (!pool) return NULL;
        side->pool = pool;
        /* every slot may be free at once: the stack never grows in a delete */
        free_slots = (uint32_t *)PyMem_Realloc(side->free_slots,
                                               (size_t)newcap * sizeof(uint32_t));
        if (!free_slots) return NULL;
        side->free_slots = free_slots;
        side->pool_cap = newcap;
    }
    *slot = (uint32_t)side->pool_used++;
    return side->pool + *slot;
}

/* Move count entries at i one place up (to i + 1) or down (to i - 1). Inline for the few
 * entries of an update near the top; memmove for the long moves of a level deep down. */
static inline void ccxf_shift_up(ccxf_side *side, Py_ssize_t i, Py_ssize_t count)
{
    double *k = side->keys + i;
    uint32_t *s = side->slots + i;
    if (count > 16) {
        memmove(k + 1, k, (size_t)count * sizeof(double));
        memmove(s + 1, s, (size_t)count * sizeof(uint32_t));
        return;
    }
    for (; count > 0; count--) {
        k[count] = k[count - 1];
        s[count] = s[count - 1];
    }
}

static inline void ccxf_shift_down(ccxf_side *side, Py_ssize_t i, Py_ssize_t count)
{
    double *k = side->keys + i;
    uint32_t *s = side->slots + i;
    Py_ssize_t j;
    if (count > 16) {
        memmove(k - 1, k, (size_t)count * sizeof(double));
        memmove(s - 1, s, (size_t)count * sizeof(uint32_t));
        return;
    }
    for (j = 0; j < count; j++) {
        k[j - 1] = k[j];
        s[j - 1] = s[j];
    }
}

/* Open position pos for a new level with that key, moving whichever part is shorter;
 * returns the level (its fields to be set by the caller), or NULL on memory error with the
 * side as it was. */
CCXF_HOT ccxf_level *ccxf_insert_at(ccxf_side *side, Py_ssize_t pos, double key)
{
    uint32_t slot;
    ccxf_level *lv;
    if (side->n >= CCXF_MAX_LEVELS) return NULL;
    lv = ccxf_new_slot(side, &slot);
    if (!lv) return NULL;
    if (pos < side->n / 2) {
        if (side->lo == 0 && ccxf_recentre(side) < 0) goto fail;
        ccxf_shift_down(side, side->lo, pos);
        side->lo--;
    } else {
        if (side->lo + side->n >= side->cap && ccxf_recentre(side) < 0) goto fail;
        ccxf_shift_up(side, side->lo + pos, side->n - pos);
    }
    side->keys[side->lo + pos] = key;
    side->slots[side->lo + pos] = slot;
    side->n++;
    return lv;
fail:
    side->free_slots[side->free_n++] = slot;
    return NULL;
}

static inline void ccxf_delete_at(ccxf_side *side, Py_ssize_t pos)
{
    side->free_slots[side->free_n++] = side->slots[side->lo + pos];
    if (pos < side->n / 2) {
        ccxf_shift_up(side, side->lo, pos);
        side->lo++;
    } else {
        ccxf_shift_down(side, side->lo + pos + 1, side->n - pos - 1);
    }
    side->n--;
}

/* Drop the worst levels so that at most depth remain. */
static inline void ccxf_truncate(ccxf_side *side, Py_ssize_t depth)
{
    Py_ssize_t i;
    if (side->n > depth) {
        for (i = 0; i < side->n - depth; i++)
            side->free_slots[side->free_n++] = side->slots[side->lo + i];
        side->lo += side->n - depth;
        side->n = depth;
    }
}

/* dst (empty, initialised) becomes a copy of src, its levels in position order. */
static inline int ccxf_side_copy(ccxf_side *dst, const ccxf_side *src)
{
    Py_ssize_t i, n = src->n;
    if (!n) return 0;
    dst->keys = (double *)PyMem_Malloc((size_t)n * sizeof(double));
    dst->slots = (uint32_t *)PyMem_Malloc((size_t)n * sizeof(uint32_t));
    dst->pool = (ccxf_level *)PyMem_Malloc((size_t)n * sizeof(ccxf_level));
    dst->free_slots = (uint32_t *)PyMem_Malloc((size_t)n * sizeof(uint32_t));
    if (!dst->keys || !dst->slots || !dst->pool || !dst->free_slots) {
        ccxf_side_free(dst);
        return -1;
    }
    memcpy(dst->keys, src->keys + src->lo, (size_t)n * sizeof(double));
    for (i = 0; i < n; i++) {
        dst->slots[i] = (uint32_t)i;
        dst->pool[i] = *ccxf_at(src, i);
    }
    dst->lo = 0;
    dst->n = dst->cap = dst->pool_used = dst->pool_cap = n;
    dst->free_n = 0;
    return 0;
}

/* Keep a number's wire text at the end of its field, or mark it absent when it is too long
 * to keep. padded: the 16 bytes ending at the text's end are readable (text inside a str
 * or bytes object), so text of up to 16 bytes takes one 16-byte copy; otherwise it is
 * copied as two overlapping words of its size class, never reading past either end. */
CCXF_HOT void ccxf_keep_text(char *field, uint8_t *field_len, const char *src, Py_ssize_t len,
                             int padded)
{
    char *dst = field + CCXF_TEXT_FIELD - len;
    if (padded && (size_t)(len - 1) < 16) {
        memcpy(field + CCXF_TEXT_FIELD - 16, src + len - 16, 16);
        *field_len = (uint8_t)len;
        return;
    }
    if (len <= 0 || len > CCXF_TEXT_MAX) { *field_len = 0; return; }
    if (len >= 8) {
        if (len > 16) memcpy(dst + 8, src + 8, 8);
        memcpy(dst, src, 8);
        memcpy(dst + len - 8, src + len - 8, 8);
    } else if (len >= 4) {
        memcpy(dst, src, 4);
        memcpy(dst + len - 4, src + len - 4, 4);
    } else {
        dst[0] = src[0];
        dst[len >> 1] = src[len >> 1];
        dst[len - 1] = src[len - 1];
    }
    *field_len = (uint8_t)len;
}

/* Set (amount != 0) or delete (amount == 0) the level at price, keeping the wire texts
 * (length 0: none; padded: as ccxf_keep_text). Returns 0, or -1 on memory error. An
 * existing level keeps its price as first stored, as ccxt's does. */
CCXF_HOT int ccxf_store(ccxf_side *side, double price, const char *ptext, Py_ssize_t plen,
                        double amount, const char *atext, Py_ssize_t alen, int amount_lazy,
                        int padded)
{
    double key = ccxf_key(side, price);
    Py_ssize_t pos = ccxf_lower_bound(side, key);
    ccxf_level *lv;
    int found = pos < side->n && ccxf_key_at(side, pos) == key;
    if (amount != 0.0) {
        if (found) {
            lv = ccxf_at(side, pos);
            /* the price as the exchange prints it now: a checksum hashes that (Bitget's
               "replace the depth data"), should a price ever be printed another way */
            if (plen > 0)
                ccxf_keep_text(lv->price_text, &lv->price_len, ptext, plen, padded);
        } else {
            lv = ccxf_insert_at(side, pos, key);
            if (!lv) return -1;
            ccxf_keep_text(lv->price_text, &lv->price_len, ptext, plen, padded);
            lv->extra = 0.0;
            lv->extra_is_int = 0;
        }
        lv->amount = amount;
        lv->amount_lazy = (uint8_t)amount_lazy;
        ccxf_keep_text(lv->amount_text, &lv->amount_len, atext, alen, padded);
    } else if (found) {
        ccxf_delete_at(side, pos);
    }
    return 0;
}

/* Store levels[i:] of a list while they are plain [price, amount] text levels, as orjson
 * gives them: a list of two compact ASCII strs (more items only when the third is not an
 * int, or keep_extra is 0) of decimal text. Returns the index of the first level it did not
 * store (the caller's general path decides that one, and raises if it is malformed), or
 * -1 on memory error. */
static Py_ssize_t ccxf_store_text_levels(ccxf_side *side, PyObject *levels, Py_ssize_t i,
                                         int keep_extra)
{
    Py_ssize_t n = PyList_GET_SIZE(levels);
    PyObject **items = ((PyListObject *)levels)->ob_item;
    for (; i < n; i++) {
        PyObject *delta = items[i], **pair;
        Py_ssize_t size, plen, alen;
        const char *ptext, *atext;
        double price, amount;
        int lazy;
        if (!PyList_CheckExact(delta)) break;
        size = PyList_GET_SIZE(delta);
        pair = ((PyListObject *)delta)->ob_item;
        if (size < 2 || (size > 2 && keep_extra && PyLong_CheckExact(pair[2]))) break;
        ptext = ccxf_ascii_text(pair[0], &plen);
        atext = ccxf_ascii_text(pair[1], &alen);
        if (!ptext || !atext
                || ccxf_parse_price_str(ptext, plen, &price) != CCXF_PARSE_OK
                || ccxf_parse_amount_str(atext, alen, &amount, &lazy) != CCXF_PARSE_OK)
            break;
        if (ccxf_store(side, price, ptext, plen, amount, atext, alen, lazy, 1) < 0)
            return -1;
    }
    return i;
}

/* A level's amount, computed from its wire text on the first read when it was stored lazily. */
static inline double ccxf_amount(ccxf_level *lv)
{
    if (lv->amount_lazy) {
        int64_t mant;
        int8_t scale;
        ccxf_parse_decimal(ccxf_amount_text(lv), lv->amount_len, &lv->amount, &mant, &scale);
        lv->amount_lazy = 0;
    }
    return lv->amount;
}

/* ------------------------------------------------------------------------------------ */
/* Checksum text. Every writer appends to a buffer sized by the caller: a level needs at
 * most 2 * (CCXF_MAX_NUMBER_TEXT + 32) bytes in any format. */

#define CCXF_LEVEL_TEXT_MAX (2 * (CCXF_MAX_NUMBER_TEXT + 32) + 4)

/* The shortest text that round-trips, as Python's repr gives it ("1e-07", "30000.0"). */
static inline Py_ssize_t ccxf_render_repr(char *out, double v)
{
    char *s = PyOS_double_to_string(v, 'r', 0, 0, NULL);
    Py_ssize_t n;
    if (!s) { PyErr_Clear(); return 0; }
    n = (Py_ssize_t)strlen(s);
    if (n > CCXF_MAX_NUMBER_TEXT + 24) n = CCXF_MAX_NUMBER_TEXT + 24;
    memcpy(out, s, (size_t)n);
    PyMem_Free(s);
    return n;
}

/* JavaScript's Number.prototype.toString: the same shortest digits as repr, in fixed
 * notation for 1e-7 <= |v| < 1e21 without a trailing ".0", else "1.5e-7" / "1e+21". */
static inline Py_ssize_t ccxf_render_js(char *out, double v)
{
    char *s, *p;
    char digits[32];
    int nd = 0, exp10 = 0, neg = 0, point = -1, i;
    char *o = out;
    if (v == 0.0) { *o++ = '0'; return 1; }
    s = PyOS_double_to_string(v, 'r', 0, 0, NULL);
    if (!s) { PyErr_Clear(); return 0; }
    p = s;
    if (*p == '-') { neg = 1; p++; }
    /* collect digits and the position of the decimal point from repr's text */
    for (; *p && *p != 'e' && *p != 'E'; p++) {
        if (*p == '.') { point = nd; continue; }
        if (nd < 31) digits[nd++] = *p;
    }
    if (point < 0) point = nd;
    if (*p == 'e' || *p == 'E') exp10 = atoi(p + 1);
    PyMem_Free(s);
    /* value = 0.d1d2d3... * 10^(point + exp10); strip leading zeros from the digits */
    {
        int lead = 0;
        while (lead < nd - 1 && digits[lead] == '0') { lead++; point--; }
        memmove(digits, digits + lead, (size_t)(nd - lead));
        nd -= lead;
        while (nd > 1 && digits[nd - 1] == '0') nd--;
    }
    {
        int k = point + exp10;   /* decimal exponent: value = 0.DIGITS * 10^k */
        if (neg) *o++ = '-';
        if (k > 21 || k < -5) {
            /* exponent notation: d[.ddd]e(+|-)x where x = k - 1 */
            int e = k - 1;
            *o++ = digits[0];
            if (nd > 1) { *o++ = '.'; for (i = 1; i < nd; i++) *o++ = digits[i]; }
            *o++ = 'e';
            *o++ = e < 0 ? '-' : '+';
            o += sprintf(o, "%d", e < 0 ? -e : e);
        } else if (k <= 0) {
            *o++ = '0'; *o++ = '.';
            for (i = 0; i < -k; i++) *o++ = '0';
            for (i = 0; i < nd; i++) *o++ = digits[i];
        } else if (nd <= k) {
            for (i = 0; i < nd; i++) *o++ = digits[i];
            for (i = nd; i < k; i++) *o++ = '0';
        } else {
            for (i = 0; i < k; i++) *o++ = digits[i];
            *o++ = '.';
            for (i = k; i < nd; i++) *o++ = digits[i];
        }
    }
    return o - out;
}

/* The wire text of a number, or repr when it came without text. The text is copied as
 * whole words (16 bytes, then the other 7 of CCXF_TEXT_MAX when longer) rather than byte
 * by byte: the text must be a level's (see CCXF_TEXT_FIELD), out must have CCXF_TEXT_MAX
 * bytes of room, and what lies past the returned length is scratch that the next write
 * covers. */
static inline Py_ssize_t ccxf_render_wire(char *out, double v, const char *text, uint8_t len)
{
    if (len) {
        memcpy(out, text, 16);
        if (len > 16) memcpy(out + 16, text + 16, CCXF_TEXT_MAX - 16);
        return len;
    }
    return ccxf_render_repr(out, v);
}

/* One level of OKX's checksum text, "price:amount:", from the wire text. */
/* A level without both wire texts: kept apart so that the loop over the usual levels
 * keeps its registers (inlined, its renderers spilled the loop's pointers to the stack). */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static char *ccxf_okx_level_rendered(char *o, ccxf_level *lv, double price)
{
    o += ccxf_render_wire(o, price, ccxf_price_text(lv), lv->price_len);
    *o++ = ':';
    o += ccxf_render_wire(o, lv->amount_len ? lv->amount : ccxf_amount(lv), ccxf_amount_text(lv),
                          lv->amount_len);
    *o++ = ':';
    return o;
}

static inline char *ccxf_okx_level(char *o, ccxf_level *lv, double price)
{
    /* the lengths read before any byte is written: a char store may alias the level for
       the compiler, which would read them again */
    uint8_t price_len = lv->price_len, amount_len = lv->amount_len;
    const char *price_text, *amount_text;
    if (!(price_len && amount_len)) return ccxf_okx_level_rendered(o, lv, price);
    /* both wire texts kept, as from every exchange that sends text */
    price_text = ccxf_price_text(lv);
    amount_text = ccxf_amount_text(lv);
    memcpy(o, price_text, 16);
    if (price_len > 16) memcpy(o + 16, price_text + 16, CCXF_TEXT_MAX - 16);
    o += price_len;
    *o++ = ':';
    memcpy(o, amount_text, 16);
    if (amount_len > 16) memcpy(o + 16, amount_text + 16, CCXF_TEXT_MAX - 16);
    o += amount_len;
    *o++ = ':';
    return o;
}

/* OKX's (and Bitget's) checksum text of the top `depth` levels: bid, ask, bid, ask... while
 * both sides last, then the rest of the longer one, joined by ':'. One loop per phase and
 * no format test per level: this runs on every update of a checksummed book. Returns the
 * length; buf needs 2 * depth * CCXF_LEVEL_TEXT_MAX bytes. */
static Py_ssize_t ccxf_okx_text(char *buf, ccxf_side *bids, ccxf_side *asks, Py_ssize_t depth)
{
    Py_ssize_t nb = bids->n < depth ? bids->n : depth;
    Py_ssize_t na = asks->n < depth ? asks->n : depth;
    Py_ssize_t both = nb < na ? nb : na, i;
    /* the best level is the last; the sides' fields read once, as the text written could
       alias them for the compiler */
    const uint32_t *bid = bids->slots + bids->lo + bids->n - 1;
    const uint32_t *ask = asks->slots + asks->lo + asks->n - 1;
    /* a bid's price is its key, an ask's minus its key */
    const double *bid_key = bids->keys + bids->lo + bids->n - 1;
    const double *ask_key = asks->keys + asks->lo + asks->n - 1;
    ccxf_level *bid_pool = bids->pool, *ask_pool = asks->pool;
    char *o = buf;
    for (i = 0; i < both; i++) {
        o = ccxf_okx_level(o, bid_pool + bid[-i], bid_key[-i]);
        o = ccxf_okx_level(o, ask_pool + ask[-i], -ask_key[-i]);
    }
    for (; i < nb; i++) o = ccxf_okx_level(o, bid_pool + bid[-i], bid_key[-i]);
    for (; i < na; i++) o = ccxf_okx_level(o, ask_pool + ask[-i], -ask_key[-i]);
    return o == buf ? 0 : o - buf - 1;      /* without the last ':' */
}

/* Kraken's form of a number: its text at `precision` decimals (as on the wire when
 * precision < 0) with "." removed and leading zeros stripped. Returns -1 when a number
 * without wire text cannot be written exactly at `precision` (the caller raises). */
static inline Py_ssize_t ccxf_render_kraken(char *out, double v, const char *text, uint8_t len,
                                            int precision)
{
    char tmp[CCXF_MAX_NUMBER_TEXT + 32];
    Py_ssize_t k = 0, i, n;
    int leading = 1, frac = -1, plain = 1;
    const char *src = text;
    if (len && precision >= 0) {
        /* the common case, wire text of digits and at most one '.': the loop below in
           one pass without its per-byte bookkeeping (a v2 checksum renders 40 numbers
           on every update); anything else takes that loop */
        const char *t = text, *end = text + len, *dot = NULL;
        char *o = out;
        if (*t == '-') t++;
        for (; t < end; t++) {
            unsigned d = (unsigned)(unsigned char)*t - '0';
            if (d <= 9) {
                if (d || o != out) *o++ = *t;       /* leading zeros dropped */
            } else if (*t == '.' && !dot) {
                dot = t;
            } else {
                goto general;
            }
        }
        frac = dot ? (int)(end - dot - 1) : 0;
        if (frac <= precision && precision - frac <= 30) {
            k = o - out;
            if (k) {
                memset(o, '0', (size_t)(precision - frac));
                k += precision - frac;
            }
            return k;
        }
        frac = -1;
        k = 0;
    }
general:
    if (!len) {
        if (precision >= 0) goto from_float;
        n = ccxf_render_repr(tmp, v);
        src = tmp;
    } else {
        n = len;
    }
    for (i = 0; i < n; i++) {
        char c = src[i];
        if (c == '.') { frac = 0; continue; }
        if (c == '-') continue;
        if (c < '0' || c > '9') { plain = 0; break; }
        if (frac >= 0) frac++;
        if (leading && c == '0') continue;
        leading = 0;
        out[k++] = c;
    }
    if (frac < 0) frac = 0;
    if (precision < 0) return k;
    if (plain && frac <= precision && precision - frac <= 30) {
        /* pad to the pair's precision; leading zeros are gone already */
        if (k) for (i = frac; i < precision; i++) out[k++] = '0';
        return k;
    }
from_float:
    {
        /* The float came from a decimal with `precision` decimals: find the integer N of
         * units whose N / 10^precision rounds to it. x * 10^precision is within an ulp or
         * two of N; above 2^51 units that can round to a neighbour, so check N and its
         * neighbours by dividing back (exact: N < 2^53 and 10^precision are doubles). */
        double x = fabs(v), scale;
        uint64_t n;
        /* past these bounds the digits are not exact: refuse rather than write none */
        if (precision > 22) return -1;
        scale = ccxf_pow10[precision];
        if (!(x * scale < 9007199254740992.0)) return -1;
        n = (uint64_t)llround(x * scale);
        if ((double)n / scale != x) {
            if (n > 0 && (double)(n - 1) / scale == x) n -= 1;
            else if ((double)(n + 1) / scale == x) n += 1;
        }
        return ccxf_render_digits(out, n);
    }
}

/* ccxf_render_kraken for a level's kept wire text of 1-16 bytes, digits and at most one
 * '.', that fits `precision` (0-30 zeros to pad): the same bytes from whole-word moves
 * instead of a branch per byte. The 16 bytes from text must be readable (a level's text
 * fields are), and out needs 48 writable bytes. Returns -2 for any other text, which
 * ccxf_render_kraken decides. */
CCXF_HOT Py_ssize_t ccxf_kraken_text16(char *out, const char *text, Py_ssize_t len,
                                      int precision)
{
    const uint64_t zeros = 0x3030303030303030ULL;
    uint64_t lo, hi, vlo, vhi, dl, dh, tl, th, nlo, nhi;
    char tmp[48];
    Py_ssize_t dot, skip, digits, pad;
    int frac;
    if (len < 1 || len > 16 || precision < 0) return -2;
    memcpy(&lo, text, 8);
    memcpy(&hi, text + 8, 8);
    /* the first '.' */
    dl = lo ^ 0x2E2E2E2E2E2E2E2EULL;
    dh = hi ^ 0x2E2E2E2E2E2E2E2EULL;
    tl = (dl - 0x0101010101010101ULL) & ~dl & 0x8080808080808080ULL;
    th = (dh - 0x0101010101010101ULL) & ~dh & 0x8080808080808080ULL;
    dot = tl ? (__builtin_ctzll(tl) >> 3) : th ? 8 + (__builtin_ctzll(th) >> 3) : 16;
    if (dot >= len) dot = 16;
    frac = dot < 16 ? (int)(len - dot - 1) : 0;
    pad = precision - frac;
    if (pad < 0 || pad > 30) return -2;
    /* for the checks: that '.' read as '0', and the bytes past the text as '0' too */
    vlo = lo;
    vhi = hi;
    if (dot < 8) vlo ^= (uint64_t)('.' ^ '0') << (8 * dot);
    else if (dot < 16) vhi ^= (uint64_t)('.' ^ '0') << (8 * (dot - 8));
    if (len < 8) {
        uint64_t keep = (1ULL << (8 * len)) - 1;
        vlo = (vlo & keep) | (zeros & ~keep);
        vhi = zeros;
    } else if (len < 16) {
        uint64_t keep = len == 8 ? 0 : (1ULL << (8 * (len - 8))) - 1;
        vhi = (vhi & keep) | (zeros & ~keep);
    }
    /* every byte a digit (a second '.' or a sign is not) */
    if (!(ccxf_is_8digits(vlo) && ccxf_is_8digits(vhi))) return -2;
    /* leading zeros, and the point among them ("0.00123"), are dropped */
    nlo = vlo ^ zeros;
    nhi = vhi ^ zeros;
    skip = nlo ? (__builtin_ctzll(nlo) >> 3) : nhi ? 8 + (__builtin_ctzll(nhi) >> 3) : 16;
    if (skip >= len) return 0;      /* all zeros: nothing, as the byte loop writes */
    memcpy(tmp, &lo, 8);
    memcpy(tmp + 8, &hi, 8);
    memset(tmp + 16, '0', 32);
    memcpy(out, tmp + skip, 16);
    digits = len - skip;
    if (dot < 16 && dot > skip) {
        /* the point sits among the kept digits: close the gap */
        memcpy(out + (dot - skip), tmp + dot + 1, 16);
        digits -= 1;
    } else if (dot == skip) {
        /* cannot be: the point reads as '0' and skip stops at a non-zero byte */
        return -2;
    }
    /* pad with up to 30 '0's: four word stores, the excess overwritten by what follows */
    memcpy(out + digits, &zeros, 8);
    memcpy(out + digits + 8, &zeros, 8);
    memcpy(out + digits + 16, &zeros, 8);
    memcpy(out + digits + 24, &zeros, 8);
    return digits + pad;
}

/* book checksums: crc32 folded with PCLMULQDQ where the CPU has it */
#include "ccxf_crc32.h"

#endif /* CCXF_H */
