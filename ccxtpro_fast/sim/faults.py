"""Fault injection: armed objects that act on matching outgoing frames, then disarm.

Every data frame a connection sends passes through :class:`FaultPipeline`; control
replies (subscription acks) do not. A fault matches on the stream name (a
``fnmatch`` pattern), optionally on the connection (``where``), lets ``after``
matching frames through, then acts on the next ``count`` ones. Faults are
protocol-agnostic; the only protocol hook is ``Protocol.corrupt`` (what a
"corrupted level" means on that wire).

    s.inject(Drop('btcusdt@depth*', after=10))            # a sequence gap
    s.inject(Corrupt('btcusdt@depth*', after=5))          # a wrong quantity
    s.inject(Reorder('*@depth*'))                         # two frames swapped
    s.inject(Disconnect('*', after=100))                  # abrupt TCP drop
    s.inject(Stall('*', seconds=2.0))                     # hold output, then flush
    s.inject(FailRest('/api/v3/depth', status=503))       # snapshot request fails
"""
from __future__ import annotations

import asyncio
import random
from fnmatch import fnmatchcase
from typing import Callable, Optional


class Fault:
    """Base class. ``stream``: fnmatch pattern; ``after``: matching frames passed
    before acting; ``count``: frames acted on; ``where``: connection predicate."""

    def __init__(self, stream: str = "*", *, after: int = 0, count: int = 1,
                 where: Optional[Callable] = None):
        self.stream = stream
        self.after = after
        self.count = count
        self.where = where
        self.seen = 0
        self.hits = 0
        self.done = asyncio.Event()     # set once the fault has acted ``count`` times

    def matches(self, conn, stream: str) -> bool:
        return fnmatchcase(stream, self.stream) and (self.where is None or self.where(conn))

    @property
    def finished(self) -> bool:
        return self.hits >= self.count

    def _hit(self) -> None:
        self.hits += 1
        if self.finished:
            self.done.set()

    def act(self, pipeline: "FaultPipeline", conn, stream: str, data: bytes) -> tuple:
        raise NotImplementedError


class Drop(Fault):
    """Silently lose the frame (a sequence gap for the client)."""

    def act(self, pipeline, conn, stream, data):
        self._hit()
        return ()


class Corrupt(Fault):
    """Damage the frame. ``mode='data'`` asks the protocol to change a value so the
    frame stays well-formed but wrong (e.g. a level's quantity); ``mode='json'``
    truncates it into invalid JSON."""

    def __init__(self, stream="*", *, mode: str = "data", seed: int = 0, **kw):
        super().__init__(stream, **kw)
        self.mode = mode
        self.rng = random.Random(seed)

    def act(self, pipeline, conn, stream, data):
        self._hit()
        if self.mode == "json":
            return (data[: max(1, len(data) // 2)],)
        return (pipeline.server.protocol.corrupt(stream, data, self.rng),)


class Reorder(Fault):
    """Hold a matching frame and send it after the next matching frame on the same
    connection (the two arrive swapped). ``count`` swaps."""

    def __init__(self, stream="*", **kw):
        super().__init__(stream, **kw)
        self._held: dict = {}

    def act(self, pipeline, conn, stream, data):
        held = self._held.pop(conn, None)
        if held is None:
            self._held[conn] = data
            self.seen -= 1      # the held frame is half of one swap, not a separate match
            return ()
        self._hit()
        return (data, held)


class Disconnect(Fault):
    """Drop the connection instead of sending the frame. ``code=None`` resets the TCP
    connection without a close frame; an int sends that close code first."""

    def __init__(self, stream="*", *, code: Optional[int] = None, **kw):
        super().__init__(stream, **kw)
        self.code = code

    def act(self, pipeline, conn, stream, data):
        self._hit()
        conn.disconnect(self.code)
        return ()


class Stall(Fault):
    """Stop sending on the connection (frames are held, in order) for ``seconds``, or
    until :meth:`release` when ``seconds`` is None; ``drop=True`` discards the held
    frames on release instead of flushing them."""

    def __init__(self, stream="*", *, seconds: Optional[float] = None, drop: bool = False, **kw):
        super().__init__(stream, **kw)
        self.seconds = seconds
        self.drop = drop
        self._stalled: list = []

    def act(self, pipeline, conn, stream, data):
        self._hit()
        self._stalled.append(conn)
        conn.stall(None)
        if self.seconds is not None:
            asyncio.get_running_loop().call_later(self.seconds, self.release)
        return (data,)      # goes into the hold queue, in order

    def release(self) -> None:
        stalled, self._stalled = self._stalled, []
        for conn in stalled:
            conn.release(drop=self.drop)


class FailRest(Fault):
    """Answer matching REST requests (``stream`` is a path pattern, e.g.
    '/api/v3/depth') with ``status`` and ``body`` instead of serving them."""

    def __init__(self, path: str = "*", *, status: int = 503, body: bytes = b"", **kw):
        super().__init__(path, **kw)
        self.status = status
        self.body = body

    def act(self, pipeline, conn, stream, data):
        self._hit()
        return ()


class FaultPipeline:
    def __init__(self, server):
        self.server = server
        self.faults: list[Fault] = []

    @property
    def active(self) -> bool:
        return bool(self.faults)

    def add(self, fault: Fault) -> Fault:
        self.faults.append(fault)
        return fault

    def clear(self) -> None:
        self.faults.clear()

    def process(self, conn, stream: str, data: bytes) -> tuple:
        """Run one outgoing data frame through the first armed fault that matches it."""
        for fault in self.faults:
            if isinstance(fault, FailRest) or fault.finished or not fault.matches(conn, stream):
                continue
            fault.seen += 1
            if fault.seen <= fault.after:
                continue
            out = fault.act(self, conn, stream, data)
            self._prune()
            return out
        return (data,)

    def rest(self, path: str) -> Optional[FailRest]:
        """The armed REST fault for ``path`` (consumed by the HTTP layer), if any."""
        for fault in self.faults:
            if isinstance(fault, FailRest) and not fault.finished and fault.matches(None, path):
                fault.seen += 1
                if fault.seen <= fault.after:
                    continue
                fault.act(self, None, path, b"")
                self._prune()
                return fault
        return None

    def _prune(self) -> None:
        # a Reorder holding a frame stays armed until it releases it
        self.faults = [f for f in self.faults
                       if not f.finished or (isinstance(f, Reorder) and f._held)
                       or (isinstance(f, Stall) and f._stalled)]
