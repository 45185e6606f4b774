"""Local exchange simulator: real WebSocket + REST servers on 127.0.0.1 that speak an
exchange's wire protocol, fed by a seeded generator or a recorded session.

    from ccxtpro_fast import sim
    import ccxt.pro

    async with sim.serve('binance', source=sim.Generator(seed=1, rate=None)) as s:
        ex = s.attach(ccxt.pro.binance())           # sync: rewrites URLs/options only
        task = asyncio.ensure_future(ex.watch_order_book('BTC/USDT'))
        await s.step(100)                            # manual pacing: 100 generator ticks
        book = await task

    async with sim.serve('binance', source=sim.Replay('session.jsonl')) as s:   # max speed
        ...
    s.inject(sim.Drop('btcusdt@depth*', after=10))   # fault injection

See docs/simulator.md.
"""
from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator, Optional

from .core import LOOPBACK, Connection, MarketSpec, Protocol, ReplayData, ReplayFrame, SimServer, register
from .faults import Corrupt, Disconnect, Drop, FailRest, Fault, Reorder, Stall
from .generator import Generator
from .replay import Replay

__all__ = [
    "serve", "SimServer", "Generator", "Replay", "MarketSpec", "Protocol", "ReplayData", "ReplayFrame",
    "Connection", "register", "Fault", "Drop", "Corrupt", "Reorder", "Disconnect", "Stall", "FailRest",
]


@asynccontextmanager
async def serve(protocol: str = "binance", source=None, *, host: str = LOOPBACK, ws_port: int = 0,
                http_port: int = 0, ping_interval="protocol") -> AsyncIterator[SimServer]:
    """Run a simulator for ``protocol`` ('binance') on loopback for the ``async with`` body.

    ``source``: a :class:`Generator` (default: seed 0, manual pacing) or a :class:`Replay`.
    Ports default to free ephemeral ports (``s.ws_port``, ``s.http_port``).
    ``ping_interval``: server ping period in seconds, None to disable, default the
    exchange's documented period.
    """
    server = SimServer(protocol, source if source is not None else Generator(), host=host,
                       ws_port=ws_port, http_port=http_port, ping_interval=ping_interval)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def attach(exchange, server: Optional[SimServer] = None, *, protocol: Optional[str] = None,
           ws_port: Optional[int] = None, http_port: Optional[int] = None, host: str = LOOPBACK):
    """Point ``exchange`` at ``server`` (see :meth:`SimServer.attach`), or at a simulator
    running in another process (``python -m ccxtpro_fast.sim``) given its protocol and
    ports."""
    if server is None:
        if protocol is None or ws_port is None or http_port is None:
            raise TypeError("attach(exchange, server) or attach(exchange, protocol=, ws_port=, http_port=)")
        server = SimServer(protocol, None, host=host, ws_port=ws_port, http_port=http_port)
    return server.attach(exchange)
