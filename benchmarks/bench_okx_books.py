"""OKX ``books`` handler: ccxtpro_fast.okx against ccxt.pro.okx on the same decoded
messages (no sockets; JSON already parsed, as both clients hand it over).

Two workloads:
- recorded: tests/data/sessions/okx_v5_books_checksum.jsonl (290 messages, 3 instruments,
  2022, no seqId);
- generated: the simulator's OKX protocol driven offline by the seeded generator (one
  400-level snapshot per instrument, then updates with seqId/prevSeqId and checksum).
Ours verifies every checksum (and the sequence); ccxt.pro verifies the sequence only.

    python -m benchmarks.bench_okx_books [passes]
"""
import statistics
import sys
import time
from pathlib import Path

import ccxt.pro
import orjson

import ccxtpro_fast
from ccxtpro_fast.sim.generator import Generator
from ccxtpro_fast.sim.okx import Okx, _instrument

SESSION = Path(__file__).resolve().parent.parent / "tests" / "data" / "sessions" / "okx_v5_books_checksum.jsonl"


class _Client:
    futures = {}
    subscriptions = {}

    def resolve(self, result, message_hash):
        pass

    def reject(self, error, message_hash=None):
        raise AssertionError(f"rejected {message_hash}: {error}")


class _Offline:
    """Just enough of SimServer for the protocol to render generator events."""

    def __init__(self, ticks, seed=1):
        self.protocol = Okx(self)
        self.source = Generator(seed=seed, levels=400)
        self.out = []
        self.source.bind(self)
        for spec in self.source.markets:
            self.out.append(self.protocol._render_snapshot("books", spec.id))
        for _ in range(ticks):
            self.source.tick()

    def publish(self, kind, event):
        for stream in self.protocol.streams_for(event):
            if stream.startswith("books:"):
                self.out.append(self.protocol.render(event, stream))


def recorded():
    data = Okx(None).load_replay(str(SESSION))
    return data.markets, [orjson.loads(f.payload) for f in data.frames]


def generated(ticks=3000):
    server = _Offline(ticks)
    return server.source.markets, [orjson.loads(b) for b in server.out]


def one_pass(ex, msgs, client):
    ex.orderbooks = {}
    handle = ex.handle_message
    t0 = time.perf_counter()
    for m in msgs:
        handle(client, m)
    return (time.perf_counter() - t0) / len(msgs)


def bench(exchanges, msgs, passes):
    """Interleaved passes (a busy machine slows both alike); best and median per exchange."""
    client = _Client()
    times = [[] for _ in exchanges]
    for _ in range(passes):
        for ex, out in zip(exchanges, times):
            out.append(one_pass(ex, msgs, client))
    return [(min(t), statistics.median(t)) for t in times]


def run(name, specs, msgs, passes):
    levels = sum(len(m["data"][0]["bids"]) + len(m["data"][0]["asks"]) for m in msgs)
    pro, fast = ccxt.pro.okx(), ccxtpro_fast.okx()
    for ex in (pro, fast):
        ex.set_markets(ex.parse_markets([_instrument(m) for m in specs]))
    (pro_best, pro_med), (fast_best, fast_med) = bench([pro, fast], msgs, passes)
    for inst in {m["arg"]["instId"] for m in msgs}:
        symbol = pro.markets_by_id[inst][0]["symbol"]
        assert pro.orderbooks[symbol]["bids"][:] == fast.orderbooks[symbol]["bids"][:]
        assert pro.orderbooks[symbol]["asks"][:] == fast.orderbooks[symbol]["asks"][:]
    print(f"{name}: {len(msgs)} books messages, {levels / len(msgs):.1f} levels per message, "
          f"{passes} interleaved passes")
    print(f"  ccxt.pro.okx      best {pro_best * 1e6:8.2f}  median {pro_med * 1e6:8.2f} us/message")
    print(f"  ccxtpro_fast.okx  best {fast_best * 1e6:8.2f}  median {fast_med * 1e6:8.2f} us/message"
          f"   ({pro_best / fast_best:.1f}x best, {pro_med / fast_med:.1f}x median)")


def main(passes=20):
    run("recorded", *recorded(), passes)
    run("generated", *generated(), max(3, passes // 4))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
