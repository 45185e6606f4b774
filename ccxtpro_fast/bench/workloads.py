"""The workloads every benchmark measures, one definition each.

A Binance-like depth stream: a 1000-level snapshot, then diff messages of 1-20 levels each,
mostly near the top of the book, about a quarter of them deletions, prices and amounts as
decimal strings exactly as orjson gives them from a `depthUpdate` frame
(`{"e":"depthUpdate",...,"b":[["0.0024","10"]],"a":[...]}` in Binance's
"Diff. Depth Stream" documentation).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

import orjson

from ccxtpro_fast._core import CHECKSUM_OKX

TICK_DECIMALS = 2
AMOUNT_DECIMALS = 8


@dataclass
class DepthStream:
    snapshot_bids: list = field(default_factory=list)
    snapshot_asks: list = field(default_factory=list)
    # each message: (bids, asks) as lists of [price_text, amount_text]
    messages: list = field(default_factory=list)
    # the same messages as frame bytes with the two level arrays' slices:
    # (data, bids_start, bids_stop, asks_start, asks_stop)
    raw_messages: list = field(default_factory=list)

    @property
    def levels(self) -> int:
        return sum(len(b) + len(a) for b, a in self.messages)


def _price_text(ticks: int) -> str:
    return f"{ticks / 10 ** TICK_DECIMALS:.{TICK_DECIMALS}f}"


def _amount_text(rng: random.Random) -> str:
    return f"{rng.uniform(0.001, 5.0):.{AMOUNT_DECIMALS}f}"


def depth_stream(n_messages: int = 100, depth: int = 1000, seed: int = 7) -> DepthStream:
    """A reproducible stream; the book stays uncrossed and near `depth` levels a side."""
    rng = random.Random(seed)
    mid = 3_000_000  # ticks: 30000.00
    bids = {mid - 1 - i: _amount_text(rng) for i in range(depth)}
    asks = {mid + 1 + i: _amount_text(rng) for i in range(depth)}
    stream = DepthStream(
        snapshot_bids=[[_price_text(p), bids[p]] for p in sorted(bids, reverse=True)],
        snapshot_asks=[[_price_text(p), asks[p]] for p in sorted(asks)],
    )
    for _ in range(n_messages):
        out = ([], [])
        for side_index, (book, sign) in enumerate(((bids, -1), (asks, 1))):
            best = max(book) if sign < 0 else min(book)
            for _ in range(rng.randint(1, 10)):
                # distance from the top: geometric, so most updates hit the first levels
                offset = min(int(rng.expovariate(1 / 6)), depth - 1)
                price = best + sign * offset
                if rng.random() < 0.25 and price in book and len(book) > depth // 2:
                    del book[price]
                    amount = "0.00000000"
                else:
                    amount = _amount_text(rng)
                    book[price] = amount
                out[side_index].append([_price_text(price), amount])
        stream.messages.append(out)
        bids_json, asks_json = orjson.dumps(out[0]), orjson.dumps(out[1])
        head = b'{"e":"depthUpdate","b":'
        data = head + bids_json + b',"a":' + asks_json + b'}'
        b_start = len(head)
        a_start = b_start + len(bids_json) + len(b',"a":')
        stream.raw_messages.append((data, b_start, b_start + len(bids_json),
                                    a_start, a_start + len(asks_json)))
    return stream


# ---------------------------------------------------------------- the implementations
# Each `make_*` returns a fresh book holding the snapshot; each `apply_*` merges the whole
# stream into it, string-to-number conversion included, as that library's users must.


def make_fast(stream: DepthStream):
    from ccxtpro_fast._core import OrderBook

    return OrderBook({"bids": stream.snapshot_bids, "asks": stream.snapshot_asks})


def apply_fast(book, stream: DepthStream) -> None:
    """Each message's two level lists in one call, as the adapters apply them."""
    store = book.store_deltas
    for b, a in stream.messages:
        store(b, a)


def apply_fast_raw(book, stream: DepthStream) -> None:
    """Each message's two level arrays straight from its bytes, in one call."""
    store = book.store_json_deltas
    for data, b_start, b_stop, a_start, a_stop in stream.raw_messages:
        store(data, b_start, b_stop, a_start, a_stop)


def make_ccxt(stream: DepthStream):
    from ccxt.async_support.base.ws.order_book import OrderBook

    book = OrderBook()
    book.reset({
        "bids": [[float(p), float(q)] for p, q in stream.snapshot_bids],
        "asks": [[float(p), float(q)] for p, q in stream.snapshot_asks],
    })
    return book


def apply_ccxt(book, stream: DepthStream) -> None:
    # what ccxt.pro's handle_delta does per level, minus its safe_float overhead
    bids = book["bids"]
    asks = book["asks"]
    for b, a in stream.messages:
        for p, q in b:
            bids.store(float(p), float(q))
        for p, q in a:
            asks.store(float(p), float(q))


_BINANCE = None


def apply_ccxt_adapter(book, stream: DepthStream) -> None:
    """What ccxt.pro's Binance adapter runs per message on the same book class: its own
    handle_deltas, a method call and two safe_float calls a level (ccxt/pro/binance.py)."""
    global _BINANCE
    if _BINANCE is None:
        import ccxt.pro

        _BINANCE = ccxt.pro.binance()     # no network: only its handlers are called
    handle_deltas = _BINANCE.handle_deltas
    bids = book["bids"]
    asks = book["asks"]
    for b, a in stream.messages:
        handle_deltas(bids, b)
        handle_deltas(asks, a)


def make_bmoscon(stream: DepthStream):
    from order_book import OrderBook

    book = OrderBook()
    for p, q in stream.snapshot_bids:
        book.bids[float(p)] = float(q)
    for p, q in stream.snapshot_asks:
        book.asks[float(p)] = float(q)
    return book


def apply_bmoscon(book, stream: DepthStream) -> None:
    bids = book.bids
    asks = book.asks
    for b, a in stream.messages:
        for side, levels in ((bids, b), (asks, a)):
            for p, q in levels:
                amount = float(q)
                if amount:
                    side[float(p)] = amount
                else:
                    try:
                        del side[float(p)]
                    except KeyError:
                        pass


IMPLEMENTATIONS = {
    "ccxtpro_fast store_deltas": (make_fast, apply_fast),
    "ccxtpro_fast store_json_deltas": (make_fast, apply_fast_raw),
    "ccxt.pro OrderBook": (make_ccxt, apply_ccxt),
    "ccxt.pro OrderBook via handle_deltas": (make_ccxt, apply_ccxt_adapter),
    "bmoscon order_book": (make_bmoscon, apply_bmoscon),
}


def top(book, n=25):
    """Top n of both sides as float pairs, whichever implementation made the book."""
    if hasattr(book, "bids") and not isinstance(book, dict):
        return (book.bids.to_list()[:n], book.asks.to_list()[:n])
    return ([list(x[:2]) for x in book["bids"][:n]], [list(x[:2]) for x in book["asks"][:n]])


# ---------------------------------------------------------------- checksums


def okx_book(stream: DepthStream):
    """A book with OKX-style levels stored from their wire strings."""
    return make_fast(stream)


def checksum_fast(book, fmt=CHECKSUM_OKX) -> int:
    return book.checksum(fmt)


def checksum_python_reference(wire_bids, wire_asks) -> int:
    """The OKX rule in plain Python over the wire strings, as a pure-Python client does."""
    import zlib

    parts = []
    for i in range(25):
        if i < len(wire_bids):
            parts += wire_bids[i][:2]
        if i < len(wire_asks):
            parts += wire_asks[i][:2]
    crc = zlib.crc32(":".join(parts).encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc
