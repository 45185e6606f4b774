"""OKX v5 public market-data protocol for the simulator (WebSocket ``/ws/v5/public``,
``/ws/v5/business`` and the REST calls ccxt makes to load markets).

Sources of every shape below (nothing is made up; what the simulator does not model is
named under "Simplifications"):

- Connection paths ``/ws/v5/public`` and ``/ws/v5/business`` (candles live on business),
  the text ``ping`` -> ``pong`` keep-alive: OKX v5 docs "Overview / WebSocket / Connect"
  and the "WS / Candlesticks channel" URL path; ccxt ``pro/okx.py`` ``get_url`` and
  ``ping``/``handle_pong``.
- Requests ``{"id"?, "op": "subscribe"|"unsubscribe", "args": [{"channel", "instId"}]}``,
  acks ``{"id"?, "event": "subscribe", "arg": {...}, "connId"}`` (one per arg) and errors
  ``{"id"?, "event": "error", "code", "msg", "connId"}`` with the codes/messages of OKX's
  "Error Code / WebSocket / Public" table (60012 Invalid request, 60013 Invalid args,
  60018 Wrong URL or ... doesn't exist, 60019 Invalid op, 64001/64002 wrong URL for the
  channel): OKX docs "Subscribe", "Unsubscribe" and each channel's response examples.
- ``books`` push: ``{"arg", "action": "snapshot"|"update", "data": [{"asks", "bids",
  "ts", "checksum", "prevSeqId", "seqId"}]}``, levels ``[px, sz, "0", numOrders]`` and
  deletes ``[px, "0", "0", "0"]``: OKX docs "WS / Order book channel" push examples and
  the recorded session ``tests/data/sessions/okx_v5_books_checksum.jsonl`` (numbers print
  without trailing zeros there, as here). Sequence rule (snapshot ``prevSeqId = -1``,
  update ``prevSeqId`` = previous ``seqId``, keep-alive with ``seqId == prevSeqId`` and
  empty sides, reset with ``seqId < prevSeqId``) and checksum (top 25 bid:ask
  interleaved ``price:size`` as sent, CRC32 as a signed 32-bit int): the same page,
  sections "Sequence ID" and "Checksum".
- ``books5`` / ``bbo-tbt`` pushes (no ``action``; ``books5`` data carries ``instId``):
  the "Push Data Example of books5 / bbo-tbt channel" blocks of that page.
- ``trades``: ``{"instId", "tradeId", "px", "sz", "side", "ts", "count", "source",
  "seqId"}`` ("WS / Trades channel"). ``tickers``: ``{"instType", "instId", "last",
  "lastSz", "askPx", "askSz", "bidPx", "bidSz", "open24h", "high24h", "low24h",
  "volCcy24h", "vol24h", "sodUtc0", "sodUtc8", "ts"}`` ("WS / Tickers channel").
  ``candle1m``: ``[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]``
  ("WS / Candlesticks channel"; ccxt ``handle_ohlcv`` comment).
- REST ``GET /api/v5/public/instruments?instType=`` entries as in OKX's "Get
  instruments" response example (also quoted in ccxt ``okx.py`` ``parse_market``),
  ``GET /api/v5/public/time`` -> ``{"code":"0","msg":"","data":[{"ts"}]}``,
  ``GET /api/v5/market/books?instId=&sz=`` ("GET / Order book").

Simplifications: the generator has no orders, so ``numOrders`` is "1" for every live
level and trades are never aggregated (``count`` "1"); ``sodUtc0``/``sodUtc8`` carry the
24h window's open; a trade's ``seqId`` is its tick's book ``seqId``; ``books-l2-tbt``,
``books50-l2-tbt``, login and private channels are not served; the 30 s idle disconnect
is not enforced. Test hooks: ``seq_ids = False`` (messages as before OKX added
``seqId``/``prevSeqId``, like the 2022 recording), :meth:`keepalive` and
:meth:`reset_sequence` (the two documented exceptions of the sequence rule).
"""
from __future__ import annotations

import calendar
from decimal import Decimal
import re
import time
import zlib
from typing import Any, Optional
from urllib.parse import urlsplit

import orjson
from aiohttp import web

from .core import (MarketSpec, Protocol, ReplayData, ReplayFrame, decimals_of, fmt_units, register,
                   session_records, to_units)
from .generator import BookDiff, Candle, Stats, TopOfBook, Trade

KIND = "okx"            # one market family: every instrument is served on every connection
BOOK_CHANNELS = ("books", "books5", "bbo-tbt")
PUBLIC_CHANNELS = frozenset(BOOK_CHANNELS + ("trades", "tickers"))
# candle bars of the "WS / Candlesticks channel" request table; the generator fills 1m
CANDLE_BARS = frozenset(("3M", "1M", "1W", "1D", "2D", "3D", "5D", "12H", "6H", "4H", "2H", "1H", "30m",
                         "15m", "5m", "3m", "1m", "1s", "3Mutc", "1Mutc", "1Wutc", "1Dutc", "2Dutc",
                         "3Dutc", "5Dutc", "12Hutc", "6Hutc"))
CHECKSUM_DEPTH = 25
SNAPSHOT_DEPTH = 400
_FUTURES_ID = re.compile(r"^([A-Z0-9]+)-([A-Z0-9]+)-(\d{6})$")


def plain(units: int, scale: int) -> str:
    """A decimal without trailing zeros, as OKX prints prices and sizes ('5.15', '2')."""
    text = fmt_units(units, scale, scale)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def checksum(bids: list, asks: list) -> int:
    """OKX checksum of text levels (best first): top 25 bid:ask interleaved, signed CRC32."""
    parts = []
    for i in range(max(min(len(bids), CHECKSUM_DEPTH), min(len(asks), CHECKSUM_DEPTH))):
        if i < len(bids) and i < CHECKSUM_DEPTH:
            parts += bids[i][:2]
        if i < len(asks) and i < CHECKSUM_DEPTH:
            parts += asks[i][:2]
    crc = zlib.crc32(":".join(parts).encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


class _Fmt:
    """Exact number printing for one instrument (integer ticks/lots -> wire text)."""
    __slots__ = ("tick", "step", "ps", "qs", "ct", "cs", "inst_type")

    def __init__(self, spec: MarketSpec):
        self.tick, self.step = spec.tick_units, spec.step_units
        self.ps, self.qs = spec.price_scale, spec.qty_scale
        ct = spec.extra.get("ctVal") or "1"
        self.cs = decimals_of(ct)
        self.ct = to_units(ct, self.cs)
        self.inst_type = spec.extra["instType"]

    def p(self, ticks: int) -> str:
        return plain(ticks * self.tick, self.ps)

    def q(self, lots: int) -> str:
        return plain(lots * self.step, self.qs)

    def level(self, price: int, lots: int) -> list:
        if lots:
            return [self.p(price), self.q(lots), "0", "1"]
        return [self.p(price), "0", "0", "0"]

    def base_volume(self, lots: int) -> str:
        """Volume in base currency: the size itself on spot, contracts x ctVal otherwise."""
        if self.inst_type == "SPOT":
            return self.q(lots)
        return plain(lots * self.step * self.ct, self.qs + self.cs)

    def quote_volume(self, ticks_lots: int) -> str:
        units = ticks_lots * self.tick * self.step
        if self.inst_type == "SPOT":
            return plain(units, self.ps + self.qs)
        return plain(units * self.ct, self.ps + self.qs + self.cs)


class _Seq:
    """seqId bookkeeping of one instrument: offset (moved by a reset) and a pending
    prevSeqId override for the message right after a reset."""
    __slots__ = ("offset", "prev_override")

    def __init__(self):
        self.offset = 0
        self.prev_override: Optional[int] = None


@register
class Okx(Protocol):
    name = "okx"
    number_format = _Fmt
    ws_hosts = {h: KIND for h in ("ws.okx.com", "wspap.okx.com", "wseea.okx.com", "wseeapap.okx.com",
                                  "wsus.okx.com", "wsuspap.okx.com")}
    rest_hosts = {h: KIND for h in ("www.okx.com", "eea.okx.com", "us.okx.com")}
    ws_ping_interval = None     # OKX has no protocol-level ping: clients send the text 'ping'

    def __init__(self, server):
        super().__init__(server)
        self.seq_ids = True
        self._seq: dict[str, _Seq] = {}
        self._streams: dict[tuple[int, type], tuple[str, ...]] = {}
        self._top5: dict[str, tuple] = {}
        self._cur: tuple = (None, 0, 0)     # (BookDiff, prevSeqId, seqId) being published
        self._conn_ids = 0

    # --- markets --------------------------------------------------------------------
    @staticmethod
    def default_markets() -> list[MarketSpec]:
        return [
            spot_market("BTC-USDT", "BTC", "USDT", tick="0.1", step="0.00000001", price="30000"),
            spot_market("ETH-USDT", "ETH", "USDT", tick="0.01", step="0.000001", price="2000"),
            swap_market("BTC-USDT-SWAP", "BTC", "USDT", tick="0.1", step="0.01", ct_val="0.01", price="30000"),
        ]

    def _specs(self) -> dict[str, MarketSpec]:
        return {m.id: m for m in self.server.source.markets}

    def _seq_of(self, inst_id: str) -> _Seq:
        s = self._seq.get(inst_id)
        if s is None:
            s = self._seq[inst_id] = _Seq()
        return s

    def current_seq(self, inst_id: str) -> int:
        """The seqId of the last book message of ``inst_id`` (generator source)."""
        st = self.server.source.market(KIND, inst_id)
        return st.last_diff_id + self._seq_of(inst_id).offset

    # --- websocket: routing and requests --------------------------------------------
    def ws_open(self, conn, path: str, query: str) -> bool:
        path = path.rstrip("/")
        if path not in ("/ws/v5/public", "/ws/v5/business"):
            return False
        conn.kind = KIND
        conn.props["path"] = path.rsplit("/", 1)[1]
        self._conn_ids += 1
        conn.props["connId"] = "%08x" % (0x5a1d0000 + self._conn_ids)
        return True

    def on_text(self, conn, text: str) -> None:
        if text == "ping":
            return conn.send_control(b"pong")
        try:
            req = orjson.loads(text)
        except orjson.JSONDecodeError:
            return self._error(conn, None, "60012", f"Invalid request: {text}")
        if not isinstance(req, dict):
            return self._error(conn, None, "60012", f"Invalid request: {text}")
        rid = req.get("id")
        op = req.get("op")
        if op not in ("subscribe", "unsubscribe"):
            return self._error(conn, rid, "60019", f"Invalid op: {op}")
        args = req.get("args")
        if not isinstance(args, list) or not args or not all(isinstance(a, dict) for a in args):
            return self._error(conn, rid, "60013", f"Invalid args: {text}")
        for arg in args:
            channel, inst_id = arg.get("channel"), arg.get("instId")
            problem = self._check(conn, channel, inst_id)
            if problem:
                self._error(conn, rid, *problem)
                continue
            stream = f"{channel}:{inst_id}"
            ack = {"event": op, "arg": {"channel": channel, "instId": inst_id}, "connId": conn.props["connId"]}
            if rid is not None:
                ack = {"id": rid, **ack}
            conn.send_control(orjson.dumps(ack))
            if op == "unsubscribe":
                conn.unsubscribe([stream])
                continue
            fresh = stream not in conn.streams
            conn.subscribe([stream])
            if fresh and channel in BOOK_CHANNELS and not hasattr(self.server.source, "snapshot"):
                # "first push: full snapshot", taken now, between two generator ticks, so
                # the next update's prevSeqId is this snapshot's seqId
                conn.send_stream(stream, self._render_snapshot(channel, inst_id))

    def _check(self, conn, channel, inst_id) -> Optional[tuple[str, str]]:
        where = conn.props["path"]
        if not isinstance(channel, str) or not isinstance(inst_id, str):
            return "60013", "Invalid args"
        is_candle = channel.startswith("candle") and channel[6:] in CANDLE_BARS
        if is_candle and where == "public":
            return ("64001", "This channel has been migrated to the '/business' URL. Please subscribe "
                    "using the new URL. More details can refer to: https://www.okx.com/help-center/"
                    "changes-to-v5-api-websocket-subscription-parameter-and-url.")
        if channel in PUBLIC_CHANNELS and where == "business":
            return ("64002", "This channel is not supported by \"/business\" URL. Please use \"/private\" "
                    "URL(for private channels), or \"/public\" URL(for public channels). More details can "
                    "refer to: https://www.okx.com/help-center/changes-to-v5-api-websocket-subscription-"
                    "parameter-and-url.")
        if not (is_candle or channel in PUBLIC_CHANNELS) or inst_id not in self._specs():
            return ("60018", f"Wrong URL or channel:{channel},instId:{inst_id} doesn't exist. Please use the "
                    "correct URL, channel and parameters referring to API document.")
        return None

    @staticmethod
    def _error(conn, rid, code: str, msg: str) -> None:
        body = {"event": "error", "code": code, "msg": msg, "connId": conn.props["connId"]}
        if rid is not None:
            body = {"id": rid, **body}
        conn.send_control(orjson.dumps(body))

    # --- websocket: generator events -> streams and payloads --------------------------
    def streams_for(self, event: Any) -> tuple[str, ...]:
        spec = event.market
        if isinstance(event, BookDiff):
            self._cur = (event,) + self._next_seq(event)
            streams = ("books:" + spec.id,)
            top5 = self._top5_now(spec)
            if top5 != self._top5.get(spec.id):
                # books5: "pushed every 100 ms when there are changes in the 5 depth levels"
                self._top5[spec.id] = top5
                streams += ("books5:" + spec.id,)
            return streams
        key = (id(spec), type(event))
        streams = self._streams.get(key)
        if streams is None:
            if isinstance(event, Trade):
                streams = ("trades:" + spec.id,)
            elif isinstance(event, TopOfBook):
                streams = ("bbo-tbt:" + spec.id,)
            elif isinstance(event, Candle):
                streams = ("candle1m:" + spec.id,)
            elif isinstance(event, Stats):
                streams = ("tickers:" + spec.id,)
            else:
                streams = ()
            self._streams[key] = streams
        return streams

    def _next_seq(self, event: BookDiff) -> tuple[int, int]:
        s = self._seq_of(event.market.id)
        prev = s.prev_override if s.prev_override is not None else event.prev_id + s.offset
        s.prev_override = None
        return prev, event.last_id + s.offset

    def _top5_now(self, spec: MarketSpec) -> tuple:
        st = self.server.source.market(KIND, spec.id)
        return (tuple(st.bids.top(5)), tuple(st.asks.top(5)))

    def _book_text(self, spec: MarketSpec, depth: int) -> tuple[list, list]:
        f = self.fmt(spec)
        book = self.server.source.market(KIND, spec.id).book(depth)
        return [f.level(p, q) for p, q in book["bids"]], [f.level(p, q) for p, q in book["asks"]]

    def _render_snapshot(self, channel: str, inst_id: str) -> bytes:
        spec = self._specs()[inst_id]
        ts = str(self.server.source.clock)
        seq = self.current_seq(inst_id)
        if channel == "books":
            bids, asks = self._book_text(spec, SNAPSHOT_DEPTH)
            data = {"asks": asks, "bids": bids, "ts": ts, "checksum": checksum(bids, asks)}
            if self.seq_ids:
                data.update(prevSeqId=-1, seqId=seq)
            msg = {"arg": {"channel": channel, "instId": inst_id}, "action": "snapshot", "data": [data]}
            return orjson.dumps(msg)
        return self._render_top(channel, spec, ts, seq)

    def _render_top(self, channel: str, spec: MarketSpec, ts: str, seq: int) -> bytes:
        bids, asks = self._book_text(spec, 5 if channel == "books5" else 1)
        data = {"asks": asks, "bids": bids}
        if channel == "books5":
            data["instId"] = spec.id
        data["ts"] = ts
        if self.seq_ids:
            data["seqId"] = seq
        return orjson.dumps({"arg": {"channel": channel, "instId": spec.id}, "data": [data]})

    def render(self, event: Any, stream: str) -> bytes:
        spec = event.market
        f = self.fmt(spec)
        channel = stream.partition(":")[0]
        if isinstance(event, BookDiff):
            cur, prev, seq = self._cur
            if cur is not event:        # published outside publish(): compute it now
                prev, seq = self._next_seq(event)
            if channel == "books5":
                return self._render_top(channel, spec, str(event.ts), seq)
            bids = [f.level(p, q) for p, q in event.bids]
            asks = [f.level(p, q) for p, q in event.asks]
            # the checksum is over the book after this update: the generator's state now
            tb, ta = self._book_text(spec, CHECKSUM_DEPTH)
            data = {"asks": asks, "bids": bids, "ts": str(event.ts), "checksum": checksum(tb, ta)}
            if self.seq_ids:
                data.update(prevSeqId=prev, seqId=seq)
            msg = {"arg": {"channel": "books", "instId": spec.id}, "action": "update", "data": [data]}
        elif isinstance(event, TopOfBook):
            data = {"asks": [f.level(event.ask, event.ask_qty)], "bids": [f.level(event.bid, event.bid_qty)],
                    "ts": str(event.ts)}
            if self.seq_ids:
                data["seqId"] = event.update_id + self._seq_of(spec.id).offset
            msg = {"arg": {"channel": "bbo-tbt", "instId": spec.id}, "data": [data]}
        elif isinstance(event, Trade):
            data = {"instId": spec.id, "tradeId": str(event.id), "px": f.p(event.price), "sz": f.q(event.qty),
                    "side": "sell" if event.buyer_is_maker else "buy", "ts": str(event.ts), "count": "1",
                    "source": "0"}
            if self.seq_ids:
                data["seqId"] = self.current_seq(spec.id)
            msg = {"arg": {"channel": "trades", "instId": spec.id}, "data": [data]}
        elif isinstance(event, Candle):
            row = [str(event.open_time), f.p(event.open), f.p(event.high), f.p(event.low), f.p(event.close),
                   f.q(event.volume), f.base_volume(event.volume) if f.inst_type != "SPOT"
                   else f.quote_volume(event.quote_volume), f.quote_volume(event.quote_volume),
                   "1" if event.closed else "0"]
            msg = {"arg": {"channel": "candle1m", "instId": spec.id}, "data": [row]}
        elif isinstance(event, Stats):
            s = event
            spot = f.inst_type == "SPOT"
            msg = {"arg": {"channel": "tickers", "instId": spec.id}, "data": [{
                "instType": f.inst_type, "instId": spec.id, "last": f.p(s.last), "lastSz": f.q(s.last_qty),
                "askPx": f.p(s.ask), "askSz": f.q(s.ask_qty), "bidPx": f.p(s.bid), "bidSz": f.q(s.bid_qty),
                "open24h": f.p(s.open), "high24h": f.p(s.high), "low24h": f.p(s.low),
                "volCcy24h": f.quote_volume(s.quote_volume) if spot else f.base_volume(s.volume),
                "vol24h": f.q(s.volume), "sodUtc0": f.p(s.open), "sodUtc8": f.p(s.open), "ts": str(s.ts)}]}
        else:
            raise TypeError(f"no OKX rendering for {type(event).__name__}")
        return orjson.dumps(msg)

    # --- the documented exceptions of the sequence rule (test hooks) -------------------
    def keepalive(self, inst_id: str) -> int:
        """Push the 'no change for ~60 s' message on ``books:<inst_id>``: empty sides,
        ``seqId == prevSeqId ==`` the last seqId. Returns the number of connections."""
        spec = self._specs()[inst_id]
        seq = self.current_seq(inst_id)
        tb, ta = self._book_text(spec, CHECKSUM_DEPTH)
        data = {"asks": [], "bids": [], "ts": str(self.server.source.clock), "checksum": checksum(tb, ta),
                "prevSeqId": seq, "seqId": seq}
        payload = orjson.dumps({"arg": {"channel": "books", "instId": inst_id}, "action": "update",
                                "data": [data]})
        conns = tuple(self.server.subscribers(KIND, "books:" + inst_id))
        for conn in conns:
            conn.send_stream("books:" + inst_id, payload)
        return len(conns)

    def reset_sequence(self, inst_id: str, to: int) -> None:
        """Maintenance reset: the next update carries ``prevSeqId`` = the last seqId and a
        ``seqId`` counted from ``to`` (smaller), later ones chain from there."""
        st = self.server.source.market(KIND, inst_id)
        s = self._seq_of(inst_id)
        s.prev_override = st.last_diff_id + s.offset
        s.offset = to - st.last_diff_id

    # --- faults ---------------------------------------------------------------------------
    def corrupt(self, stream: str, data: bytes, rng) -> bytes:
        """Keep the frame well-formed but change one size (a book level inside the top
        25, a trade, the ticker's bid size, a candle's volume); the published checksum
        stays as it was, so a client that verifies it sees the damage."""
        msg = orjson.loads(data)
        items = msg.get("data") if isinstance(msg, dict) else None
        if not items:
            return data[: len(data) // 2]
        item = items[0]
        if isinstance(item, dict) and (item.get("bids") or item.get("asks")):
            levels = self._checksummed_levels(stream, item)
            lvl = levels[rng.randrange(len(levels))]
            lvl[1] = _bump(lvl[1])
        elif isinstance(item, dict) and "sz" in item:
            item["sz"] = _bump(item["sz"])
        elif isinstance(item, dict) and "bidSz" in item:
            item["bidSz"] = _bump(item["bidSz"])
        elif isinstance(item, list) and len(item) > 5:
            item[5] = _bump(item[5])
        else:
            return data[: len(data) // 2]
        return orjson.dumps(msg)

    def _checksummed_levels(self, stream: str, item: dict) -> list:
        """The message's levels inside the top 25 the checksum covers (a damaged level
        deeper than that is invisible to it, by design); with a replay, or when none
        is, the best-priced level of each side."""
        inst = stream.partition(":")[2]
        source = self.server.source
        spec = self._specs().get(inst)
        out = []
        if spec is not None and not hasattr(source, "snapshot"):
            st = source.market(KIND, inst)
            f = self.fmt(spec)
            for key, side, better in (("bids", st.bids, lambda a, b: a >= b), ("asks", st.asks, lambda a, b: a <= b)):
                top = side.top(CHECKSUM_DEPTH)
                limit = Decimal(f.p(top[-1][0])) if len(top) == CHECKSUM_DEPTH else None
                out += [lv for lv in item.get(key) or () if limit is None or better(Decimal(lv[0]), limit)]
        if not out:
            if item.get("bids"):
                out.append(max(item["bids"], key=lambda lv: Decimal(lv[0])))
            if item.get("asks"):
                out.append(min(item["asks"], key=lambda lv: Decimal(lv[0])))
        return out

    # --- REST ---------------------------------------------------------------------------
    def rest_routes(self):
        routes = []
        for prefix in [f"/{h}" for h in self.rest_hosts] + [""]:
            routes += [
                ("GET", f"{prefix}/api/v5/public/instruments", self._handler(self._instruments)),
                ("GET", f"{prefix}/api/v5/public/time", self._handler(
                    lambda q: (200, _ok([{"ts": str(int(time.time() * 1000))}])))),
                ("GET", f"{prefix}/api/v5/market/books", self._handler(self._books)),
            ]
        return routes

    @staticmethod
    def _handler(fn):
        async def handle(request: web.Request) -> web.Response:
            status, body = fn(request.query)
            return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")
        return handle

    def _instruments(self, query) -> tuple[int, Any]:
        inst_type = query.get("instType")
        if inst_type not in ("SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION"):
            return 200, {"code": "51000", "msg": "Parameter instType error", "data": []}
        want = "SPOT" if inst_type == "MARGIN" else inst_type
        specs = [m for m in self._specs().values() if m.extra["instType"] == want]
        if query.get("instId"):
            specs = [m for m in specs if m.id == query["instId"]]
        return 200, _ok([_instrument(m) for m in specs])

    def _books(self, query) -> tuple[int, Any]:
        spec = self._specs().get(query.get("instId", ""))
        if spec is None:
            return 200, {"code": "51001", "msg": "Instrument ID does not exist", "data": []}
        if hasattr(self.server.source, "snapshot"):
            return 200, {"code": "51001", "msg": "Instrument ID does not exist", "data": []}
        depth = max(1, min(int(query.get("sz", "1")), SNAPSHOT_DEPTH))
        bids, asks = self._book_text(spec, depth)
        return 200, _ok([{"asks": asks, "bids": bids, "ts": str(self.server.source.clock)}])

    # --- attach -------------------------------------------------------------------------
    def exchange_options(self, exchange) -> dict:
        """``load_markets`` asks for the instrument types served (no options)."""
        current = exchange.options.get("fetchMarkets")
        types = current.get("types") if isinstance(current, dict) else current
        served = [t for t in (types or ["spot", "future", "swap"]) if t in ("spot", "future", "swap")]
        if isinstance(current, dict):
            return {"fetchMarkets": dict(current, types=served)}
        return {"fetchMarkets": {"types": served}}

    # --- replay -------------------------------------------------------------------------
    def load_replay(self, path: str) -> ReplayData:
        """Read a recorded OKX session: every pushed frame (``arg`` + ``data``) becomes a
        frame of stream ``<channel>:<instId>``, byte for byte; acks are dropped (the
        simulator sends its own). Instruments are synthesized from the instIds (type from
        the id's shape) with tick/lot = the finest decimals any recorded price/size uses."""
        header: dict = {}
        frames: list[ReplayFrame] = []
        prices: dict[str, list] = {}
        sizes: dict[str, list] = {}
        for rec in session_records(path):
            t = rec.get("t")
            if t == "header":
                header = rec
            elif t == "connect":
                host = urlsplit(rec["addr"]).hostname or ""
                if host not in self.ws_hosts:
                    raise ValueError(f"recording uses an unknown OKX host: {host}")
            elif t == "recv":
                text: str = rec["data"]
                if not text.startswith("{"):
                    continue        # 'pong'
                msg = orjson.loads(text)
                arg = msg.get("arg")
                if "event" in msg or not isinstance(arg, dict) or "data" not in msg:
                    continue
                inst, channel = arg.get("instId"), arg.get("channel")
                for item in msg["data"]:
                    if isinstance(item, dict):
                        for side in ("bids", "asks"):
                            for lvl in item.get(side, ()):
                                prices.setdefault(inst, []).append(lvl[0])
                                sizes.setdefault(inst, []).append(lvl[1])
                        for k in ("px", "last", "bidPx", "askPx"):
                            if item.get(k):
                                prices.setdefault(inst, []).append(item[k])
                frames.append(ReplayFrame(KIND, f"{channel}:{inst}", text.encode(), rec["ts"]))
        frames.sort(key=lambda f: f.ts)
        markets = []
        for inst in sorted(prices):
            ps = prices[inst]
            qs = [q for q in sizes.get(inst, []) if q != "0"] or ["1"]
            tick = _pow10(max(decimals_of(p) for p in ps))
            step = _pow10(max(decimals_of(q) for q in qs))
            markets.append(market_from_id(inst, tick=tick, step=step, price=ps[0]))
        return ReplayData(markets, frames, {}, {"header": header})


# --- helpers, market specs and instrument entries ------------------------------------------

def _ok(data: list) -> dict:
    return {"code": "0", "msg": "", "data": data}


def _bump(q: str) -> str:
    d = decimals_of(q) if "." in q else 0
    return plain(to_units(q, d) + 1, d)


def _pow10(decimals: int) -> str:
    return "1" if decimals == 0 else "0." + "0" * (decimals - 1) + "1"


def spot_market(id: str, base: str, quote: str, *, tick: str, step: str, price: str) -> MarketSpec:
    return MarketSpec(id, KIND, base, quote, tick, step, price=price, extra={"instType": "SPOT"})


def swap_market(id: str, base: str, quote: str, *, tick: str, step: str, ct_val: str, price: str,
                settle: Optional[str] = None, ct_type: str = "linear") -> MarketSpec:
    """A perpetual; linear contracts are worth ``ct_val`` base, inverse ones ``ct_val`` quote."""
    return MarketSpec(id, KIND, base, quote, tick, step, settle=settle or quote, price=price,
                      extra={"instType": "SWAP", "ctVal": ct_val, "ctType": ct_type})


def futures_market(id: str, base: str, quote: str, *, tick: str, step: str, ct_val: str, price: str,
                   expiry_ms: int, settle: Optional[str] = None, ct_type: str = "linear") -> MarketSpec:
    return MarketSpec(id, KIND, base, quote, tick, step, settle=settle or quote, price=price,
                      extra={"instType": "FUTURES", "ctVal": ct_val, "ctType": ct_type, "expTime": expiry_ms})


def market_from_id(inst: str, *, tick: str, step: str, price: str) -> MarketSpec:
    """A spec from an instId's shape: BASE-QUOTE (spot), BASE-QUOTE-SWAP, BASE-QUOTE-YYMMDD.
    Contract values are not in a recording: ctVal "1" (it only scales unified costs)."""
    parts = inst.split("-")
    m = _FUTURES_ID.match(inst)
    if m:
        base, quote, ymd = m.groups()
        # OKX futures deliver at 08:00 UTC on the expiry date
        expiry = calendar.timegm((2000 + int(ymd[:2]), int(ymd[2:4]), int(ymd[4:]), 8, 0, 0)) * 1000
        inverse = quote in ("USD",)
        return futures_market(inst, base, quote, tick=tick, step=step, ct_val="1", price=price,
                              expiry_ms=expiry, settle=base if inverse else quote,
                              ct_type="inverse" if inverse else "linear")
    if len(parts) == 3 and parts[2] == "SWAP":
        inverse = parts[1] == "USD"
        return swap_market(inst, parts[0], parts[1], tick=tick, step=step, ct_val="1", price=price,
                           settle=parts[0] if inverse else parts[1], ct_type="inverse" if inverse else "linear")
    if len(parts) == 2:
        return spot_market(inst, parts[0], parts[1], tick=tick, step=step, price=price)
    raise ValueError(f"cannot tell the instrument type of {inst!r}")


def _instrument(m: MarketSpec) -> dict:
    """An entry of GET /api/v5/public/instruments (field set of OKX's response example)."""
    inst_type = m.extra["instType"]
    spot = inst_type == "SPOT"
    family = "" if spot else f"{m.base}-{m.quote}"
    return {
        "alias": "", "auctionEndTime": "", "baseCcy": m.base if spot else "", "category": "1",
        "ctMult": "" if spot else "1", "ctType": "" if spot else m.extra.get("ctType", "linear"),
        "ctVal": "" if spot else m.extra.get("ctVal", "1"),
        "ctValCcy": "" if spot else (m.quote if m.extra.get("ctType") == "inverse" else m.base),
        "expTime": str(m.extra["expTime"]) if "expTime" in m.extra else "",
        "futureSettlement": False, "instFamily": family, "instId": m.id, "instType": inst_type,
        "lever": "10" if spot else "100", "listTime": "1606468572000", "lotSz": m.step,
        "maxIcebergSz": "9999999999.0000000000000000", "maxLmtAmt": "1000000", "maxLmtSz": "9999999999",
        "maxMktAmt": "1000000", "maxMktSz": "1000000", "maxStopSz": "1000000",
        "maxTriggerSz": "9999999999.0000000000000000", "maxTwapSz": "9999999999.0000000000000000",
        "minSz": m.step, "optType": "", "openType": "", "quoteCcy": m.quote if spot else "",
        "settleCcy": "" if spot else (m.settle or m.quote), "state": "live", "stk": "", "tickSz": m.tick,
        "uly": family,
    }
