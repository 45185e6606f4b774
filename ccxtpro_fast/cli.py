"""The command line: `ccxtpro-fast` or `python -m ccxtpro_fast`.

    demo                      a live order book, trades and update latency from the embedded
                              simulator (no network), until Ctrl-C
    watch EXCHANGE SYMBOL     the same view for any exchange: live, or --sim for the simulator
    bench                     the side-by-side benchmarks against ccxt.pro, as a table
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import os
import sys
import time


class CliError(Exception):
    """A failure to report as one line plus a hint."""

    def __init__(self, message, hint=None):
        super().__init__(message)
        self.hint = hint


# ---------------------------------------------------------------- the live view


def _num(x):
    """A price or amount in plain decimals (no 6e-05), as a trader reads it."""
    if isinstance(x, float):
        return f"{x:.10f}".rstrip("0").rstrip(".")
    return "" if x is None else str(x)


class View:
    """What the screen shows: the book's top, the last trades, update latency."""

    def __init__(self, title, depth=10):
        self.title = title
        self.depth = depth
        self.book = None
        self.trades = collections.deque(maxlen=depth)
        self.ticker = None
        self.updates = 0
        self.latencies_us = collections.deque(maxlen=5000)
        self.started = time.monotonic()

    def stats(self):
        elapsed = max(time.monotonic() - self.started, 1e-9)
        lat = sorted(self.latencies_us)
        line = f"{self.updates} updates, {self.updates / elapsed:,.0f}/s"
        if lat:
            p50 = lat[len(lat) // 2]
            p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
            line += f", latency frame->wake-up p50 {p50:,.0f} us, p99 {p99:,.0f} us"
        return line

    def render(self):
        from rich.console import Group
        from rich.table import Table

        parts = []
        if self.book is not None:
            table = Table(title=f"{self.title}  nonce {self.book.get('nonce')}", expand=False)
            table.add_column("bid amount", justify="right")
            table.add_column("bid", justify="right", style="green")
            table.add_column("ask", justify="right", style="red")
            table.add_column("ask amount", justify="right")
            bids = self.book["bids"][: self.depth]
            asks = self.book["asks"][: self.depth]
            for i in range(max(len(bids), len(asks))):
                b = bids[i] if i < len(bids) else ("", "")
                a = asks[i] if i < len(asks) else ("", "")
                table.add_row(*(_num(x) for x in (b[1], b[0], a[0], a[1])))
            parts.append(table)
        if self.trades:
            trades = Table(title="trades")
            for column in ("time", "side", "price", "amount"):
                trades.add_column(column, justify="right")
            for t in reversed(self.trades):
                trades.add_row(str(t.get("datetime")), str(t.get("side")), _num(t.get("price")),
                               _num(t.get("amount")))
            parts.append(trades)
        if self.ticker is not None:
            t = self.ticker
            parts.append(f"ticker {t.get('symbol')}: bid {t.get('bid')} ask {t.get('ask')} "
                         f"last {t.get('last')}")
        parts.append(self.stats())
        return Group(*parts)

    def line(self):
        top = ""
        if self.book is not None and len(self.book["bids"]) and len(self.book["asks"]):
            top = f"bid {self.book['bids'][0]} ask {self.book['asks'][0]}  "
        return f"{self.title}  {top}{self.stats()}"


async def show(view, tasks, duration, plain):
    """Refresh the view until the duration ends, a task fails, or Ctrl-C."""
    deadline = None if duration is None else time.monotonic() + duration
    try:
        if plain:
            while deadline is None or time.monotonic() < deadline:
                await asyncio.sleep(min(1.0, max(0.0, deadline - time.monotonic())) if deadline else 1.0)
                _raise_failed(tasks)
                print(view.line(), flush=True)
            return
        from rich.live import Live

        with Live(view.render(), refresh_per_second=10, transient=False) as live:
            while deadline is None or time.monotonic() < deadline:
                await asyncio.sleep(0.1)
                _raise_failed(tasks)
                live.update(view.render())
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _raise_failed(tasks):
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise task.exception()


async def watch_loop(exchange, symbol, view, kinds, sent_at=None):
    """One task per stream kind, feeding the view."""
    clock = time.perf_counter_ns

    async def book():
        while True:
            view.book = await exchange.watch_order_book(symbol)
            view.updates += 1
            if sent_at is not None:
                sent = sent_at.pop(view.book["nonce"], None)
                if sent is not None:
                    view.latencies_us.append((clock() - sent) / 1e3)

    async def trades():
        while True:
            for trade in await exchange.watch_trades(symbol):
                view.trades.append(trade)

    async def ticker():
        while True:
            view.ticker = await exchange.watch_ticker(symbol)

    loops = {"book": book, "trades": trades, "ticker": ticker}
    return [asyncio.ensure_future(loops[kind]()) for kind in kinds]


def _record_depth_send_times(server, sent_at):
    """The simulator tells each depth frame's send time; key it by its final update id."""
    from ccxtpro_fast._core.jsonscan import scan_fields

    clock = time.perf_counter_ns

    def listener(conn, stream, data):
        if "@depth" in stream:
            (u,) = scan_fields(data, (b"u",))
            if u is not None:
                sent_at[u] = clock()
                if len(sent_at) > 10000:
                    sent_at.pop(next(iter(sent_at)))

    server.sent_listeners.append(listener)


async def run_demo(duration=None, plain=False, rate=50.0, seed=7):
    import ccxtpro_fast
    from ccxtpro_fast import sim

    source = sim.Generator(seed=seed, rate=rate, levels=1000)
    async with sim.serve("binance", source, ping_interval=None) as server:
        sent_at = {}
        _record_depth_send_times(server, sent_at)
        exchange = server.attach(ccxtpro_fast.binance())
        view = View("ccxtpro_fast demo: Binance BTC/USDT from the embedded simulator")
        try:
            tasks = await watch_loop(exchange, "BTC/USDT", view, ("book", "trades"), sent_at)
            await show(view, tasks, duration, plain)
        finally:
            await exchange.close()


async def run_watch(exchange_id, symbol, kinds, use_sim, duration=None, plain=False):
    import ccxtpro_fast

    if exchange_id not in ccxtpro_fast.exchanges:
        raise CliError(f"unknown exchange {exchange_id!r}",
                       "run `python -c 'import ccxtpro_fast; print(list(ccxtpro_fast.exchanges))'`")
    exchange = getattr(ccxtpro_fast, exchange_id)()
    view = View(f"{exchange_id} {symbol}" + (" (simulator)" if use_sim else ""))
    if not use_sim:
        try:
            tasks = await watch_loop(exchange, symbol, view, kinds)
            await show(view, tasks, duration, plain)
        finally:
            await exchange.close()
        return
    from ccxtpro_fast import sim
    from ccxtpro_fast.sim.__main__ import _protocols

    if exchange_id not in _protocols():
        raise CliError(f"the simulator does not speak {exchange_id}",
                       "simulated exchanges: " + ", ".join(_protocols()))
    async with sim.serve(exchange_id, sim.Generator(seed=7, rate=20.0)) as server:
        server.attach(exchange)
        try:
            tasks = await watch_loop(exchange, symbol, view, kinds)
            await show(view, tasks, duration, plain)
        finally:
            await exchange.close()


def run_bench(quick=False):
    from ccxtpro_fast.bench import e2e, micro

    print("running the micro benchmarks (about a minute)...", flush=True)
    micro.main()
    print("\nrunning the end-to-end benchmark (a simulator and one client process each)...",
          flush=True)
    e2e.main(["--messages", "5000" if quick else "30000", "--seconds", "2" if quick else "5"])


# ---------------------------------------------------------------- entry point


def parser():
    ap = argparse.ArgumentParser(prog="ccxtpro-fast", description="ccxtpro_fast command line")
    sub = ap.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="live order book from the embedded simulator (no network)")
    demo.add_argument("--duration", type=float, help="stop after this many seconds")
    demo.add_argument("--plain", action="store_true", help="one text line per second")
    demo.add_argument("--rate", type=float, default=50.0, help="simulated updates per second")
    watch = sub.add_parser("watch", help="watch an exchange's book, trades or ticker")
    watch.add_argument("exchange")
    watch.add_argument("symbol")
    kind = watch.add_mutually_exclusive_group()
    kind.add_argument("--book", dest="kinds", action="store_const", const=("book",))
    kind.add_argument("--trades", dest="kinds", action="store_const", const=("trades",))
    kind.add_argument("--ticker", dest="kinds", action="store_const", const=("ticker",))
    watch.add_argument("--sim", action="store_true", help="against the local simulator")
    watch.add_argument("--duration", type=float)
    watch.add_argument("--plain", action="store_true")
    bench = sub.add_parser("bench", help="benchmarks against ccxt.pro, as a table")
    bench.add_argument("--quick", action="store_true", help="smaller runs")
    return ap


def main(argv=None):
    args = parser().parse_args(argv)
    plain = getattr(args, "plain", False) or not sys.stdout.isatty()
    try:
        if args.command == "demo":
            asyncio.run(run_demo(args.duration, plain, args.rate))
        elif args.command == "watch":
            asyncio.run(run_watch(args.exchange, args.symbol, args.kinds or ("book",), args.sim,
                                  args.duration, plain))
        else:
            run_bench(args.quick)
    except KeyboardInterrupt:
        return 0
    except CliError as error:
        print(f"error: {error}", file=sys.stderr)
        if error.hint:
            print(f"hint: {error.hint}", file=sys.stderr)
        return 2
    except Exception as error:  # one clear line, not a traceback
        if os.environ.get("CCXF_TRACEBACK") == "1":
            raise
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        print("hint: set CCXF_TRACEBACK=1 to see the traceback", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
