"""End to end, side by side: the simulator sends one exchange's order-book session and
ccxt.pro and ccxtpro_fast each consume it with `watch_order_book`, each client in its own
process, against a fresh simulator process of its own.

    python -m ccxtpro_fast.bench.e2e [--exchange binance|binanceusdm|okx|bybit|bitget|kraken|all]
                                     [--messages 30000] [--rate 2000] [--seconds 5] [--json FILE]
                                     [--busy-poll]

Two runs per client:
- throughput: after a paced warm-up (the snapshot is in place), the session's burst is
  sent as fast as the client reads it; messages/s = burst messages / wall time from the
  first to the last of them applied, CPU = the client process's CPU time over the same
  span;
- latency: a steady `--rate` messages/s, three clients: ccxt.pro, ccxtpro_fast and the
  floor (a bare asyncio WebSocket reader that wakes a waiting coroutine per frame and
  keeps no book: no Python client goes under it on this machine). Per frame, joined to
  the wake-up by the update it carries (`VENUES[...].key`; the floor reads it from the
  frame once the run is over),
  two measures, both ending at the wake-up from `watch_order_book` (perf_counter_ns,
  CLOCK_MONOTONIC, shared by the processes):
  - from send (`p50_us`...): from the simulator's stamp just before it writes the frame
    to its socket. It includes the OS waking the client process from epoll_wait, which
    every client pays and which is large on a VM;
  - in-client (`in_client_p50_us`...): from the frame's arrival in the client process,
    the return of the epoll call that reported the client's WebSocket socket readable
    (each client's loop selector is wrapped, `SelectLog`). When the client was not
    waiting in epoll at the send stamp (busy: running, or descheduled while running),
    the frame waited for it and arrival = the send stamp (a loopback write queues the
    frame in the client's socket during the write call); `busy` counts those frames.
    So in-client <= from send, and the difference is the OS wake-up.
  The simulator's timers are made precise (`precise_timers`): asyncio's epoll rounds
  every wait up to a millisecond, which sent "2,000 messages/s" as bursts of 2-3 frames
  about 1.1 ms apart.
  With `--busy-poll` the three clients' loops spin instead of sleeping
  (`ccxtpro_fast.busy_poll`, the same in each process): no OS wake-up in either measure,
  the arrival is the spin's poll that saw the frame, and the steady run's CPU per message
  is the spin's (a whole core). The burst runs as without the flag.

Each simulator process runs on CPU 0 and each client process on CPU 1 (`pin_to`, when the
machine has two): left to the scheduler they sometimes shared a core, the same burst's
figures then varying by 20-40% for either client.

The session is made by the simulator's seeded generator (1,000 levels a side, 1-20 level
changes per message, mostly near the top, ~25% deletions), rendered by the simulator's
protocol of that exchange exactly as its live server would (the protocol answers the
client's subscription on a stand-in connection, then publishes every generator event),
and written in the recorded-session format its `load_replay` reads (the header carries
the generator's market spec, a `send` record the subscription request), so both clients
receive byte-identical frames. Every venue replays, Kraken v2 included (its frames do not
say the book depth or the checksum precisions: its `load_replay` reads them from the
request and the header). A venue with `replay=False` would get the live generator at a
fixed rate instead, its frames checked against the rendered session (count and CRC), and
no burst. Both final books are compared: a run whose books differ fails.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import bisect
import dataclasses
import hashlib
import json
import multiprocessing as mp
import os
import platform
import selectors
import socket
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional
from urllib.parse import urlsplit

import orjson

from ccxtpro_fast.base.busypoll import busy_poll as _busy_poll

CACHE = Path(os.environ.get("CCXF_BENCH_CACHE", Path.home() / ".cache" / "ccxtpro_fast" / "bench"))
IMPLEMENTATIONS = ("ccxt.pro", "ccxtpro_fast")
# the third client of the latency run: a bare asyncio WebSocket reader, no book
FLOOR = "floor"
LATENCY_CLIENTS = IMPLEMENTATIONS + (FLOOR,)
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
          "timestamp", lambda m: _kraken_ms(m["data"][0].get("timestamp"))),
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
            # the generator's market spec: what a recording cannot tell (Kraken's checksum
            # precisions) comes from it
            {"t": "header", "format": 2, "exchange": name, "config": {"l2_book": [f"{base}-{quote}"]},
             "markets": [dataclasses.asdict(market_spec(v))],
             "note": "generated by benchmarks/e2e.py from ccxtpro_fast.sim's seeded generator"},
            {"t": "connect", "conn": f"{name}.ws.1", "ts": t0, "addr": v.url},
        ]
        if v.subscribe:
            # the request, as a recorder logs it: it names what the frames do not (Kraken's depth)
            records.append({"t": "send", "conn": f"{name}.ws.1", "ts": t0, "addr": v.url,
                            "data": v.subscribe})
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


# ---------------------------------------------------------------- in-client clock


class SelectLog:
    """Every ``select()`` of the running event loop's selector, recorded: perf_counter_ns
    before the call, after it, and a bit mask of the ready fds (bit ``fd``).

    Installed the same way in every client process of the latency run (the ``select``
    bound method of ``loop._selector`` is shadowed by an instance attribute); it stores
    three ints per call into a preallocated list, so it makes no garbage the cyclic
    collector tracks and the list grows only past ``capacity`` calls.

    Under ``--busy-poll`` it wraps the spin (``ccxtpro_fast.busy_poll``, installed first):
    a call's time before is when the wait began, its return is when the spin's poll saw
    the ready fd, so the same busy/idle classification holds in both modes."""

    def __init__(self, loop: asyncio.AbstractEventLoop, capacity: int = 1 << 16):
        sel = getattr(loop, "_selector", None)
        # both clients must run on asyncio's default loop (no uvloop): the in-client clock
        # reads its epoll returns
        if not isinstance(loop, asyncio.SelectorEventLoop) or type(sel) is not selectors.EpollSelector:
            raise SystemExit(f"the latency run needs asyncio's default loop on epoll, not "
                             f"{type(loop).__name__} on {type(sel).__name__}")
        self.selector = sel
        # an instance attribute already shadowing select() (the busy-poll spin): put back
        # by uninstall(); None in the default mode
        self._shadowed = sel.__dict__.get("select")
        self.log = log = [0] * (3 * capacity)
        size = len(log)
        select = sel.select
        clock = time.perf_counter_ns
        i = 0

        def timed_select(timeout=None):
            nonlocal i, size
            t0 = clock()
            ready = select(timeout)
            t1 = clock()
            mask = 0
            for key, _ in ready:
                mask |= 1 << key.fd
            if i == size:
                log.extend([0] * size)
                size += size
            log[i] = t0
            log[i + 1] = t1
            log[i + 2] = mask
            i += 3
            return ready

        def calls() -> int:
            return i // 3

        self.select = timed_select
        self.calls = calls

    def install(self) -> "SelectLog":
        self.selector.select = self.select
        return self

    def uninstall(self) -> None:
        if self._shadowed is None:
            self.selector.__dict__.pop("select", None)
        else:
            self.selector.select = self._shadowed

    def reporting(self, fds) -> tuple[list, list]:
        """(call times, return times) of the selects whose ready set holds one of ``fds``."""
        bits = 0
        for fd in fds:
            bits |= 1 << fd
        log, n = self.log, 3 * self.calls()
        enter, ret = [], []
        for j in range(0, n, 3):
            if log[j + 2] & bits:
                enter.append(log[j])
                ret.append(log[j + 1])
        return enter, ret


def peer_fds(port: int) -> list:
    """This process's TCP sockets connected to 127.0.0.1:``port`` (the simulator's
    WebSocket port), whatever library opened them: /proc/self/fd's sockets, asked for
    their peer through a duplicate."""
    found = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            if not os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                continue
            dup = socket.socket(fileno=os.dup(fd))
        except OSError:
            continue
        try:
            if dup.family in (socket.AF_INET, socket.AF_INET6) and dup.type == socket.SOCK_STREAM:
                peer = dup.getpeername()
                if peer[1] == port:
                    found.append(fd)
        except OSError:
            pass
        finally:
            dup.close()
    return found


def select_overhead_ns(calls: int = 100_000, repeat: int = 5) -> float:
    """What SelectLog adds to one select() returning one ready fd, in ns (best of
    ``repeat`` against the bare call on the same selector)."""
    a, b = socket.socketpair()
    sel = selectors.EpollSelector()
    try:
        b.send(b"x")
        sel.register(a, selectors.EVENT_READ)
        loop = asyncio.SelectorEventLoop(sel)
        try:
            best: dict = {}
            for _ in range(repeat):
                for name in ("bare", "recorded"):
                    fn = SelectLog(loop, capacity=calls).select if name == "recorded" else sel.select
                    t = time.perf_counter_ns()
                    for _ in range(calls):
                        fn(0)
                    t = (time.perf_counter_ns() - t) / calls
                    best[name] = min(best.get(name, t), t)
            return best["recorded"] - best["bare"]
        finally:
            loop.close()
    finally:
        a.close()
        b.close()


# ---------------------------------------------------------------- the floor client


class _FloorProtocol(asyncio.Protocol):
    """A bare WebSocket client (RFC 6455 handshake and server frames, nothing else): each
    data frame's payload is appended to ``frames`` and wakes ``waiter``."""

    def __init__(self, key: bytes):
        self.key = key
        self.opened = asyncio.get_running_loop().create_future()
        self.waiter: Optional[asyncio.Future] = None
        self.frames: list = []
        self.buf = b""
        self.transport = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def connection_lost(self, exc) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed during the handshake"))
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("closed"))

    def data_received(self, data: bytes) -> None:
        if not self.opened.done():
            data = self.buf + data
            head, sep, data = data.partition(b"\r\n\r\n")
            if not sep:
                self.buf = head
                return
            self.buf = b""
            accept = base64.b64encode(hashlib.sha1(
                self.key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
            if not head.startswith(b"HTTP/1.1 101") or accept not in head:
                self.opened.set_exception(ConnectionError(head.decode("latin-1")))
                return
            self.opened.set_result(None)
            if not data:
                return
        buf = self.buf + data if self.buf else data
        n = len(buf)
        pos = 0
        got = False
        append = self.frames.append
        while n - pos >= 2:
            b0, size = buf[pos], buf[pos + 1]
            head = 2
            if size == 126:
                if n - pos < 4:
                    break
                size = int.from_bytes(buf[pos + 2:pos + 4], "big")
                head = 4
            elif size == 127:
                if n - pos < 10:
                    break
                size = int.from_bytes(buf[pos + 2:pos + 10], "big")
                head = 10
            elif size > 127:
                raise ConnectionError("a masked server frame")
            end = pos + head + size
            if end > n:
                break
            op = b0 & 0x0F
            if op in (1, 2) and b0 & 0x80:
                append(buf[pos + head:end])
                got = True
            elif op == 9:
                self.send(0xA, buf[pos + head:end])
            elif op != 8 and op != 10:
                raise ConnectionError(f"unexpected frame 0x{b0:02x}")
            pos = end
        self.buf = buf[pos:] if pos < n else b""
        if got:
            w = self.waiter
            if w is not None and not w.done():
                w.set_result(None)

    def send(self, op: int, payload: bytes) -> None:
        """A client frame (masked, RFC 6455 5.3)."""
        mask = os.urandom(4)
        n = len(payload)
        head = bytes((0x80 | op,)) + (bytes((0x80 | n,)) if n < 126 else
                                      bytes((0xFE,)) + n.to_bytes(2, "big"))
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes((mask * (n // 4 + 1))[:n], "big")
                  ).to_bytes(n, "big") if n else b""
        self.transport.write(head + mask + masked)


def frame_key(v: Venue, frame: bytes):
    """The update a frame as received carries (None: not a book frame, e.g. an ack),
    looking inside a combined-stream wrapper (Binance's {"stream", "data"})."""
    try:
        msg = orjson.loads(frame)
    except ValueError:
        return None
    for m in (msg, msg.get("data") if isinstance(msg, dict) else None):
        try:
            return v.key_of(m)
        except (KeyError, IndexError, TypeError, ValueError):
            pass
    return None


def consume_floor(name: str, ws_port: int, frames_total: int, warmup: int, pipe,
                  busy: bool = False) -> None:
    """The floor: the same frames at the same rate to a bare asyncio WebSocket reader that
    wakes a waiting coroutine per frame and does nothing else. A wake-up belongs to the
    latest frame received then, whose key is read once the run is over. It stops 0.5 s
    after the last of ``frames_total`` frames (control frames, such as acks, come on top);
    its CPU clock starts with the ``warmup``-th frame. ``busy``: its loop busy-polls."""
    v = VENUES[name]

    pin_to(CLIENT_CPU)

    async def main():
        loop = asyncio.get_running_loop()
        spin = _busy_poll(loop) if busy else None
        selects = SelectLog(loop).install()
        url = urlsplit(v.url)
        target = f"/{url.hostname}{url.path}" + (f"?{url.query}" if url.query else "")
        key = base64.b64encode(os.urandom(16))
        transport, proto = await loop.create_connection(lambda: _FloorProtocol(key), "127.0.0.1",
                                                        int(ws_port))
        transport.write(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{ws_port}\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key.decode()}\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n".encode())
        await proto.opened
        if v.subscribe:
            proto.send(1, v.subscribe.encode())
        frames = proto.frames
        wakes: list = []
        clock = time.perf_counter_ns
        cpu_start = None
        while True:
            proto.waiter = waiter = loop.create_future()
            if len(frames) < frames_total:
                await waiter
            else:       # every data frame may be in: the end is 0.5 s without a frame
                try:
                    await asyncio.wait_for(waiter, 0.5)
                except asyncio.TimeoutError:
                    break
            now = clock()
            n = len(frames)
            wakes.append((n - 1, now))
            if cpu_start is None and n >= warmup:
                cpu_start = time.process_time()
        cpu = time.process_time() - cpu_start
        fds = peer_fds(int(ws_port))
        proto.send(8, (1000).to_bytes(2, "big"))
        transport.close()
        selects.uninstall()
        busy_polled = spin is not None and spin.active
        if spin is not None:
            spin.undo()
        keys = [frame_key(v, f) for f in frames]
        pipe.send({"wakes": [(keys[i], t) for i, t in wakes if keys[i] is not None],
                   "cpu": cpu, "top": None, "selects": selects.reporting(fds),
                   "select_calls": selects.calls(), "fds": fds,
                   "frame_keys": keys, "busy_poll": busy_polled})

    asyncio.run(main())


# ---------------------------------------------------------------- the simulator and the clients


def precise_timers(loop: asyncio.AbstractEventLoop) -> bool:
    """Make the loop's timers fire within a few us instead of up to a millisecond late.

    asyncio's epoll selector rounds every timeout up to a whole millisecond (epoll_wait's
    unit), so a replay paced at 2,000 frames/s went out as bursts of 2-3 frames about
    1.1 ms apart. Here the wait goes through epoll_pwait2 (a timespec timeout, Linux 5.11,
    glibc 2.35) on the selector's own epoll fd, with the process's timer slack at 1 us,
    then the selector collects the events without waiting. False (and the loop left as
    it was) where epoll_pwait2 is missing."""
    import ctypes

    sel = getattr(loop, "_selector", None)
    if type(sel) is not selectors.EpollSelector:
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    pwait2 = getattr(libc, "epoll_pwait2", None)
    if pwait2 is None:
        return False

    class Timespec(ctypes.Structure):
        _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]

    pwait2.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(Timespec),
                       ctypes.c_void_p, ctypes.c_size_t]
    epfd = sel._selector.fileno()
    events = ctypes.create_string_buffer(64)        # room for one struct epoll_event
    ts = Timespec(0, 0)
    if pwait2(epfd, events, 1, ctypes.byref(ts), None, 0) < 0:
        return False                                # ENOSYS: an older kernel
    libc.prctl(29, 1000, 0, 0, 0)                   # PR_SET_TIMERSLACK, 1 us
    select = sel.select
    byref = ctypes.byref

    def precise_select(timeout=None):
        if timeout is not None and timeout > 0:
            ts.tv_sec = int(timeout)
            ts.tv_nsec = int((timeout - ts.tv_sec) * 1e9)
            pwait2(epfd, events, 1, byref(ts), None, 0)     # until an event or the deadline
            timeout = 0
        return select(timeout)

    sel.select = precise_select
    return True


# the simulator and the client each get a core of their own (when there are two): left to
# the scheduler, they sometimes shared one, which made single bursts of the same session
# vary by 20-40% for either client
SIM_CPU, CLIENT_CPU = 0, 1


def pin_to(cpu: int) -> None:
    """Run this process on ``cpu`` alone, where the machine has it (Linux)."""
    if hasattr(os, "sched_setaffinity") and cpu in os.sched_getaffinity(0) and len(os.sched_getaffinity(0)) > 1:
        os.sched_setaffinity(0, {cpu})


def serve(name: str, session: Optional[str], speed: Optional[float], pipe, stamp=True,
          live: Optional[dict] = None) -> None:
    """The simulator process: serve the session (or the live generator), tell the ports,
    record send times (of every frame, of none, or of the first ``stamp`` frames)."""
    from ccxtpro_fast import sim

    v = VENUES[name]

    pin_to(SIM_CPU)

    async def main():
        precise = precise_timers(asyncio.get_running_loop())
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
        pipe.send({"sent": sent, "crc": crc, "precise_timers": precise})

    asyncio.run(main())


def consume(name: str, impl: str, ws_port: int, http_port: int, start_key: int, last_key: int,
            pipe, record: bool = False, busy: bool = False) -> None:
    """The client process: watch the book until the last update, timing every wake-up
    (and, with ``record``, every return of the event loop's epoll; with ``busy``, the loop
    busy-polls)."""
    import ccxt.pro

    import ccxtpro_fast
    from ccxtpro_fast import sim

    v = VENUES[name]

    pin_to(CLIENT_CPU)

    async def main():
        loop = asyncio.get_running_loop()
        # the spin first, so that the log wraps it (see SelectLog)
        spin = _busy_poll(loop) if busy else None
        selects = SelectLog(loop).install() if record else None
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
        out = {"wakes": wakes, "cpu": cpu, "top": top, "busy_poll": spin is not None and spin.active}
        if selects is not None:
            fds = peer_fds(int(ws_port))
            selects.uninstall()
            out.update(selects=selects.reporting(fds), select_calls=selects.calls(), fds=fds)
        if spin is not None:
            spin.undo()
        await ex.close()
        pipe.send(out)

    asyncio.run(main())


def run_pair(v: Venue, session: Optional[Path], speed: Optional[float], impl: str, start_key: int,
             last_key: int, stamp=True, live: Optional[dict] = None,
             timeout: float = 300.0, record: bool = False,
             floor: Optional[tuple] = None, busy_poll: bool = False) -> tuple[dict, dict]:
    """One simulator process and one client process (``impl``, or FLOOR: then ``floor``
    is (data frames, warm-up frames)); ``busy_poll``: the client's loop busy-polls (the
    simulator's never does)."""
    ctx = mp.get_context("spawn")
    sim_end, sim_child = ctx.Pipe()
    cli_end, cli_child = ctx.Pipe()
    server = ctx.Process(target=serve, args=(v.name, str(session) if session else None, speed, sim_child,
                                             stamp, live), daemon=True)
    server.start()
    ws_port, http_port = sim_end.recv()
    if impl == FLOOR:
        client = ctx.Process(target=consume_floor, args=(v.name, ws_port) + floor + (cli_child, busy_poll),
                             daemon=True)
    else:
        client = ctx.Process(target=consume, args=(v.name, impl, ws_port, http_port, start_key, last_key,
                                                   cli_child, record, busy_poll), daemon=True)
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


def throughput(v: Venue, session: Path, keys: list, warmup: int, bursts: int = 3) -> Optional[dict]:
    """The burst, ``bursts`` times per client (the clients alternate, so a slow spell of the
    VM falls on both): from the simulator's write of its first frame to the client's
    wake-up with the last one applied; CPU from the wake-up with the last warm-up frame
    (5 ms before the burst, so it comes alone) to the end. Each client's messages/s and
    CPU are the medians of its bursts (single bursts of the same session vary by 20-40%
    on this VM); every burst is kept in ``runs``."""
    if not v.replay:
        return None         # a live generator is slower than the clients: no burst to measure
    runs: dict = {impl: [] for impl in IMPLEMENTATIONS}
    count = len(keys) - warmup
    for b in range(bursts):
        for impl in (IMPLEMENTATIONS if b % 2 == 0 else IMPLEMENTATIONS[::-1]):
            # only the warm-up and the burst's first frame are stamped
            result, served = run_pair(v, session, 1.0, impl, keys[warmup - 1], keys[-1], stamp=warmup + 1)
            wakes = result["wakes"]
            first = next(i for i, (k, _) in enumerate(wakes) if k > keys[warmup - 1])
            seconds = (wakes[-1][1] - served["sent"][warmup]) / 1e9
            runs[impl].append({"seconds": seconds, "msgs_per_s": count / seconds,
                               "cpu_s": result["cpu"], "cpu_us_per_msg": result["cpu"] / count * 1e6,
                               "wakeups": len(wakes) - first, "top": result["top"]})
    out = {}
    for impl, rs in runs.items():
        tops = {repr(r["top"]) for r in rs}
        if len(tops) != 1:
            raise SystemExit(f"{v.name}, {impl}: the bursts ended on different books")
        out[impl] = {"messages": count, "bursts": len(rs),
                     "msgs_per_s": _median([r["msgs_per_s"] for r in rs]),
                     "cpu_us_per_msg": _median([r["cpu_us_per_msg"] for r in rs]),
                     "seconds": _median([r["seconds"] for r in rs]),
                     "cpu_s": _median([r["cpu_s"] for r in rs]),
                     "top": rs[0]["top"],
                     "runs": [{k: r[k] for k in ("msgs_per_s", "cpu_us_per_msg", "wakeups")} for r in rs]}
    return out


def _median(values: list) -> float:
    values = sorted(values)
    n = len(values)
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2


def _pct(values: list, q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]


def latency(v: Venue, session: Optional[Path], meta: dict, warmup: int, rate: float,
            seed: int, busy_poll: bool = False) -> dict:
    """The steady run, for ccxt.pro, ccxtpro_fast and the floor; per frame woken for:

    - from send: wake-up - the simulator's stamp just before it wrote the frame (so the
      OS waking the client process is in it);
    - in-client: wake-up - the frame's arrival in the client process: the return of the
      epoll call that reported the WebSocket socket readable, when the client was waiting
      in that call at the send stamp ("idle"); otherwise the client was busy (running, or
      descheduled while running) and the frame waited for it: arrival = the send stamp,
      which the kernel's loopback write makes a lower bound of the true arrival by the
      few us of the write call. So in-client <= from send for every frame, and the two
      are equal for busy frames.

    ``busy_poll``: every client's loop spins on zero-timeout polls instead of sleeping
    (`ccxtpro_fast.busy_poll`), so no frame waits for the OS to wake its client; the
    in-client clock reads the spin's returns the same way."""
    out = {}
    keys = meta["keys"]
    index = {k: i for i, k in enumerate(keys)}
    live = None
    if not v.replay:
        # ticks/s for `rate` frames/s (not every tick changes the book the client watches)
        live = {"seed": seed, "ticks": meta["ticks"], "rate": rate * meta["ticks"] / len(keys)}
    for impl in LATENCY_CLIENTS:
        result, served = run_pair(v, session, 1.0, impl, keys[warmup - 1], keys[-1], live=live,
                                  record=True, floor=(len(keys), warmup), busy_poll=busy_poll)
        if result["busy_poll"] != busy_poll:
            raise SystemExit(f"{v.name}, {impl}: the client's loop {'did not' if busy_poll else 'did'} "
                             "busy-poll")
        sent = served["sent"]
        if len(sent) != len(keys) or (live and served["crc"] != meta["crc"]):
            raise SystemExit(f"{v.name}, {impl}: the simulator sent {len(sent)} frames, not the "
                             f"{len(keys)} of the session (or other bytes)")
        if impl == FLOOR:
            got = set(result["frame_keys"])
            missing = sum(1 for k in keys if k != -1 and k not in got)
            if missing:
                raise SystemExit(f"{v.name}: the floor missed {missing} of the {len(keys)} frames")
        if len(result["fds"]) != 1:
            raise SystemExit(f"{v.name}, {impl}: {len(result['fds'])} sockets to the simulator's "
                             "WebSocket port at the end of the run, not one")
        enter, ret = result["selects"]
        lat, in_client, epoll = [], [], []
        busy = 0
        for k, t in result["wakes"]:
            i = index.get(k)
            if i is None or i < warmup:
                continue
            s = sent[i]
            j = bisect.bisect_left(ret, s)      # the first epoll return reporting the socket
            if j < len(ret) and enter[j] <= s and ret[j] <= t:
                arrival = ret[j]                # it was waiting in epoll_wait at the send
                epoll.append((ret[j] - s) / 1e3)
            else:
                arrival = s                     # busy: the frame waited for the client
                busy += 1
            lat.append((t - s) / 1e3)
            in_client.append((t - arrival) / 1e3)
        lat.sort()
        in_client.sort()
        epoll.sort()
        count = len(keys) - warmup
        out[impl] = {"samples": len(lat), "p50_us": _pct(lat, 0.50), "p99_us": _pct(lat, 0.99),
                     "p999_us": _pct(lat, 0.999), "max_us": lat[-1],
                     "in_client_p50_us": _pct(in_client, 0.50), "in_client_p99_us": _pct(in_client, 0.99),
                     "in_client_p999_us": _pct(in_client, 0.999), "in_client_max_us": in_client[-1],
                     "busy": busy,
                     # frames applied without a wake-up of their own (a later frame's wake-up
                     # took them along): no sample, here and in the from-send measure
                     "coalesced": count - len(lat),
                     "epoll_p50_us": _pct(epoll, 0.50) if epoll else None,
                     "epoll_p99_us": _pct(epoll, 0.99) if epoll else None,
                     "selects_per_frame": result["select_calls"] / len(keys),
                     "top": result["top"], "precise_timers": served["precise_timers"],
                     "busy_poll": result["busy_poll"],
                     "cpu_us_per_msg": result["cpu"] / count * 1e6, "live": bool(live),
                     "latencies_us": lat, "in_client_us": in_client}
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
    busy = bool(getattr(args, "busy_poll", False))
    # the latency run's mode; the burst always runs on the default (sleeping) loop
    results: dict = {"label": v.label, "busy_poll": busy}
    if v.replay:
        burst = CACHE / f"{v.name}-burst-{args.seed}-{args.messages}.jsonl"
        burst_meta = make_session(v, burst, warmup=args.warmup, messages=args.messages, rate=None,
                                  seed=args.seed)
        results["throughput"] = throughput(v, burst, burst_meta["keys"], args.warmup, args.bursts)
    else:
        results["throughput"] = None
    steady_n = int(args.rate * args.seconds)
    steady = CACHE / f"{v.name}-steady-{args.seed}-{steady_n}-{int(args.rate)}.jsonl"
    steady_meta = make_session(v, steady, warmup=args.warmup, messages=steady_n, rate=args.rate,
                               seed=args.seed)
    results["latency"] = latency(v, steady if v.replay else None, steady_meta, args.warmup,
                                 args.rate, args.seed, busy_poll=busy)
    # what recording the epoll returns adds to one select() call, in this process
    results["select_record_ns"] = select_overhead_ns()
    for part in ("throughput", "latency"):
        if results[part] is None:
            continue
        tops = {impl: results[part][impl]["top"] for impl in IMPLEMENTATIONS}
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
    ap.add_argument("--bursts", type=int, default=3,
                    help="bursts per client in the throughput run (medians are reported)")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--generic", action="store_true",
                    help="ccxtpro_fast without its native adapters: ccxt.pro's own handlers on "
                         "our transport and compiled books")
    ap.add_argument("--busy-poll", action="store_true",
                    help="the latency run's three clients busy-poll (ccxtpro_fast.busy_poll: each "
                         "spins a core on its selector instead of sleeping in epoll); the burst is "
                         "unchanged")
    args = ap.parse_args(argv)
    os.environ[GENERIC_ENV] = "1" if args.generic else "0"
    if args.generic:
        print("ccxtpro_fast column: generic path (ccxt.pro's handlers on our transport and books)",
              flush=True)

    if args.exchange == "all":
        results = {"method": method(), "busy_poll": args.busy_poll, "exchanges": {}}
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
    """One exchange: ccxt.pro and ccxtpro_fast side by side, with the ratios; the floor's
    latency beside them."""
    t = results["throughput"]
    lat = results["latency"]
    print(f"end to end, {results['label']}, watch_order_book, loopback simulator"
          + ("; latency with every client busy-polling" if results.get("busy_poll") else ""))
    print(f"{'':24}{'ccxt.pro':>14}{'ccxtpro_fast':>14}{'ratio':>10}{'floor':>10}")
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
              f"{base['cpu_us_per_msg'] / fast['cpu_us_per_msg']:9.1f}x"
              + ("  (the spin's: a whole core)" if results.get("busy_poll") else ""))
    floor = lat.get(FLOOR)
    for key, label in (("p50_us", "p50 latency us"), ("p99_us", "p99 latency us"),
                       ("p999_us", "p99.9 latency us"), ("in_client_p50_us", "p50 in-client us"),
                       ("in_client_p99_us", "p99 in-client us"),
                       ("in_client_p999_us", "p99.9 in-client us")):
        if key not in lat["ccxt.pro"]:
            continue
        b, f = lat["ccxt.pro"][key], lat["ccxtpro_fast"][key]
        fl = f"{floor[key]:10.0f}" if floor else ""
        print(f"{label:24}{b:14.0f}{f:14.0f}{b / f:9.1f}x{fl}")
    if "busy" in lat["ccxt.pro"]:
        clients = [c for c in LATENCY_CLIENTS if c in lat]
        cells = "".join(f"{lat[c]['busy']:>{14 if c in IMPLEMENTATIONS else 10}}"
                        + (" " * 10 if c == "ccxtpro_fast" else "") for c in clients)
        print(f"{'busy frames':24}{cells}")
        cells = "".join(f"{lat[c]['coalesced']:>{14 if c in IMPLEMENTATIONS else 10}}"
                        + (" " * 10 if c == "ccxtpro_fast" else "") for c in clients)
        print(f"{'frames without a wake':24}{cells}")
        cells = "".join(f"{lat[c]['epoll_p50_us'] or 0:{14 if c in IMPLEMENTATIONS else 10}.0f}"
                        + (" " * 10 if c == "ccxtpro_fast" else "") for c in clients)
        print(f"{'send->epoll p50 us':24}{cells}")
        cells = "".join(f"{lat[c]['selects_per_frame']:{14 if c in IMPLEMENTATIONS else 10}.2f}"
                        + (" " * 10 if c == "ccxtpro_fast" else "") for c in clients)
        print(f"{'selects/frame':24}{cells}")
        if results.get("busy_poll"):
            print("busy-poll: every client's loop spins on zero-timeout polls (ccxtpro_fast.busy_poll) "
                  "and never sleeps: read 'the epoll return' below as the spin's poll that saw the "
                  "frame, and 'the OS wake-up' as the loopback delivery plus at most one poll")
        print("latency: from the simulator's stamp just before it writes the frame (includes the "
              "OS waking the client); in-client: from the epoll return that reported the frame, or "
              "from the send stamp when the client was busy then (busy frames); send->epoll: the "
              "OS wake-up, frames that found the client waiting; frames without a wake: applied "
              "along with a later frame, so no sample of their own; floor: a bare asyncio WebSocket "
              f"reader, no book; recording the epoll returns costs "
              f"{results.get('select_record_ns', 0):.0f} ns a select")
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
    lines.append("")
    lines += latency_table(results)
    lines.append(f"(burst {n_burst} messages after a paced warm-up; steady "
                 f"{first['latency']['ccxt.pro']['samples']} samples; "
                 + "; ".join(f"{n}: {r['label']}" for n, r in results["exchanges"].items())
                 + f"; {m['machine']}, Python {m['python']}, ccxt {m['ccxt']})")
    return "\n".join(lines)


LATENCY_MEASURES = (("from send", ("p50_us", "p99_us", "p999_us")),
                    ("in-client", ("in_client_p50_us", "in_client_p99_us", "in_client_p999_us")))


def latency_table(results: dict) -> list:
    """Every exchange's steady run: both latencies of the three clients, and the ratios
    ccxt.pro / ccxtpro_fast."""
    head = (f"{'exchange':13}{'':14}" + "".join(f"{label + ' ' + q:>17}" for label, _ in LATENCY_MEASURES
                                              for q in ("p50", "p99", "p99.9"))
            + f"{'busy':>8}")
    lines = ["latency at the steady rate, us: from send = from the simulator's stamp before it "
             "writes the frame (includes the OS wake-up); in-client = from the epoll return that "
             "reported the frame (from the send stamp for busy frames, which found the client "
             "busy); floor = a bare asyncio WebSocket reader, no book"
             + ("; BUSY-POLL: every client's loop spins instead of sleeping (no OS wake-up; "
                "in-client from the poll that saw the frame)" if results.get("busy_poll") else ""),
             head, "-" * len(head)]
    for name, r in results["exchanges"].items():
        lat = r["latency"]
        keys = [k for _, ks in LATENCY_MEASURES for k in ks]
        for label, impl in ((name, "ccxt.pro"), ("", "ccxtpro_fast"), ("", FLOOR)):
            if impl in lat:
                lines.append(f"{label:13}{impl:14}" + "".join(f"{lat[impl][k]:17,.0f}" for k in keys)
                             + f"{lat[impl]['busy']:8}")
        lines.append(f"{'':13}{'ratio':14}" + "".join(
            f"{lat['ccxt.pro'][k] / lat['ccxtpro_fast'][k]:16.1f}x" for k in keys))
    rec = next((r.get("select_record_ns") for r in results["exchanges"].values()), None)
    if rec is not None:
        lines.append(f"(recording each epoll return costs the client {rec:.0f} ns a select)")
    return lines


if __name__ == "__main__":
    main()
