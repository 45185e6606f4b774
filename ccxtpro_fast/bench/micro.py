"""Micro benchmarks of the core, side by side with ccxt.pro's OrderBook and bmoscon's
order_book in the same run (python -m ccxtpro_fast.bench.micro).

- merge: the whole depth stream of `workloads.depth_stream` merged into a fresh
  1000-level book, string-to-number conversion included; the fastest of `rounds` medians
  of `repeats` runs, reported per level;
- checksum: the OKX checksum of a 25-level book, ours against the same rule in Python,
  the fastest of 7 runs;
- memory: the resident memory a 1000-level book (both sides) adds, over many books.
"""
from __future__ import annotations

import gc
import os
import statistics
import time

from . import workloads


def _median_ns(make, apply, stream, repeats, warmup=3):
    """Median ns of one merge of the stream into a fresh book, after `warmup` untimed
    merges (the first runs of whichever implementation goes first were seen 1-8% slower)."""
    for _ in range(warmup):
        apply(make(stream), stream)
    times = []
    for _ in range(repeats):
        book = make(stream)
        gc.disable()
        start = time.perf_counter_ns()
        apply(book, stream)
        times.append(time.perf_counter_ns() - start)
        gc.enable()
    return statistics.median(times)


def available(name):
    try:
        __import__(name)
        return True
    except ImportError:
        return False


def merge(messages=200, repeats=31, rounds=5):
    """ns per level for every implementation that is installed; books cross-checked.

    Each round measures every implementation in turn (a median of `repeats` merges each);
    an implementation's figure is its fastest round. On a shared machine a round can land
    in a spell in which everything runs up to 1.5x slower; the fastest round is the one
    least disturbed, as timeit's documentation advises, and the same rule applies to all."""
    stream = workloads.depth_stream(messages)
    names = [name for name in workloads.IMPLEMENTATIONS
             if available("order_book") or not name.startswith("bmoscon")]
    best = {}
    for _ in range(rounds):
        for name in names:
            make, apply = workloads.IMPLEMENTATIONS[name]
            ns = _median_ns(make, apply, stream, repeats)
            best[name] = min(ns, best.get(name, ns))
    tops = {}
    for name in names:
        make, apply = workloads.IMPLEMENTATIONS[name]
        book = make(stream)
        apply(book, stream)
        tops[name] = [[list(map(float, lvl)) for lvl in side] for side in workloads.top(book)]
    reference = tops["ccxt.pro OrderBook"]
    for name, top in tops.items():
        if top != reference:
            raise AssertionError(f"{name} built a different book than ccxt.pro")
    return {name: best[name] / stream.levels for name in names}, stream.levels


def checksum(repeats=20000):
    """ns per OKX checksum of a 25-level book: ours against the same rule in Python, each
    called directly in the timing loop; the fastest of 7 runs, as merge takes rounds."""
    stream = workloads.depth_stream(1)
    book = workloads.make_fast(stream)
    bids, asks = stream.snapshot_bids, stream.snapshot_asks
    reference = workloads.checksum_python_reference
    if workloads.checksum_fast(book) != reference(bids, asks):
        raise AssertionError("the core's OKX checksum differs from the Python rule")
    ours = book.checksum
    fmt = workloads.CHECKSUM_OKX
    results = {}
    for name in ("ccxtpro_fast", "Python (zlib.crc32 over joined text)"):
        runs = []
        for _ in range(7):
            start = time.perf_counter_ns()
            if name == "ccxtpro_fast":
                for _ in range(repeats):
                    ours(fmt)
            else:
                for _ in range(repeats):
                    reference(bids, asks)
            runs.append((time.perf_counter_ns() - start) / repeats)
        results[name] = min(runs)
    return results


def _rss_bytes():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory(books=200):
    """Bytes of resident memory per 1000-level book, per implementation."""
    stream = workloads.depth_stream(1)
    out = {}
    for name, (make, _apply) in workloads.IMPLEMENTATIONS.items():
        if "store_json_deltas" in name or "handle_deltas" in name:
            continue
        if name.startswith("bmoscon") and not available("order_book"):
            continue
        make(stream)  # warm imports and caches first
        gc.collect()
        before = _rss_bytes()
        keep = [make(stream) for _ in range(books)]
        gc.collect()
        out[name.split(" store_deltas")[0]] = (_rss_bytes() - before) / len(keep)
        del keep
        gc.collect()
    return out


def main():
    per_level, levels = merge()
    base = per_level["ccxt.pro OrderBook"]
    print(f"order-book merge, {levels} levels of a Binance-like diff stream into 1000-level books")
    print(f"{'':38}{'ns/level':>10}{'vs ccxt.pro':>13}")
    for name, ns in per_level.items():
        print(f"{name:38}{ns:10.1f}{base / ns:12.1f}x")
    print()
    print("OKX checksum, 25 levels a side")
    for name, ns in checksum().items():
        print(f"{name:40}{ns / 1000:8.2f} us")
    print()
    print("memory per 1000-level book (both sides)")
    for name, size in memory().items():
        print(f"{name:32}{size / 1024:8.0f} KiB")


if __name__ == "__main__":
    main()
