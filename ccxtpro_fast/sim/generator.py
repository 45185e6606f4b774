"""A seeded, exchange-neutral market generator.

Each market has a limit order book of integer price ticks -> integer quantity lots.
One generator *tick* advances simulated time by ``tick_ms`` and, per market:

1. executes 0-3 trades against the best bid/ask (the hit level shrinks or vanishes),
2. sometimes moves the mid (a new best level inside the spread),
3. applies 1-20 random level changes, mostly near the top, ~25% of them deletions,
4. keeps each side near ``levels`` levels (adds/removes the deepest level),

then emits the tick's events: the trades, one :class:`BookDiff` carrying every level
that changed (absolute quantities, 0 = delete) with its update-id range, a
:class:`TopOfBook` when the best bid/ask changed, and, on their own schedules, a
:class:`Candle` and a 24h :class:`Stats` update. Every level change consumes one
update id, so a snapshot's id and the diffs' ranges are consistent by construction;
for ``gapped_kinds`` the ids also jump between events, as futures ids do.

The sequence depends only on the seed and the number of ticks, never on timing or
on who is subscribed, so two clients (ccxt.pro and ccxtpro_fast) see the same market.
Protocols turn these events into wire messages; nothing here is exchange-specific.
"""
from __future__ import annotations

import asyncio
import bisect
import random
import time
from collections import deque
from dataclasses import dataclass
from typing import Optional, Sequence, Union

from .core import MarketSpec, to_units


@dataclass(slots=True)
class BookDiff:
    market: MarketSpec
    first_id: int
    last_id: int
    prev_id: int            # last_id of the previous diff of this market
    bids: list              # [(price ticks, qty lots)], qty 0 = delete
    asks: list
    ts: int


@dataclass(slots=True)
class Trade:
    market: MarketSpec
    id: int
    price: int
    qty: int
    buyer_is_maker: bool    # True when the taker sold into the bid
    ts: int


@dataclass(slots=True)
class TopOfBook:
    market: MarketSpec
    update_id: int
    bid: int
    bid_qty: int
    ask: int
    ask_qty: int
    ts: int


@dataclass(slots=True)
class Candle:
    market: MarketSpec
    interval_ms: int
    open_time: int
    open: int
    high: int
    low: int
    close: int
    volume: int             # lots
    quote_volume: int       # ticks*lots (price units x qty units)
    taker_buy_volume: int
    taker_buy_quote: int
    count: int
    first_trade_id: int
    last_trade_id: int
    closed: bool
    ts: int


@dataclass(slots=True)
class Stats:
    """Rolling 24h statistics (the window is the simulated history until it spans 24h)."""
    market: MarketSpec
    ts: int
    open_time: int
    open: int
    high: int
    low: int
    last: int
    last_qty: int
    prev_close: int         # price of the last trade before the window
    volume: int
    quote_volume: int
    first_id: int
    last_id: int
    count: int
    bid: int
    bid_qty: int
    ask: int
    ask_qty: int


DAY_MS = 86_400_000


class _Side:
    """One side of a book: dict for quantities plus a sorted key list."""
    __slots__ = ("qty", "keys", "is_bid")

    def __init__(self, is_bid: bool):
        self.qty: dict[int, int] = {}
        self.keys: list[int] = []       # ascending prices
        self.is_bid = is_bid

    def __len__(self) -> int:
        return len(self.keys)

    def best(self) -> int:
        return self.keys[-1] if self.is_bid else self.keys[0]

    def at(self, i: int) -> int:
        """Price of the i-th level from the top."""
        return self.keys[-1 - i] if self.is_bid else self.keys[i]

    def deepest(self) -> int:
        return self.keys[0] if self.is_bid else self.keys[-1]

    def set(self, price: int, qty: int) -> None:
        if qty:
            if price not in self.qty:
                bisect.insort(self.keys, price)
            self.qty[price] = qty
        elif price in self.qty:
            del self.qty[price]
            del self.keys[bisect.bisect_left(self.keys, price)]

    def top(self, n: Optional[int]) -> list[tuple[int, int]]:
        keys = self.keys[::-1] if self.is_bid else self.keys
        if n is not None:
            keys = keys[:n]
        return [(p, self.qty[p]) for p in keys]


class MarketState:
    """Ground truth for one generated market."""

    def __init__(self, spec: MarketSpec, gapped: bool):
        self.spec = spec
        self.gapped = gapped
        self.bids = _Side(True)
        self.asks = _Side(False)
        self.update_id = 0
        self.last_diff_id = 0
        self.trade_id = 0
        self.top: Optional[tuple] = None
        self.candle: Optional[Candle] = None
        self.candle_sent_at = 0
        self.trades: deque = deque()        # (ts, id, price, qty) within the 24h window
        self.prev_close = 0
        self.stats_sent_at = 0
        self.stats_dirty = False

    def book(self, depth: Optional[int] = None) -> dict:
        """{'nonce', 'bids': [(ticks, lots)], 'asks': [...]} best first."""
        return {"nonce": self.update_id, "bids": self.bids.top(depth), "asks": self.asks.top(depth)}


Rate = Union[None, float, str]


class Generator:
    """Source: a seeded random market. ``rate``: None = manual (``await server.step(n)``),
    a number = ticks per second, 'max' = as fast as the clients drain the sockets.

    ``markets``: :class:`MarketSpec` list (``price`` = starting price); the protocol's
    defaults when None. ``levels``: price levels per side. ``size``: typical level
    quantity in lots. ``tick_ms``: simulated time per tick. ``limit``: stop pacing
    after this many ticks (``finished`` is set). ``listeners``: callables
    ``(kind, event)`` that see every event (ground truth for tests).
    """

    def __init__(self, markets: Optional[Sequence[MarketSpec]] = None, *, seed: int = 0,
                 rate: Rate = None, levels: int = 200, size: int = 1000, tick_ms: int = 100,
                 start_ms: int = 1_700_000_000_000, kline_ms: int = 2000, stats_ms: int = 1000,
                 gapped_kinds: Sequence[str] = ("linear", "inverse"), limit: Optional[int] = None):
        self.specs = list(markets) if markets else None
        self.seed = seed
        self.rate = rate
        self.levels = levels
        self.size = size
        self.tick_ms = tick_ms
        self.clock = start_ms
        self.kline_ms = kline_ms
        self.stats_ms = stats_ms
        self.gapped_kinds = tuple(gapped_kinds)
        self.rng = random.Random(seed)
        self.ticks = 0
        self.server = None
        self.state: dict[tuple[str, str], MarketState] = {}
        self.limit = limit
        self.listeners: list = []
        self.finished = asyncio.Event()
        self._running = asyncio.Event()
        self._running.set()

    def pause(self) -> None:
        """Stop a paced generator after the current tick (manual ``step`` still works)."""
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    # source interface ----------------------------------------------------------------
    @property
    def markets(self) -> list[MarketSpec]:
        return [s.spec for s in self.state.values()]

    def bind(self, server) -> None:
        self.server = server
        if self.specs is None:
            self.specs = server.protocol.default_markets()
        if not self.state:
            for spec in self.specs:
                st = MarketState(spec, spec.kind in self.gapped_kinds)
                self.state[(spec.kind, spec.id)] = st
                self._seed_book(st)

    def on_connect(self, conn) -> None:
        pass

    def on_subscribe(self, conn, stream: str) -> None:
        pass

    def market(self, kind: str, market_id: str) -> MarketState:
        return self.state[(kind, market_id)]

    async def step(self, ticks: int = 1) -> None:
        for i in range(ticks):
            self.tick()
            if i % 64 == 63:
                await self.server.drain()
        await self.server.drain()

    async def run(self) -> None:
        if self.rate is None:
            return
        server = self.server
        async with server._sub_changed:
            await server._sub_changed.wait_for(lambda: server.has_subscribers)
        left = self.limit if self.limit is not None else -1
        interval = None if self.rate == "max" else 1.0 / float(self.rate)
        due = time.monotonic()
        while left:
            if not self._running.is_set():
                await self._running.wait()
                due = time.monotonic()
            if interval is None:
                for _ in range(min(32, left) if left > 0 else 32):
                    self.tick()
                    left -= 1
                await server.drain()
                await asyncio.sleep(0)
                continue
            now = time.monotonic()
            if now - due > 1.0:         # fell behind by over a second: do not burst
                due = now
            while due <= now and left:
                self.tick()
                left -= 1
                due += interval
            await server.drain()
            await asyncio.sleep(max(0.0, due - time.monotonic()))
        self.finished.set()

    # the model -------------------------------------------------------------------------
    def _qty(self) -> int:
        return max(1, int(self.rng.lognormvariate(0.0, 1.0) * self.size))

    def _seed_book(self, st: MarketState) -> None:
        spec = st.spec
        mid = to_units(spec.price or "100", spec.price_scale) // spec.tick_units
        rng = self.rng
        bid, ask = mid - 1, mid + 1
        for _ in range(self.levels):
            st.bids.set(bid, self._qty())
            st.asks.set(ask, self._qty())
            bid -= rng.randint(1, 2)
            ask += rng.randint(1, 2)
        st.update_id = st.last_diff_id = rng.randint(10_000, 1_000_000)
        st.top = (st.bids.best(), st.bids.qty[st.bids.best()], st.asks.best(), st.asks.qty[st.asks.best()])
        st.prev_close = mid

    def tick(self) -> None:
        """Advance every market by one tick and publish the events."""
        self.clock += self.tick_ms
        self.ticks += 1
        publish = self.server.publish if self.server is not None else None
        for st in self.state.values():
            events = self._tick_market(st)
            kind = st.spec.kind
            for ev in events:
                for listener in self.listeners:
                    listener(kind, ev)
                if publish is not None:
                    publish(kind, ev)

    def _tick_market(self, st: MarketState) -> list:
        rng = self.rng
        now = self.clock
        events: list = []
        changed: dict[tuple[bool, int], int] = {}     # (is_bid, price) -> qty, insertion-ordered
        first_id = None

        def setlvl(side: _Side, price: int, qty: int) -> None:
            nonlocal first_id
            side.set(price, qty)
            st.update_id += 1 + (rng.randint(0, 3) if st.gapped else 0)
            if first_id is None:
                first_id = st.update_id
            changed[(side.is_bid, price)] = qty

        # 1. trades against the top of book
        if rng.random() < 0.35:
            for _ in range(rng.randint(1, 3)):
                taker_buys = rng.random() < 0.5
                side = st.asks if taker_buys else st.bids
                if len(side) < 2:
                    break
                price = side.best()
                avail = side.qty[price]
                qty = min(avail, max(1, int(avail * rng.random() ** 2)))
                setlvl(side, price, avail - qty)
                st.trade_id += 1
                trade = Trade(st.spec, st.trade_id, price, qty, not taker_buys, now)
                events.append(trade)
                self._account_trade(st, trade)

        # 2. the mid moves: a new best level inside the spread
        if rng.random() < 0.15:
            gap = st.asks.best() - st.bids.best()
            if gap > 1:
                if rng.random() < 0.5:
                    setlvl(st.bids, st.bids.best() + rng.randint(1, gap - 1), self._qty())
                else:
                    setlvl(st.asks, st.asks.best() - rng.randint(1, gap - 1), self._qty())

        # 3. 1-20 level changes, mostly near the top, ~25% deletions
        for _ in range(min(20, 1 + int(rng.expovariate(1 / 3)))):
            side = st.bids if rng.random() < 0.5 else st.asks
            idx = min(int(rng.expovariate(1 / 4)), len(side) - 1)
            r = rng.random()
            if r < 0.25 and len(side) > 10:
                setlvl(side, side.at(idx), 0)
            elif r < 0.6:
                setlvl(side, side.at(idx), self._qty())
            else:
                ref = side.at(idx)
                price = ref - rng.randint(1, 3) if side.is_bid else ref + rng.randint(1, 3)
                if side.is_bid and price >= st.asks.best() or not side.is_bid and price <= st.bids.best():
                    continue
                setlvl(side, price, self._qty())

        # 4. keep depth near ``levels`` (one maintenance change per side per tick)
        for side in (st.bids, st.asks):
            if len(side) > self.levels:
                setlvl(side, side.deepest(), 0)
            elif len(side) < self.levels:
                d = side.deepest()
                setlvl(side, d - rng.randint(1, 3) if side.is_bid else d + rng.randint(1, 3), self._qty())

        bids = [(p, q) for (is_bid, p), q in changed.items() if is_bid]
        asks = [(p, q) for (is_bid, p), q in changed.items() if not is_bid]
        events.append(BookDiff(st.spec, first_id, st.update_id, st.last_diff_id, bids, asks, now))
        st.last_diff_id = st.update_id

        bb, ba = st.bids.best(), st.asks.best()
        top = (bb, st.bids.qty[bb], ba, st.asks.qty[ba])
        if top != st.top:
            st.top = top
            events.append(TopOfBook(st.spec, st.update_id, *top, now))

        c = st.candle
        if c is not None:
            boundary = now // c.interval_ms * c.interval_ms
            if boundary > c.open_time:
                c.closed = True
                c.ts = now
                events.append(c)
                st.candle = None
            elif now - st.candle_sent_at >= self.kline_ms:
                st.candle_sent_at = now
                events.append(Candle(**{k: getattr(c, k) for k in Candle.__slots__}))
        if st.stats_dirty and now - st.stats_sent_at >= self.stats_ms:
            st.stats_dirty = False
            st.stats_sent_at = now
            events.append(self._stats(st))
        return events

    def _account_trade(self, st: MarketState, t: Trade) -> None:
        c = st.candle
        interval = 60_000
        if c is None:
            open_time = t.ts // interval * interval
            c = st.candle = Candle(st.spec, interval, open_time, t.price, t.price, t.price, t.price,
                                   0, 0, 0, 0, 0, t.id, t.id, False, t.ts)
        c.high = max(c.high, t.price)
        c.low = min(c.low, t.price)
        c.close = t.price
        c.volume += t.qty
        c.quote_volume += t.qty * t.price
        if not t.buyer_is_maker:
            c.taker_buy_volume += t.qty
            c.taker_buy_quote += t.qty * t.price
        c.count += 1
        c.last_trade_id = t.id
        c.ts = t.ts
        st.trades.append((t.ts, t.id, t.price, t.qty))
        while st.trades and st.trades[0][0] <= t.ts - DAY_MS:
            st.prev_close = st.trades.popleft()[2]
        st.stats_dirty = True

    def _stats(self, st: MarketState) -> Stats:
        tr = st.trades
        prices = [x[2] for x in tr]
        vol = sum(x[3] for x in tr)
        qvol = sum(x[2] * x[3] for x in tr)
        bb, bq, ba, aq = st.top
        return Stats(st.spec, self.clock, self.clock - DAY_MS, tr[0][2], max(prices),
                     min(prices), tr[-1][2], tr[-1][3], st.prev_close, vol, qvol, tr[0][1], tr[-1][1],
                     len(tr), bb, bq, ba, aq)
