"""The native adapters' compiled raw-frame hooks (``_core.diffs.RawHook``,
``base.exchange.raw_hook``): what the client is given, that the compiled listener calls
them without a Python call, that a subclass's own ``handle_raw_message`` still wins, and
that the exchange's public attributes are read per frame, not captured."""
from __future__ import annotations

import inspect

import pytest

import ccxtpro_fast
from ccxtpro_fast import sim
from ccxtpro_fast._core.diffs import (BinanceDepthHook, BitgetUpdateHook, BybitDeltaHook,
                                      OkxUpdateHook, RawHook)
from ccxtpro_fast.base import client as client_module
from ccxtpro_fast.base.exchange import raw_hook

from okx_helpers import truth_levels
from sim_helpers import run

HOOKS = {
    "binance": BinanceDepthHook, "binanceusdm": BinanceDepthHook, "binancecoinm": BinanceDepthHook,
    "okx": OkxUpdateHook, "myokx": OkxUpdateHook, "okxus": OkxUpdateHook,
    "bybit": BybitDeltaHook, "bitget": BitgetUpdateHook,
}
BTC = "BTC-USDT"


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_each_adapter_hands_its_compiled_hook_to_the_client(name):
    async def main():
        ex = getattr(ccxtpro_fast, name)({"enableRateLimit": False})
        try:
            hook = ex.handle_raw_message
            assert type(hook) is HOOKS[name] and isinstance(hook, RawHook)
            assert ex.handle_raw_message is hook        # one per exchange, made once
            assert hook.applied == 0
            client = ex.client("ws://127.0.0.1:1/ws")
            assert client.raw_message_callback is hook
        finally:
            await ex.close()
    run(main())


def test_a_subclass_method_overrides_the_hook():
    seen = []

    class Mine(ccxtpro_fast.okx):
        def handle_raw_message(self, client, data):
            seen.append(data)
            return super().handle_raw_message(client, data)

    async def main():
        ex = Mine({"enableRateLimit": False})
        try:
            client = ex.client("ws://127.0.0.1:1/ws")
            assert client.raw_message_callback == ex.handle_raw_message
            assert not isinstance(client.raw_message_callback, RawHook)
            # super() reaches the adapter's hook, which declines a frame it cannot route
            assert client.raw_message_callback(client, b'{"event":"subscribe"}') is False
            assert seen == [b'{"event":"subscribe"}']
        finally:
            await ex.close()
    run(main())
    assert isinstance(inspect.getattr_static(ccxtpro_fast.okx, "handle_raw_message"), raw_hook)
    assert not isinstance(inspect.getattr_static(Mine, "handle_raw_message"), raw_hook)


@pytest.mark.parametrize("listener", ["compiled listener", "python listener"])
def test_the_compiled_listener_calls_the_hook_in_c(listener, monkeypatch):
    """Through the simulator: with the compiled listener the hook's Python-level
    ``__call__`` is never used, yet the core applies the updates; with the Python listener
    the same hook is called as a callable. Either way the book is the simulator's."""
    if listener == "python listener":
        monkeypatch.setattr(client_module, "TextFrameListener", None)
    elif client_module.TextFrameListener is None:
        pytest.fail("the compiled listener is not importable: built against another picows?")
    calls = []

    class Spy(OkxUpdateHook):
        def __call__(self, client, data):
            calls.append(len(data))
            return super().__call__(client, data)

    async def main():
        async with sim.serve("okx", sim.Generator(seed=12)) as s:
            ex = s.attach(ccxtpro_fast.okx({"enableRateLimit": False}))
            spy = Spy(ex, ex._okx_resyncs, ex._okx_raw_routes, ex._okx_raw_mismatch)
            ex.__dict__["_raw_hook_handle_raw_message"] = spy      # where raw_hook keeps it
            assert ex.handle_raw_message is spy
            try:
                await ex.load_markets()
                await ex.watch_order_book("BTC/USDT")
                await s.step(30)
                for _ in range(200):
                    book = await ex.watch_order_book("BTC/USDT")
                    if book["nonce"] == s.protocol.current_seq(BTC):
                        break
                assert (book["bids"][:], book["asks"][:]) == truth_levels(s, BTC)
                assert spy.applied >= 25       # the snapshot and the first update: Python
                if listener == "compiled listener":
                    assert calls == []
                else:
                    assert len(calls) >= spy.applied
            finally:
                await ex.close()
    run(main())


def test_orderbooks_replaced_by_ccxt_are_read_per_frame():
    """ccxt's clean_ws_data replaces exchange.orderbooks: the hook must use the new dict
    (a captured one would apply updates to a book nobody reads)."""
    async def main():
        async with sim.serve("okx", sim.Generator(seed=13)) as s:
            ex = s.attach(ccxtpro_fast.okx({"enableRateLimit": False}))
            try:
                await ex.load_markets()
                await ex.watch_order_book("BTC/USDT")
                old = ex.orderbooks
                ex.orderbooks = {"BTC/USDT": old["BTC/USDT"]}
                applied = ex.handle_raw_message.applied
                await s.step(10)
                for _ in range(100):
                    book = await ex.watch_order_book("BTC/USDT")
                    if book["nonce"] == s.protocol.current_seq(BTC):
                        break
                assert ex.handle_raw_message.applied > applied
                assert ex.orderbooks["BTC/USDT"] is book
                assert (book["bids"][:], book["asks"][:]) == truth_levels(s, BTC)
            finally:
                await ex.close()
    run(main())


@pytest.mark.parametrize("text", [False, True])
def test_recent_routing_keys_are_the_frames_keys(text):
    # the hooks look a frame's arg/symbol/topic up with a recently made key object when
    # its bytes are the same: never another key's (same length, other bytes; more keys
    # than it keeps; non-ASCII text, which it does not keep)
    import random
    from ccxtpro_fast._core import diffs
    rng = random.Random(5)
    pool = [f"BTC-USDT-{i:02d}".encode() for i in range(40)] + [b"", "ÉTH-€".encode()]
    keys = [rng.choice(pool[:3] if rng.random() < 0.5 else pool) for _ in range(2000)]
    got = diffs._recent_keys_for_tests(text, keys)
    assert got == [k.decode() if text else k for k in keys]
    assert all(type(g) is (str if text else bytes) for g in got)
    # a key seen just before comes back as the same object (its hash kept)
    again = diffs._recent_keys_for_tests(text, [pool[0], pool[0]])
    assert again[0] is again[1]
