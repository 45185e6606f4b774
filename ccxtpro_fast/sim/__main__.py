"""CLI: python -m ccxtpro_fast.sim binance [--port 9443] [--http-port 8080]
[--replay FILE [--speed X]] [--rate N|max] [--seed N] [--levels N]

Prints the WebSocket and REST base URLs, then serves until interrupted.
"""
from __future__ import annotations

import argparse
import asyncio
import sys

from . import Generator, Replay, serve


def _protocols():
    """The exchange protocol modules of this package (each registers its protocol)."""
    import pkgutil

    from . import __path__ as package_path
    shared = {"core", "generator", "replay", "faults", "__main__"}
    return [m.name for m in pkgutil.iter_modules(package_path) if m.name not in shared]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m ccxtpro_fast.sim", description=__doc__.split("\n")[0])
    ap.add_argument("protocol", choices=sorted(_protocols()))
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="WebSocket port (0: any free port)")
    ap.add_argument("--http-port", type=int, default=0, help="REST port (0: any free port)")
    ap.add_argument("--replay", metavar="FILE", help="recorded session (JSONL) instead of the generator")
    ap.add_argument("--speed", type=float, default=None, help="replay speed (1.0 = recorded; default max)")
    ap.add_argument("--rate", default="10", help="generator ticks per second, or 'max'")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--levels", type=int, default=200, help="generator price levels per side")
    args = ap.parse_args(argv)

    if args.replay:
        source = Replay(args.replay, speed=args.speed)
    else:
        rate = "max" if args.rate == "max" else float(args.rate)
        source = Generator(seed=args.seed, rate=rate, levels=args.levels)

    async def run() -> None:
        async with serve(args.protocol, source, host=args.host, ws_port=args.port,
                         http_port=args.http_port) as s:
            hosts = s.protocol.ws_hosts
            print(f"websocket {s.ws_base}  (e.g. {s.ws_base}/{next(iter(hosts))}/ws)", flush=True)
            print(f"rest      {s.http_base}", flush=True)
            print("markets   " + ", ".join(f"{m.kind}:{m.id}" for m in s.source.markets), flush=True)
            await asyncio.Event().wait()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
