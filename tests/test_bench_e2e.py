"""The end-to-end benchmark harness on a tiny session (no speed is asserted)."""
from __future__ import annotations

import argparse

import orjson
import pytest

from ccxtpro_fast.bench import e2e


@pytest.mark.parametrize("name", e2e.ALL)
def test_every_exchange_renders_a_session(name, tmp_path):
    """Each exchange's subscription gets a snapshot (WebSocket or REST) and then one frame
    per book change, every frame naming its update; replayable ones are written in the
    format their simulator's load_replay reads, and read back with the same frames."""
    from ccxtpro_fast.sim.core import protocol_class

    v = e2e.VENUES[name]
    path = tmp_path / "s.jsonl"
    meta = e2e.make_session(v, path, warmup=5, messages=20, rate=None, seed=3)
    keys = meta["keys"]
    assert len(keys) == 25 and len(set(keys)) == 25
    assert keys[1:] == sorted(keys[1:])
    # every venue replays (Kraken v2 too): the burst is measured for each
    assert v.replay
    data = protocol_class(v.protocol)(None).load_replay(str(path))
    assert len(data.frames) == 25
    assert [v.key_of(orjson.loads(f.payload)) or -1 for f in data.frames] == keys
    if name == "kraken":
        # the checksum precisions come from the header's market spec; the depth from the
        # recorded subscription request
        assert data.markets == [e2e.market_spec(v)]
        assert {f.stream for f in data.frames} == {"book.10:BTC/USD"}


@pytest.mark.parametrize("name", ["okx", "kraken"])
def test_harness_books_match(name, tmp_path, monkeypatch):
    """A whole run for a non-Binance exchange (Kraken: a v2 replay, burst included): both
    clients end with the same book (the harness fails otherwise) and every figure is
    positive."""
    monkeypatch.setattr(e2e, "CACHE", tmp_path)
    args = argparse.Namespace(messages=300, rate=1000.0, seconds=0.3, warmup=20, seed=5, bursts=2)
    r = e2e.run_venue(e2e.VENUES[name], args)
    for impl in e2e.IMPLEMENTATIONS:
        t, lat = r["throughput"][impl], r["latency"][impl]
        assert t["messages"] == 300
        assert t["msgs_per_s"] > 0 and t["cpu_us_per_msg"] > 0
        # the figures are the medians of the bursts, each of which is kept
        assert t["bursts"] == len(t["runs"]) == 2
        rates = sorted(run["msgs_per_s"] for run in t["runs"])
        assert t["msgs_per_s"] == pytest.approx(sum(rates) / 2)
        assert lat["samples"] > 0 and 0 < lat["p50_us"] <= lat["p99_us"] <= lat["p999_us"]
        assert lat["cpu_us_per_msg"] > 0
    assert r["throughput"]["ccxt.pro"]["top"] == r["throughput"]["ccxtpro_fast"]["top"]
    # both latencies for the three clients (the floor keeps no book)
    assert r["latency"][e2e.FLOOR]["top"] is None
    for impl in e2e.LATENCY_CLIENTS:
        lat = r["latency"][impl]
        assert lat["samples"] > 0 and 0 <= lat["busy"] <= lat["samples"]
        assert 0 < lat["in_client_p50_us"] <= lat["in_client_p99_us"] <= lat["in_client_p999_us"]
        send, inside = lat["latencies_us"], lat["in_client_us"]
        assert len(send) == len(inside) == lat["samples"]
        # in-client <= from send for every frame, so for every order statistic too
        assert all(0 < i <= s for i, s in zip(inside, send))
        for q in ("p50_us", "p99_us", "p999_us", "max_us"):
            assert lat["in_client_" + q] <= lat[q]
        assert lat["selects_per_frame"] >= 1
    assert r["select_record_ns"] > 0
    assert not any(r["latency"][impl]["live"] for impl in e2e.LATENCY_CLIENTS)
    text = e2e.table_all({"method": e2e.method(), "exchanges": {name: r}}, args.rate)
    assert name in text and "ratio" in text and "in-client p99" in text and e2e.FLOOR in text
    assert "n/a" not in text


def test_select_log_and_peer_fds():
    """The in-client clock's parts: every select() return is logged with its ready fds, and
    the socket to a port is found by its peer, whoever opened it."""
    import asyncio

    async def run():
        loop = asyncio.get_running_loop()
        server = await asyncio.start_server(lambda r, w: w.write(b"x"), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        log = e2e.SelectLog(loop, capacity=2).install()       # grows past its capacity
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await reader.read(1) == b"x"
        fds = e2e.peer_fds(port)
        assert fds == [writer.get_extra_info("socket").fileno()]
        log.uninstall()
        calls = log.calls()
        await asyncio.sleep(0)
        assert log.calls() == calls > 2
        enter, ret = log.reporting(fds)
        assert enter and all(e <= r for e, r in zip(enter, ret)) and ret == sorted(ret)
        writer.close()
        server.close()

    asyncio.run(run())


def test_precise_timers_keep_the_loop_working():
    """The simulator's precise waits (epoll_pwait2) still wake on timers and on sockets."""
    import asyncio

    async def run():
        loop = asyncio.get_running_loop()
        installed = e2e.precise_timers(loop)
        for _ in range(5):
            await asyncio.sleep(0.0003)
        server = await asyncio.start_server(lambda r, w: w.write(b"y"), "127.0.0.1", 0)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
        assert await asyncio.wait_for(reader.read(1), 5) == b"y"
        writer.close()
        server.close()
        return installed

    assert asyncio.run(run()) in (True, False)


def test_select_log_over_the_busy_poll_spin():
    """Under --busy-poll the log wraps the spin: a call's time before is when the wait
    began and its return comes right after the poll that saw the data, and uninstalling
    the log leaves the spin in place."""
    import asyncio
    import selectors
    import socket
    import threading
    import time

    import ccxtpro_fast

    loop = asyncio.SelectorEventLoop(selectors.EpollSelector())
    a, b = socket.socketpair()
    try:
        spin = ccxtpro_fast.busy_poll(loop)
        sel = loop._selector
        spinning = sel.select
        log = e2e.SelectLog(loop).install()
        sel.register(a, selectors.EVENT_READ)
        written = []

        def write():
            written.append(time.perf_counter_ns())
            b.send(b"x")

        threading.Timer(0.03, write).start()
        assert len(sel.select(None)) == 1
        log.uninstall()
        assert sel.select is spinning and spin.active
        (enter,), (ret,) = log.reporting([a.fileno()])
        # one logged call covers the whole wait (the spin's polls are inside it): it began
        # before the write (the frame finds the client idle) and returned after it, soon
        assert log.calls() == 1
        assert enter < written[0] <= ret < written[0] + 20_000_000
        spin.undo()
    finally:
        loop.close()
        a.close()
        b.close()


def test_harness_latency_busy_poll(tmp_path):
    """A steady run with --busy-poll: each of the three clients reports its loop spun, and
    the in-client clock still holds (in-client <= from send, frame by frame)."""
    v = e2e.VENUES["binance"]
    path = tmp_path / "steady.jsonl"
    meta = e2e.make_session(v, path, warmup=20, messages=200, rate=1000.0, seed=5)
    lat = e2e.latency(v, path, meta, 20, 1000.0, 5, busy_poll=True)
    for impl in e2e.LATENCY_CLIENTS:
        r = lat[impl]
        assert r["busy_poll"] is True
        assert r["samples"] > 0 and 0 <= r["busy"] <= r["samples"]
        assert all(0 < i <= s for i, s in zip(r["in_client_us"], r["latencies_us"]))
        assert r["epoll_p50_us"] is not None        # some frames found the client spinning
    text = "\n".join(e2e.latency_table({"busy_poll": True, "exchanges": {"binance": {"latency": lat}}}))
    assert "BUSY-POLL" in text


def test_report_labels_the_latency_mode():
    """The report's README rows name the mode of the latency run they come from."""
    from ccxtpro_fast.bench import report

    client = {"p50_us": 10.0, "p99_us": 20.0, "p999_us": 30.0, "in_client_p50_us": 5.0,
              "in_client_p99_us": 8.0, "in_client_p999_us": 9.0, "samples": 100}
    e2e_result = {"throughput": {impl: {"msgs_per_s": 1.0, "cpu_us_per_msg": 1.0, "messages": 10}
                                 for impl in e2e.IMPLEMENTATIONS},
                  "latency": {impl: dict(client) for impl in e2e.LATENCY_CLIENTS},
                  "method": {"machine": "m", "python": "3", "ccxt": "4", "picows": "2", "orjson": "3"}}
    args = ({"ccxt.pro OrderBook": 500.0, "ccxtpro_fast store_deltas": 25.0},
            {"ccxtpro_fast": 200.0, "Python (zlib.crc32 over joined text)": 5000.0},
            {"ccxt.pro OrderBook": 300_000, "ccxtpro_fast": 150_000})
    default = report.table(*args, dict(e2e_result, busy_poll=False), 1000)
    busy = report.table(*args, dict(e2e_result, busy_poll=True), 1000)
    assert "busy-poll" not in default and "includes the OS wake-up" in default
    rows = [r for r in busy.splitlines() if r.startswith("| latency")]
    assert len(rows) == 6 and all("busy-polling" in r for r in rows)
    assert not any("includes the OS wake-up" in r for r in rows)
