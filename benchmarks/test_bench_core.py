"""pytest-benchmark of the core, side by side with its peers in one run:

    pytest benchmarks/test_bench_core.py --benchmark-enable --benchmark-group-by=group

Each merge round applies the whole prebuilt depth stream to a fresh 1000-level book
(made in setup, not timed); divide by `levels` in extra_info for the per-level cost."""
import pytest

from ccxtpro_fast.bench import workloads

STREAM = workloads.depth_stream(200)


@pytest.mark.parametrize("name", list(workloads.IMPLEMENTATIONS))
def test_merge(benchmark, name):
    if name.startswith("bmoscon"):
        pytest.importorskip("order_book")
    make, apply = workloads.IMPLEMENTATIONS[name]
    benchmark.group = "merge"
    benchmark.extra_info["levels"] = STREAM.levels
    benchmark.pedantic(apply, setup=lambda: ((make(STREAM), STREAM), {}), rounds=50)


def test_checksum_okx_core(benchmark):
    book = workloads.make_fast(STREAM)
    benchmark.group = "checksum"
    benchmark(workloads.checksum_fast, book)


def test_checksum_okx_python(benchmark):
    benchmark.group = "checksum"
    benchmark(workloads.checksum_python_reference, STREAM.snapshot_bids, STREAM.snapshot_asks)
