"""Binance spot, USD-M and COIN-M futures market-data protocol for the simulator.

Sources of every shape below (nothing is made up; where the simulator does not
model something it leaves it out rather than invent a value):

- Stream URLs, raw ``/ws/<stream>`` vs combined ``/stream?streams=`` framing
  (``{"stream":...,"data":...}``), SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS /
  SET_PROPERTY / GET_PROPERTY requests, their replies and the error messages:
  binance-spot-api-docs ``web-socket-streams.md`` "General WSS information" and
  "Live Subscribing/Unsubscribing to streams" (the USD-M pages are the same).
- Payloads: the same file's "Detailed Stream information" (depthUpdate, trade,
  aggTrade, kline, 24hrTicker, 24hrMiniTicker, bookTicker) and the USD-M
  "Diff. Book Depth Streams" payload (``T`` and ``pu``, see
  ``tests/data/reference/binance_local_order_book_rules.md``); the key order of USD-M
  bookTicker/depthUpdate follows the recorded frames in ``tests/data/sessions``.
  The spot trade stream's buyer/seller order ids (``b``/``a``) are omitted: the
  generator has no orders to take them from.
- REST: ``GET /api/v3/depth`` -> ``{"lastUpdateId","bids","asks"}``,
  ``GET /fapi/v1/depth`` -> ``{"lastUpdateId","E","T","bids","asks"}`` (docs and
  the recorded snapshots), ``exchangeInfo`` symbol entries as in the spot
  ``rest-api.md`` "Exchange information" and the USD-M "Exchange Information"
  examples (also quoted in ccxt's ``binance.py`` ``fetch_markets`` comments),
  error bodies ``{"code":-1121,"msg":"Invalid symbol."}`` from ``errors.md``.
- Which URLs/streams ccxt.pro uses: ``ccxt/pro/binance.py`` (raw ``/ws/<n>``
  connections with SUBSCRIBE; USD-M depth/bookTicker on ``/public/ws`` and
  klines/aggTrade/tickers on ``/market/ws``; the snapshot is requested when the
  subscription ack arrives).

- COIN-M (``dstream.binance.com`` / ``dapi.binance.com``, market kind ``inverse``):
  payloads as the USD-M ones plus the pair ``ps`` where Binance's COIN-M docs show it:
  depthUpdate ("Diff. Book Depth Streams", coin-margined-futures docs, and
  ``tests/data/reference/binance_local_order_book_rules.md``), aggTrade, bookTicker,
  kline, 24hrTicker and 24hrMiniTicker as in the COIN-M websocket-stream examples
  (mirrored in binance-connector-go's ``derivativestradingcoinfutures`` stream tests);
  ``GET /dapi/v1/depth`` -> ``{"lastUpdateId","symbol","pair","E","T","bids","asks"}``
  (COIN-M "Order Book" example); ``/dapi/v1/exchangeInfo`` symbol entries as the
  delivery example in ccxt's ``binance.py`` ``fetch_markets`` comment (``contractSize``,
  ``contractStatus``, ``marginAsset`` = base). Quantities are contracts; the base-asset
  volumes (``q`` of kline/tickers) are contracts x contractSize / VWAP, which is exact
  only when every trade had the same price (the generator keeps no per-trade base sum).

Simplifications: every diff-depth speed suffix (``@depth``, ``@depth@100ms``...)
carries the same events; klines are 1m only; the USD-M ``@trade`` stream has no
documented payload here, so only ``@aggTrade`` carries USD-M trades; connection
rate limits and the 24h disconnect are not enforced.
"""
from __future__ import annotations

import time
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

import orjson
from aiohttp import web

from .core import (MarketSpec, Protocol, ReplayData, ReplayFrame, decimals_of, fmt_units, register,
                   session_records, to_units)
from .generator import BookDiff, Candle, Stats, TopOfBook, Trade

SPOT, LINEAR, INVERSE = "spot", "linear", "inverse"

_METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")
_UNKNOWN_METHOD = ("Invalid request: unknown variant `{}`, expected one of `SUBSCRIBE`, `UNSUBSCRIBE`, "
                   "`LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY` at line 1 column 28")

# quote assets for splitting a recorded symbol id when the recording names no base/quote
_QUOTES = ("USDT", "FDUSD", "USDC", "BUSD", "TUSD", "BTC", "ETH", "BNB", "EUR", "TRY", "BRL",
           "GBP", "AUD", "DAI", "USD")


def _norm(stream: Any) -> str:
    """Stream names have a lowercase symbol; the channel keeps its case ('aggTrade')."""
    sym, at, rest = str(stream).partition("@")
    return sym.lower() + at + rest


def _fmt_round(units: int, scale: int, decimals: int) -> str:
    """Format with ``decimals`` decimals, truncating extra precision (exchange display)."""
    if decimals >= scale:
        return fmt_units(units, scale, decimals)
    return fmt_units(units // 10 ** (scale - decimals), decimals, decimals)


class _Fmt:
    """Number printing for one market: Binance spot prints 8 decimals everywhere;
    USD-M prints pricePrecision / quantityPrecision decimals (see the recordings)."""
    __slots__ = ("tick", "step", "ps", "qs", "pd", "qd", "lid", "cs")

    def __init__(self, spec: MarketSpec):
        self.tick, self.step = spec.tick_units, spec.step_units
        self.ps, self.qs = spec.price_scale, spec.qty_scale
        self.pd = spec.extra["price_decimals"]
        self.qd = spec.extra["qty_decimals"]
        self.lid = spec.id.lower()
        self.cs = spec.extra.get("contract_size")

    def base(self, lots: int, ticks_lots: int) -> str:
        """COIN-M base-asset volume of ``lots`` contracts worth ``ticks_lots`` (price x
        qty units): contracts x contractSize / VWAP, 8 decimals truncated."""
        if not lots or not ticks_lots:
            return "0.00000000"
        # (lots*step/10^qs)*cs / (ticks_lots*tick/(10^ps*lots)), in units of 1e-8
        num = lots * lots * self.step * self.cs * 10 ** self.ps * 10 ** 8
        den = ticks_lots * self.tick * 10 ** self.qs
        return fmt_units(num // den, 8, 8)

    def p(self, ticks: int) -> str:
        return fmt_units(ticks * self.tick, self.ps, self.pd)

    def q(self, lots: int) -> str:
        return fmt_units(lots * self.step, self.qs, self.qd)

    def quote(self, ticks_lots: int) -> str:
        # price x qty carries ps + qs decimals; spot prints 8, USD-M prints them all
        scale = self.ps + self.qs
        units = ticks_lots * self.tick * self.step
        return _fmt_round(units, scale, self.pd if self.pd == 8 else scale)


@register
class Binance(Protocol):
    name = "binance"
    number_format = _Fmt
    ws_hosts = {"stream.binance.com": SPOT, "fstream.binance.com": LINEAR, "dstream.binance.com": INVERSE}
    rest_hosts = {"api.binance.com": SPOT, "fapi.binance.com": LINEAR, "dapi.binance.com": INVERSE}
    # "The WebSocket server will send a ping frame every 20 seconds" (spot docs, 2024+)
    ws_ping_interval = 20.0

    def __init__(self, server):
        super().__init__(server)
        self._streams: dict[tuple[int, type], tuple[str, ...]] = {}

    # --- markets --------------------------------------------------------------------
    @staticmethod
    def default_markets() -> list[MarketSpec]:
        return [
            spot_market("BTCUSDT", "BTC", "USDT", tick="0.01", step="0.00001", price="30000"),
            spot_market("ETHUSDT", "ETH", "USDT", tick="0.01", step="0.0001", price="2000"),
            linear_market("BTCUSDT", "BTC", "USDT", tick="0.1", step="0.001", price="30000"),
            linear_market("ETHUSDT", "ETH", "USDT", tick="0.01", step="0.001", price="2000"),
        ]

    @staticmethod
    def coinm_markets() -> list[MarketSpec]:
        """COIN-M perpetuals, served when passed to the generator (``markets=
        Binance.default_markets() + Binance.coinm_markets()``); not in the defaults, so
        the seeded spot/USD-M sessions other tests pin stay what they were."""
        return [
            inverse_market("BTCUSD_PERP", "BTC", "USD", tick="0.1", step="1", price="30000", contract_size=100),
            inverse_market("ETHUSD_PERP", "ETH", "USD", tick="0.01", step="1", price="2000", contract_size=10),
        ]

    def _markets(self, kind: str) -> dict[str, MarketSpec]:
        return {m.id: m for m in self.server.source.markets if m.kind == kind}

    # --- websocket: routing and requests --------------------------------------------
    def ws_open(self, conn, path: str, query: str) -> bool:
        conn.kind = self.ws_hosts.get(conn.host, SPOT)
        if conn.kind == LINEAR:
            # USD-M splits streams over /public and /market (ccxt get_ws_url); both serve all here
            for prefix in ("/public", "/market"):
                if path.startswith(prefix + "/"):
                    path = path[len(prefix):]
        if path == "/ws" or path.startswith("/ws/"):
            conn.props["combined"] = False
            name = path[4:]
            if "@" in name:
                conn.subscribe([_norm(name)])
            return True
        if path in ("/stream", "/stream/"):
            conn.props["combined"] = True
            streams = parse_qs(query).get("streams", [""])[0]
            conn.subscribe([_norm(s) for s in streams.split("/") if s])
            return True
        return False

    def on_text(self, conn, text: str) -> None:
        try:
            req = orjson.loads(text)
        except orjson.JSONDecodeError as e:
            return self._reply(conn, {"code": 3, "msg": f"Invalid JSON: expected value at line 1 column {e.pos + 1}"})
        if not isinstance(req, dict) or "method" not in req:
            return self._reply(conn, {"code": 2, "msg": "Invalid request: missing field `method` at line 1 column 73"})
        rid = req.get("id")
        if not (rid is None or isinstance(rid, int) and not isinstance(rid, bool) and -2**63 <= rid < 2**63
                or isinstance(rid, str) and len(rid) <= 36 and rid.isalnum()):
            return self._reply(conn, {"code": 2, "msg": "Invalid request: request ID must be an unsigned integer"})
        method = req["method"]
        params = req.get("params") or []
        if method not in _METHODS:
            return self._reply(conn, {"code": 2, "msg": _UNKNOWN_METHOD.format(method), "id": rid})
        if method == "SUBSCRIBE":
            conn.subscribe([_norm(p) for p in params])
            return self._reply(conn, {"result": None, "id": rid})
        if method == "UNSUBSCRIBE":
            conn.unsubscribe([_norm(p) for p in params])
            return self._reply(conn, {"result": None, "id": rid})
        if method == "LIST_SUBSCRIPTIONS":
            return self._reply(conn, {"result": sorted(conn.streams), "id": rid})
        if not params or not isinstance(params[0], str):
            return self._reply(conn, {"code": 2, "msg": "Invalid request: property name must be a string"})
        if params[0] != "combined":
            return self._reply(conn, {"code": 0, "msg": "Unknown property", "id": rid})
        if method == "GET_PROPERTY":
            return self._reply(conn, {"result": conn.props.get("combined", False), "id": rid})
        if len(params) < 2 or not isinstance(params[1], bool):
            return self._reply(conn, {"code": 1, "msg": "Invalid value type: expected Boolean"})
        conn.props["combined"] = params[1]
        return self._reply(conn, {"result": None, "id": rid})

    @staticmethod
    def _reply(conn, msg: dict) -> None:
        conn.send_control(orjson.dumps(msg))

    def frame(self, conn, stream: str, data: bytes) -> bytes:
        if conn.props.get("combined"):
            return b'{"stream":"' + stream.encode() + b'","data":' + data + b"}"
        return data

    # --- websocket: generator events -> streams and payloads --------------------------
    def streams_for(self, event: Any) -> tuple[str, ...]:
        spec = event.market
        key = (id(spec), type(event))
        streams = self._streams.get(key)
        if streams is None:
            lid = spec.id.lower()
            linear = spec.kind != SPOT        # USD-M and COIN-M publish the same streams
            if isinstance(event, BookDiff):
                speeds = ("", "@100ms", "@250ms", "@500ms") if linear else ("", "@100ms", "@1000ms")
                streams = tuple(f"{lid}@depth{s}" for s in speeds)
            elif isinstance(event, Trade):
                streams = (f"{lid}@aggTrade",) if linear else (f"{lid}@trade", f"{lid}@aggTrade")
            elif isinstance(event, TopOfBook):
                streams = (f"{lid}@bookTicker", "!bookTicker") if linear else (f"{lid}@bookTicker",)
            elif isinstance(event, Candle):
                streams = (f"{lid}@kline_1m",)
            elif isinstance(event, Stats):
                streams = (f"{lid}@ticker", f"{lid}@miniTicker")
            else:
                streams = ()
            self._streams[key] = streams
        return streams

    def render(self, event: Any, stream: str) -> bytes:
        spec = event.market
        f = self.fmt(spec)
        linear = spec.kind == LINEAR
        if spec.kind == INVERSE:
            return orjson.dumps(self._render_inverse(event, stream, f))
        if isinstance(event, BookDiff):
            b = [[f.p(p), f.q(q)] for p, q in event.bids]
            a = [[f.p(p), f.q(q)] for p, q in event.asks]
            if linear:
                msg = {"e": "depthUpdate", "E": event.ts, "T": event.ts, "s": spec.id, "U": event.first_id,
                       "u": event.last_id, "pu": event.prev_id, "b": b, "a": a}
            else:
                msg = {"e": "depthUpdate", "E": event.ts, "s": spec.id, "U": event.first_id,
                       "u": event.last_id, "b": b, "a": a}
        elif isinstance(event, Trade):
            if stream.endswith("@aggTrade"):
                msg = {"e": "aggTrade", "E": event.ts, "s": spec.id, "a": event.id, "p": f.p(event.price),
                       "q": f.q(event.qty), "f": event.id, "l": event.id, "T": event.ts,
                       "m": event.buyer_is_maker}
                if not linear:
                    msg["M"] = True
            else:
                msg = {"e": "trade", "E": event.ts, "s": spec.id, "t": event.id, "p": f.p(event.price),
                       "q": f.q(event.qty), "T": event.ts, "m": event.buyer_is_maker, "M": True}
        elif isinstance(event, TopOfBook):
            if linear:
                msg = {"e": "bookTicker", "u": event.update_id, "s": spec.id, "b": f.p(event.bid),
                       "B": f.q(event.bid_qty), "a": f.p(event.ask), "A": f.q(event.ask_qty),
                       "T": event.ts, "E": event.ts}
            else:
                msg = {"u": event.update_id, "s": spec.id, "b": f.p(event.bid), "B": f.q(event.bid_qty),
                       "a": f.p(event.ask), "A": f.q(event.ask_qty)}
        elif isinstance(event, Candle):
            msg = {"e": "kline", "E": event.ts, "s": spec.id, "k": {
                "t": event.open_time, "T": event.open_time + event.interval_ms - 1, "s": spec.id, "i": "1m",
                "f": event.first_trade_id, "L": event.last_trade_id, "o": f.p(event.open),
                "c": f.p(event.close), "h": f.p(event.high), "l": f.p(event.low), "v": f.q(event.volume),
                "n": event.count, "x": event.closed, "q": f.quote(event.quote_volume),
                "V": f.q(event.taker_buy_volume), "Q": f.quote(event.taker_buy_quote), "B": "0"}}
        elif isinstance(event, Stats):
            msg = self._render_stats(event, f, linear, mini=stream.endswith("@miniTicker"))
        else:
            raise TypeError(f"no Binance rendering for {type(event).__name__}")
        return orjson.dumps(msg)

    def _render_inverse(self, event: Any, stream: str, f: _Fmt) -> dict:
        """COIN-M payloads (key order as in Binance's COIN-M examples, see the module
        docstring); ``ps`` is the pair, the id without its ``_PERP``/delivery suffix."""
        spec = event.market
        pair = spec.extra["pair"]
        if isinstance(event, BookDiff):
            return {"e": "depthUpdate", "E": event.ts, "T": event.ts, "s": spec.id, "ps": pair,
                    "U": event.first_id, "u": event.last_id, "pu": event.prev_id,
                    "b": [[f.p(p), f.q(q)] for p, q in event.bids],
                    "a": [[f.p(p), f.q(q)] for p, q in event.asks]}
        if isinstance(event, Trade):
            return {"e": "aggTrade", "E": event.ts, "a": event.id, "s": spec.id, "p": f.p(event.price),
                    "q": f.q(event.qty), "f": event.id, "l": event.id, "T": event.ts, "m": event.buyer_is_maker}
        if isinstance(event, TopOfBook):
            return {"e": "bookTicker", "u": event.update_id, "s": spec.id, "ps": pair, "b": f.p(event.bid),
                    "B": f.q(event.bid_qty), "a": f.p(event.ask), "A": f.q(event.ask_qty), "T": event.ts,
                    "E": event.ts}
        if isinstance(event, Candle):
            return {"e": "kline", "E": event.ts, "s": spec.id, "k": {
                "t": event.open_time, "T": event.open_time + event.interval_ms - 1, "s": spec.id, "i": "1m",
                "f": event.first_trade_id, "L": event.last_trade_id, "o": f.p(event.open),
                "c": f.p(event.close), "h": f.p(event.high), "l": f.p(event.low), "v": f.q(event.volume),
                "n": event.count, "x": event.closed, "q": f.base(event.volume, event.quote_volume),
                "V": f.q(event.taker_buy_volume), "Q": f.base(event.taker_buy_volume, event.taker_buy_quote),
                "B": "0"}}
        if isinstance(event, Stats):
            s = event
            if stream.endswith("@miniTicker"):
                return {"e": "24hrMiniTicker", "E": s.ts, "s": spec.id, "ps": pair, "c": f.p(s.last),
                        "o": f.p(s.open), "h": f.p(s.high), "l": f.p(s.low), "v": f.q(s.volume),
                        "q": f.base(s.volume, s.quote_volume)}
            change = s.last - s.open
            pct_milli = (abs(change) * 100_000 * 2 + s.open) // (2 * s.open) * (1 if change >= 0 else -1)
            vwap_units = (s.quote_volume * f.tick * 10 ** f.pd) // (s.volume * 10 ** f.ps) if s.volume else 0
            return {"e": "24hrTicker", "E": s.ts, "s": spec.id, "ps": pair, "p": f.p(change),
                    "P": fmt_units(pct_milli, 3, 3), "w": fmt_units(vwap_units, f.pd, f.pd), "c": f.p(s.last),
                    "Q": f.q(s.last_qty), "o": f.p(s.open), "h": f.p(s.high), "l": f.p(s.low),
                    "v": f.q(s.volume), "q": f.base(s.volume, s.quote_volume), "O": s.open_time, "C": s.ts,
                    "F": s.first_id, "L": s.last_id, "n": s.count}
        raise TypeError(f"no Binance COIN-M rendering for {type(event).__name__}")

    def _render_stats(self, s: Stats, f: _Fmt, linear: bool, mini: bool) -> dict:
        spec = s.market
        if mini:
            return {"e": "24hrMiniTicker", "E": s.ts, "s": spec.id, "c": f.p(s.last), "o": f.p(s.open),
                    "h": f.p(s.high), "l": f.p(s.low), "v": f.q(s.volume), "q": f.quote(s.quote_volume)}
        change = s.last - s.open
        # percent with 3 decimals, exact integer arithmetic (round half away from zero)
        pct_milli = (abs(change) * 100_000 * 2 + s.open) // (2 * s.open) * (1 if change >= 0 else -1)
        pct = fmt_units(pct_milli, 3, 3)
        # weighted average price in price decimals: quote_volume / volume
        vwap_units = (s.quote_volume * f.tick * 10 ** f.pd) // (s.volume * 10 ** f.ps) if s.volume else 0
        msg = {"e": "24hrTicker", "E": s.ts, "s": spec.id, "p": f.p(change), "P": pct,
               "w": fmt_units(vwap_units, f.pd, f.pd)}
        if not linear:
            msg["x"] = f.p(s.prev_close)
        msg.update({"c": f.p(s.last), "Q": f.q(s.last_qty)})
        if not linear:
            msg.update({"b": f.p(s.bid), "B": f.q(s.bid_qty), "a": f.p(s.ask), "A": f.q(s.ask_qty)})
        msg.update({"o": f.p(s.open), "h": f.p(s.high), "l": f.p(s.low), "v": f.q(s.volume),
                    "q": f.quote(s.quote_volume), "O": s.open_time, "C": s.ts, "F": s.first_id,
                    "L": s.last_id, "n": s.count})
        return msg

    def corrupt(self, stream: str, data: bytes, rng) -> bytes:
        """Keep the frame well-formed but change one quantity (depth level, bookTicker
        bid size, trade size) so a client's state silently diverges."""
        msg = orjson.loads(data)
        wrapped = isinstance(msg, dict) and "stream" in msg and "data" in msg
        body = msg["data"] if wrapped else msg

        def bump(q: str) -> str:
            d = decimals_of(q)
            return fmt_units(to_units(q, d) * 2 + 1, d, len(q.split(".", 1)[1]) if "." in q else 0)

        if body.get("e") == "depthUpdate":
            sides = [k for k in ("b", "a") if body.get(k)]
            if sides:
                levels = body[rng.choice(sides)]
                lvl = levels[rng.randrange(len(levels))]
                lvl[1] = bump(lvl[1])
        elif "B" in body and "b" in body:
            body["B"] = bump(body["B"])
        elif "q" in body:
            body["q"] = bump(body["q"])
        else:
            return data[: len(data) // 2]
        return orjson.dumps(msg)

    # --- REST ---------------------------------------------------------------------------
    def rest_routes(self):
        routes = []
        for host, kind in self.rest_hosts.items():
            base = {SPOT: "/api/v3", LINEAR: "/fapi/v1", INVERSE: "/dapi/v1"}[kind]
            for prefix in (f"/{host}{base}", base):
                routes += [
                    ("GET", f"{prefix}/exchangeInfo", self._handler(self._exchange_info, kind)),
                    ("GET", f"{prefix}/depth", self._handler(self._depth, kind)),
                    ("GET", f"{prefix}/ping", self._handler(lambda kind, q: (200, {}), kind)),
                    ("GET", f"{prefix}/time", self._handler(
                        lambda kind, q: (200, {"serverTime": int(time.time() * 1000)}), kind)),
                ]
        return routes

    @staticmethod
    def _handler(fn, kind: str):
        async def handle(request: web.Request) -> web.Response:
            status, body = fn(kind, request.query)
            if not isinstance(body, (bytes, str)):
                body = orjson.dumps(body)
            return web.Response(status=status, body=body, content_type="application/json")
        return handle

    def _depth(self, kind: str, query) -> tuple[int, Any]:
        sym = query.get("symbol")
        if not sym:
            return 400, {"code": -1102, "msg": "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."}
        spec = self._markets(kind).get(sym.upper())
        if spec is None:
            return 400, {"code": -1121, "msg": "Invalid symbol."}
        # spot: default 100, max 5000; USD-M / COIN-M: default 500, max 1000
        limit = int(query.get("limit", 100 if kind == SPOT else 500))
        limit = max(1, min(limit, 5000 if kind == SPOT else 1000))
        source = self.server.source
        if hasattr(source, "snapshot"):
            recorded = source.snapshot(kind, spec.id)
            if recorded is None:
                return 400, {"code": -1121, "msg": "Invalid symbol."}
            body = orjson.loads(recorded)
            if len(body["bids"]) <= limit and len(body["asks"]) <= limit:
                return 200, recorded        # served verbatim
            body["bids"], body["asks"] = body["bids"][:limit], body["asks"][:limit]
            return 200, body
        st = source.market(kind, spec.id)
        f = self.fmt(spec)
        book = st.book(limit)
        bids = [[f.p(p), f.q(q)] for p, q in book["bids"]]
        asks = [[f.p(p), f.q(q)] for p, q in book["asks"]]
        if kind == LINEAR:
            return 200, {"lastUpdateId": book["nonce"], "E": source.clock, "T": source.clock,
                         "bids": bids, "asks": asks}
        if kind == INVERSE:
            return 200, {"lastUpdateId": book["nonce"], "symbol": spec.id, "pair": spec.extra["pair"],
                         "E": source.clock, "T": source.clock, "bids": bids, "asks": asks}
        return 200, {"lastUpdateId": book["nonce"], "bids": bids, "asks": asks}

    def _exchange_info(self, kind: str, query) -> tuple[int, Any]:
        now = int(time.time() * 1000)
        specs = list(self._markets(kind).values())
        if kind == SPOT:
            return 200, {
                "timezone": "UTC", "serverTime": now,
                "rateLimits": [
                    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
                    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
                    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
                    {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000}],
                "exchangeFilters": [],
                "symbols": [_spot_symbol(m) for m in specs]}
        if kind == INVERSE:
            return 200, {
                "timezone": "UTC", "serverTime": now,
                "rateLimits": [
                    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
                    {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 6000}],
                "exchangeFilters": [],
                "symbols": [_inverse_symbol(m) for m in specs]}
        return 200, {
            "timezone": "UTC", "serverTime": now, "futuresType": "U_MARGINED",
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
                {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300}],
            "exchangeFilters": [],
            "assets": [{"asset": a, "marginAvailable": True, "autoAssetExchange": "-10000"}
                       for a in sorted({m.settle or m.quote for m in specs})],
            "symbols": [_linear_symbol(m) for m in specs]}

    # --- attach -------------------------------------------------------------------------
    def exchange_options(self, exchange) -> dict:
        """Keep ``load_markets`` to the market types this protocol serves."""
        current = exchange.options.get("fetchMarkets")
        types = current.get("types") if isinstance(current, dict) else current
        served = [t for t in (types or [SPOT, LINEAR]) if t in (SPOT, LINEAR, INVERSE)]
        if not served:
            return {}
        if isinstance(current, dict):
            return {"fetchMarkets": dict(current, types=served)}
        return {"fetchMarkets": {"types": served}}

    # --- replay -------------------------------------------------------------------------
    def load_replay(self, path: str) -> ReplayData:
        """Read a recorded Binance session (combined-stream frames + REST snapshots).

        Frames are re-framed for ccxt's raw ``/ws`` subscriptions by cutting the
        recorded ``data`` member out of the combined wrapper byte for byte.
        """
        header: dict = {}
        conn_kind: dict[str, str] = {}
        snapshots: dict[tuple[str, str], str] = {}
        frames: list[ReplayFrame] = []
        for rec in session_records(path):
            t = rec.get("t")
            if t == "header":
                header = rec
            elif t == "connect":
                conn_kind[rec["conn"]] = self._kind_of_url(rec["addr"], self.ws_hosts)
            elif t == "http":
                url = urlsplit(rec["url"])
                kind = self._kind_of_url(rec["url"], self.rest_hosts)
                if url.path.endswith("/depth"):
                    sym = parse_qs(url.query)["symbol"][0].upper()
                    snapshots[(kind, sym)] = rec["data"]
            elif t == "recv":
                frame = self._replay_frame(rec, conn_kind)
                if frame is not None:
                    frames.append(frame)
        frames.sort(key=lambda f: f.ts)        # stable: equal stamps keep file order
        markets = self._replay_markets(header, snapshots, frames)
        return ReplayData(markets, frames, snapshots, {"header": header})

    @staticmethod
    def _kind_of_url(url: str, hosts: dict) -> str:
        host = urlsplit(url).hostname or ""
        if host not in hosts:
            raise ValueError(f"recording uses an unknown Binance host: {host}")
        return hosts[host]

    @staticmethod
    def _replay_frame(rec: dict, conn_kind: dict) -> Optional[ReplayFrame]:
        text: str = rec["data"]
        msg = orjson.loads(text)
        if not isinstance(msg, dict) or "stream" not in msg or "data" not in msg:
            if isinstance(msg, dict) and "result" in msg:
                return None     # a subscription ack, not market data
            raise ValueError("only combined-stream recordings carry the stream name of each frame")
        start = text.index('"data":') + len('"data":')
        payload = text[start:text.rindex("}")].encode()
        if orjson.loads(payload) != msg["data"]:
            payload = orjson.dumps(msg["data"])      # unusual layout: fall back to re-encoding
        data = msg["data"]
        meta = (data.get("U"), data.get("u"), data.get("pu")) if data.get("e") == "depthUpdate" else None
        return ReplayFrame(conn_kind[rec["conn"]], _norm(msg["stream"]), payload, rec["ts"], meta)

    def _replay_markets(self, header: dict, snapshots: dict, frames: list) -> list[MarketSpec]:
        # base/quote from the recorder's own symbol list ('NKN-USDT', 'SUSHI-USDT-PERP')
        names: dict[str, tuple[str, str]] = {}
        for syms in (header.get("config") or {}).values():
            for s in syms if isinstance(syms, list) else []:
                parts = s.split("-")
                if len(parts) >= 2:
                    names[parts[0] + parts[1]] = (parts[0], parts[1])
        prices: dict[tuple[str, str], list[str]] = {}
        qtys: dict[tuple[str, str], list[str]] = {}
        for (kind, sym), body in snapshots.items():
            b = orjson.loads(body)
            for side in ("bids", "asks"):
                prices.setdefault((kind, sym), []).extend(p for p, _ in b[side])
                qtys.setdefault((kind, sym), []).extend(q for _, q in b[side])
        for f in frames:
            d = orjson.loads(f.payload)
            if not isinstance(d, dict) or "s" not in d:
                continue
            key = (f.kind, d["s"])
            if d.get("e") == "depthUpdate":
                for side in ("b", "a"):
                    prices.setdefault(key, []).extend(p for p, _ in d[side])
                    qtys.setdefault(key, []).extend(q for _, q in d[side])
            elif "B" in d and "b" in d:
                prices.setdefault(key, []).extend((d["b"], d["a"]))
                qtys.setdefault(key, []).extend(q for q in (d["B"], d["A"]) if to_units(q, decimals_of(q)))
        markets = []
        for (kind, sym), ps in sorted(prices.items()):
            base, quote = names.get(sym) or _split_symbol(sym)
            # the tick is the finest decimal any recorded price uses; prices print with the
            # recorded number of decimals (8 on spot, pricePrecision on USD-M)
            tick = _pow10(max(decimals_of(p) for p in ps))
            qs = [q for q in qtys.get((kind, sym), []) if q] or ["1"]
            step = _pow10(max(decimals_of(q) for q in qs))
            pd = max(len(p.split(".", 1)[1]) if "." in p else 0 for p in ps)
            qd = max(len(q.split(".", 1)[1]) if "." in q else 0 for q in qs)
            maker = spot_market if kind == SPOT else linear_market
            markets.append(maker(sym, base, quote, tick=tick, step=step, price=ps[0],
                                 price_decimals=pd, qty_decimals=qd))
        return markets


# --- market specs and exchangeInfo entries -----------------------------------------------

def _pow10(decimals: int) -> str:
    return "1" if decimals == 0 else "0." + "0" * (decimals - 1) + "1"


def _split_symbol(sym: str) -> tuple[str, str]:
    for q in _QUOTES:
        if sym.endswith(q) and len(sym) > len(q):
            return sym[: -len(q)], q
    raise ValueError(f"cannot split {sym!r} into base and quote")


def spot_market(id: str, base: str, quote: str, *, tick: str, step: str, price: str,
                price_decimals: int = 8, qty_decimals: int = 8) -> MarketSpec:
    """A spot market; Binance spot prints prices and quantities with 8 decimals."""
    return MarketSpec(id, SPOT, base, quote, tick, step, price=price,
                      extra={"price_decimals": price_decimals, "qty_decimals": qty_decimals})


def linear_market(id: str, base: str, quote: str, *, tick: str, step: str, price: str,
                  price_decimals: Optional[int] = None, qty_decimals: Optional[int] = None) -> MarketSpec:
    """A USD-M perpetual settled in the quote asset."""
    return MarketSpec(id, LINEAR, base, quote, tick, step, settle=quote, price=price, extra={
        "price_decimals": decimals_of(tick) if price_decimals is None else price_decimals,
        "qty_decimals": decimals_of(step) if qty_decimals is None else qty_decimals})


def inverse_market(id: str, base: str, quote: str, *, tick: str, step: str, price: str,
                   contract_size: int) -> MarketSpec:
    """A COIN-M contract settled in the base asset; ``step`` counts contracts."""
    return MarketSpec(id, INVERSE, base, quote, tick, step, settle=base, price=price, extra={
        "price_decimals": decimals_of(tick), "qty_decimals": decimals_of(step),
        "contract_size": contract_size, "pair": id.split("_")[0]})


def _inverse_symbol(m: MarketSpec) -> dict:
    return {
        "symbol": m.id, "pair": m.extra["pair"], "contractType": "PERPETUAL", "deliveryDate": 4133404800000,
        "onboardDate": 1596006000000, "contractStatus": "TRADING", "contractSize": m.extra["contract_size"],
        "marginAsset": m.settle or m.base, "maintMarginPercent": "2.5000", "requiredMarginPercent": "5.0000",
        "baseAsset": m.base, "quoteAsset": m.quote, "pricePrecision": m.extra["price_decimals"],
        "quantityPrecision": m.extra["qty_decimals"], "baseAssetPrecision": 8, "quotePrecision": 8,
        "equalQtyPrecision": 4,
        "filters": [
            {"minPrice": m.tick, "maxPrice": "100000", "filterType": "PRICE_FILTER", "tickSize": m.tick},
            {"stepSize": m.step, "filterType": "LOT_SIZE", "maxQty": "100000", "minQty": m.step},
            {"stepSize": m.step, "filterType": "MARKET_LOT_SIZE", "maxQty": "100000", "minQty": m.step},
            {"limit": 200, "filterType": "MAX_NUM_ORDERS"},
            {"multiplierDown": "0.8500", "multiplierUp": "1.1500", "multiplierDecimal": "4",
             "filterType": "PERCENT_PRICE"},
        ],
        "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET",
                       "TRAILING_STOP_MARKET"],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
    }


def _spot_symbol(m: MarketSpec) -> dict:
    tick8 = fmt_units(to_units(m.tick, m.price_scale), m.price_scale, max(8, m.price_scale))
    step8 = fmt_units(to_units(m.step, m.qty_scale), m.qty_scale, max(8, m.qty_scale))
    return {
        "symbol": m.id, "status": "TRADING", "baseAsset": m.base, "baseAssetPrecision": 8,
        "quoteAsset": m.quote, "quotePrecision": 8, "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True, "ocoAllowed": True, "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True, "allowTrailingStop": True, "cancelReplaceAllowed": True,
        "isSpotTradingAllowed": True, "isMarginTradingAllowed": False,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": tick8, "maxPrice": "1000000.00000000", "tickSize": tick8},
            {"filterType": "LOT_SIZE", "minQty": step8, "maxQty": "9000000.00000000", "stepSize": step8},
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
        ],
        "permissions": [], "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def _linear_symbol(m: MarketSpec) -> dict:
    return {
        "symbol": m.id, "pair": m.id, "contractType": "PERPETUAL", "deliveryDate": 4133404800000,
        "onboardDate": 1569398400000, "status": "TRADING", "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000", "baseAsset": m.base, "quoteAsset": m.quote,
        "marginAsset": m.settle or m.quote, "pricePrecision": m.extra["price_decimals"],
        "quantityPrecision": m.extra["qty_decimals"], "baseAssetPrecision": 8, "quotePrecision": 8,
        "underlyingType": "COIN", "underlyingSubType": [], "settlePlan": 0, "triggerProtect": "0.0500",
        "liquidationFee": "0.012500", "marketTakeBound": "0.05",
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": m.tick, "maxPrice": "1000000", "tickSize": m.tick},
            {"filterType": "LOT_SIZE", "minQty": m.step, "maxQty": "1000000", "stepSize": m.step},
            {"filterType": "MARKET_LOT_SIZE", "minQty": m.step, "maxQty": "1000000", "stepSize": m.step},
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
            {"filterType": "MIN_NOTIONAL", "notional": "5"},
            {"filterType": "PERCENT_PRICE", "multiplierUp": "1.0500", "multiplierDown": "0.9500",
             "multiplierDecimal": "4"},
        ],
        "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET",
                       "TRAILING_STOP_MARKET"],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
    }
