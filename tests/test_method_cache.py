"""The bound-method cache under ccxt.pro's handlers (ccxtpro_fast/_core/dispatch.pyx):
``self.handle_x`` loaded as a value (ccxt.pro's per-message routing tables) finds a bound
method kept in the instance, and what it finds is always what ccxt.pro would find: the
class as it is now (patched after the instance was made, on the class or a base), or
the instance's own assignment, which nothing overwrites."""
from __future__ import annotations

import asyncio
import sys
import gc
import weakref

import ccxt.pro
import pytest

import ccxtpro_fast
from ccxtpro_fast import sim
from ccxtpro_fast.base import fastpaths

from binance_helpers import drained, markets, tracing
from sim_helpers import run

URL = "wss://stream.binance.com:9443/stream?streams=btcusdt@depth@100ms"
DEPTH = {"e": "depthUpdate", "E": 1, "s": "BTCUSDT", "U": 1, "u": 2, "b": [], "a": []}
TRADE = {"e": "trade", "E": 1, "s": "BTCUSDT", "t": 1, "p": "1", "q": "1", "T": 1, "m": True}
OTHER = {"e": "none of binance's events"}


def generic():
    return type("binance", (ccxtpro_fast.Exchange, ccxt.pro.binance), {})


def recorder(calls, tag):
    def handle(self, client, message):
        calls.append((tag, message["e"]))
    return handle


def with_exchange(body, cls=None):
    """body(ex) on a fresh exchange of ``cls`` (default: the generic binance) inside a
    running loop, which its client needs; the exchange is closed after."""
    async def main():
        ex = (cls or generic())({"enableRateLimit": False})
        try:
            body(ex)
        finally:
            await ex.close()
    run(main())


def test_the_routing_table_names_are_found():
    names = fastpaths.method_values(generic())
    # ccxt.pro binance's handle_message table, loaded as values
    assert {"handle_order_book", "handle_trade", "handle_tickers", "handle_balance"} <= set(names)
    # what its handlers only call is not cached
    assert "handle_order_book_message" not in names and "safe_string" not in names


def test_a_class_patch_after_the_first_message_is_seen_on_the_next(monkeypatch):
    def body(ex):
        client = ex.client(URL)
        client.dispatch(OTHER)
        cached = ex._ws_methods.cached()
        assert cached["handle_order_book"].__func__ is ccxt.pro.binance.handle_order_book
        assert ex.handle_order_book is ex.handle_order_book      # no new object per load
        assert vars(ex)["handle_order_book"] is cached["handle_order_book"]
        calls = []
        # on ccxt.pro's class, a base of ours
        monkeypatch.setattr(ccxt.pro.binance, "handle_order_book", recorder(calls, "class"))
        client.dispatch(DEPTH)
        assert calls == [("class", "depthUpdate")]
        # again, on the same name: a new tag each time
        monkeypatch.setattr(ccxt.pro.binance, "handle_order_book", recorder(calls, "again"))
        client.dispatch(DEPTH)
        assert calls[-1] == ("again", "depthUpdate")
        # on a base further up (ccxt.pro's base class): a name binance does not define
        monkeypatch.setattr(ccxt.pro.Exchange, "handle_trade", recorder(calls, "base"), raising=False)
        client.dispatch(TRADE)
        assert calls[-1] != ("base", "trade")   # binance's own handle_trade still precedes it
        monkeypatch.setattr(ccxt.pro.binance, "handle_trade", recorder(calls, "trade"))
        client.dispatch(TRADE)
        assert calls[-1] == ("trade", "trade")
        # undone: the original runs again
        monkeypatch.undo()
        client.dispatch(OTHER)
        assert ex.handle_order_book.__func__ is ccxt.pro.binance.handle_order_book
        assert ex.handle_trade.__func__ is ccxt.pro.binance.handle_trade

    with_exchange(body)


def test_an_instance_assignment_wins_and_is_never_overwritten(monkeypatch):
    def body(ex):
        client = ex.client(URL)
        client.dispatch(OTHER)
        calls = []
        mine = recorder(calls, "instance").__get__(ex)
        ex.handle_order_book = mine
        client.dispatch(DEPTH)
        assert calls == [("instance", "depthUpdate")]
        # a class patch afterwards changes nothing for this instance, as in ccxt.pro
        monkeypatch.setattr(ccxt.pro.binance, "handle_order_book", recorder(calls, "class"))
        client.dispatch(DEPTH)
        assert calls[-1] == ("instance", "depthUpdate")
        assert ex.handle_order_book is mine
        assert "handle_order_book" not in ex._ws_methods.cached()
        # deleted by the user: the class's, as it is now
        del ex.handle_order_book
        client.dispatch(DEPTH)
        assert calls[-1] == ("class", "depthUpdate")
        assert "handle_order_book" not in vars(ex)

    with_exchange(body)


def test_an_assignment_before_the_first_message_is_kept(monkeypatch):
    def body(ex):
        calls = []
        ex.handle_trade = recorder(calls, "early").__get__(ex)
        client = ex.client(URL)
        client.dispatch(TRADE)
        assert calls == [("early", "trade")]
        assert "handle_trade" not in ex._ws_methods.cached()

    with_exchange(body)


def test_a_class_attribute_that_is_no_longer_a_function_is_not_cached(monkeypatch):
    def body(ex):
        client = ex.client(URL)
        client.dispatch(OTHER)
        calls = []

        def static(client, message):
            calls.append(("static", message["e"]))
        monkeypatch.setattr(ccxt.pro.binance, "handle_trade", staticmethod(static))
        client.dispatch(TRADE)
        assert calls == [("static", "trade")]
        assert ex.handle_trade is static
        assert "handle_trade" not in vars(ex)

    with_exchange(body)


def test_a_subclass_and_a_changed_class_get_their_own_methods():
    calls = []

    class Mine(generic()):
        def handle_order_book(self, client, message):
            calls.append(("subclass", message["e"]))

    def body(ex):
        client = ex.client(URL)
        client.dispatch(DEPTH)
        assert calls == [("subclass", "depthUpdate")]

        class Other(Mine):
            def handle_order_book(self, client, message):
                calls.append(("other", message["e"]))
        ex.__class__ = Other
        client.dispatch(DEPTH)
        assert calls[-1] == ("other", "depthUpdate")

    with_exchange(body, Mine)


def test_a_class_patch_reaches_a_running_stream(monkeypatch):
    """Through the simulator: the patch lands between two bursts of a live book."""
    async def main():
        async with sim.serve("binance", sim.Generator(markets(), seed=3)) as s:
            ex = s.attach(tracing(generic())({"enableRateLimit": False}))
            try:
                await ex.load_markets()
                await asyncio.wait_for(ex.watch_order_book("BTC/USDT"), 10)
                await s.step(20)
                await drained(s, [ex])
                assert "handle_order_book" in ex._ws_methods.cached()
                seen = []
                original = ccxt.pro.binance.handle_order_book

                def counting(self, client, message):
                    seen.append(message["u"])
                    return original(self, client, message)
                monkeypatch.setattr(ccxt.pro.binance, "handle_order_book", counting)
                before = ex.orderbooks["BTC/USDT"]["nonce"]
                await s.step(20)
                await drained(s, [ex])
                assert seen and seen[-1] == ex.orderbooks["BTC/USDT"]["nonce"] > before
            finally:
                await ex.close()

    run(main(), timeout=60)


def test_a_closed_exchange_is_freed():
    async def main():
        ex = generic()({"enableRateLimit": False})
        client = ex.client(URL)
        client.dispatch(OTHER)
        assert ex._ws_methods.cached()
        await ex.close()
        return weakref.ref(ex), weakref.ref(client)

    refs = run(main())
    gc.collect()
    assert [r() for r in refs] == [None, None]


def test_native_adapters_cache_their_routing_too():
    cls = ccxtpro_fast.binance
    assert cls.__module__ == "ccxtpro_fast.exchanges.binance"
    assert "handle_order_book" in fastpaths.method_values(cls)


def test_inherited_routing_methods_get_a_stand_in_that_resolves_as_the_function_would(monkeypatch):
    from ccxtpro_fast._core.dispatch import RoutedMethod
    cls = generic()

    def body(ex):
        ex.client(URL).dispatch(OTHER)
        stand_in = cls.__dict__["handle_trade"]
        assert type(stand_in) is RoutedMethod and stand_in.target() is ccxt.pro.binance.handle_trade
        # through the class: the function itself; through an instance: bound as usual
        assert cls.handle_trade is ccxt.pro.binance.handle_trade
        other = cls({"enableRateLimit": False})     # no message yet: nothing cached
        assert "handle_trade" not in vars(other)
        assert other.handle_trade.__func__ is ccxt.pro.binance.handle_trade
        assert other.handle_trade.__self__ is other
        # a base patched later is what the stand-in gives, cached or not
        calls = []
        monkeypatch.setattr(ccxt.pro.binance, "handle_trade", recorder(calls, "patched"))
        assert cls.handle_trade is ccxt.pro.binance.handle_trade
        assert other.handle_trade.__func__ is ccxt.pro.binance.handle_trade
        ex.client(URL).dispatch(TRADE)
        assert calls == [("patched", "trade")]

    with_exchange(body, cls)


def test_a_name_the_class_defines_itself_gets_no_stand_in():
    class Mine(generic()):
        def handle_trade(self, client, message):
            pass

    def body(ex):
        ex.client(URL).dispatch(OTHER)
        assert Mine.__dict__["handle_trade"].__class__ is type(lambda: None)
        assert "handle_order_book" in Mine.__dict__         # inherited: a stand-in
        assert ex._ws_methods.cached()["handle_trade"].__func__ is Mine.__dict__["handle_trade"]

    with_exchange(body, Mine)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="CPython 3.10 has no adaptive bytecode to read")
def test_the_interpreter_specialises_the_routing_table_loads():
    """What the stand-ins are for: ccxt.pro's ``self.handle_trade`` loads in binance's
    per-message table become indexed reads of the instance dict (3.11+)."""
    import dis

    def body(ex):
        client = ex.client(URL)
        # past the interpreter's longest back-off after failed specialisations (4,096
        # runs in 3.11), which other classes' runs of the same code may have started
        for _ in range(5000):
            client.dispatch(OTHER)
        loads = [i.opname for i in dis.get_instructions(ccxt.pro.binance.handle_message, adaptive=True)
                 if i.argval == "handle_trade"]
        assert loads and all(op == "LOAD_ATTR_WITH_HINT" for op in loads), loads

    with_exchange(body)


def test_stand_ins_survive_a_class_rebuilt_from_their_dict_and_are_callable(monkeypatch):
    from ccxtpro_fast._core.dispatch import RoutedMethod
    cls = generic()
    fastpaths.method_values(cls)
    stand_in = cls.__dict__["handle_trade"]
    assert type(stand_in) is RoutedMethod
    # what class-rebuilding decorators do (six.add_metaclass and the like)
    clone = type(cls.__name__, cls.__bases__, dict(vars(cls)))
    assert clone.handle_trade is ccxt.pro.binance.handle_trade
    # called from the class dict (mock's autospec does): the function it stands for
    calls = []
    monkeypatch.setattr(ccxt.pro.binance, "handle_trade", recorder(calls, "via dict"))
    stand_in(object(), None, TRADE)
    assert calls == [("via dict", "trade")]


def test_a_class_with_its_own_attribute_access_gets_no_stand_ins():
    class Custom(generic()):
        def __getattr__(self, name):
            raise AttributeError(name)

    names = fastpaths.method_values(Custom)
    assert "handle_trade" in names
    assert not any(type(v).__name__ == "RoutedMethod" for v in vars(Custom).values())


def test_every_exchange_resolves_its_routed_names_as_ccxt_pro_does():
    """For every ccxt.pro id: once its routing names are stood in for, each resolves on the
    class to what the class's bases define (for an exchange without a native adapter:
    what ccxt.pro's own class gives), and on an instance to that, bound."""
    from ccxtpro_fast._core.dispatch import RoutedMethod
    routed = 0
    for exchange_id in ccxt.pro.exchanges:
        cls, theirs = getattr(ccxtpro_fast, exchange_id), getattr(ccxt.pro, exchange_id)
        for name in fastpaths.method_values(cls):
            if type(cls.__dict__.get(name)) is not RoutedMethod:
                continue
            routed += 1
            inherited = next(k.__dict__[name] for k in cls.__mro__[1:] if name in k.__dict__)
            assert getattr(cls, name) is inherited, (exchange_id, name)
            if cls.__module__ == "ccxtpro_fast":
                assert inherited is getattr(theirs, name), (exchange_id, name)
    assert routed > 100

    def body(ex):
        ex.client(URL).dispatch(OTHER)
        for name in fastpaths.method_values(type(ex)):
            bound = getattr(ex, name)
            assert bound.__self__ is ex and bound.__func__ is getattr(type(ex), name)

    for cls in (ccxtpro_fast.binance, ccxtpro_fast.kucoin, ccxtpro_fast.okx):
        with_exchange(body, cls)
