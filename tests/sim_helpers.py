"""Shared helpers for the simulator tests: a tracing ccxt.pro subclass and a runner."""
from __future__ import annotations

import asyncio
import functools
import json
from pathlib import Path

DATA = Path(__file__).parent / "data"
SESSIONS = DATA / "sessions"


def run(coro, timeout: float = 30.0):
    """Run one async test body with a hard timeout (a hang is a failure, not a stall)."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def plain(value):
    """A unified result as plain data (ArrayCache and tuples -> lists), for comparison."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


async def stepped(server, coro, steps: int = 800, poll: float = 0.005):
    """Await a watch while a manual generator ticks (a watch resolves on an update)."""
    task = asyncio.ensure_future(coro)
    for _ in range(steps):
        done, _ = await asyncio.wait([task], timeout=poll)
        if done:
            return task.result()
        await server.step(1)
    task.cancel()
    raise AssertionError("the watch never resolved")


def load_expected(name: str) -> dict:
    return json.loads((SESSIONS / f"{name}.expected.json").read_text())


def tracing(cls):
    """Subclass a ccxt.pro exchange so every applied depth event is recorded.

    ccxt.pro resolves a watcher once per burst, so a test that only awaits
    ``watch_order_book`` cannot see every intermediate book; this hook records the
    best levels after each event the exchange applies, through ccxt's own
    ``handle_order_book_message`` (public, per-event), without changing behaviour.
    """

    class Tracing(cls):
        def __init__(self, config=None):
            super().__init__(config or {})
            self.trace: dict[str, list] = {}
            self.bidask_trace: dict[str, list] = {}
            self._changed = asyncio.Condition()

        def handle_order_book_message(self, client, message, orderbook):
            ob = super().handle_order_book_message(client, message, orderbook)
            bids, asks = ob["bids"], ob["asks"]
            self.trace.setdefault(ob["symbol"], []).append((
                ob["nonce"], list(bids[0]) if len(bids) else None, list(asks[0]) if len(asks) else None,
                [list(x) for x in bids[:5]], [list(x) for x in asks[:5]]))
            self._poke()
            return ob

        def handle_bids_asks(self, client, message):
            super().handle_bids_asks(client, message)
            self.bidask_trace.setdefault(message["s"], []).append(message)
            self._poke()

        def _poke(self):
            async def notify():
                async with self._changed:
                    self._changed.notify_all()
            asyncio.ensure_future(notify())

        async def wait_until(self, predicate, timeout: float = 10.0):
            async def wait():
                async with self._changed:
                    await self._changed.wait_for(predicate)
            await asyncio.wait_for(wait(), timeout)

    Tracing.__name__ = f"Tracing{cls.__name__}"
    return Tracing


@functools.lru_cache(maxsize=None)
def sim_markets(exchange_id: str, protocol: str = None, specs=None):
    """The simulator's markets of ``exchange_id`` as ccxt loads them through our adapter,
    fetched once per test session (the tests then preset them: no REST per test).
    ``protocol``: the simulator's (default: the exchange id); ``specs``: a function giving
    the generator's market specs (default: the protocol's own)."""
    import ccxtpro_fast
    from ccxtpro_fast import sim

    async def load():
        generator = sim.Generator(specs(), seed=1) if specs else sim.Generator(seed=1)
        async with sim.serve(protocol or exchange_id, generator) as s:
            ex = s.attach(getattr(ccxtpro_fast, exchange_id)({"enableRateLimit": False}))
            try:
                return await ex.load_markets()
            finally:
                await ex.close()
    return asyncio.run(load())
