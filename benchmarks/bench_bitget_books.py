"""Bitget ``books`` handler: ccxtpro_fast.bitget against ccxt.pro.bitget on the same
decoded messages (no sockets; JSON already parsed, as both clients hand it over).

Messages: the recorded session (tests/data/sessions/bitget_v1_books_checksum.jsonl, 637
books messages, 10 symbols) in its v2 shape (instType renamed, as the simulator serves
it). Both handlers verify every update's checksum; ours also the snapshots' and ``seq``.

    python -m benchmarks.bench_bitget_books [passes]
"""
import statistics
import sys
import time
from pathlib import Path

import ccxt.pro
import orjson

import ccxtpro_fast
from ccxtpro_fast.sim.bitget import Bitget

SESSION = Path(__file__).resolve().parent.parent / "tests" / "data" / "sessions" / "bitget_v1_books_checksum.jsonl"


class _Client:
    futures = {}
    subscriptions = {}

    def resolve(self, result, message_hash):
        pass

    def reject(self, error, message_hash=None):
        raise AssertionError(f"rejected {message_hash}: {error}")


def messages():
    data = Bitget(None).load_replay(str(SESSION))
    return data, [orjson.loads(f.payload) for f in data.frames]


def markets(data):
    out = []
    for m in data.markets:
        spot = m.kind == "spot"
        out.append({"id": m.id, "symbol": f"{m.base}/{m.quote}" + ("" if spot else f":{m.quote}"),
                    "base": m.base, "quote": m.quote, "baseId": m.base, "quoteId": m.quote,
                    "settle": None if spot else m.quote, "type": "spot" if spot else "swap", "spot": spot,
                    "swap": not spot, "contract": not spot, "linear": None if spot else True,
                    "inverse": None if spot else False, "active": True, "precision": {}, "limits": {}})
    return out


def one_pass(ex, msgs, client):
    ex.orderbooks = {}          # ccxt.pro merges a snapshot into the old book: start clean
    if hasattr(ex, "book_syncs"):
        ex.book_syncs = {}
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


def main(passes=30):
    data, msgs = messages()
    levels = sum(len(m["data"][0]["bids"]) + len(m["data"][0]["asks"]) for m in msgs)
    pro, fast = ccxt.pro.bitget(), ccxtpro_fast.bitget()
    for ex in (pro, fast):
        ex.set_markets(markets(data))
    (pro_best, pro_med), (fast_best, fast_med) = bench([pro, fast], msgs, passes)
    print(f"{len(msgs)} books messages, {levels / len(msgs):.1f} levels per message, {passes} interleaved passes")
    print(f"ccxt.pro.bitget      best {pro_best * 1e6:8.2f}  median {pro_med * 1e6:8.2f} us/message")
    print(f"ccxtpro_fast.bitget  best {fast_best * 1e6:8.2f}  median {fast_med * 1e6:8.2f} us/message"
          f"   ({pro_best / fast_best:.1f}x best, {pro_med / fast_med:.1f}x median)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
