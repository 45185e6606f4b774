"""Busy polling for asyncio's selector event loop: ``ccxtpro_fast.busy_poll()``.

asyncio's default loop sleeps in ``epoll_wait`` between frames, so every frame pays the
OS waking the process (tens of us on a VM, more in the tail). With busy polling the
loop's selector never sleeps: its blocking wait becomes a spin of zero-timeout polls
until an fd is ready or the loop's own timeout (its next timer) is due. The price is a
whole core at 100% for as long as it is on.

What keeps working, and why:

- timers: the spin ends at the timeout the loop asked for (measured on
  ``time.monotonic``, the loop's clock), so ``call_later`` and ``asyncio.sleep`` fire on
  time, to within one poll;
- signals and other threads: each poll is a real selector call, which releases the GIL
  and sees the loop's self-pipe and signal wake-up fd; between polls the interpreter runs
  Python-level signal handlers (Ctrl-C's ``KeyboardInterrupt``) as usual.

The spin is installed by shadowing the selector's ``select`` method with an instance
attribute (the loop calls ``self._selector.select(timeout)``), which is what makes it
work for every selector asyncio's ``SelectorEventLoop`` uses (epoll, poll, select) and
makes it exactly reversible.
"""
from __future__ import annotations

import asyncio
import selectors
import time
from typing import Optional

__all__ = ["busy_poll", "BusyPoll"]

# where a selector keeps its active handle: a second busy_poll() on the same loop finds it
# even when something else has wrapped select() on top of the spin since
_HANDLE = "_ccxf_busy_poll"


class BusyPoll:
    """The handle :func:`busy_poll` returns; ``undo()`` gives the loop its sleeping wait
    back. ``active`` tells whether the spin is installed."""

    __slots__ = ("loop", "_selector", "_previous", "_spin")

    def __init__(self, loop: asyncio.AbstractEventLoop, selector: selectors.BaseSelector):
        self.loop = loop
        self._selector = selector
        # an instance attribute already shadowing select() (another wrapper) is kept and
        # spun on, and put back by undo(); None: the class's own method
        self._previous = selector.__dict__.get("select")
        self._spin = _make_spin(selector.select)
        selector.select = self._spin
        setattr(selector, _HANDLE, self)

    @property
    def active(self) -> bool:
        return self._selector.__dict__.get(_HANDLE) is self

    def undo(self) -> None:
        """Restore the selector's previous ``select``; harmless when already undone."""
        if not self.active:
            return
        sel = self._selector
        if sel.__dict__.get("select") is not self._spin:
            # restoring the previous select() now would silently drop that wrapper too
            raise RuntimeError("the selector's select() was wrapped again after busy_poll(); "
                               "remove that wrapper before undoing the busy polling")
        if self._previous is None:
            del sel.select
        else:
            sel.select = self._previous
        delattr(sel, _HANDLE)

    def __repr__(self) -> str:
        return f"<BusyPoll {'active' if self.active else 'undone'} on {type(self._selector).__name__}>"


def _make_spin(select):
    monotonic = time.monotonic

    def spin(timeout: Optional[float] = None):
        # the loop passes None (nothing scheduled: wait for an fd), 0 (callbacks ready: just
        # look) or the delay to its next timer
        ready = select(0)
        if ready or (timeout is not None and timeout <= 0):
            return ready
        if timeout is None:
            while not ready:
                ready = select(0)
            return ready
        deadline = monotonic() + timeout
        while not ready and monotonic() < deadline:
            ready = select(0)
        return ready

    return spin


def busy_poll(loop: Optional[asyncio.AbstractEventLoop] = None) -> BusyPoll:
    """Make ``loop`` (default: the running loop) busy-poll instead of sleeping between
    events, and return the handle whose ``undo()`` reverts it.

    Only asyncio's ``SelectorEventLoop`` (the default on Linux and macOS) can: any other
    loop (uvloop, the Proactor loop) raises TypeError. Calling it again on a loop that
    already spins returns the same handle. It takes effect from the loop's next wait, and
    costs a full core at 100% until undone: use it on a machine with a core to spare for
    this loop, when the latency of each message matters more than the CPU."""
    if loop is None:
        loop = asyncio.get_running_loop()
    sel = getattr(loop, "_selector", None)
    if not isinstance(loop, asyncio.SelectorEventLoop) or not isinstance(sel, selectors.BaseSelector):
        raise TypeError(f"busy_poll needs asyncio's SelectorEventLoop (epoll, poll or select), "
                        f"not {type(loop).__module__}.{type(loop).__qualname__}")
    handle = sel.__dict__.get(_HANDLE)
    if handle is None:
        handle = BusyPoll(loop, sel)
    return handle
