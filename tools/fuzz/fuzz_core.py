"""Coverage-guided fuzzing of the compiled core with atheris (optional dev tool).

    pip install atheris            # or: pip install -e .[fuzz]
    python tools/fuzz/fuzz_core.py -atheris_runs=200000
    python tools/fuzz/fuzz_core.py corpus_dir/ -max_total_time=600

Every input goes to parse_decimal, store_json (on a book with levels already in it),
store_levels, decompress and checksums. Any exception other than the documented ones, a
book that is no longer consistent after a rejected input, or a crash is a finding. The
hypothesis tests (tests/test_fuzz_core.py) hold the precise oracles; this driver adds
coverage guidance and long runs. Build with CCXF_SANITIZE=address,undefined to catch
memory errors that do not crash (see setup.py).
"""
import math
import sys

import atheris

# only our Python code is instrumented (not all of ccxt); the compiled modules give
# atheris coverage only when built with clang's -fsanitize=fuzzer-no-link
with atheris.instrument_imports(include=["ccxtpro_fast"]):
    from ccxtpro_fast import _core
    from ccxtpro_fast._core import framing

FORMATS = (_core.CHECKSUM_OKX, _core.CHECKSUM_KRAKEN, _core.CHECKSUM_KRAKEN_V2,
           _core.CHECKSUM_BITFINEX)


def consistent(side, is_bid):
    levels = side.tolist()
    assert len(side) == len(levels)
    for i, row in enumerate(levels):
        assert math.isfinite(row[0]) and math.isfinite(row[1]) and row[1] != 0, row
        assert side[i] == row and side.price(i) == row[0] and side.amount(i) == row[1]
    for a, b in zip(levels, levels[1:]):
        assert (a[0] > b[0]) if is_bid else (a[0] < b[0]), (a, b)


def one_input(data):
    fdp = atheris.FuzzedDataProvider(data)
    choice = fdp.ConsumeIntInRange(0, 4)
    blob = fdp.ConsumeBytes(fdp.remaining_bytes())
    if choice == 0:
        try:
            value, _, _ = _core.parse_decimal(blob)
        except _core.DecimalError:
            return
        assert value == float(blob), blob
    elif choice in (1, 2):
        is_bid = choice == 1
        book = _core.OrderBook({"bids": [["100.5", "1"], ["99", "2.50"]],
                                "asks": [["101", "3"], ["102.25", "0.1"]]})
        try:
            book["bids" if is_bid else "asks"].store_json(blob)
        except ValueError:
            pass
        consistent(book["bids"], True)
        consistent(book["asks"], False)
        for fmt in FORMATS:
            text = book.checksum_text(fmt, 25, 2, 8)
            assert isinstance(text, str)
    elif choice == 3:
        for wbits in (framing.GZIP, framing.DEFLATE, framing.AUTO):
            try:
                framing.decompress(blob, wbits, 1 << 20)
            except framing.DecompressionError:
                pass
    else:
        side = _core.CountedBids()
        words = blob.split(b",")
        deltas = [words[i:i + 3] for i in range(0, len(words), 3)]
        try:
            side.store_levels(deltas)
        except (ValueError, TypeError, IndexError, OverflowError):
            pass
        consistent(side, True)


def main():
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
