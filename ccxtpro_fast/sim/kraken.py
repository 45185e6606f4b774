"""Kraken spot public market data for the simulator: WebSocket API v2 and the REST
metadata ccxt loads.

ccxt.pro's ``kraken`` subscribes every public channel on ``wss://ws.kraken.com/v2``
(``urls['api']['ws']['publicV2']``, ``watch_multi_helper`` / ``watch_ohlcv``) and loads
markets from ``GET /0/public/Assets`` then ``GET /0/public/AssetPairs``. This module
serves exactly that. Sources of every shape (nothing is made up; what is not modelled is
left out and listed under "Simplifications"):

- Requests and acks: Kraken "Spot WebSocket v2" reference pages (docs.kraken.com,
  ``websocket-v2/book``, ``trade``, ``ticker``, ``ohlc``, ``ping``, ``status``,
  ``heartbeat``): ``{"method":"subscribe","params":{"channel","symbol":[..],..},"req_id"}``,
  one ack per symbol ``{"method":"subscribe","result":{"channel","symbol","snapshot",
  ("depth")},"success":true,"time_in","time_out","req_id"}``, the same for
  ``unsubscribe``; ``{"method":"ping","req_id"}`` -> ``{"method":"pong","req_id",
  "time_in","time_out"}``; on connect ``{"channel":"status","data":[{"api_version":"v2",
  "connection_id","system":"online","version"}],"type":"update"}``; ``{"channel":
  "heartbeat"}`` about once a second while subscribed and otherwise idle.
- Error acks: ``{"error":"Currency pair not supported XBT/EUR","method":"subscribe",
  "success":false,"symbol":"XBT/EUR"}`` (a real answer quoted in nautilus_trader issue
  #3509) plus ``req_id``/``time_in``/``time_out`` as on every v2 response; the texts
  "Already subscribed" and "Subscription depth not supported" are the ones ccxt.pro's
  ``exceptions['ws']['broad']`` table maps. "Subscription Not Found" (unsubscribing what
  is not subscribed) is not in the pages we could read: it is our wording.
- Payloads: ``book`` snapshot/update with ``{"price","qty"}`` levels, ``checksum`` and
  the update's ``timestamp`` (the reference page and the samples in ccxt.pro's
  ``kraken.handle_order_book`` comments); ``trade`` (``symbol, side, price, qty,
  ord_type, trade_id, timestamp``; snapshot of the last 50 trades only when asked, the
  current reference's default being ``snapshot: false``); ``ticker`` (``symbol, bid,
  bid_qty, ask, ask_qty, last, volume, vwap, low, high, change, change_pct, timestamp``,
  ``event_trigger`` ``trades`` or ``bbo``); ``ohlc`` (message ``timestamp`` and candles
  with ``symbol, open, high, low, close, trades, volume, vwap, interval_begin, interval,
  timestamp``). Numbers are JSON numbers, as v2 sends them.
- Book maintenance and checksum: the "Book checksum (WebSocket v2)" guide: apply every
  level of a message, truncate to the subscribed depth (no ``qty: 0`` is sent for levels
  that fall out of scope; a level that comes into scope is sent), CRC32 (unsigned) of
  the top 10 asks (low to high) then top 10 bids (high to low), each price and qty
  printed with the pair's price / qty precision, "." removed, leading zeros stripped.
  :func:`kraken_v2_checksum` computes it here in plain Python from integer units,
  independently of the compiled core.
- REST: ``{"error":[],"result":{...}}`` bodies of "Get Asset Info" and "Get Tradable
  Asset Pairs" (field lists as in the samples quoted in ccxt's ``kraken.fetch_currencies``
  / ``fetch_markets`` comments; ``pair_decimals`` / ``lot_decimals`` are the price / qty
  precisions the v2 checksum uses, as the instrument channel's ``price_precision`` /
  ``qty_precision``).

Replay (:meth:`Kraken.load_replay`): v2 recordings in the JSONL record format of
``tests/data/sessions`` (what ``bench/e2e.make_session`` writes). Every data frame is
sent byte for byte; a subscription gets no snapshot of the simulator's own, the
recording's first frame of the stream (its snapshot) is the one the client gets, as
live. The checksum's precisions are not in the frames, so the market specs come from
the header (``"markets"``: the generator's MarketSpecs).

Simplifications: only v2 (``/v2``; the v1 array protocol is not served, so the recorded
v1 session in ``tests/data/sessions`` is not replayable here); ``ticker`` with
``event_trigger: trades`` is published on the generator's 24h statistics events (after
trades, at most every ``stats_ms``) rather than on every single trade, ``bbo`` on every
top-of-book change; ``ohlc`` candles exist for ``interval: 1`` only (other documented
intervals are accepted and stay silent); one trade per ``trade`` message; no rate
limits, no private channels, no level3/instrument channels.
"""
from __future__ import annotations

import asyncio
import itertools
import time
import zlib
from collections import deque
from typing import Any, Optional
from urllib.parse import urlsplit

import orjson
from aiohttp import web

from .core import (MarketSpec, Protocol, ReplayData, ReplayFrame, decimals_of, fmt_units, register,
                   session_records, to_units)
from .generator import BookDiff, Candle, Stats, TopOfBook, Trade

SPOT = "spot"
BOOK_DEPTHS = (10, 25, 100, 500, 1000)
OHLC_INTERVALS = (1, 5, 15, 30, 60, 240, 1440, 10080, 21600)
CHECKSUM_DEPTH = 10
TRADE_SNAPSHOT = 50
VERSION = "2.0.10"       # the service version ccxt's handle_system_status sample shows

_FR = orjson.Fragment


# --------------------------------------------------------------------------------------
# numbers and times
# --------------------------------------------------------------------------------------

def decimal_text(units: int, scale: int) -> str:
    """Shortest plain decimal of ``units`` * 10**-scale, as v2 prints a number: no
    exponent, no trailing zeros, a '.0' for whole values (``"bid_qty": 740.0``)."""
    text = fmt_units(units, scale, scale)
    if "." in text:
        text = text.rstrip("0")
        if text.endswith("."):
            text += "0"
    else:
        text += ".0"
    return text


def checksum_text(units: int, scale: int, precision: int) -> str:
    """One number as Kraken's v2 checksum prints it: ``precision`` decimals, '.' removed,
    leading zeros stripped (45285.2 at 1 -> '452852', 0.001 at 8 -> '100000')."""
    return fmt_units(units, scale, precision).replace(".", "").lstrip("0")


def kraken_v2_checksum(asks, bids, price_scale: int, qty_scale: int,
                       price_precision: int, qty_precision: int) -> int:
    """CRC32 of the top 10 asks (best first) then the top 10 bids, levels given as
    (price units, qty units) at the given scales. Plain Python, from the guide."""
    parts = []
    for side in (asks, bids):
        for p, q in side[:CHECKSUM_DEPTH]:
            parts.append(checksum_text(p, price_scale, price_precision))
            parts.append(checksum_text(q, qty_scale, qty_precision))
    return zlib.crc32("".join(parts).encode()) & 0xFFFFFFFF


def rfc3339(ms: int, digits: int = 6) -> str:
    """'2023-10-06T17:35:55.440000Z' (``digits`` fraction digits, v2's RFC3339)."""
    t = time.gmtime(ms // 1000)
    frac = f"{ms % 1000:03d}" + "0" * (digits - 3)
    return (f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:"
            f"{t.tm_sec:02d}.{frac}Z")


def _now() -> str:
    now = time.time()
    t = time.gmtime(now)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + f".{int(now % 1 * 1e6):06d}Z"


# --------------------------------------------------------------------------------------
# markets
# --------------------------------------------------------------------------------------

def spot_market(pair_id: str, *, base: str, quote: str, asset_base: str, asset_quote: str,
                altname: str, wsname: str, pair_decimals: int, lot_decimals: int, step: str,
                price: str, ordermin: str = "0.0001", costmin: str = "0.5") -> MarketSpec:
    """A Kraken spot pair. ``base``/``quote`` are the v2 names (BTC, USD) that make the
    v2 symbol; ``asset_*`` the REST asset ids (XXBT, ZUSD). The price tick is
    10**-pair_decimals; ``step`` (the generator's quantity lot) may be coarser than
    10**-lot_decimals: quantities still print with ``lot_decimals`` in checksums."""
    tick = "1" if pair_decimals == 0 else "0." + "0" * (pair_decimals - 1) + "1"
    return MarketSpec(pair_id, SPOT, base, quote, tick, step, price=price, extra={
        "symbol": f"{base}/{quote}", "asset_base": asset_base, "asset_quote": asset_quote,
        "altname": altname, "wsname": wsname, "pair_decimals": pair_decimals,
        "lot_decimals": lot_decimals, "ordermin": ordermin, "costmin": costmin})


# REST "Get Asset Info" entries of the assets the default markets use (decimals /
# display_decimals as in the samples in ccxt's kraken.fetch_currencies comment)
ASSETS = {
    "XXBT": {"aclass": "currency", "altname": "XBT", "decimals": 10, "display_decimals": 5,
             "collateral_value": 1.0, "status": "enabled"},
    "XETH": {"aclass": "currency", "altname": "ETH", "decimals": 10, "display_decimals": 5,
             "collateral_value": 1.0, "status": "enabled"},
    "ALGO": {"aclass": "currency", "altname": "ALGO", "decimals": 8, "display_decimals": 5,
             "status": "enabled"},
    "ZUSD": {"aclass": "currency", "altname": "USD", "decimals": 4, "display_decimals": 2,
             "status": "enabled"},
}


class _Pair:
    """Per-market printing and the v2 checksum parameters."""
    __slots__ = ("spec", "symbol", "tick", "step", "ps", "qs", "pp", "qp")

    def __init__(self, spec: MarketSpec):
        self.spec = spec
        self.symbol = spec.extra["symbol"]
        self.tick, self.step = spec.tick_units, spec.step_units
        self.ps, self.qs = spec.price_scale, spec.qty_scale
        self.pp, self.qp = spec.extra["pair_decimals"], spec.extra["lot_decimals"]

    def p(self, ticks: int) -> Any:
        return _FR(decimal_text(ticks * self.tick, self.ps).encode())

    def q(self, lots: int) -> Any:
        return _FR(decimal_text(lots * self.step, self.qs).encode())

    def level(self, ticks: int, lots: int) -> dict:
        return {"price": self.p(ticks), "qty": self.q(lots)}

    def checksum(self, asks, bids) -> int:
        """asks/bids: [(ticks, lots)] best first."""
        return kraken_v2_checksum([(p * self.tick, q * self.step) for p, q in asks[:CHECKSUM_DEPTH]],
                                  [(p * self.tick, q * self.step) for p, q in bids[:CHECKSUM_DEPTH]],
                                  self.ps, self.qs, self.pp, self.qp)

    def ratio(self, num: int, den: int, scale: int, decimals: int) -> Any:
        """num / den / 10**scale rounded half away from zero to ``decimals`` decimals."""
        if den == 0:
            return _FR(b"0.0")
        sign = -1 if num < 0 else 1
        shift = 10 ** decimals
        units = (2 * abs(num) * shift + den * 10 ** scale) // (2 * den * 10 ** scale)
        return _FR(decimal_text(sign * units, decimals).encode())


class _BookView:
    """What one subscribed depth of one market was last published as: (ticks -> lots)
    per side. Kraken keeps each subscriber's book truncated to its depth, so the wire
    diff of a generator tick is computed against this view, not the whole book."""
    __slots__ = ("bids", "asks")

    def __init__(self, bids: list, asks: list):
        self.bids = dict(bids)
        self.asks = dict(asks)


# --------------------------------------------------------------------------------------
# the protocol
# --------------------------------------------------------------------------------------

@register
class Kraken(Protocol):
    name = "kraken"
    ws_hosts = {"ws.kraken.com": SPOT}
    rest_hosts = {"api.kraken.com": SPOT}
    ws_ping_interval = None         # v2 keepalive is the client's {"method":"ping"}
    heartbeat_interval = 1.0        # "approximately once every second" when idle

    def __init__(self, server):
        super().__init__(server)
        self._pairs: dict[int, _Pair] = {}
        self._by_symbol: Optional[dict[str, MarketSpec]] = None
        self._views: dict[tuple[str, int], _BookView] = {}         # (market id, depth)
        self._depths: dict[str, set[int]] = {}                      # market id -> depths served
        self._payloads: dict[str, bytes] = {}                       # stream -> this event's payload
        self._last_stats: dict[str, Stats] = {}
        self._last_candle: dict[str, Candle] = {}
        self._trades: dict[str, deque] = {}
        self._conn_ids = itertools.count(13834774380200032777)
        self._heartbeat: Optional[asyncio.Task] = None

    # --- markets --------------------------------------------------------------------
    @staticmethod
    def default_markets() -> list[MarketSpec]:
        return [
            spot_market("XXBTZUSD", base="BTC", quote="USD", asset_base="XXBT", asset_quote="ZUSD",
                        altname="XBTUSD", wsname="XBT/USD", pair_decimals=1, lot_decimals=8,
                        step="0.0001", price="30000"),
            spot_market("XETHZUSD", base="ETH", quote="USD", asset_base="XETH", asset_quote="ZUSD",
                        altname="ETHUSD", wsname="ETH/USD", pair_decimals=2, lot_decimals=8,
                        step="0.001", price="2000", ordermin="0.002"),
            spot_market("ALGOUSD", base="ALGO", quote="USD", asset_base="ALGO", asset_quote="ZUSD",
                        altname="ALGOUSD", wsname="ALGO/USD", pair_decimals=5, lot_decimals=8,
                        step="0.00000001", price="0.15", ordermin="10"),
        ]

    @property
    def _replaying(self) -> bool:
        # a Replay has no generator clock to tick
        return not hasattr(self.server.source, "tick")

    def pair(self, spec: MarketSpec) -> _Pair:
        p = self._pairs.get(id(spec))
        if p is None:
            p = self._pairs[id(spec)] = _Pair(spec)
        return p

    def by_symbol(self, symbol: str) -> Optional[MarketSpec]:
        if self._by_symbol is None:
            self._by_symbol = {m.extra["symbol"]: m for m in self.server.source.markets if m.kind == SPOT}
        return self._by_symbol.get(symbol)

    def truth(self, spec: MarketSpec, depth: Optional[int] = None) -> dict:
        """The generator's book as floats, best first: what a synced client holds."""
        st = self.server.source.market(SPOT, spec.id)
        book = st.book(depth)
        pr = self.pair(spec)
        conv = lambda side: [[float(decimal_text(p * pr.tick, pr.ps)), float(decimal_text(q * pr.step, pr.qs))]
                             for p, q in side]
        return {"bids": conv(book["bids"]), "asks": conv(book["asks"])}

    # --- websocket: connection, requests ----------------------------------------------
    def ws_open(self, conn, path: str, query: str) -> bool:
        if path.rstrip("/") != "/v2":
            return False        # the v1 array protocol on "/" is not modelled
        conn.kind = SPOT
        conn.props["last_sent"] = 0
        # the core has no on-connected hook for protocols: the status greeting goes out on
        # the next loop iteration, once picows has finished the handshake
        asyncio.get_running_loop().call_soon(self._greet, conn, 0)
        if self._heartbeat is None and self.heartbeat_interval:
            self._heartbeat = asyncio.ensure_future(self._heartbeats())
            self.server._tasks.append(self._heartbeat)
        return True

    def _greet(self, conn, tries: int) -> None:
        if conn.is_open:
            self._reply(conn, {"channel": "status", "data": [{
                "api_version": "v2", "connection_id": next(self._conn_ids), "system": "online",
                "version": VERSION}], "type": "update"})
        elif tries < 10 and not conn.closed.is_set():
            asyncio.get_running_loop().call_soon(self._greet, conn, tries + 1)

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            for conn in tuple(self.server.connections):
                if conn.is_open and conn.streams and conn.sent == conn.props.get("last_sent"):
                    conn.send_control(b'{"channel":"heartbeat"}')
                conn.props["last_sent"] = conn.sent

    @staticmethod
    def _reply(conn, msg: dict) -> None:
        conn.send_control(orjson.dumps(msg))

    def on_text(self, conn, text: str) -> None:
        time_in = _now()
        try:
            req = orjson.loads(text)
        except orjson.JSONDecodeError:
            return self._reply(conn, {"error": "Malformed request", "success": False,
                                      "time_in": time_in, "time_out": _now()})
        if not isinstance(req, dict) or not isinstance(req.get("method"), str):
            return self._reply(conn, {"error": "Malformed request", "success": False,
                                      "time_in": time_in, "time_out": _now()})
        method = req["method"]
        rid = req.get("req_id")
        if method == "ping":
            msg = {"method": "pong"}
            if rid is not None:
                msg["req_id"] = rid
            msg.update(time_in=time_in, time_out=_now())
            return self._reply(conn, msg)
        if method not in ("subscribe", "unsubscribe"):
            return self._ack_error(conn, method, rid, time_in, f"Method not found: {method}")
        params = req.get("params")
        if not isinstance(params, dict) or params.get("channel") not in ("book", "trade", "ticker", "ohlc"):
            return self._ack_error(conn, method, rid, time_in, "Subscription name invalid")
        symbols = params.get("symbol")
        if not isinstance(symbols, list) or not symbols:
            return self._ack_error(conn, method, rid, time_in, "Pair field must be an array")
        for symbol in symbols:
            self._subscription(conn, method, params, symbol, rid, time_in)

    def _ack_error(self, conn, method, rid, time_in, error, symbol=None) -> None:
        msg = {"error": error, "method": method}
        if rid is not None:
            msg["req_id"] = rid
        msg["success"] = False
        if symbol is not None:
            msg["symbol"] = symbol
        msg.update(time_in=time_in, time_out=_now())
        self._reply(conn, msg)

    def _subscription(self, conn, method: str, params: dict, symbol, rid, time_in: str) -> None:
        channel = params["channel"]
        spec = self.by_symbol(symbol) if isinstance(symbol, str) else None
        if spec is None:
            return self._ack_error(conn, method, rid, time_in, f"Currency pair not supported {symbol}", symbol)
        result: dict = {"channel": channel}
        if channel == "book":
            depth = params.get("depth", 10)
            if depth not in BOOK_DEPTHS:
                return self._ack_error(conn, method, rid, time_in, "Subscription depth not supported", symbol)
            result["depth"] = depth
            stream = f"book.{depth}:{symbol}"
        elif channel == "ticker":
            trigger = params.get("event_trigger", "trades")
            if trigger not in ("trades", "bbo"):
                return self._ack_error(conn, method, rid, time_in, "Invalid event_trigger", symbol)
            stream = f"ticker.{trigger}:{symbol}"
        elif channel == "ohlc":
            interval = params.get("interval", 1)
            if interval not in OHLC_INTERVALS:
                return self._ack_error(conn, method, rid, time_in, "Subscription ohlc interval not supported", symbol)
            stream = f"ohlc.{interval}:{symbol}"
        else:
            stream = f"trade:{symbol}"
        # a subscription is a (channel, symbol) pair: one book depth and one ticker trigger
        # per symbol; ohlc intervals are separate subscriptions
        if channel in ("book", "ticker"):
            head, tail = channel + ".", ":" + symbol
            held = [s for s in conn.streams if s.startswith(head) and s.endswith(tail)]
        else:
            held = [stream] if stream in conn.streams else []
        if method == "unsubscribe":
            if not held:
                return self._ack_error(conn, method, rid, time_in, "Subscription Not Found", symbol)
            conn.unsubscribe(held)
            result["symbol"] = symbol
            return self._ack(conn, method, result, rid, time_in)
        if held:
            return self._ack_error(conn, method, rid, time_in, "Already subscribed", symbol)
        snapshot = params.get("snapshot", channel != "trade")
        result["snapshot"] = bool(snapshot)
        result["symbol"] = symbol
        if channel == "book":
            self._depths.setdefault(spec.id, set()).add(result["depth"])
        conn.subscribe([stream])
        self._ack(conn, method, result, rid, time_in)
        # in a replay the recording's own first frame of the stream is the snapshot (the
        # connection's cursor sends it); there is no generator book to take one from
        if snapshot and not self._replaying:
            payload = self._snapshot(spec, channel, stream)
            if payload is not None:
                conn.send_stream(stream, payload)

    def _ack(self, conn, method, result, rid, time_in) -> None:
        msg = {"method": method, "result": result}
        if rid is not None:
            msg["req_id"] = rid
        msg.update(success=True, time_in=time_in, time_out=_now())
        self._reply(conn, msg)

    # --- snapshots ----------------------------------------------------------------------
    def _snapshot(self, spec: MarketSpec, channel: str, stream: str) -> Optional[bytes]:
        pr = self.pair(spec)
        st = self.server.source.market(SPOT, spec.id)
        if channel == "book":
            depth = int(stream[5:stream.index(":")])
            key = (spec.id, depth)
            view = self._views.get(key)
            if view is None or not self._has_other_subscribers(stream):
                book = st.book(depth)
                view = self._views[key] = _BookView(book["bids"], book["asks"])
            bids = sorted(view.bids.items(), reverse=True)
            asks = sorted(view.asks.items())
            return orjson.dumps({"channel": "book", "type": "snapshot", "data": [{
                "symbol": pr.symbol,
                "bids": [pr.level(p, q) for p, q in bids],
                "asks": [pr.level(p, q) for p, q in asks],
                "checksum": pr.checksum(asks, bids)}]})
        if channel == "ticker":
            bbo = stream.startswith("ticker.bbo")
            return self._ticker(spec, "snapshot", None if not bbo else self._top(st), None)
        if channel == "ohlc":
            if not stream.startswith("ohlc.1:"):
                return None
            candle = st.candle or self._last_candle.get(spec.id)
            if candle is None:
                return None
            return self._ohlc(candle, "snapshot", self.server.source.clock)
        trades = list(self._trades.get(spec.id, ()))[-TRADE_SNAPSHOT:]
        return orjson.dumps({"channel": "trade", "type": "snapshot",
                             "data": [self._trade(t) for t in trades]})

    def _has_other_subscribers(self, stream: str) -> bool:
        # the subscribing connection is already indexed: another one keeps the view current
        return len(self.server.subscribers(SPOT, stream)) > 1

    @staticmethod
    def _top(st) -> tuple:
        bb, ba = st.bids.best(), st.asks.best()
        return (bb, st.bids.qty[bb], ba, st.asks.qty[ba])

    # --- websocket: generator events -> streams and payloads ----------------------------
    def streams_for(self, event: Any) -> list[str]:
        spec = event.market
        symbol = spec.extra["symbol"]
        payloads = self._payloads
        payloads.clear()
        if isinstance(event, BookDiff):
            for depth in tuple(self._depths.get(spec.id, ())):
                stream = f"book.{depth}:{symbol}"
                if not self.server.subscribers(SPOT, stream):
                    self._views.pop((spec.id, depth), None)
                    self._depths[spec.id].discard(depth)
                    continue
                payload = self._book_update(spec, depth, event.ts)
                if payload is not None:
                    payloads[stream] = payload
        elif isinstance(event, Trade):
            self._trades.setdefault(spec.id, deque(maxlen=TRADE_SNAPSHOT)).append(event)
            stream = f"trade:{symbol}"
            if self.server.subscribers(SPOT, stream):
                payloads[stream] = orjson.dumps({"channel": "trade", "type": "update",
                                                 "data": [self._trade(event)]})
        elif isinstance(event, Stats):
            self._last_stats[spec.id] = event
            stream = f"ticker.trades:{symbol}"
            if self.server.subscribers(SPOT, stream):
                payloads[stream] = self._ticker(spec, "update", None, event)
        elif isinstance(event, TopOfBook):
            stream = f"ticker.bbo:{symbol}"
            if self.server.subscribers(SPOT, stream):
                top = (event.bid, event.bid_qty, event.ask, event.ask_qty)
                payloads[stream] = self._ticker(spec, "update", top, None, event.ts)
        elif isinstance(event, Candle):
            self._last_candle[spec.id] = event
            if event.interval_ms == 60_000:
                stream = f"ohlc.1:{symbol}"
                if self.server.subscribers(SPOT, stream):
                    payloads[stream] = self._ohlc(event, "update", event.ts)
        return list(payloads)

    def render(self, event: Any, stream: str) -> bytes:
        return self._payloads[stream]

    def _book_update(self, spec: MarketSpec, depth: int, ts: int) -> Optional[bytes]:
        """Diff the generator's new top-``depth`` against what this depth's subscribers
        hold. A level that left the view because it was deleted is sent with qty 0; one
        pushed out by better levels is not (the client truncates it, guide step 2)."""
        st = self.server.source.market(SPOT, spec.id)
        pr = self.pair(spec)
        view = self._views[(spec.id, depth)]
        book = st.book(depth)
        sides = {}
        for name, new, old, alive in (("bids", book["bids"], view.bids, st.bids.qty),
                                      ("asks", book["asks"], view.asks, st.asks.qty)):
            new_map = dict(new)
            changes = [(p, q) for p, q in new if old.get(p) != q]
            changes += [(p, 0) for p in old if p not in new_map and p not in alive]
            changes.sort(key=lambda x: -x[0] if name == "bids" else x[0])
            sides[name] = changes
            old.clear()
            old.update(new_map)
        if not sides["bids"] and not sides["asks"]:
            return None
        return orjson.dumps({"channel": "book", "type": "update", "data": [{
            "symbol": pr.symbol,
            "bids": [pr.level(p, q) for p, q in sides["bids"]],
            "asks": [pr.level(p, q) for p, q in sides["asks"]],
            "checksum": pr.checksum(book["asks"], book["bids"]),
            "timestamp": rfc3339(ts)}]})

    def _trade(self, t: Trade) -> dict:
        pr = self.pair(t.market)
        return {"symbol": pr.symbol, "side": "sell" if t.buyer_is_maker else "buy",
                "price": pr.p(t.price), "qty": pr.q(t.qty), "ord_type": "market",
                "trade_id": t.id, "timestamp": rfc3339(t.ts)}

    def _ticker(self, spec: MarketSpec, kind: str, top: Optional[tuple], stats: Optional[Stats],
                ts: Optional[int] = None) -> bytes:
        pr = self.pair(spec)
        st = self.server.source.market(SPOT, spec.id)
        stats = stats or self._last_stats.get(spec.id)
        if top is None:
            top = (stats.bid, stats.bid_qty, stats.ask, stats.ask_qty) if stats is not None else self._top(st)
        bid, bid_qty, ask, ask_qty = top
        if stats is not None:
            last, low, high, volume = stats.last, stats.low, stats.high, stats.volume
            vwap = pr.ratio(stats.quote_volume * pr.tick, stats.volume, pr.ps, pr.pp)
            change = stats.last - stats.open
            change_pct = pr.ratio(change * 100, stats.open, 0, 2)
            stamp = ts if ts is not None else stats.ts
        else:
            # no trade yet: the 24h figures of an idle market
            last = low = high = st.prev_close
            volume = change = 0
            vwap = pr.p(last)
            change_pct = _FR(b"0.0")
            stamp = ts if ts is not None else self.server.source.clock
        return orjson.dumps({"channel": "ticker", "type": kind, "data": [{
            "symbol": pr.symbol, "bid": pr.p(bid), "bid_qty": pr.q(bid_qty), "ask": pr.p(ask),
            "ask_qty": pr.q(ask_qty), "last": pr.p(last), "volume": pr.q(volume), "vwap": vwap,
            "low": pr.p(low), "high": pr.p(high), "change": pr.p(change), "change_pct": change_pct,
            "timestamp": rfc3339(stamp)}]})

    def _ohlc(self, c: Candle, kind: str, ts: int) -> bytes:
        pr = self.pair(c.market)
        minutes = c.interval_ms // 60_000
        return orjson.dumps({"channel": "ohlc", "type": kind, "timestamp": rfc3339(ts, 9), "data": [{
            "symbol": pr.symbol, "open": pr.p(c.open), "high": pr.p(c.high), "low": pr.p(c.low),
            "close": pr.p(c.close), "trades": c.count, "volume": pr.q(c.volume),
            "vwap": pr.ratio(c.quote_volume * pr.tick, c.volume, pr.ps, pr.pp),
            "interval_begin": rfc3339(c.open_time, 9), "interval": minutes,
            "timestamp": rfc3339(c.open_time + c.interval_ms)}]})

    # --- faults ---------------------------------------------------------------------------
    def corrupt(self, stream: str, data: bytes, rng) -> bytes:
        """Keep the frame valid JSON but change one quantity: a book level the client's
        checksum covers (a top-10 level), a ticker's bid_qty or a trade's qty."""
        msg = orjson.loads(data)
        body = (msg.get("data") or [None])[0] if isinstance(msg, dict) else None
        if not isinstance(body, dict):
            return data[: len(data) // 2]
        spec = self.by_symbol(body.get("symbol"))
        pr = self.pair(spec) if spec is not None else None
        qp = pr.qp if pr is not None else 8

        def bump(q) -> float:
            # one unit of the last printed decimal more: exact at the pair's qty precision
            units = to_units(repr(float(q)), qp) if decimals_of(repr(float(q))) <= qp else None
            if units is None:
                return float(q) * 1.5 + 1
            return float(fmt_units(units + 1, qp, qp))

        if msg.get("channel") == "book":
            candidates = []
            for side_name in ("asks", "bids"):
                side = body.get(side_name) or []
                ranked = sorted(side, key=lambda lv: lv["price"], reverse=side_name == "bids")
                candidates += [lv for lv in ranked[:CHECKSUM_DEPTH] if lv["qty"]]
            if not candidates:
                candidates = (body.get("asks") or []) + (body.get("bids") or [])
            if candidates:
                lv = candidates[rng.randrange(len(candidates))]
                lv["qty"] = bump(lv["qty"])
                return orjson.dumps(msg)
        elif "bid_qty" in body:
            body["bid_qty"] = bump(body["bid_qty"])
            return orjson.dumps(msg)
        elif "qty" in body:
            body["qty"] = bump(body["qty"])
            return orjson.dumps(msg)
        return data[: len(data) // 2]

    # --- REST ----------------------------------------------------------------------------
    def rest_routes(self):
        routes = []
        for prefix in ("/api.kraken.com/0/public", "/0/public"):
            routes += [
                ("GET", f"{prefix}/Assets", self._handler(self._assets)),
                ("GET", f"{prefix}/AssetPairs", self._handler(self._asset_pairs)),
                ("GET", f"{prefix}/Time", self._handler(self._time)),
            ]
        return routes

    @staticmethod
    def _handler(fn):
        async def handle(request: web.Request) -> web.Response:
            return web.Response(status=200, body=orjson.dumps({"error": [], "result": fn(request.query)}),
                                content_type="application/json")
        return handle

    def _specs(self) -> list[MarketSpec]:
        return [m for m in self.server.source.markets if m.kind == SPOT]

    def _assets(self, query) -> dict:
        out = {}
        for m in self._specs():
            for asset in (m.extra["asset_base"], m.extra["asset_quote"]):
                out[asset] = ASSETS.get(asset) or {"aclass": "currency", "altname": asset, "decimals": 8,
                                                   "display_decimals": 5, "status": "enabled"}
        return out

    def _asset_pairs(self, query) -> dict:
        fees = [[0, 0.26], [50000, 0.24], [100000, 0.22], [250000, 0.2], [500000, 0.18],
                [1000000, 0.16], [2500000, 0.14], [5000000, 0.12], [10000000, 0.1]]
        fees_maker = [[0, 0.16], [50000, 0.14], [100000, 0.12], [250000, 0.1], [500000, 0.08],
                      [1000000, 0.06], [2500000, 0.04], [5000000, 0.02], [10000000, 0]]
        out = {}
        for m in self._specs():
            x = m.extra
            out[m.id] = {
                "altname": x["altname"], "wsname": x["wsname"], "aclass_base": "currency",
                "base": x["asset_base"], "aclass_quote": "currency", "quote": x["asset_quote"],
                "lot": "unit", "cost_decimals": 5, "pair_decimals": x["pair_decimals"],
                "lot_decimals": x["lot_decimals"], "lot_multiplier": 1, "leverage_buy": [],
                "leverage_sell": [], "fees": fees, "fees_maker": fees_maker,
                "fee_volume_currency": "ZUSD", "margin_call": 80, "margin_stop": 40,
                "ordermin": x["ordermin"], "costmin": x["costmin"], "tick_size": m.tick,
                "status": "online"}
        return out

    @staticmethod
    def _time(query) -> dict:
        now = time.time()
        return {"unixtime": int(now), "rfc1123": time.strftime("%a, %d %b %y %H:%M:%S +0000", time.gmtime(now))}

    # --- replay ---------------------------------------------------------------------------
    def load_replay(self, path: str) -> ReplayData:
        """Read a recorded v2 session: every data frame (``book``, ``trade``, ``ticker``,
        ``ohlc``) becomes a frame of the stream the live server publishes it on, byte for
        byte; status, heartbeats and acks are dropped (the simulator sends its own).

        A book or ticker frame does not say which subscription it answers (depth, event
        trigger): that comes from the recorded connection's subscribe request (``send``
        records) or its ack, with the request's documented defaults. The market specs
        come from the header's ``markets`` (MarketSpec fields): pair_decimals and
        lot_decimals, the precisions every checksum is printed with, are not in the
        frames, so they cannot be synthesized exactly."""
        header: dict = {}
        markets: Optional[list] = None
        subs: dict[str, dict] = {}          # recorded conn -> {(channel, symbol): stream}
        frames: list[ReplayFrame] = []
        for rec in session_records(path):
            t = rec.get("t")
            if t == "header":
                header = rec
                if rec.get("markets"):
                    markets = [MarketSpec(**m) for m in rec["markets"]]
            elif t == "connect":
                url = urlsplit(rec["addr"])
                if url.hostname not in self.ws_hosts:
                    raise ValueError(f"recording uses an unknown Kraken host: {url.hostname}")
                if url.path.rstrip("/") != "/v2":
                    raise ValueError(
                        "the Kraken simulator serves WebSocket v2 only; this recording is v1 "
                        f"(array frames on {rec['addr']}); the recorded v1 sessions are checked "
                        "against the core directly (tests/test_checksum_sessions.py)")
            elif t == "send":
                req = orjson.loads(rec["data"])
                if not isinstance(req, dict):
                    continue
                params = req.get("params")
                if req.get("method") == "subscribe" and isinstance(params, dict):
                    for symbol in params.get("symbol") or ():
                        stream = self._subscribed_stream(params, symbol)
                        if stream is not None:
                            subs.setdefault(rec["conn"], {})[(params.get("channel"), symbol)] = stream
            elif t == "recv":
                text: str = rec["data"]
                msg = orjson.loads(text)
                if not isinstance(msg, dict):
                    continue
                if msg.get("method") == "subscribe" and msg.get("success"):
                    result = msg.get("result") or {}
                    if result.get("channel") == "book" and "depth" in result:
                        subs.setdefault(rec["conn"], {})[("book", result.get("symbol"))] = \
                            f"book.{result['depth']}:{result.get('symbol')}"
                    continue
                channel = msg.get("channel")
                data = msg.get("data")
                if channel not in ("book", "trade", "ticker", "ohlc") or not data:
                    continue        # status, heartbeat; an empty trade snapshot names no symbol
                symbol = data[0].get("symbol")
                if channel == "trade":
                    stream = f"trade:{symbol}"
                elif channel == "ohlc":
                    stream = f"ohlc.{data[0].get('interval')}:{symbol}"
                else:
                    stream = subs.get(rec["conn"], {}).get((channel, symbol))
                    if stream is None:
                        raise ValueError(f"a {channel} frame of {symbol} on {rec['conn']} without a "
                                         "recorded subscription (depth / event_trigger unknown)")
                frames.append(ReplayFrame(SPOT, stream, text.encode(), rec["ts"]))
        if markets is None:
            raise ValueError("the recording's header has no 'markets' (the pairs' pair_decimals / "
                             "lot_decimals, which the checksums are printed with)")
        frames.sort(key=lambda f: f.ts)        # stable: equal stamps keep file order
        return ReplayData(markets, frames, {}, {"header": header})

    @staticmethod
    def _subscribed_stream(params: dict, symbol: str) -> Optional[str]:
        """The stream a subscribe request's symbol is published on, defaults as
        :meth:`_subscription` applies them."""
        channel = params.get("channel")
        if channel == "book":
            return f"book.{params.get('depth', 10)}:{symbol}"
        if channel == "ticker":
            return f"ticker.{params.get('event_trigger', 'trades')}:{symbol}"
        if channel == "ohlc":
            return f"ohlc.{params.get('interval', 1)}:{symbol}"
        if channel == "trade":
            return f"trade:{symbol}"
        return None
