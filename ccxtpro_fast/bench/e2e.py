"""End to end, side by side: the simulator sends one exchange's order-book session and
ccxt.pro and ccxtpro_fast each consume it with `watch_order_book`, each client in its own
process, against a fresh simulator process of its own.

    python -m ccxtpro_fast.bench.e2e [--exchange binance|binanceusdm|okx|bybit|bitget|kraken|all]
                                     [--messages 30000] [--rate 2000] [--seconds 5] [--json FILE]

Two runs per client:
- throughput: after a paced warm-up (the snapshot is in place), the session's burst is
  sent as fast as the client reads it; messages/s = burst messages / wall time from the
  first to the last of them applied, CPU = the client process's CPU time over the same
  span;
- latency: a steady `--rate` messages/s; latency = the client's wake-up from
  `watch_order_book` minus the moment the simulator was about to write that frame to its
  socket (both read from CLOCK_MONOTONIC, shared by the processes), for every message,
  joined by the update each frame carries (`VENUES[...].key`).

The session is made by the simulator's seeded generator (1,000 levels a side, 1-20 level
changes per message, mostly near the top, ~25% deletions), rendered by the simulator's
protocol of that exchange exactly as its live server would (the protocol answers the
client's subscription on a stand-in connection, then publishes every generator event),
and written in the recorded-session format its `load_replay` reads, so both clients
receive byte-identical frames. Kraken's simulator cannot replay (v2 only, no recorded v2
format): there both clients get the live generator at a fixed rate, whose frames are
checked against the rendered session (count and CRC); it has no burst, so no messages/s,
and its CPU per message comes from the steady run. Both final books are compared: a run
whose books differ fails.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional
from urllib.parse import urlsplit

import orjson

CACHE = Path(os.environ.get("CCXF_BENCH_CACHE", Path.home() / ".cache" / "ccxtpro_fast" / "bench"))
IMPLEMENTATIONS = ("ccxt.pro", "ccxtpro_fast")
# set by --generic, read by the client processes: ccxtpro_fast without its native adapter
GENERIC_ENV = "CCXF_E2E_GENERIC"


# ---------------------------------------------------------------- the exchanges


def _kraken_ms(text: Optional[str]) -> Optional[int]:
    """'2023-11-14T22:13:20.100000Z' -> epoch ms, as ccxt's parse8601."""
    if text is None:
        return None
    from datetime import datetime, timezone
    dt = datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return int(dt.timestamp()) * 1000 + int((text[20:23] + "000")[:3])


@dataclass(frozen=True)
class Venue:
    """What the harness needs to know of one exchange; everything else is generic."""
    name: str                   # --exchange
    label: str                  # for the output
    protocol: str               # sim protocol (ccxtpro_fast/sim/<protocol>.py)
    cls: str                    # class name in ccxt.pro and in ccxtpro_fast
    symbol: str                 # unified symbol watched
    market: tuple               # (kind, id) among the protocol's default markets
    url: str                    # the WebSocket URL the client opens (recorded in the session)
    subscribe: Optional[str]    # the client's subscription request (None: the URL subscribes)
    key: str                    # book field naming the last update applied: 'nonce' | 'timestamp'
    key_of: Callable            # the same, from a frame's decoded payload (None: no key)
    rest: Optional[str] = None  # a REST snapshot the client fetches (recorded in the session)
    rest_after: int = 0         # ... taken after this many frames (USD-M: inside an event's range)
    replay: bool = True         # False: the protocol cannot replay; serve the live generator
    levels: int = 1000          # generator levels per side
    limit: Optional[int] = None  # watch_order_book(symbol, limit)


VENUES = {v.name: v for v in (
    Venue("binance", "Binance spot depth", "binance", "binance", "BTC/USDT", ("spot", "BTCUSDT"),
          "wss://stream.binance.com:9443/stream?streams=btcusdt@depth@100ms", None,
          "nonce", lambda m: m["u"],
          rest="https://api.binance.com/api/v3/depth?symbol=BTCUSDT&limit=1000"),
    Venue("binanceusdm", "Binance USD-M depth", "binance", "binanceusdm", "BTC/USDT:USDT",
          ("linear", "BTCUSDT"), "wss://fstream.binance.com/stream?streams=btcusdt@depth@100ms", None,
          "nonce", lambda m: m["u"],
          rest="https://fapi.binance.com/fapi/v1/depth?symbol=BTCUSDT&limit=1000", rest_after=1),
    Venue("okx", "OKX books (400 levels, checksum)", "okx", "okx", "BTC/USDT", ("okx", "BTC-USDT"),
          "wss://ws.okx.com:8443/ws/v5/public",
          '{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}',
          "nonce", lambda m: m["data"][0]["seqId"], levels=400),
    Venue("bybit", "Bybit spot orderbook.50", "bybit", "bybit", "BTC/USDT", ("spot", "BTCUSDT"),
          "wss://stream.bybit.com/v5/public/spot", '{"op":"subscribe","args":["orderbook.50.BTCUSDT"]}',
          "timestamp", lambda m: m["ts"]),
    Venue("bitget", "Bitget spot books (checksum)", "bitget", "bitget", "BTC/USDT", ("spot", "BTCUSDT"),
          "wss://ws.bitget.com/v2/ws/public",
          '{"op":"subscribe","args":[{"instType":"SPOT","channel":"books","instId":"BTCUSDT"}]}',
          "timestamp", lambda m: int(m["data"][0]["ts"])),
    Venue("kraken", "Kraken v2 book.10 (checksum)", "kraken", "kraken", "BTC/USD", ("spot", "XXBTZUSD"),
          "wss://ws.kraken.com/v2",
          '{"method":"subscribe","params":{"channel":"book","symbol":["BTC/USD"],"depth":10}}',
          "timestamp", lambda m: _kraken_ms(m["data"][0].get("timestamp")), replay=False),
)}
ALL = ("binance", "okx", "bybit", "bitget", "kraken", "binanceusdm")


# ---------------------------------------------------------------- the session


class _Capture:
    """Stands in for the client's connection while a session is rendered: the protocol
    answers the subscription on it and publishes to it as to a live one."""

    def __init__(self, host: str):
        self.host = host
        self.kind = None
        self.props: dict = {}
        self.streams: set = set()
        self.frames: list = []          # (stream, payload) of every data frame, in order
        self.is_open = True
        self.closed = asyncio.Event()
        self.sent = 0

    def subscribe(self, streams) -> None:
        self.streams.update(streams)

    def unsubscribe(self, streams) -> None:
        self.streams.difference_update(streams)

    def send_control(self, data: bytes) -> None:
        pass                            # acks: not market data, not recorded

    def send_stream(self, stream: str, payload: bytes) -> None:
        self.frames.append((stream, payload))


class _Renderer:
    """Stands in for SimServer: one generator, one protocol, one connection."""

    def __init__(self, protocol: str, source):
        from ccxtpro_fast.sim.core import protocol_class
        self.source = source
        self.protocol = protocol_class(protocol)(self)
        self.conn: Optional[_Capture] = None
        self.connections: list = []
        self._tasks: list = []

    def subscribers(self, kind: str, stream: str) -> set:
        return {self.conn} if stream in self.conn.streams else set()

    def publish(self, kind: str, event) -> None:       # SimServer.publish, one connection
        proto = self.protocol
        for stream in proto.streams_for(event):
            if stream in self.conn.streams:
                self.conn.send_stream(stream, proto.render(event, stream))


def market_spec(v: Venue):
    from ccxtpro_fast.sim.core import protocol_class
    return next(m for m in protocol_class(v.protocol).default_markets() if (m.kind, m.id) == v.market)


def render(v: Venue, frames: int, seed: int) -> dict:
    """The first ``frames`` data frames a client of ``v`` gets from a fresh seeded
    generator: {'frames': [(stream, payload, recorded text)], 'rest': body, 'ticks': n}."""
    from ccxtpro_fast.sim.generator import Generator

    async def run():
        gen = Generator([market_spec(v)], seed=seed, levels=v.levels)
        server = _Renderer(v.protocol, gen)
        gen.bind(server)
        url = urlsplit(v.url)
        conn = server.conn = _Capture(url.hostname)
        proto = server.protocol
        if not proto.ws_open(conn, url.path, url.query):
            raise RuntimeError(f"{v.name}: the simulator refuses {v.url}")
        if v.subscribe:
            proto.on_text(conn, v.subscribe)
        rest = None
        while True:
            if v.rest and rest is None and len(conn.frames) >= v.rest_after:
                rq = urlsplit(v.rest)
                query = dict(p.split("=", 1) for p in rq.query.split("&"))
                status, rest = proto._depth(conn.kind, query)      # Binance's REST depth handler
                if status != 200:
                    raise RuntimeError(f"{v.name}: snapshot {status} {rest}")
            if len(conn.frames) >= frames:
                break
            gen.tick()
            if gen.ticks > 100 * frames + 1000:
                raise RuntimeError(f"{v.name}: the subscription {v.subscribe} gets no frames")
        out = [(s, p, proto.frame(conn, s, p).decode()) for s, p in conn.frames[:frames]]
        return {"frames": out, "rest": rest, "ticks": gen.ticks}

    return asyncio.run(run())


def make_session(v: Venue, path: Path, *, warmup: int, messages: int, rate: Optional[float],
                 seed: int) -> dict:
    """Write a replayable session (when ``v`` can replay); returns the frames' keys in
    order ('keys'), the generator ticks behind them and the frames' CRC.

    Warm-up frames are 5 ms apart; the rest are `1/rate` apart, or all at once (rate None)
    5 ms after the warm-up."""
    session = render(v, warmup + messages, seed)
    frames = session["frames"]
    keys = []
    crc = 0
    for _, payload, _ in frames:
        key = v.key_of(orjson.loads(payload))
        keys.append(-1 if key is None else key)
        crc = zlib.crc32(payload, crc)
    if len(set(keys)) != len(keys):
        raise RuntimeError(f"{v.name}: the frames' keys are not unique")
    if v.replay:
        t0 = 1_700_000_000.0
        name = v.name.upper()
        base, quote = v.symbol.split(":")[0].split("/")
        records = [
            {"t": "header", "format": 2, "exchange": name, "config": {"l2_book": [f"{base}-{quote}"]},
             "note": "generated by benchmarks/e2e.py from ccxtpro_fast.sim's seeded generator"},
            {"t": "connect", "conn": f"{name}.ws.1", "ts": t0, "addr": v.url},
        ]
        if v.rest:
            rest = session["rest"]
            records.append({"t": "http", "conn": f"{name}.http.0", "ts": t0, "url": v.rest,
                            "data": rest if isinstance(rest, str) else orjson.dumps(rest).decode()})
        ts = t0
        for i, (_, _, text) in enumerate(frames):
            if i <= warmup:
                ts += 0.005     # a burst starts 5 ms after the warm-up: its first frame comes alone
            elif rate:
                ts += 1.0 / rate
            records.append({"t": "recv", "conn": f"{name}.ws.1", "ts": ts, "data": text})
        with open(path, "wb") as fh:
            for rec in records:
                fh.write(orjson.dumps(rec) + b"\n")
    return {"keys": keys, "ticks": session["ticks"], "crc": crc}


# ---------------------------------------------------------------- the two processes


def serve(name: str, session: Optional[str], speed: Optional[float], pipe, stamp=True,
          live: Optional[dict] = None) -> None:
    """The simulator process: serve the session (or the live generator), tell the ports,
    record send times (of every frame, of none, or of the first ``stamp`` frames)."""
    from ccxtpro_fast import sim

    v = VENUES[name]

    async def main():
        sent: list[int] = []
        payloads: list[bytes] = []
        clock = time.perf_counter_ns

        def stamped(conn, stream, data):
            sent.append(clock())
            payloads.append(data)
            if len(sent) == head:
                s.sent_listeners.remove(stamped)       # the rest goes out unstamped

        head = stamp if stamp is not True else -1

        if live:
            source = sim.Generator([market_spec(v)], seed=live["seed"], levels=v.levels,
                                   rate=live["rate"], limit=live["ticks"])
        else:
            source = sim.Replay(session, speed=speed)
        async with sim.serve(v.protocol, source, ping_interval=None) as s:
            if stamp:
                s.sent_listeners.append(stamped)
            pipe.send((s.ws_base.rsplit(":", 1)[1], s.http_base.rsplit(":", 1)[1]))
            await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
        crc = 0
        if live:
            for p in payloads:
                crc = zlib.crc32(p, crc)
        pipe.send({"sent": sent, "crc": crc})

    asyncio.run(main())


def consume(name: str, impl: str, ws_port: int, http_port: int, start_key: int, last_key: int,
            pipe) -> None:
    """The client process: watch the book until the last update, timing every wake-up."""
    import ccxt.pro

    import ccxtpro_fast
    from ccxtpro_fast import sim

    v = VENUES[name]

    async def main():
        if impl == "ccxt.pro":
            cls = getattr(ccxt.pro, v.cls)
        elif os.environ.get(GENERIC_ENV) == "1":
            # the generic path: ccxt.pro's own handlers on our transport and books
            cls = type(v.cls, (ccxtpro_fast.Exchange, getattr(ccxt.pro, v.cls)), {})
        else:
            cls = getattr(ccxtpro_fast, v.cls)
        ex = sim.attach(cls(), protocol=v.protocol, ws_port=int(ws_port),
                        http_port=int(http_port))
        await ex.load_markets()
        wakes: list[tuple[int, int]] = []
        clock = time.perf_counter_ns
        cpu_start = None
        field = v.key
        while True:
            book = await ex.watch_order_book(v.symbol, v.limit)
            now = clock()
            key = book[field]
            if key is None:
                key = -1
            wakes.append((key, now))
            if cpu_start is None and key >= start_key:
                cpu_start = time.process_time()
            if key >= last_key:
                break
        cpu = time.process_time() - cpu_start
        # price and amount (ccxt.pro's counted books add the level's strings as a third item)
        top = ([list(x)[:2] for x in book["bids"][:10]], [list(x)[:2] for x in book["asks"][:10]])
        await ex.close()
        pipe.send({"wakes": wakes, "cpu": cpu, "top": top})

    asyncio.run(main())


def run_pair(v: Venue, session: Optional[Path], speed: Optional[float], impl: str, start_key: int,
             last_key: int, stamp=True, live: Optional[dict] = None,
             timeout: float = 300.0) -> tuple[dict, dict]:
    ctx = mp.get_context("spawn")
    sim_end, sim_child = ctx.Pipe()
    cli_end, cli_child = ctx.Pipe()
    server = ctx.Process(target=serve, args=(v.name, str(session) if session else None, speed, sim_child,
                                             stamp, live), daemon=True)
    server.start()
    ws_port, http_port = sim_end.recv()
    client = ctx.Process(target=consume, args=(v.name, impl, ws_port, http_port, start_key, last_key,
                                               cli_child), daemon=True)
    client.start()
    if not cli_end.poll(timeout):
        client.kill()
        server.kill()
        raise RuntimeError(f"{v.name}, {impl}: no result within {timeout} s")
    result = cli_end.recv()
    client.join()
    sim_end.send("stop")
    served = sim_end.recv()
    server.join()
    return result, served


# ---------------------------------------------------------------- measurements


def throughput(v: Venue, session: Path, keys: list, warmup: int) -> Optional[dict]:
    """The burst: from the simulator's write of its first frame to the client's wake-up
    with the last one applied; CPU from the wake-up with the last warm-up frame (5 ms
    before the burst, so it comes alone) to the end."""
    if not v.replay:
        return None         # a live generator is slower than the clients: no burst to measure
    out = {}
    for impl in IMPLEMENTATIONS:
        # only the warm-up and the burst's first frame are stamped
        result, served = run_pair(v, session, 1.0, impl, keys[warmup - 1], keys[-1], stamp=warmup + 1)
        wakes = result["wakes"]
        first = next(i for i, (k, _) in enumerate(wakes) if k > keys[warmup - 1])
        count = len(keys) - warmup
        seconds = (wakes[-1][1] - served["sent"][warmup]) / 1e9
        out[impl] = {"messages": count, "seconds": seconds, "msgs_per_s": count / seconds,
                     "cpu_s": result["cpu"], "cpu_us_per_msg": result["cpu"] / count * 1e6,
                     "wakeups": len(wakes) - first, "top": result["top"]}
    return out


def latency(v: Venue, session: Optional[Path], meta: dict, warmup: int, rate: float,
            seed: int) -> dict:
    out = {}
    keys = meta["keys"]
    index = {k: i for i, k in enumerate(keys)}
    live = None
    if not v.replay:
        # ticks/s for `rate` frames/s (not every tick changes the book the client watches)
        live = {"seed": seed, "ticks": meta["ticks"], "rate": rate * meta["ticks"] / len(keys)}
    for impl in IMPLEMENTATIONS:
        result, served = run_pair(v, session, 1.0, impl, keys[warmup - 1], keys[-1], live=live)
        sent = served["sent"]
        if len(sent) != len(keys) or (live and served["crc"] != meta["crc"]):
            raise SystemExit(f"{v.name}, {impl}: the simulator sent {len(sent)} frames, not the "
                             f"{len(keys)} of the session (or other bytes)")
        lat = [(t - sent[index[k]]) / 1e3 for k, t in result["wakes"]
               if k in index and index[k] >= warmup]
        lat.sort()

        def pct(q):
            return lat[min(len(lat) - 1, int(q * len(lat)))]

        count = len(keys) - warmup
        out[impl] = {"samples": len(lat), "p50_us": pct(0.50), "p99_us": pct(0.99),
                     "p999_us": pct(0.999), "max_us": lat[-1], "top": result["top"],
                     "cpu_us_per_msg": result["cpu"] / count * 1e6, "live": bool(live),
                     "latencies_us": lat}
    return out


def method() -> dict:
    import ccxt
    import picows

    return {"machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
            "python": platform.python_version(), "ccxt": ccxt.__version__,
            "picows": getattr(picows, "__version__", "?"), "orjson": orjson.__version__}


def run_venue(v: Venue, args) -> dict:
    """Both runs for one exchange; fails when the clients' final books differ."""
    CACHE.mkdir(parents=True, exist_ok=True)
    results: dict = {"label": v.label}
    if v.replay:
        burst = CACHE / f"{v.name}-burst-{args.seed}-{args.messages}.jsonl"
        burst_meta = make_session(v, burst, warmup=args.warmup, messages=args.messages, rate=None,
                                  seed=args.seed)
        results["throughput"] = throughput(v, burst, burst_meta["keys"], args.warmup)
    else:
        results["throughput"] = None
    steady_n = int(args.rate * args.seconds)
    steady = CACHE / f"{v.name}-steady-{args.seed}-{steady_n}-{int(args.rate)}.jsonl"
    steady_meta = make_session(v, steady, warmup=args.warmup, messages=steady_n, rate=args.rate,
                               seed=args.seed)
    results["latency"] = latency(v, steady if v.replay else None, steady_meta, args.warmup,
                                 args.rate, args.seed)
    for part in ("throughput", "latency"):
        if results[part] is None:
            continue
        tops = {impl: r["top"] for impl, r in results[part].items()}
        if tops["ccxt.pro"] != tops["ccxtpro_fast"]:
            raise SystemExit(f"{v.name} {part}: the final books differ: {tops}")
    return results


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--exchange", default="binance", choices=sorted(VENUES) + ["all"],
                    help="one native adapter, or all of them in one table")
    ap.add_argument("--messages", type=int, default=30000, help="burst messages (throughput)")
    ap.add_argument("--rate", type=float, default=2000.0, help="steady messages/s (latency)")
    ap.add_argument("--seconds", type=float, default=5.0, help="length of the steady run")
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--generic", action="store_true",
                    help="ccxtpro_fast without its native adapters: ccxt.pro's own handlers on "
                         "our transport and compiled books")
    args = ap.parse_args(argv)
    os.environ[GENERIC_ENV] = "1" if args.generic else "0"
    if args.generic:
        print("ccxtpro_fast column: generic path (ccxt.pro's handlers on our transport and books)",
              flush=True)

    if args.exchange == "all":
        results = {"method": method(), "exchanges": {}}
        for name in ALL:
            print(f"{name}...", file=sys.stderr, flush=True)
            results["exchanges"][name] = run_venue(VENUES[name], args)
        print(table_all(results, args.rate))
    else:
        results = {"method": method(), "exchange": args.exchange}
        results.update(run_venue(VENUES[args.exchange], args))
        report(results)
    sys.stdout.flush()
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1)
    return results


def report(results: dict) -> None:
    """One exchange: ccxt.pro and ccxtpro_fast side by side, with the ratios."""
    t = results["throughput"]
    lat = results["latency"]
    print(f"end to end, {results['label']}, watch_order_book, loopback simulator")
    print(f"{'':24}{'ccxt.pro':>14}{'ccxtpro_fast':>14}{'ratio':>10}")
    if t is not None:
        base, fast = t["ccxt.pro"], t["ccxtpro_fast"]
        print(f"{'messages/s':24}{base['msgs_per_s']:14,.0f}{fast['msgs_per_s']:14,.0f}"
              f"{fast['msgs_per_s'] / base['msgs_per_s']:9.1f}x")
        print(f"{'CPU us/message':24}{base['cpu_us_per_msg']:14.2f}{fast['cpu_us_per_msg']:14.2f}"
              f"{base['cpu_us_per_msg'] / fast['cpu_us_per_msg']:9.1f}x")
    else:
        base, fast = lat["ccxt.pro"], lat["ccxtpro_fast"]
        print(f"{'messages/s':24}{'n/a':>14}{'n/a':>14}{'':>10}")
        print(f"{'CPU us/message, steady':24}{base['cpu_us_per_msg']:14.2f}{fast['cpu_us_per_msg']:14.2f}"
              f"{base['cpu_us_per_msg'] / fast['cpu_us_per_msg']:9.1f}x")
    for key, label in (("p50_us", "p50 latency us"), ("p99_us", "p99 latency us"),
                       ("p999_us", "p99.9 latency us")):
        b, f = lat["ccxt.pro"][key], lat["ccxtpro_fast"][key]
        print(f"{label:24}{b:14.0f}{f:14.0f}{b / f:9.1f}x")
    burst = f"burst {t['ccxt.pro']['messages']} messages" if t else \
        "no burst: the simulator cannot replay this protocol, the live generator served both"
    print(f"({burst}; steady {lat['ccxt.pro']['samples']} samples; "
          f"{results['method']['machine']}, Python {results['method']['python']}, "
          f"ccxt {results['method']['ccxt']})")
    sys.stdout.flush()


def table_all(results: dict, rate: float = 2000.0) -> str:
    """Every exchange: a row per client and one of ratios (ccxt.pro / ccxtpro_fast, so
    higher is better for ccxtpro_fast everywhere)."""
    head = (f"{'exchange':13}{'':14}{'msgs/s':>12}{'CPU us/msg':>12}{'CPU steady':>12}{'p50 us':>10}"
            f"{'p99 us':>10}{'p99.9 us':>10}")
    lines = [f"end to end, watch_order_book, loopback simulator; latency at a steady "
             f"{rate:,.0f} msg/s", head, "-" * len(head)]
    notes = []
    for name, r in results["exchanges"].items():
        t, lat = r["throughput"], r["latency"]
        rows = {}
        for impl in IMPLEMENTATIONS:
            if t is not None:
                mps, cpu = f"{t[impl]['msgs_per_s']:,.0f}", f"{t[impl]['cpu_us_per_msg']:.2f}"
            else:
                mps, cpu = "n/a*", "n/a*"
            rows[impl] = (mps, cpu, f"{lat[impl]['cpu_us_per_msg']:.2f}") + tuple(
                f"{lat[impl][k]:,.0f}" for k in ("p50_us", "p99_us", "p999_us"))
        b, f = (t or lat)["ccxt.pro"], (t or lat)["ccxtpro_fast"]
        ratio = (f"{f['msgs_per_s'] / b['msgs_per_s']:.1f}x" if t else "",
                 f"{b['cpu_us_per_msg'] / f['cpu_us_per_msg']:.1f}x" if t else "",
                 f"{lat['ccxt.pro']['cpu_us_per_msg'] / lat['ccxtpro_fast']['cpu_us_per_msg']:.1f}x") + tuple(
            f"{lat['ccxt.pro'][k] / lat['ccxtpro_fast'][k]:.1f}x" for k in ("p50_us", "p99_us", "p999_us"))
        for label, impl, cells in ((name, "ccxt.pro", rows["ccxt.pro"]), ("", "ccxtpro_fast", rows["ccxtpro_fast"]),
                                   ("", "ratio", ratio)):
            lines.append(f"{label:13}{impl:14}{cells[0]:>12}{cells[1]:>12}{cells[2]:>12}{cells[3]:>10}"
                         f"{cells[4]:>10}{cells[5]:>10}")
        if t is None:
            notes.append(f"* {name}: the simulator cannot replay this protocol; both clients got the "
                         "live generator at the steady rate (frames checked identical): no burst, "
                         "so no messages/s and no burst CPU")
    first = next(iter(results["exchanges"].values()))
    n_burst = next((r["throughput"]["ccxt.pro"]["messages"] for r in results["exchanges"].values()
                    if r["throughput"]), 0)
    m = results["method"]
    lines.append("CPU us/msg: over the burst; CPU steady: over the steady run, where every message "
                 "is a wake-up of its own (event loop and socket costs included)")
    lines += notes
    lines.append(f"(burst {n_burst} messages after a paced warm-up; steady "
                 f"{first['latency']['ccxt.pro']['samples']} samples; "
                 + "; ".join(f"{n}: {r['label']}" for n, r in results["exchanges"].items())
                 + f"; {m['machine']}, Python {m['python']}, ccxt {m['ccxt']})")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
