"""Protocol-agnostic simulator core: servers, connections, subscriptions, pacing.

The core knows nothing about any exchange's messages. It owns

- a WebSocket server (picows: it must outrun the fastest client we benchmark),
- an HTTP server (aiohttp: REST traffic is a handful of requests per test),
- the connections and their subscriptions (opaque stream names),
- the source pump (generator ticks or replay cursors),
- the fault pipeline every outgoing data frame passes through.

An exchange protocol (``sim/binance.py``, later ``sim/okx.py``) subclasses
:class:`Protocol` and fills in URL routing, request handling and rendering.
"""
from __future__ import annotations

import asyncio

import orjson
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional
from urllib.parse import urlsplit

from aiohttp import web
from picows import WSListener, WSMsgType, WSTransport, WSUpgradeRequest, ws_create_server

from .faults import Fault, FaultPipeline

log = logging.getLogger("ccxtpro_fast.sim")

LOOPBACK = "127.0.0.1"


# --------------------------------------------------------------------------------------
# markets and numbers (shared by generator, replay and every protocol)
# --------------------------------------------------------------------------------------

def decimals_of(text: str) -> int:
    """Number of significant decimals of a decimal string ('0.00100' -> 3)."""
    if "." not in text:
        return 0
    return len(text.split(".", 1)[1].rstrip("0"))


def to_units(text: str, scale: int) -> int:
    """Exact integer value of a decimal string in units of 10**-scale."""
    neg = text.startswith("-")
    if neg:
        text = text[1:]
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0")
    if len(frac) > scale:
        raise ValueError(f"{text!r} has more than {scale} decimals")
    value = int(whole or "0") * 10 ** scale + int((frac + "0" * scale)[:scale] or "0")
    return -value if neg else value


def fmt_units(units: int, scale: int, decimals: int) -> str:
    """Format an integer count of 10**-scale units with exactly ``decimals`` decimals."""
    if decimals < scale:
        raise ValueError("cannot print fewer decimals than the value's scale")
    sign = "-" if units < 0 else ""
    digits = str(abs(units))
    if scale:
        digits = digits.rjust(scale + 1, "0")
        whole, frac = digits[:-scale], digits[-scale:]
    else:
        whole, frac = digits, ""
    frac += "0" * (decimals - scale)
    return f"{sign}{whole}.{frac}" if decimals else f"{sign}{whole}"


@dataclass
class MarketSpec:
    """One instrument the simulator serves, in exchange-neutral terms.

    ``kind`` is the market family a protocol routes on ('spot', 'linear', ...);
    ``tick`` and ``step`` are decimal strings (price tick, quantity step).
    """
    id: str                     # exchange id, e.g. 'BTCUSDT'
    kind: str                   # 'spot' | 'linear' | ...
    base: str
    quote: str
    tick: str
    step: str
    settle: Optional[str] = None
    price: Optional[str] = None     # starting price for the generator
    extra: dict = field(default_factory=dict)

    @property
    def price_scale(self) -> int:
        return decimals_of(self.tick)

    @property
    def qty_scale(self) -> int:
        return decimals_of(self.step)

    @property
    def tick_units(self) -> int:
        return to_units(self.tick, self.price_scale)

    @property
    def step_units(self) -> int:
        return to_units(self.step, self.qty_scale)


# --------------------------------------------------------------------------------------
# the form an exchange protocol fills in
# --------------------------------------------------------------------------------------

class Protocol:
    """One exchange's wire protocol. Subclass it and fill in the hooks.

    Required:
      name                       registry key ('binance')
      ws_hosts / rest_hosts      real host -> market kind; the sim mounts each host
                                 under a path prefix, so ``wss://fstream.binance.com/ws``
                                 becomes ``ws://127.0.0.1:P/fstream.binance.com/ws``
      ws_open(conn, path, query) accept or refuse an upgrade; set initial streams
      on_text(conn, text)        a client text frame (subscribe, unsubscribe, ping...)
      streams_for(event)         stream names a generator event is published on
      render(event, stream)      the event's payload bytes on that stream
      frame(conn, stream, data)  wrap a payload for this connection (e.g. combined)
      rest_routes()              [(method, path, handler)] for the REST server
      load_replay(path)          a recorded session -> ReplayData
      exchange_options(ex)       option overrides attach() applies (e.g. market types)
    Optional:
      corrupt(stream, data, rng) damage a data frame for the Corrupt fault
      ws_ping_interval           server ping period in seconds (None: never)
      ws_kind_of                 market kind -> the connection kind that carries it,
                                 for exchanges whose one socket serves several market
                                 kinds (Bitget v2: spot and futures on /v2/ws/public)
    """

    name = ""
    ws_hosts: dict[str, str] = {}
    rest_hosts: dict[str, str] = {}
    ws_ping_interval: Optional[float] = None
    ws_kind_of: dict[str, str] = {}     # read-only; a kind not listed is its own

    # the protocol's number printer (wire text of integer ticks/lots), one per market
    number_format: Optional[type] = None

    def __init__(self, server: "SimServer"):
        self.server = server
        self._fmt: dict = {}

    def fmt(self, spec: "MarketSpec"):
        f = self._fmt.get(id(spec))
        if f is None:
            f = self._fmt[id(spec)] = self.number_format(spec)
        return f

    def market_spec(self, kind: str, market_id: str) -> Optional["MarketSpec"]:
        """The served market of that kind and id, or None."""
        for m in self.server.source.markets:
            if m.kind == kind and m.id == market_id:
                return m
        return None

    # --- websocket ---------------------------------------------------------------
    def ws_open(self, conn: "Connection", path: str, query: str) -> bool:
        raise NotImplementedError

    def on_text(self, conn: "Connection", text: str) -> None:
        raise NotImplementedError

    def streams_for(self, event: Any) -> Iterable[str]:
        raise NotImplementedError

    def render(self, event: Any, stream: str) -> bytes:
        raise NotImplementedError

    def frame(self, conn: "Connection", stream: str, data: bytes) -> bytes:
        return data

    def corrupt(self, stream: str, data: bytes, rng) -> bytes:
        # generic damage: cut the frame in half (invalid JSON for every JSON protocol)
        return data[: len(data) // 2]

    # --- rest ----------------------------------------------------------------------
    def rest_routes(self) -> list[tuple[str, str, Callable]]:
        return []

    # --- replay --------------------------------------------------------------------
    def load_replay(self, path: str) -> "ReplayData":
        raise NotImplementedError

    # --- attach --------------------------------------------------------------------
    def exchange_options(self, exchange) -> dict:
        return {}


@dataclass
class ReplayFrame:
    kind: str           # market kind of the recorded connection
    stream: str         # stream / channel name the frame belongs to
    payload: bytes      # frame body as the protocol's subscription mode delivers it
    ts: float           # recorded receive time, seconds
    meta: Any = None    # protocol data (e.g. parsed ids), never sent


@dataclass
class ReplayData:
    markets: list[MarketSpec]
    frames: list[ReplayFrame]
    snapshots: dict           # protocol-defined: (kind, symbol id) -> recorded body
    info: dict = field(default_factory=dict)


_PROTOCOLS: dict[str, type[Protocol]] = {}


def session_records(path: str):
    """The records of a recorded session file (JSONL, ``tests/data/sessions/*.jsonl``
    format), decoded, blank lines skipped: what every protocol's load_replay reads."""
    with open(path, "rb") as fh:
        for line in fh:
            if line.strip():
                yield orjson.loads(line)


def register(cls: type[Protocol]) -> type[Protocol]:
    _PROTOCOLS[cls.name] = cls
    return cls


def protocol_class(name: str) -> type[Protocol]:
    if name not in _PROTOCOLS:
        # protocol modules register themselves on import
        __import__(f"{__package__}.{name}")
    return _PROTOCOLS[name]


# --------------------------------------------------------------------------------------
# connections
# --------------------------------------------------------------------------------------

_SHORT_HEADERS = tuple(bytes((0x81, n)) for n in range(126))


class Connection(WSListener):
    """One client WebSocket. Holds its kind, subscriptions and output gate."""

    def __init__(self, server: "SimServer", host: str, path: str, query: str):
        self.server = server
        self.host = host
        self.path = path
        self.query = query
        self.kind: Optional[str] = None
        self.streams: set[str] = set()
        self.props: dict[str, Any] = {}      # protocol per-connection state
        self.transport: Optional[WSTransport] = None
        self.sent = 0                        # data frames delivered
        self.closed = asyncio.Event()
        self.dropped = False
        self._writable = asyncio.Event()
        self._writable.set()
        self._held: Optional[list[bytes]] = None   # set while stalled
        self._cursor: Optional[asyncio.Task] = None

    # picows callbacks ---------------------------------------------------------------
    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        self.server._on_connected(self)

    def on_ws_frame(self, transport: WSTransport, frame) -> None:
        if frame.msg_type == WSMsgType.TEXT:
            self.server.protocol.on_text(self, frame.get_payload_as_utf8_text())
        elif frame.msg_type == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.closed.set()
        self._writable.set()
        self.server._on_disconnected(self)

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    # output ---------------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self.transport is not None and not self.dropped and not self.closed.is_set()

    async def writable(self) -> None:
        """Wait until the socket buffer drained below picows' high-water mark."""
        await self._writable.wait()

    def send_control(self, data: bytes) -> None:
        """Replies to client requests bypass faults: they are not market data."""
        if self.is_open:
            self.transport.send(WSMsgType.TEXT, data)

    def send_streams(self, items) -> None:
        """Deliver a run of data frames [(stream, payload)] at once: with no fault armed
        and no stall, they are framed here and written to the socket in one call, which
        is what lets a replay outrun the fastest client."""
        if not self.is_open:
            return
        if self.server.faults.active or self._held is not None:
            for stream, payload in items:
                self.send_stream(stream, payload)
            return
        frame = self.server.protocol.frame
        parts = []
        append = parts.append
        for stream, payload in items:
            data = frame(self, stream, payload)
            n = len(data)
            # a server's text frame: FIN + opcode 1, no mask (RFC 6455 section 5.2)
            if n < 126:
                append(_SHORT_HEADERS[n])
            elif n < 65536:
                append(b"\x81\x7e" + n.to_bytes(2, "big"))
            else:
                append(b"\x81\x7f" + n.to_bytes(8, "big"))
            append(data)
        data = b"".join(parts)
        listeners = self.server.sent_listeners
        for stream, payload in items:
            if not listeners:
                break       # (a listener may remove itself: the e2e stamps only the first frames)
            for listener in listeners:
                listener(self, stream, payload)
        self.transport.underlying_transport.write(data)
        self.sent += len(items)

    def send_stream(self, stream: str, payload: bytes) -> None:
        """Deliver one data frame on ``stream`` through the fault pipeline."""
        if not self.is_open:
            return
        data = self.server.protocol.frame(self, stream, payload)
        faults = self.server.faults
        out = faults.process(self, stream, data) if faults.active else (data,)
        for item in out:
            if self._held is not None:
                self._held.append(item)
            else:
                for listener in self.server.sent_listeners:
                    listener(self, stream, item)
                self.transport.send(WSMsgType.TEXT, item)
                self.sent += 1

    def subscribe(self, streams: Iterable[str]) -> None:
        new = [s for s in streams if s not in self.streams]
        self.streams.update(new)
        for s in new:
            self.server._index(self, s, True)

    def unsubscribe(self, streams: Iterable[str]) -> None:
        for s in streams:
            if s in self.streams:
                self.streams.discard(s)
                self.server._index(self, s, False)

    # faults ---------------------------------------------------------------------------
    def disconnect(self, code: Optional[int] = None) -> None:
        """Close with a close frame (``code``) or drop the TCP connection (None)."""
        if not self.is_open:
            return
        # nothing more goes out from here, even before picows reports the disconnection
        self.dropped = True
        if code is None:
            self.transport.disconnect(graceful=False)
        else:
            from picows import WSCloseCode
            self.transport.send_close(WSCloseCode(code))
            self.transport.disconnect()

    def stall(self, seconds: Optional[float]) -> None:
        """Hold every outgoing frame until :meth:`release` (or ``seconds`` elapse)."""
        if self._held is None:
            self._held = []
        if seconds is not None:
            asyncio.get_running_loop().call_later(seconds, self.release)

    def release(self, drop: bool = False) -> None:
        held, self._held = self._held, None
        if held and not drop and self.is_open:
            for item in held:
                self.transport.send(WSMsgType.TEXT, item)
                self.sent += 1

    def __repr__(self) -> str:
        return f"<Connection {self.kind} {self.host}{self.path} streams={len(self.streams)}>"


# --------------------------------------------------------------------------------------
# the server
# --------------------------------------------------------------------------------------

class SimServer:
    """WebSocket + REST servers on loopback for one exchange protocol and one source.

    Use :func:`ccxtpro_fast.sim.serve` rather than constructing it directly.
    """

    def __init__(self, protocol: str | type[Protocol], source, *, host: str = LOOPBACK,
                 ws_port: int = 0, http_port: int = 0, ping_interval: Any = "protocol"):
        cls = protocol_class(protocol) if isinstance(protocol, str) else protocol
        self.protocol: Protocol = cls(self)
        self.source = source
        self.host = host
        self._ws_port = ws_port
        self._http_port = http_port
        self.ping_interval = cls.ws_ping_interval if ping_interval == "protocol" else ping_interval
        self.connections: list[Connection] = []
        self.faults = FaultPipeline(self)
        self.rest_log: list[tuple[str, str]] = []       # (method, path?query) served
        # callables (conn, stream, data) told of each data frame just before it is written
        # to the socket: the benchmark's latency clock starts there (told after the write,
        # a preempted simulator would stamp frames the client already has)
        self.sent_listeners: list = []
        self._subs: dict[tuple[str, str], set[Connection]] = {}
        self._sub_changed = asyncio.Condition()
        self._ws_server = None
        self._runner: Optional[web.AppRunner] = None
        self._tasks: list[asyncio.Task] = []
        self.started_at = 0.0

    # lifecycle ------------------------------------------------------------------------
    async def start(self) -> "SimServer":
        self.source.bind(self)
        self._ws_server = await ws_create_server(
            self._ws_factory, self.host, self._ws_port,
            enable_auto_ping=self.ping_interval is not None,
            auto_ping_idle_timeout=self.ping_interval or 20,
            # picows refuses connections when the reply timeout exceeds the idle timeout
            auto_ping_reply_timeout=self.ping_interval or 20,
            websocket_handshake_timeout=5)
        self._ws_port = self._ws_server.sockets[0].getsockname()[1]
        app = web.Application()
        for method, path, handler in self.protocol.rest_routes():
            app.router.add_route(method, path, self._logged(handler))
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._http_port)
        await site.start()
        self._http_port = site._server.sockets[0].getsockname()[1]
        self.started_at = time.monotonic()
        self._tasks.append(asyncio.ensure_future(self.source.run()))
        return self

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for c in list(self.connections):
            if c._cursor:
                c._cursor.cancel()
            c.disconnect(1001)
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._ws_server is not None:
            self._ws_server.close()
            await self._ws_server.wait_closed()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> "SimServer":
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    # addresses ------------------------------------------------------------------------
    @property
    def ws_port(self) -> int:
        return self._ws_port

    @property
    def http_port(self) -> int:
        return self._http_port

    @property
    def ws_base(self) -> str:
        return f"ws://{self.host}:{self._ws_port}"

    @property
    def http_base(self) -> str:
        return f"http://{self.host}:{self._http_port}"

    def local_url(self, url: str) -> str:
        """Map a real exchange URL onto the simulator (host becomes a path prefix)."""
        parts = urlsplit(url)
        if parts.scheme in ("wss", "ws"):
            base = self.ws_base
        elif parts.scheme in ("https", "http"):
            base = self.http_base
        else:
            return url
        rest = parts.path + (f"?{parts.query}" if parts.query else "")
        return f"{base}/{parts.hostname}{rest}"

    def attach(self, exchange) -> Any:
        """Point a ccxt / ccxt.pro / ccxtpro_fast exchange at this simulator (sync).

        Rewrites every URL under ``exchange.urls['api']`` (REST and WebSocket) so
        that its host becomes a path prefix on the local servers, and applies the
        protocol's option overrides (e.g. which market types ``load_markets``
        fetches). Call it before the first ``load_markets``; nothing is fetched here.
        """
        def rewrite(node):
            if isinstance(node, dict):
                return {k: rewrite(v) for k, v in node.items()}
            if isinstance(node, list):
                return [rewrite(v) for v in node]
            if isinstance(node, str) and "://" in node:
                return self.local_url(node)
            return node

        exchange.urls["api"] = rewrite(exchange.urls["api"])
        for key, value in self.protocol.exchange_options(exchange).items():
            exchange.options[key] = value
        return exchange

    # source control (generator) ---------------------------------------------------------
    async def step(self, ticks: int = 1) -> None:
        """Advance a manually paced generator by ``ticks`` and publish the events."""
        await self.source.step(ticks)

    # faults -------------------------------------------------------------------------------
    def inject(self, fault: Fault) -> Fault:
        """Arm a fault; it acts on the data frames that match it, then disarms."""
        return self.faults.add(fault)

    def disconnect_all(self, code: Optional[int] = None) -> None:
        for c in list(self.connections):
            c.disconnect(code)

    # subscriptions ------------------------------------------------------------------------
    def subscribers(self, kind: str, stream: str) -> set[Connection]:
        return self._subs.get((kind, stream), set())

    async def wait_subscribed(self, stream: str, kind: Optional[str] = None,
                              count: int = 1, timeout: float = 10.0) -> list[Connection]:
        """Wait until ``count`` open connections subscribe ``stream`` (a sync point for tests)."""
        def found():
            return [c for (k, s), conns in self._subs.items()
                    if s == stream and (kind is None or k == kind)
                    for c in conns if c.is_open]

        async def wait():
            async with self._sub_changed:
                await self._sub_changed.wait_for(lambda: len(found()) >= count)
        await asyncio.wait_for(wait(), timeout)
        return found()

    def _index(self, conn: Connection, stream: str, add: bool) -> None:
        key = (conn.kind, stream)
        if add:
            self._subs.setdefault(key, set()).add(conn)
            self.source.on_subscribe(conn, stream)
        else:
            conns = self._subs.get(key)
            if conns:
                conns.discard(conn)
                if not conns:
                    del self._subs[key]
        self._notify()

    def _notify(self) -> None:
        async def notify():
            async with self._sub_changed:
                self._sub_changed.notify_all()
        asyncio.ensure_future(notify())

    @property
    def has_subscribers(self) -> bool:
        return bool(self._subs)

    # publishing (generator events) ----------------------------------------------------------
    def publish(self, kind: str, event: Any) -> None:
        """Render ``event`` once per stream that has subscribers and send it to each."""
        subs = self._subs
        proto = self.protocol
        kind = proto.ws_kind_of.get(kind, kind)
        for stream in proto.streams_for(event):
            conns = subs.get((kind, stream))
            if conns:
                payload = proto.render(event, stream)
                for conn in tuple(conns):
                    conn.send_stream(stream, payload)

    async def drain(self) -> None:
        """Wait until every connection's socket buffer is below the high-water mark."""
        for c in tuple(self.connections):
            if c.is_open and not c._writable.is_set():
                await c.writable()

    # websocket plumbing ---------------------------------------------------------------------
    def _ws_factory(self, request: WSUpgradeRequest):
        target = request.path.decode("latin-1")
        path, _, query = target.partition("?")
        segments = path.lstrip("/").split("/", 1)
        host = segments[0] if segments[0] in self.protocol.ws_hosts else ""
        rest = "/" + (segments[1] if host and len(segments) > 1 else "" if host else path.lstrip("/"))
        conn = Connection(self, host, rest, query)
        if not self.protocol.ws_open(conn, rest, query):
            return None     # picows answers 404
        return conn

    def _on_connected(self, conn: Connection) -> None:
        self.connections.append(conn)
        self.source.on_connect(conn)
        if conn.streams:
            self._notify()

    def _on_disconnected(self, conn: Connection) -> None:
        if conn in self.connections:
            self.connections.remove(conn)
        for s in list(conn.streams):
            conns = self._subs.get((conn.kind, s))
            if conns:
                conns.discard(conn)
                if not conns:
                    del self._subs[(conn.kind, s)]
        if conn._cursor:
            conn._cursor.cancel()
        self._notify()

    def _unmounted(self, path: str) -> str:
        """'/api.binance.com/api/v3/depth' -> '/api/v3/depth'."""
        parts = path.split("/", 2)
        if len(parts) > 2 and parts[1] in self.protocol.rest_hosts:
            return "/" + parts[2]
        return path

    def _logged(self, handler):
        async def wrapped(request: web.Request):
            self.rest_log.append((request.method, request.path_qs))
            fault = self.faults.rest(self._unmounted(request.path)) if self.faults.active else None
            if fault is not None:
                return web.Response(status=fault.status, body=fault.body)
            return await handler(request)
        return wrapped
