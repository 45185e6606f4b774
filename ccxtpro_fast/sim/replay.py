"""Replay of a recorded session (the JSONL record format of ``tests/data/sessions/*.jsonl``).

The protocol module turns the file into :class:`~.core.ReplayData`: market specs,
the recorded data frames (each tagged with market kind and stream name, in the shape
the protocol's subscription mode delivers) and the recorded REST snapshots.

Each WebSocket connection gets its own cursor over the recording, started by its
first subscription: it sends, in recorded order, the frames whose stream the
connection is subscribed to *at that moment* (live semantics: a stream subscribed
later joins mid-recording). ``speed=None`` sends as fast as the client drains the
socket; ``speed=1.0`` keeps the recorded spacing, 2.0 twice as fast, and so on.
REST snapshots are served as recorded, whenever asked.
"""
from __future__ import annotations

import asyncio
import time
from typing import Optional

from .core import ReplayData


class Replay:
    def __init__(self, path: str, *, speed: Optional[float] = None):
        self.path = str(path)
        self.speed = speed
        self.data: Optional[ReplayData] = None
        self.server = None
        self.completed: list = []          # connections whose cursor reached the end
        self._completed_changed: Optional[asyncio.Condition] = None

    # source interface ----------------------------------------------------------------
    @property
    def markets(self):
        return self.data.markets

    def bind(self, server) -> None:
        self.server = server
        if self.data is None:
            self.data = server.protocol.load_replay(self.path)
        self._completed_changed = asyncio.Condition()

    async def run(self) -> None:
        return

    async def step(self, ticks: int = 1) -> None:
        raise TypeError("a replay is paced by its recording (speed=...), not stepped")

    def snapshot(self, kind: str, market_id: str):
        return self.data.snapshots.get((kind, market_id))

    def on_connect(self, conn) -> None:
        if conn.streams:
            self._start(conn)

    def on_subscribe(self, conn, stream: str) -> None:
        if conn.is_open:
            self._start(conn)

    async def wait_completed(self, count: int = 1, timeout: float = 10.0) -> None:
        """Wait until ``count`` connections have been sent their whole recording."""
        async def wait():
            async with self._completed_changed:
                await self._completed_changed.wait_for(lambda: len(self.completed) >= count)
        await asyncio.wait_for(wait(), timeout)

    # cursors ---------------------------------------------------------------------------
    def _start(self, conn) -> None:
        if conn._cursor is None:
            conn._cursor = asyncio.ensure_future(self._cursor(conn))

    async def _cursor(self, conn) -> None:
        frames = self.data.frames
        if not frames:
            return
        speed = self.speed
        origin = frames[0].ts
        t0 = time.monotonic()
        kind, streams = conn.kind, conn.streams     # the live set: subscriptions may change
        batch: list = []
        last_ts = None
        for f in frames:
            if f.kind != kind or f.stream not in streams:
                continue
            paced = False
            if speed and f.ts != last_ts:           # frames of one instant share one check
                last_ts = f.ts
                delay = (f.ts - origin) / speed - (time.monotonic() - t0)
                if delay > 0:
                    if batch:
                        conn.send_streams(batch)
                        batch = []
                    await asyncio.sleep(delay)
                    paced = True
            if not conn.is_open:
                return
            # a frame waited for goes out at its time; frames already due go out together,
            # 256 at a time, between socket drains
            batch.append((f.stream, f.payload))
            if paced:
                conn.send_streams(batch)
                batch = []
            elif len(batch) >= 256:
                conn.send_streams(batch)
                batch = []
                if not conn._writable.is_set():
                    await conn.writable()
                else:
                    await asyncio.sleep(0)      # let other connections and the REST server run
        if batch and conn.is_open:
            conn.send_streams(batch)
        self.completed.append(conn)
        async with self._completed_changed:
            self._completed_changed.notify_all()
