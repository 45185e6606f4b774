"""decompress(): gzip / zlib / raw deflate with a hard output limit."""
import gzip
import os
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccxtpro_fast._core import framing
from ccxtpro_fast._core.framing import DecompressionError, decompress

# `pytest -m slow` reruns this file with CCXF_DEEP=20 (tests/test_fuzz_deep.py)
DEEP = int(os.environ.get("CCXF_DEEP", "1"))


def compress(data, wbits, level=6):
    c = zlib.compressobj(level, zlib.DEFLATED, wbits)
    return c.compress(data) + c.flush()


FORMATS = [(framing.GZIP, 31), (framing.ZLIB, 15), (framing.DEFLATE, -15)]


@settings(max_examples=200 * DEEP, deadline=None)
@given(data=st.one_of(st.binary(max_size=5000),
                      st.binary(min_size=1, max_size=50).map(lambda b: b * 2000)),
       fmt=st.sampled_from(FORMATS), level=st.integers(0, 9))
def test_round_trip(data, fmt, level):
    wbits, zwbits = fmt
    blob = compress(data, zwbits, level)
    assert decompress(blob, wbits) == data
    assert decompress(bytearray(blob), wbits) == data
    assert decompress(memoryview(blob), wbits) == data
    if wbits != framing.DEFLATE:
        assert decompress(blob, framing.AUTO) == data


def test_gzip_module_output_and_default_wbits():
    payload = b'{"ch":"market.btcusdt.depth.step0","tick":{"bids":[[1,2]]}}' * 10
    assert decompress(gzip.compress(payload)) == payload


@pytest.mark.parametrize("wbits, zwbits", FORMATS)
def test_every_truncation_is_an_error(wbits, zwbits):
    data = bytes(range(256)) * 20
    blob = compress(data, zwbits)
    for cut in range(1, len(blob)):
        with pytest.raises(DecompressionError):
            decompress(blob[:cut], wbits)


@settings(max_examples=300 * DEEP, deadline=None)
@given(data=st.binary(min_size=1, max_size=2000), fmt=st.sampled_from(FORMATS),
       flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), min_size=1, max_size=4))
def test_corrupt_input_gives_an_error_or_zlibs_answer(data, fmt, flips):
    """A corrupted frame either raises DecompressionError or inflates to exactly what
    zlib itself makes of it (corruption that zlib cannot detect)."""
    wbits, zwbits = fmt
    blob = bytearray(compress(data, zwbits))
    for pos, x in flips:
        blob[pos % len(blob)] ^= x
    blob = bytes(blob)
    try:
        reference = zlib.decompressobj(zwbits)
        expected = reference.decompress(blob)
        complete = reference.eof
    except zlib.error:
        expected, complete = None, False
    try:
        got = decompress(blob, wbits)
    except DecompressionError:
        assert not complete
        return
    assert complete and got == expected


@settings(max_examples=300 * DEEP, deadline=None)
@given(blob=st.binary(max_size=300), wbits=st.sampled_from([31, 15, -15, 47]))
def test_random_bytes_never_crash(blob, wbits):
    try:
        decompress(blob, wbits)
    except DecompressionError:
        pass


def test_empty_input_and_bad_wbits():
    with pytest.raises(DecompressionError):
        decompress(b"")
    with pytest.raises(DecompressionError):
        decompress(b"\x1f\x8b", 99)
    with pytest.raises(TypeError):
        decompress("text")


def test_size_limit_is_exact():
    data = b"x" * 10000
    blob = compress(data, 31)
    assert decompress(blob, framing.GZIP, 10000) == data
    with pytest.raises(DecompressionError, match="limit"):
        decompress(blob, framing.GZIP, 9999)
    assert decompress(compress(b"", 31), framing.GZIP, 0) == b""
    with pytest.raises(DecompressionError):
        decompress(compress(b"a", 31), framing.GZIP, 0)


def test_compression_bomb_is_stopped_at_the_limit():
    # 256 MB of zeros in ~250 kB: must fail fast at the default 64 MB limit, and at a
    # small limit without allocating anything near the bomb's size
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(1 << 20)
    blob = b"".join(c.compress(chunk) for _ in range(256)) + c.flush()
    assert len(blob) < 1 << 20
    with pytest.raises(DecompressionError, match="limit"):
        decompress(blob)
    with pytest.raises(DecompressionError, match="limit"):
        decompress(blob, framing.GZIP, 1 << 16)


@pytest.mark.parametrize("max_size", [-1, -2, -(1 << 40)])
def test_negative_limit_is_an_error_not_a_crash(max_size):
    with pytest.raises((DecompressionError, ValueError)):
        decompress(compress(b"abc", 31), framing.GZIP, max_size)


def test_trailing_garbage_after_the_stream_is_ignored_like_zlib():
    blob = compress(b"hello", 15) + b"garbage"
    assert decompress(blob, framing.ZLIB) == b"hello"
