"""ccxtpro_fast.busy_poll: the loop spins instead of sleeping, and everything still runs."""
from __future__ import annotations

import asyncio
import os
import selectors
import signal
import socket
import threading
import time

import pytest

import ccxtpro_fast
from ccxtpro_fast import busy_poll, sim

from sim_helpers import run


def _record_timeouts(sel):
    """Shadow ``sel.select`` with a wrapper that logs every timeout it is called with
    (busy_poll spins on it and undo() must put it back)."""
    timeouts = []
    select = sel.select

    def recording(timeout=None):
        timeouts.append(timeout)
        return select(timeout)

    sel.select = recording
    return timeouts, recording


def test_watchers_wake_through_the_simulator_while_spinning():
    """Frames arrive and watch_order_book wakes with the loop never sleeping in its
    selector: every poll under the spin has a zero timeout."""
    async def main():
        loop = asyncio.get_running_loop()
        timeouts, recording = _record_timeouts(loop._selector)
        spin = busy_poll()
        assert spin.active and loop._selector.select is not recording
        del timeouts[:]
        async with sim.serve("binance", sim.Generator(seed=1, rate=200)) as server:
            ex = server.attach(ccxtpro_fast.binance({"enableRateLimit": False}))
            nonces = []
            for _ in range(5):
                book = await ex.watch_order_book("BTC/USDT")
                nonces.append(book["nonce"])
                assert len(book["bids"]) and len(book["asks"])
            await ex.close()
        assert nonces == sorted(set(nonces)), nonces
        assert len(timeouts) > 100 and set(timeouts) == {0}
        spin.undo()
        assert loop._selector.select is recording
        del loop._selector.select

    run(main())


def test_sleep_and_call_later_keep_their_time():
    async def main():
        loop = asyncio.get_running_loop()
        spin = busy_poll(loop)
        # a spin that ignored its deadline would never return: this wakes it through the
        # loop's self-pipe after 3 s, so such a bug fails the bounds below instead of hanging
        watchdog = threading.Timer(3, loop.call_soon_threadsafe, (lambda: None,))
        watchdog.daemon = True
        watchdog.start()
        t = time.monotonic()
        await asyncio.sleep(0.05)
        took = time.monotonic() - t
        assert 0.05 <= took < 0.5, took      # neither at once nor stuck in the spin
        fired = loop.create_future()
        due = loop.time() + 0.02
        loop.call_later(0.02, lambda: fired.set_result(loop.time()))
        at = await asyncio.wait_for(fired, 2)
        assert due <= at < due + 0.5
        watchdog.cancel()
        spin.undo()

    run(main())


def test_spin_without_a_timeout_returns_when_an_fd_is_ready():
    """The loop's ``select(None)`` (nothing scheduled) spins until another thread makes an
    fd readable; ``select(0.03)`` with nothing ready returns empty after 30 ms."""
    loop = asyncio.SelectorEventLoop(selectors.DefaultSelector())
    a, b = socket.socketpair()
    try:
        spin = busy_poll(loop)
        sel = loop._selector
        key = sel.register(a, selectors.EVENT_READ)
        t = time.monotonic()
        assert sel.select(0.03) == []
        assert 0.03 <= time.monotonic() - t < 0.5
        threading.Timer(0.02, b.send, (b"x",)).start()
        t = time.monotonic()
        ready = sel.select(None)
        assert ready == [(key, selectors.EVENT_READ)] and time.monotonic() - t >= 0.015
        spin.undo()
    finally:
        loop.close()
        a.close()
        b.close()


def test_other_threads_and_signals_still_run():
    """A thread doing Python work gets the GIL and its result back to the spinning loop;
    a signal reaches both kinds of handler (loop.add_signal_handler through the wake-up
    fd, a Python-level handler such as Ctrl-C's between polls)."""
    class Interrupted(Exception):
        pass

    def raise_interrupted(signum, frame):
        raise Interrupted

    async def main():
        loop = asyncio.get_running_loop()
        busy_poll(loop)
        total = await loop.run_in_executor(None, lambda: sum(i * i for i in range(200_000)))
        assert total == sum(i * i for i in range(200_000))
        got = loop.create_future()
        loop.add_signal_handler(signal.SIGUSR1, got.set_result, "usr1")
        try:
            threading.Timer(0.02, os.kill, (os.getpid(), signal.SIGUSR1)).start()
            assert await asyncio.wait_for(got, 2) == "usr1"
        finally:
            loop.remove_signal_handler(signal.SIGUSR1)
        threading.Timer(0.02, os.kill, (os.getpid(), signal.SIGUSR2)).start()
        await asyncio.sleep(2)          # interrupted long before

    previous = signal.signal(signal.SIGUSR2, raise_interrupted)
    try:
        t = time.monotonic()
        with pytest.raises(Interrupted):
            asyncio.run(main())
        assert time.monotonic() - t < 1.5
    finally:
        signal.signal(signal.SIGUSR2, previous)


def test_twice_is_harmless_and_undo_restores_the_select():
    async def main():
        loop = asyncio.get_running_loop()
        sel = loop._selector
        original = sel.select
        assert "select" not in sel.__dict__
        first = busy_poll(loop)
        spinning = sel.select
        assert busy_poll() is first and sel.select is spinning      # not wrapped twice
        await asyncio.sleep(0.01)
        first.undo()
        assert not first.active and "select" not in sel.__dict__ and sel.select == original
        first.undo()                                                # undone already: nothing
        again = busy_poll()
        assert again is not first and again.active
        spinning = sel.select
        # a wrapper put over the spin is not silently dropped by undo()
        sel.select = lambda timeout=None: spinning(timeout)
        with pytest.raises(RuntimeError):
            again.undo()
        sel.select = spinning
        again.undo()
        assert "select" not in sel.__dict__

    run(main())


def test_other_loops_are_refused():
    class NotSelectors(asyncio.AbstractEventLoop):
        pass

    with pytest.raises(TypeError, match="SelectorEventLoop"):
        busy_poll(NotSelectors())
    uvloop = pytest.importorskip("uvloop")
    loop = uvloop.new_event_loop()
    try:
        with pytest.raises(TypeError, match="SelectorEventLoop"):
            busy_poll(loop)
    finally:
        loop.close()
