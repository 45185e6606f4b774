"""ccxf_crc32 (PCLMULQDQ folding, zlib below 64 bytes and on other CPUs) equals zlib.crc32.

Each case runs the dispatching entry point and, separately, the zlib fallback, so the
fallback is checked on a CPU that has pclmul and the folding on one that does not skip
silently (test_pclmul_in_use says which one ran)."""
import os
import platform
import random
import re
import runpy
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccxtpro_fast import _core
from ccxtpro_fast._core import orderbook as ob

ROOT = Path(__file__).resolve().parents[1]


def check(data, crc=0, offset=0):
    want = zlib.crc32(data[offset:], crc)
    assert ob._crc32_for_tests(data, crc, offset) == want
    assert ob._crc32_for_tests(data, crc, offset, True) == want


@settings(max_examples=400, deadline=None)
@given(st.binary(min_size=0, max_size=5000), st.integers(0, 2**32 - 1), st.integers(0, 15))
def test_random_bytes_and_crc(data, crc, offset):
    check(data, crc, min(offset, len(data)))


@pytest.mark.parametrize("offset", range(16))
def test_every_length_and_offset(offset):
    rng = random.Random(offset)
    for n in range(301):
        data = rng.randbytes(n + offset)
        check(data, 0, offset)
        check(data, rng.getrandbits(32), offset)


@pytest.mark.parametrize("fill", [b"\x00", b"\xff", b"\x80", b"0123456789:"])
@pytest.mark.parametrize("n", [63, 64, 65, 79, 80, 127, 128, 129, 191, 192, 949, 1023, 1024, 4099])
def test_structured(fill, n):
    data = (fill * n)[:n]
    for crc in (0, 1, 0xFFFFFFFF, 0x80000000):
        check(data, crc)


def test_chaining_equals_one_call():
    data = os.urandom(3000)
    crc = 0
    for i in range(0, 3000, 700):
        crc = ob._crc32_for_tests(data[i:i + 700], crc)
    assert crc == zlib.crc32(data)


def test_pclmul_in_use():
    """On x86_64 the folding path runs wherever the CPU has pclmul and SSE4.1."""
    if platform.machine() not in ("x86_64", "AMD64"):
        assert ob._crc32_uses_pclmul() is False
        return
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    if flags:
        has = " pclmulqdq" in flags and " sse4_1" in flags
        assert ob._crc32_uses_pclmul() is has


def test_constants_match_their_derivation():
    """The header's constants are what tools/crc32_constants.py derives."""
    derived = runpy.run_path(str(ROOT / "tools" / "crc32_constants.py"))["CONSTANTS"]
    header = (ROOT / "ccxtpro_fast" / "_core" / "src" / "ccxf_crc32.h").read_text()
    found = {m[0]: int(m[1], 16) for m in re.findall(r"#define CCXF_CRC_(K_\w+) 0x([0-9a-f]+)ULL", header)}
    assert found == derived


def test_book_checksum_uses_it():
    """Deep books hash several kB (the heap buffer path as well as the stack one)."""
    for levels in (30, 400, 2000):
        book = ob.OrderBook({}, levels)
        book["bids"].store_levels([["%.1f" % (30000 - i * 0.1), "%.8f" % (0.1 + i * 0.0013), "0", "3"]
                                   for i in range(levels)])
        book["asks"].store_levels([["%.1f" % (30000.1 + i * 0.1), "%.8f" % (0.1 + i * 0.0013), "0", "3"]
                                   for i in range(levels)])
        for depth in (1, 25, levels):
            text = book.checksum_text(_core.CHECKSUM_OKX, depth).encode()
            crc = zlib.crc32(text)
            assert book.checksum(_core.CHECKSUM_OKX, depth) == crc - (1 << 32 if crc >= 1 << 31 else 0)
