"""A Kraken v2 session replayed through the simulator: the session the end-to-end
benchmark renders (``e2e.make_session``: the protocol answering the subscription on a
stand-in connection, then every generator event), read back by ``load_replay`` and sent
to ccxtpro_fast.kraken and ccxt.pro.kraken at once. Both build the same book after every
message, end on the generator's book, and ours verifies every published checksum with
no resync; a corrupted frame is caught by ours and not by ccxt.pro."""
from __future__ import annotations

import orjson
import pytest

from ccxtpro_fast import sim
from ccxtpro_fast.bench import e2e
from ccxtpro_fast.sim.core import protocol_class
from ccxtpro_fast.sim.generator import Generator

from kraken_helpers import Ours, Theirs, book_of, settle
from sim_helpers import run

V = e2e.VENUES["kraken"]
SYMBOL = V.symbol
STREAM = f"book.10:{SYMBOL}"
SEED, WARMUP, MESSAGES = 9, 5, 400


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    path = tmp_path_factory.mktemp("kraken") / "session.jsonl"
    meta = e2e.make_session(V, path, warmup=WARMUP, messages=MESSAGES, rate=None, seed=SEED)
    return path, meta


def _generator_book(ticks: int) -> dict:
    """The book a synced depth-10 client holds after the session: the same seeded
    generator, ticked as often as the rendering was."""
    gen = Generator([e2e.market_spec(V)], seed=SEED, levels=V.levels)
    server = e2e._Renderer(V.protocol, gen)
    server.conn = e2e._Capture("ws.kraken.com")       # subscribed to nothing
    gen.bind(server)
    for _ in range(ticks):
        gen.tick()
    return server.protocol.truth(server.protocol.by_symbol(SYMBOL), 10)


def test_load_replay_keeps_the_frames_and_the_generators_markets(session):
    path, meta = session
    data = protocol_class("kraken")(None).load_replay(str(path))
    assert data.markets == [e2e.market_spec(V)]        # pair_decimals / lot_decimals included
    assert [f.stream for f in data.frames] == [STREAM] * (WARMUP + MESSAGES)
    first = orjson.loads(data.frames[0].payload)
    assert first["type"] == "snapshot" and len(first["data"][0]["bids"]) == 10
    assert all(orjson.loads(f.payload)["type"] == "update" for f in data.frames[1:])
    recorded = [orjson.loads(line)["data"].encode() for line in open(path, "rb")
                if orjson.loads(line)["t"] == "recv"]
    assert [f.payload for f in data.frames] == recorded         # byte for byte


def test_load_replay_needs_the_header_markets_and_the_subscription(session, tmp_path):
    path, _ = session
    records = [orjson.loads(line) for line in open(path, "rb")]
    proto = protocol_class("kraken")(None)
    no_markets = tmp_path / "a.jsonl"
    no_markets.write_bytes(b"\n".join(orjson.dumps({k: v for k, v in r.items() if k != "markets"})
                                      for r in records))
    with pytest.raises(ValueError, match="no 'markets'"):
        proto.load_replay(str(no_markets))
    no_send = tmp_path / "b.jsonl"
    no_send.write_bytes(b"\n".join(orjson.dumps(r) for r in records if r["t"] != "send"))
    with pytest.raises(ValueError, match="without a recorded subscription"):
        proto.load_replay(str(no_send))


def test_both_clients_end_on_the_same_book_every_checksum_verified(session):
    path, meta = session
    want = _generator_book(meta["ticks"])

    async def main():
        async with sim.serve("kraken", sim.Replay(path)) as s:
            theirs, ours = s.attach(Theirs()), s.attach(Ours())
            try:
                await theirs.load_markets()
                await ours.load_markets()
                # the same markets and precisions as the generator's (REST from the header spec)
                for ex in (theirs, ours):
                    m = ex.market(SYMBOL)
                    assert (m["id"], m["precision"]["price"], m["precision"]["amount"]) == \
                        ("XXBTZUSD", 0.1, 1e-08)
                await theirs.watch_order_book(SYMBOL)
                await ours.watch_order_book(SYMBOL)
                await s.source.wait_completed(2)
                await settle(s, theirs, ours)
                mine, ref = ours.books[SYMBOL], theirs.books[SYMBOL]
                assert len(mine) == len(ref) == WARMUP + MESSAGES
                assert mine == ref                      # every intermediate book
                assert book_of(ours, SYMBOL) == book_of(theirs, SYMBOL) == want
                sync = ours.book_syncs[SYMBOL]
                assert sync.verified == WARMUP + MESSAGES and sync.resyncs == 0
            finally:
                await ours.close()
                await theirs.close()

    run(main())


def test_a_corrupted_replayed_frame_fails_our_checksum_only(session):
    """Negative control: one quantity changed in the 51st frame (the simulator's Corrupt
    keeps the published checksum), each client on a replay of its own. Ours sees the
    checksum fail and resubscribes; ccxt.pro applies the damage: its book after that frame
    is not the one the clean replay gives it."""
    path, _ = session

    async def one(cls, corrupt=True):
        async with sim.serve("kraken", sim.Replay(path)) as s:
            ex = s.attach(cls())
            try:
                if corrupt:
                    s.inject(sim.Corrupt(STREAM, after=50, count=1, seed=1))
                await ex.watch_order_book(SYMBOL)
                await s.source.wait_completed(1)
                await settle(s, ex)
                return ex
            finally:
                await ex.close()

    async def main():
        ours = await one(Ours)
        sync = ours.book_syncs[SYMBOL]
        # the snapshot and 49 updates verified, then the damaged one failed
        assert sync.resyncs == 1 and sync.verified == 50
        theirs, clean = await one(Theirs), await one(Theirs, corrupt=False)
        damaged, good = theirs.books[SYMBOL], clean.books[SYMBOL]
        assert len(damaged) == len(good) == WARMUP + MESSAGES
        assert damaged[:50] == good[:50] and damaged[50] != good[50]

    run(main())
