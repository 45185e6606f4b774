"""The README's performance table in one command, with its method beside it:

    python -m ccxtpro_fast.bench.report [--quick] [--exchange all] [--busy-poll] [--out docs/benchmarks]

Runs the micro benchmarks (core merge, checksum, memory) and the end-to-end benchmark
(simulator -> watch_order_book, ccxt.pro and ccxtpro_fast each in its own process) in one
go, prints a Markdown table, writes it to OUT/results.md with the raw figures in
OUT/results.json, and plots the latency distributions to OUT/latency.png when
matplotlib is installed (`pip install ccxtpro-fast[bench]`). With `--exchange all` the
end-to-end benchmark runs for every native adapter and a per-exchange table follows
(the README rows stay Binance's). With `--busy-poll` the end-to-end latency run has every
client busy-polling (`e2e --busy-poll`); the latency rows say so, and the files are
written as results-busy-poll.{md,json}, e2e-busy-poll.json and latency-busy-poll.png
beside the default mode's.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from . import e2e, micro


def table(core, checksum, memory, end_to_end, levels) -> str:
    base = core["ccxt.pro OrderBook"]
    rows = ["| measure | ccxt.pro | ccxtpro_fast | ratio | peer |", "|---|---:|---:|---:|---:|"]
    fast = core["ccxtpro_fast store_deltas"]
    peer = core.get("bmoscon order_book")
    rows.append(f"| book merge, ns per level (strings parsed) | {base:.0f} | {fast:.1f} | "
                f"{base / fast:.0f}x | order_book {peer:.0f} ({peer / fast:.1f}x slower) |"
                if peer else
                f"| book merge, ns per level (strings parsed) | {base:.0f} | {fast:.1f} | "
                f"{base / fast:.0f}x | |")
    adapter = core.get("ccxt.pro OrderBook via handle_deltas")
    if adapter:
        rows.append(f"| book merge as ccxt.pro's Binance adapter runs it (safe_float a number), "
                    f"ns per level | {adapter:.0f} | {fast:.1f} | {adapter / fast:.0f}x | |")
    ours, python = checksum["ccxtpro_fast"], checksum["Python (zlib.crc32 over joined text)"]
    rows.append(f"| OKX checksum, 25 levels, us | {python / 1000:.2f} (Python rule) | "
                f"{ours / 1000:.2f} | {python / ours:.0f}x | |")
    mem_base, mem_fast = memory["ccxt.pro OrderBook"], memory["ccxtpro_fast"]
    mem_peer = memory.get("bmoscon order_book")
    rows.append(f"| memory per 1000-level book, KiB | {mem_base / 1024:.0f} | {mem_fast / 1024:.0f} | "
                f"{mem_base / mem_fast:.1f}x less | "
                + (f"order_book {mem_peer / 1024:.0f} |" if mem_peer else "|"))
    t = end_to_end["throughput"]
    b, f = t["ccxt.pro"], t["ccxtpro_fast"]
    rows.append(f"| end to end, messages/s (Binance depth) | {b['msgs_per_s']:,.0f} | "
                f"{f['msgs_per_s']:,.0f} | {f['msgs_per_s'] / b['msgs_per_s']:.1f}x | |")
    rows.append(f"| end to end, CPU us per message | {b['cpu_us_per_msg']:.1f} | "
                f"{f['cpu_us_per_msg']:.2f} | {b['cpu_us_per_msg'] / f['cpu_us_per_msg']:.1f}x less | |")
    lat = end_to_end["latency"]
    floor = lat.get(e2e.FLOOR)
    busy = end_to_end.get("busy_poll", False)
    measures = ((("", "from send, every client busy-polling (no OS wake-up)"),
                 ("in_client_", "in-client, every client busy-polling (from the poll that saw the frame)"))
                if busy else
                (("", "from send (includes the OS wake-up)"),
                 ("in_client_", "in-client (from the epoll return that reported the frame)")))
    for prefix, what in measures:
        for key, label in (("p50_us", "p50"), ("p99_us", "p99"), ("p999_us", "p99.9")):
            key = prefix + key
            if key not in lat["ccxt.pro"]:
                continue
            lb, lf = lat["ccxt.pro"][key], lat["ccxtpro_fast"][key]
            peer = f"floor {floor[key]:,.0f}" if floor else ""
            rows.append(f"| latency {label} {what} at a steady 2,000 msg/s, us | {lb:,.0f} | {lf:,.0f} | "
                        f"{lb / lf:.1f}x | {peer} |")
    m = end_to_end["method"]
    rows.append("")
    rows.append(f"Method: {m['machine']}; Python {m['python']}, ccxt {m['ccxt']}, picows "
                f"{m['picows']}, orjson {m['orjson']}. Merge: {levels} levels of a Binance-like "
                "diff stream (1-20 levels per message, mostly near the top, ~25% deletions) "
                "into fresh 1000-level books, the fastest of 5 rounds of a median of 31 runs. "
                "Checksum: the fastest of 7 runs of 20,000 calls. Memory: RSS growth over 200 books. "
                "End to end: the simulator replays "
                f"a generated session (burst of {b['messages']:,} messages after a paced "
                f"warm-up, medians of {b.get('bursts', 1)} bursts a client; {lat['ccxt.pro']['samples']:,} messages at 2,000/s for latency) to "
                "each client in its own process; latency from send = wake-up of watch_order_book "
                "minus the simulator's stamp just before it writes that frame (CLOCK_MONOTONIC)"
                + (", no OS wake-up in it (the client is spinning)" if busy else
                   ", so it includes the OS waking the client")
                + "; in-client = wake-up minus the return of "
                "the client's epoll call that reported the frame (minus the send stamp when the "
                "client was busy, not waiting in epoll, at the send); floor (peer column) = a bare "
                "asyncio WebSocket reader that wakes a coroutine per frame and keeps no book"
                + ("; busy-poll: each latency client's event loop spins on zero-timeout polls "
                   "(ccxtpro_fast.busy_poll, a whole core) instead of sleeping in epoll, so the "
                   "wake-up is the poll that saw the frame" if busy else "")
                + (f"; recording the epoll returns costs {end_to_end['select_record_ns']:.0f} ns "
                   "a select in every client" if "select_record_ns" in end_to_end else "") + ".")
    return "\n".join(rows)


def exchanges_table(end_to_end: dict) -> str:
    """`e2e --exchange all`: per exchange, ccxt.pro vs ccxtpro_fast and the ratio."""
    rows = ["| exchange | messages/s | | | CPU us/message | | | CPU us/message, steady | | | p50 us | | "
            "| p99 us | | | p99.9 us | | |",
            "|---|" + "---:|" * 18,
            "| | " + " | ".join(("ccxt.pro", "ccxtpro_fast", "ratio") * 6) + " |"]
    notes = []
    for name, r in end_to_end["exchanges"].items():
        t, lat = r["throughput"], r["latency"]
        b, f = (t or lat)["ccxt.pro"], (t or lat)["ccxtpro_fast"]
        cells = [f"{name}: {r['label']}"]
        if t:
            cells += [f"{b['msgs_per_s']:,.0f}", f"{f['msgs_per_s']:,.0f}",
                      f"{f['msgs_per_s'] / b['msgs_per_s']:.1f}x", f"{b['cpu_us_per_msg']:.2f}",
                      f"{f['cpu_us_per_msg']:.2f}", f"{b['cpu_us_per_msg'] / f['cpu_us_per_msg']:.1f}x less"]
        else:
            cells += ["n/a\\*", "n/a\\*", "", "n/a\\*", "n/a\\*", ""]
            notes.append(f"\\* {name}: no replay of this protocol in the simulator; both clients "
                         "got the live generator at the steady rate (frames checked identical): "
                         "no burst, so no messages/s and no burst CPU.")
        sb, sf = lat["ccxt.pro"]["cpu_us_per_msg"], lat["ccxtpro_fast"]["cpu_us_per_msg"]
        cells += [f"{sb:.2f}", f"{sf:.2f}", f"{sb / sf:.1f}x less"]
        for key in ("p50_us", "p99_us", "p999_us"):
            lb, lf = lat["ccxt.pro"][key], lat["ccxtpro_fast"][key]
            cells += [f"{lb:,.0f}", f"{lf:,.0f}", f"{lb / lf:.1f}x"]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows + [""] + notes)


def latency_table(end_to_end: dict) -> str:
    """`e2e --exchange all`: both latencies of the three clients per exchange."""
    keys = [k for _, ks in e2e.LATENCY_MEASURES for k in ks]
    rows = ["| exchange | client | from send p50 | p99 | p99.9 | in-client p50 | p99 | p99.9 | busy frames |",
            "|---|---|" + "---:|" * 7]
    for name, r in end_to_end["exchanges"].items():
        lat = r["latency"]
        for label, impl in ((name, "ccxt.pro"), ("", "ccxtpro_fast"), ("", e2e.FLOOR)):
            if impl in lat:
                rows.append(f"| {label} | {impl} | " + " | ".join(f"{lat[impl][k]:,.0f}" for k in keys)
                            + f" | {lat[impl]['busy']} of {lat[impl]['samples']:,} |")
        rows.append("| | ratio | " + " | ".join(f"{lat['ccxt.pro'][k] / lat['ccxtpro_fast'][k]:.1f}x"
                                                for k in keys) + " | |")
    busy = ("Every client busy-polling (its event loop spins on zero-timeout polls, never sleeps): "
            "no OS wake-up in either measure, in-client starts at the poll that saw the frame. "
            if end_to_end.get("busy_poll") else "")
    return "\n".join(rows + ["", busy + "From send: from the simulator's stamp just before it writes the "
                              "frame, so the OS waking the client process is in it. In-client: from "
                              "the return of the client's epoll call that reported the frame, or from "
                              "the send stamp for a busy frame (the client was running, not waiting in "
                              "epoll, when it was sent). Floor: a bare asyncio WebSocket reader that "
                              "wakes a coroutine per frame and keeps no book; no Python client goes "
                              "under it on this machine."])


def _summary(latency: dict) -> dict:
    """A latency result without its per-sample lists."""
    return {impl: {k: x for k, x in lr.items() if k not in ("latencies_us", "in_client_us")}
            for impl, lr in latency.items()}


def plot(latency: dict, path: Path, busy_poll: bool = False) -> bool:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(7, 4))
    for n_impl, (impl, result) in enumerate(latency.items()):
        color = f"C{n_impl}"
        for key, style, what in (("latencies_us", "-", "from send"), ("in_client_us", "--", "in-client")):
            if key not in result:
                continue
            values = sorted(result[key])
            n = len(values)
            ax.plot(values, [i / n for i in range(n)], style, color=color, label=f"{impl}, {what}")
    ax.set_xscale("log")
    ax.set_xlabel("frame written by the simulator (from send) or reported by the client's epoll "
                  "(in-client) -> wake-up (us)", fontsize=8)
    ax.set_ylabel("fraction of messages")
    ax.set_title("latency at a steady 2,000 messages/s (Binance depth)"
                 + (", every client busy-polling" if busy_poll else ""))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default="docs/benchmarks")
    ap.add_argument("--exchange", default="binance", choices=("binance", "all"),
                    help="end to end for Binance only, or for every native adapter")
    ap.add_argument("--busy-poll", action="store_true",
                    help="the end-to-end latency run with every client busy-polling (e2e --busy-poll)")
    args = ap.parse_args(argv)
    # a busy-poll run writes beside the default mode's figures, not over them
    suffix = "-busy-poll" if args.busy_poll else ""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print("micro benchmarks...", flush=True)
    core, levels = micro.merge()
    checksum = micro.checksum()
    memory = micro.memory()
    print("end to end...", flush=True)
    e2e_args = ["--messages", "5000", "--seconds", "2"] if args.quick else []
    e2e_args += ["--busy-poll"] if args.busy_poll else []
    end_to_end = e2e.main(e2e_args + ["--exchange", args.exchange, "--json", str(out / f"e2e{suffix}.json")])
    every = end_to_end if args.exchange == "all" else None
    if every:
        end_to_end = dict(every["exchanges"]["binance"], method=every["method"])
    text = table(core, checksum, memory, end_to_end, levels)
    if every:
        text += "\n\nEnd to end, every native adapter:\n\n" + exchanges_table(every)
        text += ("\n\nLatency at a steady 2,000 msg/s, us, every native adapter:\n\n"
                 + latency_table(every))
    print()
    print(text)
    (out / f"results{suffix}.md").write_text(text + "\n")
    raw = {"merge_ns_per_level": core, "checksum_ns": checksum, "memory_bytes": memory,
           "end_to_end": dict({k: v for k, v in end_to_end.items() if k != "latency"},
                              latency=_summary(end_to_end["latency"]))}
    if every:
        raw["end_to_end_exchanges"] = {
            name: {"throughput": r["throughput"], "latency": _summary(r["latency"]),
                   "select_record_ns": r.get("select_record_ns")}
            for name, r in every["exchanges"].items()}
    (out / f"results{suffix}.json").write_text(json.dumps(raw, indent=1))
    if plot(end_to_end["latency"], out / f"latency{suffix}.png", args.busy_poll):
        print(f"\nlatency plot: {out / f'latency{suffix}.png'}")


if __name__ == "__main__":
    main()
