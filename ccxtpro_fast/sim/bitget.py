"""Bitget v2 public market-data protocol (spot and USDT-M futures) for the simulator.

Sources of every shape below (where the simulator does not model something it leaves
it out rather than invent a value):

- Connection, ping/pong: Bitget API docs "Websocket API" (api-doc/common/websocket-intro):
  one public endpoint ``wss://ws.bitget.com/v2/ws/public`` for spot and futures; the
  client sends the text ``ping`` and gets the text ``pong``.
- Requests and replies: ``{"op":"subscribe"|"unsubscribe","args":[{"instType","channel",
  "instId"}]}``; one ``{"event":"subscribe","arg":{...}}`` per arg (docs "Depth Channel"
  request/response examples; the same in JKorf/Bitget.Net's recorded subscription
  fixtures), ``{"event":"unsubscribe","arg":{...}}`` and the error reply
  ``{"event":"error","code":30001,"msg":"instType:...,channel:...,instId:... doesn't exist"}``
  (both quoted in ccxt's ``pro/bitget.py``; codes from its ``exceptions.ws`` table).
- ``books``: docs "Depth Channel" / "Order Book Channel": the first push after subscribing
  is the whole book (``action: snapshot``), then ``action: update`` with changed levels,
  size "0" deletes; ``checksum`` = signed CRC32 of the top 25 ``bid:ask`` interleaved
  with the original strings; ``seq`` increases with every update. Data keys
  ``asks, bids, checksum, seq, ts`` (ccxt's sample and the docs' push example); prices
  and sizes keep the market's fixed decimals and a deleted level's size is ``"0"`` (the
  recorded Bitget session ``tests/data/sessions/bitget_v1_books_checksum.jsonl``).
  ``books1/5/15``: a snapshot of the top N on every push, ``checksum: 0`` (JKorf fixtures).
- ``trade``: ``data: [{"ts","price","size","side","tradeId"}]`` (ccxt's sample, docs
  "Trades Channel"), ``ticker``: the spot / futures ``data[0]`` keys of ccxt's samples,
  ``candle1m``: ``data: [[start, open, high, low, close, baseVol, quoteVol, usdtVol]]``.
- REST for ``load_markets``: ``GET /api/v2/spot/public/symbols``,
  ``/api/v2/mix/market/contracts?productType=``, ``/api/v2/margin/currencies``,
  ``/api/v2/spot/public/coins`` in the ``{"code":"00000","msg":"success",
  "requestTime","data"}`` envelope; entries as in ccxt's ``bitget.py`` fetch_markets /
  fetch_currencies comments.

Simplifications: trades and candles have no initial history push (every push is an
``update``); tickers are pushed with the generator's 24h statistics (futures-only
funding/mark/index fields and the UTC-open fields are not modelled, so absent); a
subscribe to a channel already subscribed is acknowledged and, for ``books``, answered
with a fresh snapshot; rate limits and the 24h disconnect are not enforced.

Replay: the recorded session is Bitget's legacy v1 API (``/spot/v1/stream``,
``/mix/v1/stream``, instType ``sp``/``mc``) whose ``books`` messages have the v2 shape
without ``seq``. It is served on the v2 path with the ``arg.instType`` renamed to the v2
name (``sp`` -> ``SPOT``, ``mc`` -> ``USDT-FUTURES``); the ``data`` member is sent byte
for byte as recorded.
"""
from __future__ import annotations

import time
import zlib
from typing import Any, Optional

import orjson
from aiohttp import web

from .core import (MarketSpec, Protocol, ReplayData, ReplayFrame, decimals_of, fmt_units, register,
                   session_records, to_units)
from .generator import BookDiff, Candle, Stats, Trade

SPOT, LINEAR = "spot", "linear"
PUBLIC = "public"                       # the one connection kind: /v2/ws/public
INST_TYPE = {SPOT: "SPOT", LINEAR: "USDT-FUTURES"}
KIND_OF_INST = {v: k for k, v in INST_TYPE.items()}
V1_INST_TYPE = {"sp": "SPOT", "mc": "USDT-FUTURES"}
FIXED_DEPTH = {"books1": 1, "books5": 5, "books15": 15}
CHECKSUM_DEPTH = 25
PRODUCT_TYPES = ("USDT-FUTURES", "COIN-FUTURES", "USDC-FUTURES", "SUSDT-FUTURES", "SCOIN-FUTURES", "SUSDC-FUTURES")


def stream_name(inst_type: str, channel: str, inst_id: str) -> str:
    """'SPOT:books:BTCUSDT' (fault patterns: '*:books:*', 'SPOT:books:ETHUSDT')."""
    return f"{inst_type}:{channel}:{inst_id}"


def checksum_of(bids: list, asks: list) -> int:
    """Bitget's book checksum from wire strings: the top 25 bid:ask interleaved, signed CRC32."""
    parts = []
    for i in range(min(CHECKSUM_DEPTH, max(len(bids), len(asks)))):
        if i < len(bids):
            parts += bids[i]
        if i < len(asks):
            parts += asks[i]
    crc = zlib.crc32(":".join(parts).encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


class _Fmt:
    """Number printing for one market: fixed price / size decimals, as Bitget prints them."""
    __slots__ = ("tick", "step", "ps", "qs")

    def __init__(self, spec: MarketSpec):
        self.tick, self.step = spec.tick_units, spec.step_units
        self.ps, self.qs = spec.price_scale, spec.qty_scale

    def p(self, ticks: int) -> str:
        return fmt_units(ticks * self.tick, self.ps, self.ps)

    def q(self, lots: int) -> str:
        return fmt_units(lots * self.step, self.qs, self.qs)

    def level_q(self, lots: int) -> str:
        return self.q(lots) if lots else "0"        # a deletion prints "0" (recording)

    def quote(self, ticks_lots: int) -> str:
        scale = self.ps + self.qs
        return fmt_units(ticks_lots * self.tick * self.step, scale, scale)


def _ratio(num: int, den: int, decimals: int) -> str:
    """num/den with ``decimals`` decimals, rounded half away from zero, exact."""
    if not den:
        return fmt_units(0, decimals, decimals)
    scaled = (abs(num) * 10 ** decimals * 2 + den) // (2 * den)
    return fmt_units(scaled if num >= 0 else -scaled, decimals, decimals)


@register
class Bitget(Protocol):
    name = "bitget"
    number_format = _Fmt
    ws_hosts = {"ws.bitget.com": PUBLIC}
    rest_hosts = {"api.bitget.com": "rest"}
    ws_kind_of = {SPOT: PUBLIC, LINEAR: PUBLIC}
    # Bitget never pings: the client pings with the text "ping" (docs)
    ws_ping_interval = None

    def __init__(self, server):
        super().__init__(server)
        self._streams: dict[tuple[int, type], tuple[str, ...]] = {}

    # --- markets --------------------------------------------------------------------
    @staticmethod
    def default_markets() -> list[MarketSpec]:
        return [
            market(SPOT, "BTCUSDT", "BTC", "USDT", tick="0.01", step="0.000001", price="30000"),
            market(SPOT, "ETHUSDT", "ETH", "USDT", tick="0.01", step="0.0001", price="2000"),
            market(LINEAR, "BTCUSDT", "BTC", "USDT", tick="0.1", step="0.0001", price="30000"),
            market(LINEAR, "ETHUSDT", "ETH", "USDT", tick="0.01", step="0.01", price="2000"),
        ]

    def _spec(self, inst_type: str, inst_id: str) -> Optional[MarketSpec]:
        return self.market_spec(KIND_OF_INST.get(inst_type), inst_id)

    # --- websocket: requests --------------------------------------------------------
    def ws_open(self, conn, path: str, query: str) -> bool:
        if path.rstrip("/") != "/v2/ws/public":
            return False            # private and v3 (UTA) endpoints are not served
        conn.kind = PUBLIC
        return True

    def on_text(self, conn, text: str) -> None:
        if text == "ping":
            return conn.send_control(b"pong")
        try:
            req = orjson.loads(text)
        except orjson.JSONDecodeError:
            return self._reply(conn, {"event": "error", "code": 30002, "msg": "illegal request"})
        op = req.get("op") if isinstance(req, dict) else None
        if op not in ("subscribe", "unsubscribe"):
            return self._reply(conn, {"event": "error", "code": 30003, "msg": "invalid op"})
        args = req.get("args")
        if not isinstance(args, list) or not args:
            return self._reply(conn, {"event": "error", "code": 30016, "msg": "Param error"})
        for arg in args:
            self._one(conn, op, arg)

    def _one(self, conn, op: str, arg: Any) -> None:
        if not isinstance(arg, dict):
            return self._reply(conn, {"event": "error", "code": 30016, "msg": "Param error"})
        inst_type, channel, inst_id = arg.get("instType"), arg.get("channel"), arg.get("instId")
        spec = self._spec(inst_type, inst_id) if isinstance(inst_type, str) and isinstance(inst_id, str) else None
        if spec is None or not self._known_channel(channel):
            return self._reply(conn, {"event": "error", "code": 30001,
                                      "msg": f"instType:{inst_type},channel:{channel},instId:{inst_id} doesn't exist"})
        reply_arg = {"instType": inst_type, "channel": channel, "instId": inst_id}
        stream = stream_name(inst_type, channel, inst_id)
        if op == "unsubscribe":
            conn.unsubscribe([stream])
            return self._reply(conn, {"event": "unsubscribe", "arg": reply_arg})
        self._reply(conn, {"event": "subscribe", "arg": reply_arg})
        conn.subscribe([stream])
        if channel == "books" and hasattr(self.server.source, "market"):
            # the first push of 'books' is the whole book (a replay sends its recorded one)
            conn.send_stream(stream, self._book_snapshot(spec, inst_type))

    @staticmethod
    def _known_channel(channel: Any) -> bool:
        return channel in ("books", "trade", "ticker", "candle1m") or channel in FIXED_DEPTH

    @staticmethod
    def _reply(conn, msg: dict) -> None:
        conn.send_control(orjson.dumps(msg))

    # --- websocket: generator events -> streams and payloads --------------------------
    def streams_for(self, event: Any) -> tuple[str, ...]:
        spec = event.market
        key = (id(spec), type(event))
        streams = self._streams.get(key)
        if streams is None:
            t = INST_TYPE[spec.kind]
            if isinstance(event, BookDiff):
                streams = tuple(stream_name(t, c, spec.id) for c in ("books", *FIXED_DEPTH))
            elif isinstance(event, Trade):
                streams = (stream_name(t, "trade", spec.id),)
            elif isinstance(event, Stats):
                streams = (stream_name(t, "ticker", spec.id),)
            elif isinstance(event, Candle):
                streams = (stream_name(t, "candle1m", spec.id),)
            else:
                streams = ()
            self._streams[key] = streams
        return streams

    @staticmethod
    def _message(action: str, inst_type: str, channel: str, inst_id: str, data: list, ts: int) -> bytes:
        return orjson.dumps({"action": action, "arg": {"instType": inst_type, "channel": channel, "instId": inst_id},
                             "data": data, "ts": ts})

    def _top(self, spec: MarketSpec, depth: Optional[int]) -> tuple[list, list, int]:
        st = self.server.source.market(spec.kind, spec.id)
        f = self.fmt(spec)
        book = st.book(depth)
        return ([[f.p(p), f.q(q)] for p, q in book["bids"]],
                [[f.p(p), f.q(q)] for p, q in book["asks"]], book["nonce"])

    def _book_snapshot(self, spec: MarketSpec, inst_type: str) -> bytes:
        bids, asks, nonce = self._top(spec, None)
        now = self.server.source.clock
        return self._message("snapshot", inst_type, "books", spec.id, [{
            "asks": asks, "bids": bids, "checksum": checksum_of(bids, asks), "seq": nonce, "ts": str(now)}], now)

    def render(self, event: Any, stream: str) -> bytes:
        spec = event.market
        f = self.fmt(spec)
        t = INST_TYPE[spec.kind]
        if isinstance(event, BookDiff):
            channel = stream.split(":", 2)[1]
            if channel in FIXED_DEPTH:
                bids, asks, _ = self._top(spec, FIXED_DEPTH[channel])
                return self._message("snapshot", t, channel, spec.id, [
                    {"asks": asks, "bids": bids, "checksum": 0, "ts": str(event.ts)}], event.ts)
            # the checksum is over the book after this update: the generator's state now
            top_b, top_a, _ = self._top(spec, CHECKSUM_DEPTH)
            asks = [[f.p(p), f.level_q(q)] for p, q in sorted(event.asks)]
            bids = [[f.p(p), f.level_q(q)] for p, q in sorted(event.bids, reverse=True)]
            return self._message("update", t, "books", spec.id, [{
                "asks": asks, "bids": bids, "checksum": checksum_of(top_b, top_a), "seq": event.last_id,
                "ts": str(event.ts)}], event.ts)
        if isinstance(event, Trade):
            return self._message("update", t, "trade", spec.id, [{
                "ts": str(event.ts), "price": f.p(event.price), "size": f.q(event.qty),
                "side": "sell" if event.buyer_is_maker else "buy", "tradeId": str(event.id)}], event.ts)
        if isinstance(event, Stats):
            return self._message("snapshot", t, "ticker", spec.id, [self._ticker(event, f, spec)], event.ts)
        if isinstance(event, Candle):
            quote = f.quote(event.quote_volume)
            return self._message("update", t, "candle1m", spec.id, [[
                str(event.open_time), f.p(event.open), f.p(event.high), f.p(event.low), f.p(event.close),
                f.q(event.volume), quote, quote]], event.ts)
        raise TypeError(f"no Bitget rendering for {type(event).__name__}")

    @staticmethod
    def _ticker(s: Stats, f: _Fmt, spec: MarketSpec) -> dict:
        change = _ratio(s.last - s.open, s.open, 5)      # "0.03879": a ratio, 5 decimals
        if spec.kind == SPOT:
            return {"instId": spec.id, "lastPr": f.p(s.last), "open24h": f.p(s.open), "high24h": f.p(s.high),
                    "low24h": f.p(s.low), "change24h": change, "bidPr": f.p(s.bid), "askPr": f.p(s.ask),
                    "bidSz": f.q(s.bid_qty), "askSz": f.q(s.ask_qty), "baseVolume": f.q(s.volume),
                    "quoteVolume": f.quote(s.quote_volume), "ts": str(s.ts)}
        return {"instId": spec.id, "lastPr": f.p(s.last), "bidPr": f.p(s.bid), "askPr": f.p(s.ask),
                "bidSz": f.q(s.bid_qty), "askSz": f.q(s.ask_qty), "open24h": f.p(s.open), "high24h": f.p(s.high),
                "low24h": f.p(s.low), "change24h": change, "baseVolume": f.q(s.volume),
                "quoteVolume": f.quote(s.quote_volume), "symbol": spec.id, "ts": str(s.ts)}

    def corrupt(self, stream: str, data: bytes, rng) -> bytes:
        """Keep the frame well-formed but change one size: in a book message the level
        nearest the top of the book (a change beyond the checksum's 25 levels is invisible
        to any client by the protocol's design), else the trade size / best bid size /
        candle volume."""
        msg = orjson.loads(data)
        body = msg["data"][0]

        def bump(q: str) -> str:
            d = decimals_of(q)
            return fmt_units(to_units(q, d) * 2 + 1, d, len(q.split(".", 1)[1]) if "." in q else 0)

        if isinstance(body, dict) and ("asks" in body or "bids" in body):
            best = []
            if body.get("bids"):
                best.append((0, body["bids"][0]))       # bids are sent best first
            if body.get("asks"):
                best.append((1, body["asks"][0]))
            if not best:
                return data[: len(data) // 2]
            lvl = best[rng.randrange(len(best))][1]
            lvl[1] = bump(lvl[1])
        elif isinstance(body, dict) and "size" in body:
            body["size"] = bump(body["size"])
        elif isinstance(body, dict) and "bidSz" in body:
            body["bidSz"] = bump(body["bidSz"])
        elif isinstance(body, list):
            body[5] = bump(body[5])
        else:
            return data[: len(data) // 2]
        return orjson.dumps(msg)

    # --- REST ---------------------------------------------------------------------------
    def rest_routes(self):
        routes = []
        for prefix in ("/api.bitget.com/api/v2", "/api/v2"):
            routes += [
                ("GET", f"{prefix}/spot/public/symbols", self._handler(self._spot_symbols)),
                ("GET", f"{prefix}/mix/market/contracts", self._handler(self._contracts)),
                ("GET", f"{prefix}/margin/currencies", self._handler(lambda q: [])),
                ("GET", f"{prefix}/spot/public/coins", self._handler(self._coins)),
                ("GET", f"{prefix}/public/time", self._handler(
                    lambda q: {"serverTime": str(int(time.time() * 1000))})),
            ]
        return routes

    @staticmethod
    def _handler(fn):
        async def handle(request: web.Request) -> web.Response:
            body = {"code": "00000", "msg": "success", "requestTime": int(time.time() * 1000),
                    "data": fn(request.query)}
            return web.Response(body=orjson.dumps(body), content_type="application/json")
        return handle

    def _specs(self, kind: str) -> list[MarketSpec]:
        return [m for m in self.server.source.markets if m.kind == kind]

    def _spot_symbols(self, query) -> list:
        return [{"symbol": m.id, "baseCoin": m.base, "quoteCoin": m.quote, "minTradeAmount": "0",
                 "maxTradeAmount": "10000000000", "takerFeeRate": "0.001", "makerFeeRate": "0.001",
                 "pricePrecision": str(m.price_scale), "quantityPrecision": str(m.qty_scale),
                 "quotePrecision": str(m.price_scale + m.qty_scale), "status": "online", "minTradeUSDT": "1",
                 "buyLimitPriceRatio": "0.05", "sellLimitPriceRatio": "0.05"}
                for m in self._specs(SPOT)]

    def _contracts(self, query) -> list:
        if query.get("productType") != "USDT-FUTURES":
            return []
        out = []
        for m in self._specs(LINEAR):
            end_step = str(m.tick_units)        # tick = priceEndStep x 10^-pricePlace
            out.append({
                "symbol": m.id, "baseCoin": m.base, "quoteCoin": m.quote, "buyLimitPriceRatio": "0.01",
                "sellLimitPriceRatio": "0.01", "feeRateUpRatio": "0.005", "makerFeeRate": "0.0002",
                "takerFeeRate": "0.0006", "openCostUpRatio": "0.01", "supportMarginCoins": [m.settle or m.quote],
                "minTradeNum": m.step, "priceEndStep": end_step, "volumePlace": str(m.qty_scale),
                "pricePlace": str(m.price_scale), "sizeMultiplier": m.step, "symbolType": "perpetual",
                "minTradeUSDT": "5", "maxSymbolOrderNum": "200", "maxProductOrderNum": "400",
                "maxPositionNum": "150", "symbolStatus": "normal", "offTime": "-1", "limitOpenTime": "-1",
                "deliveryTime": "", "deliveryStartTime": "", "deliveryPeriod": "", "launchTime": "",
                "fundInterval": "8", "minLever": "1", "maxLever": "125", "posLimit": "0.05", "maintainTime": ""})
        return out

    def _coins(self, query) -> list:
        coins = sorted({c for m in self.server.source.markets for c in (m.base, m.quote)})
        return [{"coinId": str(i + 1), "coin": c, "transfer": "true", "chains": [], "areaCoin": "no"}
                for i, c in enumerate(coins)]

    # --- attach -------------------------------------------------------------------------
    def exchange_options(self, exchange) -> dict:
        """``load_markets`` fetches spot and swap (ccxt's default), never UTA instruments."""
        return {"fetchMarkets": {"types": [SPOT, "swap"]}, "uta": False}

    # --- replay -------------------------------------------------------------------------
    def load_replay(self, path: str) -> ReplayData:
        """A recorded Bitget v1 session -> v2 ``books`` frames (see the module docstring)."""
        header: dict = {}
        frames: list[ReplayFrame] = []
        for rec in session_records(path):
            if rec.get("t") == "header":
                header = rec
            elif rec.get("t") == "recv":
                frame = self._replay_frame(rec)
                if frame is not None:
                    frames.append(frame)
        frames.sort(key=lambda f: f.ts)
        return ReplayData(self._replay_markets(header, frames), frames, {}, {"header": header})

    @staticmethod
    def _replay_frame(rec: dict) -> Optional[ReplayFrame]:
        text: str = rec["data"]
        msg = orjson.loads(text)
        if not isinstance(msg, dict) or "action" not in msg:
            return None             # subscription acks and pongs are not market data
        arg = dict(msg["arg"])
        arg["instType"] = V1_INST_TYPE.get(arg["instType"].lower(), arg["instType"])
        start = text.index('"data":') + len('"data":')
        end = text.rindex("}")
        data = text[start:end]
        try:
            same = orjson.loads(data) == msg["data"]
        except orjson.JSONDecodeError:      # "data" is not the last member (v2 puts "ts" after it)
            same = False
        if not same:
            data = orjson.dumps(msg["data"]).decode()     # unusual layout: re-encode
        payload = (b'{"action":' + orjson.dumps(msg["action"]) + b',"arg":' + orjson.dumps(arg)
                   + b',"data":' + data.encode() + b"}")
        return ReplayFrame(PUBLIC, stream_name(arg["instType"], arg["channel"], arg["instId"]), payload,
                           rec["ts"], meta=msg["data"])

    @staticmethod
    def _replay_markets(header: dict, frames: list) -> list[MarketSpec]:
        names: dict[tuple[str, str], tuple[str, str]] = {}
        for syms in (header.get("config") or {}).values():
            for s in syms if isinstance(syms, list) else []:
                parts = s.split("-")
                kind = LINEAR if parts[-1] == "PERP" else SPOT
                names[(kind, parts[0] + parts[1])] = (parts[0], parts[1])
        prices: dict[tuple[str, str], list] = {}
        qtys: dict[tuple[str, str], list] = {}
        for f in frames:
            inst_type, _, inst_id = f.stream.split(":", 2)
            key = (KIND_OF_INST[inst_type], inst_id)
            for d in f.meta:
                for side in ("bids", "asks"):
                    for p, q, *_ in d.get(side, ()):
                        prices.setdefault(key, []).append(p)
                        if to_units(q, decimals_of(q)):
                            qtys.setdefault(key, []).append(q)
        out = []
        for (kind, inst_id), ps in sorted(prices.items()):
            base, quote = names.get((kind, inst_id)) or (inst_id[:-4], inst_id[-4:])
            tick = _pow10(max(decimals_of(p) for p in ps))
            step = _pow10(max(decimals_of(q) for q in qtys.get((kind, inst_id), ["1"])))
            out.append(market(kind, inst_id, base, quote, tick=tick, step=step, price=ps[0]))
        return out


def _pow10(decimals: int) -> str:
    return "1" if decimals == 0 else "0." + "0" * (decimals - 1) + "1"


def market(kind: str, id: str, base: str, quote: str, *, tick: str, step: str, price: str) -> MarketSpec:
    """A Bitget spot market or USDT-M perpetual (settled in the quote asset)."""
    return MarketSpec(id, kind, base, quote, tick, step, settle=quote if kind == LINEAR else None, price=price)
