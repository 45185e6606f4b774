"""Bybit v5 public market-data protocol (spot, linear, inverse) for the simulator.

Sources of every shape below (where the generator models nothing to take a value from,
the field is left out rather than invented; exceptions are named):

- URLs ``wss://stream.bybit.com/v5/public/{spot,linear,inverse}``, the ``subscribe`` /
  ``unsubscribe`` / ``ping`` requests, the pong replies (spot without ``req_id``,
  linear/inverse with it) and the subscription replies (spot ``ret_msg: "subscribe"``,
  linear/inverse ``ret_msg: ""``): Bybit v5 docs "Connect" (docs/v5/ws/connect: "How to
  Send the Heartbeat Packet", "Understanding the Subscription Response", "Public channel
  - Args limits": spot takes at most 10 args per request). The unsubscribe reply is the
  one quoted in ccxt's ``pro/bybit.py`` ``handle_un_subscribe``.
- Error replies ``error:already subscribed,topic:<t>``, ``error:handler not found,topic:<t>``
  (unknown symbol, depth or channel), ``error:invalid op`` and ``args size >10``:
  frames captured from the live service and quoted in public client code (no doc page
  lists them).
- ``orderbook.{depth}.{symbol}``: docs v5/websocket/public/orderbook ("Process
  snapshot/delta"): a snapshot right after subscribing, then deltas of the depth-N book
  (a level leaving the top N arrives as size "0"); ``u`` continuous per topic, ``seq``
  the cross sequence, ``cts``; depth 1 is snapshot-only and is pushed again with the
  same ``u`` when nothing changed for 3 s. Depths 1/50/200/1000 (spot, linear, inverse).
- ``publicTrade.{symbol}`` (``T s S v p L i BT seq``; ``L`` only on contracts),
  ``tickers.{symbol}`` (spot: snapshot-only, ``usdIndexPrice`` "" as documented for a
  non-collateral coin; linear/inverse: a snapshot, then deltas with only the changed
  fields, ``cs``), ``kline.{interval}.{symbol}``: docs v5/websocket/public/{trade,
  ticker,kline} and the samples in ccxt's ``pro/bybit.py`` handlers. Contract tickers
  carry ``openInterest``/``openInterestValue`` "0" (the generator has no positions; ccxt's
  ``parse_ticker`` tells contracts from spot by that field); mark/index price and funding
  fields are left out.
- REST ``GET /v5/market/instruments-info`` (spot sample in the docs "Get Instruments
  Info", linear sample in ccxt's ``bybit.fetch_future_markets`` comment; inverse as
  linear with ``InversePerpetual``, ``settleCoin`` = base), ``GET /v5/market/orderbook``
  (docs "Get Orderbook": ``s b a ts u seq cts``), ``GET /v5/market/time``.

Numbers: book levels, trades and contract tickers print fixed decimals (price tick /
quantity step decimals, as the samples "16493.50", "0.006"); klines and spot tickers
print trimmed decimals ("16677", "20575"). Inverse quantities are contracts of 1 USD;
their turnover (base coin) is sum(qty / price) truncated to 8 decimals.

Simplifications: kline interval "1" only; option and spread categories are not served;
no connection limits or 10-minute idle cut; a request naming several topics subscribes
the valid ones and answers with the first error.

Replay: ``load_replay`` reads recordings in the JSONL record format of
``tests/data/sessions`` (frames routed by ``topic``). A client that subscribes again
mid-replay (a resync) is sent a snapshot of the book as this connection last saw it,
as the live service sends a fresh snapshot on subscribe.
"""
from __future__ import annotations

import hashlib
import time
import uuid
from fractions import Fraction
from typing import Any, Optional
from urllib.parse import urlsplit

import orjson
from aiohttp import web

from .core import (MarketSpec, Protocol, ReplayData, ReplayFrame, decimals_of, fmt_units, register,
                   session_records, to_units)
from .generator import BookDiff, Candle, Stats, TopOfBook, Trade

SPOT, LINEAR, INVERSE = "spot", "linear", "inverse"
KINDS = (SPOT, LINEAR, INVERSE)
DEPTHS = (1, 50, 200, 1000)
KLINE_INTERVALS = {60_000: "1"}
SPOT_MAX_ARGS = 10
REPUSH_MS = 3000            # depth-1 snapshot re-pushed after 3 s without a change

_QUOTES = ("USDT", "USDC", "USD", "BTC", "ETH", "EUR")


def _trim(text: str) -> str:
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _ratio(num: int, den: int, decimals: int) -> str:
    """num/den with ``decimals`` decimals, rounded half away from zero, exactly."""
    scale = 10 ** decimals
    q, r = divmod(abs(num) * scale * 2 + den, 2 * den)
    return fmt_units(q if num >= 0 else -q, decimals, decimals)


class _Fmt:
    """Number printing of one market (see the module docstring)."""
    __slots__ = ("tick", "step", "ps", "qs", "pd", "qd", "inverse")

    def __init__(self, spec: MarketSpec):
        self.tick, self.step = spec.tick_units, spec.step_units
        self.ps, self.qs = spec.price_scale, spec.qty_scale
        self.pd = spec.extra.get("price_decimals", self.ps)
        self.qd = spec.extra.get("qty_decimals", self.qs)
        self.inverse = spec.kind == INVERSE

    def p(self, ticks: int) -> str:
        return fmt_units(ticks * self.tick, self.ps, self.pd)

    def q(self, lots: int) -> str:
        return fmt_units(lots * self.step, self.qs, self.qd)

    def level(self, ticks: int, lots: int) -> list:
        return [self.p(ticks), self.q(lots)]

    def value(self, ticks: int, lots: int) -> Fraction:
        """Turnover of one fill: price x qty (quote coin), or qty / price for inverse (base)."""
        price = Fraction(ticks * self.tick, 10 ** self.ps)
        qty = Fraction(lots * self.step, 10 ** self.qs)
        return qty / price if self.inverse else qty * price

    def turnover(self, value: Fraction) -> str:
        if self.inverse:
            units = value.numerator * 10 ** 8 // value.denominator
            return _trim(fmt_units(units, 8, 8))
        scale = self.ps + self.qs
        return _trim(fmt_units(value.numerator * 10 ** scale // value.denominator, scale, scale))


class _View:
    """The depth-N book one ``orderbook.N.symbol`` topic publishes: its levels as last
    pushed, its update id ``u`` and the time of its last push (for the depth-1 re-push)."""
    __slots__ = ("depth", "bids", "asks", "u", "pushed_at")

    def __init__(self, depth: int, u: int):
        self.depth = depth
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.u = u
        self.pushed_at = 0


class _TickerState:
    __slots__ = ("fields", "direction", "last")

    def __init__(self):
        self.fields: dict[str, str] = {}
        self.direction = "ZeroPlusTick"
        self.last: Optional[int] = None


@register
class Bybit(Protocol):
    name = "bybit"
    number_format = _Fmt
    ws_hosts = {"stream.bybit.com": "public"}
    rest_hosts = {"api.bybit.com": "rest"}
    ws_ping_interval = None     # the client pings ({"op":"ping"}); Bybit sends no pings

    def __init__(self, server):
        super().__init__(server)
        self._views: dict[tuple[str, str], dict[int, _View]] = {}     # (kind, id) -> depth -> view
        self._pending: dict[str, bytes] = {}        # topic -> payload rendered by streams_for
        self._tickers: dict[tuple[str, str], _TickerState] = {}
        self._kline_turnover: dict[tuple[str, str, int], Fraction] = {}
        self._conn_ids = 0

    # --- markets --------------------------------------------------------------------
    @staticmethod
    def default_markets() -> list[MarketSpec]:
        return [
            market(SPOT, "BTCUSDT", "BTC", "USDT", tick="0.01", step="0.000001", price="30000"),
            market(SPOT, "ETHUSDT", "ETH", "USDT", tick="0.01", step="0.00001", price="2000"),
            market(LINEAR, "BTCUSDT", "BTC", "USDT", tick="0.10", step="0.001", price="30000"),
            market(LINEAR, "ETHUSDT", "ETH", "USDT", tick="0.01", step="0.01", price="2000"),
            market(INVERSE, "BTCUSD", "BTC", "USD", tick="0.50", step="1", price="30000"),
        ]

    @property
    def _replaying(self) -> bool:
        return not hasattr(self.server.source, "tick")

    # --- websocket: routing and requests --------------------------------------------
    def ws_open(self, conn, path: str, query: str) -> bool:
        parts = path.rstrip("/").split("/")
        if len(parts) != 4 or parts[1] != "v5" or parts[2] != "public" or parts[3] not in KINDS:
            return False
        conn.kind = parts[3]
        self._conn_ids += 1
        conn.props["conn_id"] = f"d{self._conn_ids:05d}sim{conn.kind}-{self._conn_ids}"
        conn.props["books"] = {}        # replay: topic -> _Sent (the book as sent, folded lazily)
        return True

    def _reply(self, conn, op: str, req_id: Any, success: bool, ret_msg: str) -> None:
        msg = {"success": success, "ret_msg": ret_msg, "conn_id": conn.props["conn_id"]}
        if req_id is not None or conn.kind != SPOT:
            msg["req_id"] = "" if req_id is None else str(req_id)
        msg["op"] = op
        conn.send_control(orjson.dumps(msg))

    def on_text(self, conn, text: str) -> None:
        try:
            req = orjson.loads(text)
        except orjson.JSONDecodeError as e:
            return conn.send_control(orjson.dumps({
                "success": False, "ret_msg": f"Failed to decode incoming data:{e}",
                "conn_id": conn.props["conn_id"]}))
        if not isinstance(req, dict):
            req = {}
        op, req_id = req.get("op"), req.get("req_id")
        if op == "ping":
            if conn.kind == SPOT:
                return self._reply(conn, "ping", req_id if req_id else None, True, "pong")
            return self._reply(conn, "ping", req_id, True, "pong")
        if op not in ("subscribe", "unsubscribe"):
            return self._reply(conn, op if isinstance(op, str) else "", req_id, False, "error:invalid op")
        args = req.get("args") or []
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            return self._reply(conn, op, req_id, False, "error:args invalid")
        if conn.kind == SPOT and len(args) > SPOT_MAX_ARGS:
            return self._reply(conn, op, req_id, False, f"args size >{SPOT_MAX_ARGS}")
        if op == "unsubscribe":
            # the replay's tracked books stay: a resubscribe starts from them
            conn.unsubscribe(args)
            return self._reply(conn, op, req_id, True, "")
        error = None
        fresh = []
        for topic in args:
            if topic in conn.streams:
                error = error or f"error:already subscribed,topic:{topic}"
            elif not self._valid_topic(conn.kind, topic):
                error = error or f"error:handler not found,topic:{topic}"
            else:
                fresh.append(topic)
        for topic in fresh:
            self._prepare(conn.kind, topic)
        conn.subscribe(fresh)
        self._reply(conn, op, req_id, error is None, error or ("subscribe" if conn.kind == SPOT else ""))
        for topic in fresh:
            first = self._first_push(conn, topic)
            if first is not None:
                conn.send_stream(topic, first)

    def _valid_topic(self, kind: str, topic: str) -> bool:
        parts = topic.split(".")
        if len(parts) == 2 and parts[0] in ("publicTrade", "tickers"):
            return self._known(kind, parts[1])
        if len(parts) == 3 and parts[0] == "orderbook":
            return parts[1].isdigit() and int(parts[1]) in DEPTHS and self._known(kind, parts[2])
        if len(parts) == 3 and parts[0] == "kline":
            return parts[1] in KLINE_INTERVALS.values() and self._known(kind, parts[2])
        return False

    def _known(self, kind: str, market_id: str) -> bool:
        if self._replaying:
            return True     # a recording names its own symbols
        return self.market_spec(kind, market_id) is not None

    # --- snapshots on subscribe -----------------------------------------------------------
    def _prepare(self, kind: str, topic: str) -> None:
        """Start keeping the depth-N view of a book topic from the ground truth."""
        if self._replaying or not topic.startswith("orderbook."):
            return
        _, depth, market_id = topic.split(".")
        views = self._views.setdefault((kind, market_id), {})
        if int(depth) in views:
            return
        st = self.server.source.market(kind, market_id)
        # u starts anywhere (as on the live service); derived from the market's state so
        # the same seed gives the same ids
        view = _View(int(depth), 1_000_000 + st.update_id % 9_000_000)
        view.bids = dict(st.bids.top(view.depth))
        view.asks = dict(st.asks.top(view.depth))
        view.pushed_at = self.server.source.clock
        views[view.depth] = view

    def _first_push(self, conn, topic: str) -> Optional[bytes]:
        """The message a new subscription starts with: a book snapshot, or the ticker
        snapshot of contracts. Nothing for trades and klines (they push on events)."""
        kind = conn.kind
        if self._replaying:
            sent = conn.props["books"].get(topic) if topic.startswith("orderbook.") else None
            book = sent.book() if sent is not None else None
            if book is None:
                return None
            bids, asks, u, seq, symbol = book
            return orjson.dumps({"topic": topic, "type": "snapshot", "ts": int(time.time() * 1000), "data": {
                "s": symbol, "b": [[p, q] for p, q in sorted(bids.items(), key=lambda x: -float(x[0]))],
                "a": [[p, q] for p, q in sorted(asks.items(), key=lambda x: float(x[0]))],
                "u": u, "seq": seq}, "cts": int(time.time() * 1000)})
        parts = topic.split(".")
        market_id = parts[-1]
        spec = self.market_spec(kind, market_id)
        st = self.server.source.market(kind, market_id)
        now = self.server.source.clock
        if parts[0] == "orderbook":
            view = self._views[(kind, market_id)][int(parts[1])]
            return self._book_message(topic, spec, view, view.bids.items(), view.asks.items(),
                                      "snapshot", st.update_id, now, ordered=False)
        if parts[0] == "tickers" and kind != SPOT:
            state = self._ticker_state(spec)
            self._contract_ticker_fields(spec, state, st, None)
            return orjson.dumps({"topic": topic, "type": "snapshot",
                                 "data": dict(state.fields, symbol=spec.id),
                                 "cs": st.update_id, "ts": now})
        return None

    # --- generator events -> topics ------------------------------------------------------------
    def streams_for(self, event: Any) -> tuple[str, ...]:
        spec = event.market
        mid = spec.id
        if isinstance(event, BookDiff):
            views = self._views.get((spec.kind, mid))
            if not views:
                return ()
            out = []
            for view in views.values():
                payload = self._book_delta(spec, view, event)
                if payload is not None:
                    topic = f"orderbook.{view.depth}.{mid}"
                    self._pending[topic] = payload
                    out.append(topic)
            return tuple(out)
        if isinstance(event, Trade):
            self._on_trade(spec, event)
            return (f"publicTrade.{mid}",)
        if isinstance(event, TopOfBook):
            return (f"tickers.{mid}",) if spec.kind != SPOT else ()
        if isinstance(event, Stats):
            return (f"tickers.{mid}",)
        if isinstance(event, Candle):
            interval = KLINE_INTERVALS.get(event.interval_ms)
            return (f"kline.{interval}.{mid}",) if interval else ()
        return ()

    def _book_delta(self, spec: MarketSpec, view: _View, event: BookDiff) -> Optional[bytes]:
        st = self.server.source.market(spec.kind, spec.id)
        now = event.ts
        bids = dict(st.bids.top(view.depth))
        asks = dict(st.asks.top(view.depth))
        if view.depth == 1:
            if bids == view.bids and asks == view.asks:
                if now - view.pushed_at < REPUSH_MS:
                    return None
                # nothing changed for 3 s: the same snapshot again, same u
            else:
                view.u += 1
            view.bids, view.asks, view.pushed_at = bids, asks, now
            return self._book_message(f"orderbook.1.{spec.id}", spec, view, bids.items(), asks.items(),
                                      "snapshot", event.last_id, now, ordered=True)
        db = _changes(view.bids, bids, reverse=True)
        da = _changes(view.asks, asks, reverse=False)
        if not db and not da:
            return None
        view.u += 1
        view.bids, view.asks, view.pushed_at = bids, asks, now
        return self._book_message(f"orderbook.{view.depth}.{spec.id}", spec, view, db, da, "delta",
                                  event.last_id, now, ordered=True)

    def _book_message(self, topic, spec, view, bids, asks, kind, seq, now, ordered) -> bytes:
        f = self.fmt(spec)
        if not ordered:
            bids = sorted(bids, reverse=True)
            asks = sorted(asks)
        return orjson.dumps({"topic": topic, "type": kind, "ts": now, "data": {
            "s": spec.id, "b": [f.level(p, q) for p, q in bids], "a": [f.level(p, q) for p, q in asks],
            "u": view.u, "seq": seq}, "cts": now - 2})

    def _on_trade(self, spec: MarketSpec, t: Trade) -> None:
        state = self._ticker_state(spec)
        if state.last is not None:
            if t.price > state.last:
                state.direction = "PlusTick"
            elif t.price < state.last:
                state.direction = "MinusTick"
            elif state.direction in ("PlusTick", "ZeroPlusTick"):
                state.direction = "ZeroPlusTick"
            else:
                state.direction = "ZeroMinusTick"
        state.last = t.price
        key = (spec.kind, spec.id, t.ts // 60_000 * 60_000)
        self._kline_turnover[key] = self._kline_turnover.get(key, Fraction(0)) + self.fmt(spec).value(t.price, t.qty)

    def _ticker_state(self, spec: MarketSpec) -> _TickerState:
        key = (spec.kind, spec.id)
        state = self._tickers.get(key)
        if state is None:
            state = self._tickers[key] = _TickerState()
        return state

    def render(self, event: Any, stream: str) -> bytes:
        spec = event.market
        f = self.fmt(spec)
        if isinstance(event, BookDiff):
            return self._pending.pop(stream)
        if isinstance(event, Trade):
            st = self.server.source.market(spec.kind, spec.id)
            trade = {"T": event.ts, "s": spec.id, "S": "Sell" if event.buyer_is_maker else "Buy",
                     "v": f.q(event.qty), "p": f.p(event.price)}
            if spec.kind != SPOT:
                trade["L"] = self._ticker_state(spec).direction
                trade["i"] = str(uuid.UUID(bytes=hashlib.md5(f"{spec.kind}:{spec.id}:{event.id}".encode()).digest()))
            else:
                trade["i"] = str(2_290_000_000_000_000_000 + event.id)
            trade["BT"] = False
            trade["seq"] = st.update_id
            return orjson.dumps({"topic": stream, "type": "snapshot", "ts": event.ts, "data": [trade]})
        if isinstance(event, Candle):
            turnover = self._kline_turnover.get((spec.kind, spec.id, event.open_time), Fraction(0))
            if event.closed:
                self._kline_turnover.pop((spec.kind, spec.id, event.open_time), None)
            return orjson.dumps({"topic": stream, "data": [{
                "start": event.open_time, "end": event.open_time + event.interval_ms - 1,
                "interval": KLINE_INTERVALS[event.interval_ms], "open": _trim(f.p(event.open)),
                "close": _trim(f.p(event.close)), "high": _trim(f.p(event.high)), "low": _trim(f.p(event.low)),
                "volume": _trim(f.q(event.volume)), "turnover": f.turnover(turnover),
                "confirm": event.closed, "timestamp": event.ts}], "ts": event.ts, "type": "snapshot"})
        st = self.server.source.market(spec.kind, spec.id)
        if spec.kind == SPOT:        # Stats only: spot tickers are snapshots
            s = event
            data = {"symbol": spec.id, "lastPrice": _trim(f.p(s.last)), "highPrice24h": _trim(f.p(s.high)),
                    "lowPrice24h": _trim(f.p(s.low)), "prevPrice24h": _trim(f.p(s.open)),
                    "volume24h": _trim(f.q(s.volume)), "turnover24h": f.turnover(self._window_turnover(spec, st)),
                    "price24hPcnt": _ratio(s.last - s.open, s.open, 4), "usdIndexPrice": ""}
            return orjson.dumps({"topic": stream, "ts": s.ts, "type": "snapshot", "cs": st.update_id, "data": data})
        state = self._ticker_state(spec)
        before = dict(state.fields)
        self._contract_ticker_fields(spec, state, st, event)
        changed = {k: v for k, v in state.fields.items() if before.get(k) != v}
        return orjson.dumps({"topic": stream, "type": "delta", "data": dict(symbol=spec.id, **changed),
                             "cs": st.update_id, "ts": event.ts})

    def _contract_ticker_fields(self, spec, state: _TickerState, st, event) -> None:
        """Bring a contract's ticker fields up to date (snapshot = all of them, delta = the
        ones that changed)."""
        f = self.fmt(spec)
        fields = state.fields
        bb, bq, ba, aq = st.top
        fields.update({"bid1Price": f.p(bb), "bid1Size": f.q(bq), "ask1Price": f.p(ba), "ask1Size": f.q(aq)})
        fields.setdefault("openInterest", "0")
        fields.setdefault("openInterestValue", "0.00")
        if st.trades:
            tr = st.trades
            last, opened = tr[-1][2], tr[0][2]
            fields.update({
                "tickDirection": state.direction, "price24hPcnt": _ratio(last - opened, opened, 6),
                "lastPrice": f.p(last), "prevPrice24h": f.p(opened),
                "highPrice24h": f.p(max(x[2] for x in tr)), "lowPrice24h": f.p(min(x[2] for x in tr)),
                "turnover24h": f.turnover(self._window_turnover(spec, st)),
                "volume24h": f.q(sum(x[3] for x in tr))})

    def _window_turnover(self, spec, st) -> Fraction:
        f = self.fmt(spec)
        return sum((f.value(p, q) for _, _, p, q in st.trades), Fraction(0))

    # --- faults -------------------------------------------------------------------------------
    def corrupt(self, stream: str, data: bytes, rng) -> bytes:
        """Keep the frame well-formed but change one quantity (a book level, a trade size)
        so a client that does not check continuity silently diverges."""
        msg = orjson.loads(data)
        body = msg.get("data")

        def bump(q: str) -> str:
            d = decimals_of(q)
            return fmt_units(to_units(q, d) * 2 + 1, d, len(q.split(".", 1)[1]) if "." in q else 0)

        if isinstance(body, dict) and ("b" in body or "a" in body):
            sides = [k for k in ("b", "a") if body.get(k)]
            if not sides:
                return data[: len(data) // 2]
            levels = body[rng.choice(sides)]
            lvl = levels[rng.randrange(len(levels))]
            lvl[1] = bump(lvl[1])
        elif isinstance(body, list) and body and "v" in body[0]:
            body[0]["v"] = bump(body[0]["v"])
        else:
            return data[: len(data) // 2]
        return orjson.dumps(msg)

    def frame(self, conn, stream: str, data: bytes) -> bytes:
        if self._replaying and stream.startswith("orderbook."):
            sent = conn.props["books"].get(stream)
            if sent is None:
                sent = conn.props["books"][stream] = _Sent()
            sent.add(data)
        return data

    # --- REST ---------------------------------------------------------------------------------
    def rest_routes(self):
        routes = []
        for prefix in ("/api.bybit.com", ""):
            routes += [
                ("GET", f"{prefix}/v5/market/instruments-info", self._handler(self._instruments)),
                ("GET", f"{prefix}/v5/market/orderbook", self._handler(self._orderbook)),
                ("GET", f"{prefix}/v5/market/time", self._handler(self._time)),
            ]
        return routes

    @staticmethod
    def _handler(fn):
        async def handle(request: web.Request) -> web.Response:
            status, body = fn(request.query)
            return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")
        return handle

    @staticmethod
    def _ok(result: Any) -> dict:
        return {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": int(time.time() * 1000)}

    @staticmethod
    def _error(code: int, msg: str) -> dict:
        return {"retCode": code, "retMsg": msg, "result": {}, "retExtInfo": {}, "time": int(time.time() * 1000)}

    def _time(self, query) -> tuple[int, dict]:
        ns = time.time_ns()
        return 200, self._ok({"timeSecond": str(ns // 10 ** 9), "timeNano": str(ns)})

    def _instruments(self, query) -> tuple[int, dict]:
        category = query.get("category")
        if category not in KINDS + ("option",):
            return 200, self._error(10001, "params error: Category is invalid")
        specs = [m for m in self.server.source.markets if m.kind == category]
        if query.get("symbol"):
            specs = [m for m in specs if m.id == query["symbol"]]
        if query.get("status") not in (None, "Trading"):
            specs = []      # no pre-launch contracts here
        items = [_instrument(m) for m in specs]
        result = {"category": category, "list": items}
        if category != SPOT:
            result["nextPageCursor"] = ""
        return 200, self._ok(result)

    def _orderbook(self, query) -> tuple[int, dict]:
        category, symbol = query.get("category"), query.get("symbol")
        spec = self.market_spec(category, symbol) if category in KINDS and symbol else None
        if spec is None or self._replaying:
            return 200, self._error(10001, "params error: symbol invalid")
        limit = max(1, min(int(query.get("limit", 1 if category == SPOT else 25)),
                           200 if category == SPOT else 500))
        st = self.server.source.market(category, symbol)
        f = self.fmt(spec)
        book = st.book(limit)
        now = self.server.source.clock
        return 200, self._ok({"s": symbol, "b": [f.level(p, q) for p, q in book["bids"]],
                              "a": [f.level(p, q) for p, q in book["asks"]], "ts": now,
                              "u": st.update_id, "seq": st.update_id, "cts": now - 2})

    # --- attach -------------------------------------------------------------------------------
    def exchange_options(self, exchange) -> dict:
        """Keep ``load_markets`` to the categories served here (no options)."""
        current = exchange.options.get("fetchMarkets")
        types = current.get("types") if isinstance(current, dict) else None
        served = [t for t in (types or list(KINDS)) if t in KINDS]
        return {"fetchMarkets": dict(current if isinstance(current, dict) else {}, types=served)}

    # --- replay -------------------------------------------------------------------------------
    def load_replay(self, path: str) -> ReplayData:
        """A recording in the JSONL record format: ``connect`` records name the category by
        URL path, ``recv`` records with a ``topic`` are the data frames (acks and pongs are
        skipped). Markets are synthesized from the recorded symbols: tick/step = the finest
        decimals any recorded price/quantity uses."""
        header: dict = {}
        conn_kind: dict[str, str] = {}
        frames: list[ReplayFrame] = []
        for rec in session_records(path):
            t = rec.get("t")
            if t == "header":
                header = rec
            elif t == "connect":
                kind = urlsplit(rec["addr"]).path.rstrip("/").rsplit("/", 1)[-1]
                if kind not in KINDS:
                    raise ValueError(f"recording uses an unknown Bybit URL: {rec['addr']}")
                conn_kind[rec["conn"]] = kind
            elif t == "recv":
                msg = orjson.loads(rec["data"])
                if isinstance(msg, dict) and "topic" in msg and "data" in msg:
                    frames.append(ReplayFrame(conn_kind[rec["conn"]], msg["topic"],
                                              rec["data"].encode(), rec["ts"]))
        frames.sort(key=lambda fr: fr.ts)
        return ReplayData(_replay_markets(frames), frames, {}, {"header": header})


# --- helpers -----------------------------------------------------------------------------------

def _changes(old: dict, new: dict, reverse: bool) -> list:
    """The levels to send so ``old`` becomes ``new``: changed/new sizes, and 0 for levels
    that left the window; best first."""
    out = [(p, q) for p, q in new.items() if old.get(p) != q]
    out += [(p, 0) for p in old if p not in new]
    out.sort(reverse=reverse)
    return out


class _Sent:
    """Replay: the book one connection has been sent on one topic, so a resubscribe can
    start with a snapshot of it. Frames are only kept until asked for (decoding every
    one as it goes out would cap a replay at the simulator's speed, not the client's),
    and folded in batches so memory stays bounded."""
    __slots__ = ("state", "pending")
    FOLD_EVERY = 100_000     # ~30 MB of frames at most

    def __init__(self):
        self.state = None       # [bids, asks, u, seq, symbol] up to the pending frames
        self.pending = []

    def add(self, data: bytes) -> None:
        if b'"type":"snapshot"' in data:
            self.state = None
            self.pending = [data]
            return
        self.pending.append(data)
        if len(self.pending) >= self.FOLD_EVERY:
            self.book()

    def book(self):
        for data in self.pending:
            self.state = _fold(self.state, data)
        self.pending = []
        return self.state


def _fold(book, data: bytes):
    """The book after one orderbook frame (a snapshot replaces it)."""
    msg = orjson.loads(data)
    d = msg.get("data")
    if not isinstance(d, dict):
        return book
    if msg.get("type") == "snapshot" or book is None:
        book = [{}, {}, 0, 0, d.get("s")]
        book[0].update((p, q) for p, q in d.get("b", ()))
        book[1].update((p, q) for p, q in d.get("a", ()))
    else:
        for side, key in ((book[0], "b"), (book[1], "a")):
            for p, q in d.get(key, ()):
                if to_units(q, decimals_of(q)) == 0:
                    side.pop(p, None)
                else:
                    side[p] = q
    book[2], book[3] = d.get("u", book[2]), d.get("seq", book[3])
    return book


def market(kind: str, id: str, base: str, quote: str, *, tick: str, step: str, price: str,
           price_decimals: Optional[int] = None, qty_decimals: Optional[int] = None) -> MarketSpec:
    """A Bybit market of ``kind`` (spot / linear / inverse)."""
    settle = None if kind == SPOT else (base if kind == INVERSE else quote)
    # printed decimals = the tick's/step's written decimals ("0.10" -> "30000.10")
    return MarketSpec(id, kind, base, quote, tick, step, settle=settle, price=price, extra={
        "price_decimals": _written_decimals(tick) if price_decimals is None else price_decimals,
        "qty_decimals": _written_decimals(step) if qty_decimals is None else qty_decimals})


def _written_decimals(text: str) -> int:
    return len(text.split(".", 1)[1]) if "." in text else 0


def _instrument(m: MarketSpec) -> dict:
    tick = fmt_units(m.tick_units, m.price_scale, m.extra["price_decimals"])
    step = fmt_units(m.step_units, m.qty_scale, m.extra["qty_decimals"])
    if m.kind == SPOT:
        return {"symbol": m.id, "baseCoin": m.base, "quoteCoin": m.quote, "innovation": "0",
                "status": "Trading", "marginTrading": "utaOnly", "stTag": "0",
                "lotSizeFilter": {"basePrecision": step, "quotePrecision": "0.00000001", "minOrderQty": step,
                                  "maxOrderQty": "10000", "minOrderAmt": "1", "maxOrderAmt": "2000000"},
                "priceFilter": {"tickSize": tick},
                "riskParameters": {"priceLimitRatioX": "0.01", "priceLimitRatioY": "0.02"}}
    return {"symbol": m.id,
            "contractType": "LinearPerpetual" if m.kind == LINEAR else "InversePerpetual",
            "status": "Trading", "baseCoin": m.base, "quoteCoin": m.quote, "launchTime": "1585526400000",
            "deliveryTime": "0", "deliveryFeeRate": "", "priceScale": str(m.extra["price_decimals"]),
            "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
            "priceFilter": {"minPrice": tick, "maxPrice": "1999999.80", "tickSize": tick},
            "lotSizeFilter": {"maxOrderQty": "1190.000", "minOrderQty": step, "qtyStep": step,
                              "postOnlyMaxOrderQty": "1190.000"},
            "unifiedMarginTrade": True, "fundingInterval": 480, "settleCoin": m.settle}


def _pow10(decimals: int) -> str:
    return "1" if decimals == 0 else "0." + "0" * (decimals - 1) + "1"


def _replay_markets(frames: list[ReplayFrame]) -> list[MarketSpec]:
    prices: dict[tuple[str, str], list[str]] = {}
    qtys: dict[tuple[str, str], list[str]] = {}
    for fr in frames:
        msg = orjson.loads(fr.payload)
        d = msg["data"]
        key = (fr.kind, fr.stream.rsplit(".", 1)[-1])
        if isinstance(d, dict) and ("b" in d or "a" in d):
            for side in ("b", "a"):
                prices.setdefault(key, []).extend(p for p, _ in d.get(side, ()))
                qtys.setdefault(key, []).extend(q for _, q in d.get(side, ()))
        elif isinstance(d, list):
            for t in d:
                if "p" in t:
                    prices.setdefault(key, []).append(t["p"])
                    qtys.setdefault(key, []).append(t["v"])
    out = []
    for (kind, sym), ps in sorted(prices.items()):
        quote = next((q for q in _QUOTES if sym.endswith(q) and len(sym) > len(q)), None)
        if quote is None:
            raise ValueError(f"cannot split {sym!r} into base and quote")
        qs = [q for q in qtys.get((kind, sym), []) if to_units(q, decimals_of(q))] or ["1"]
        pd = max(len(p.split(".", 1)[1]) if "." in p else 0 for p in ps)
        qd = max(len(q.split(".", 1)[1]) if "." in q else 0 for q in qs)
        out.append(market(kind, sym, sym[: -len(quote)], quote, tick=_pow10(max(decimals_of(p) for p in ps)),
                          step=_pow10(max(decimals_of(q) for q in qs)), price=ps[0],
                          price_decimals=pd, qty_decimals=qd))
    return out
