"""The recorded OKX v5 ``books`` session (2022, before seqId existed; see
tests/data/sessions/okx_v5_books_checksum.provenance.md) replayed through the simulator
to ccxtpro_fast.okx: every published checksum verified by the adapter, no resync, and
the final top five levels of each instrument equal to the expected file."""
from __future__ import annotations

import json

import ccxtpro_fast
from ccxtpro_fast import _core, sim

from okx_helpers import traced
from sim_helpers import SESSIONS, load_expected, run

NAME = "okx_v5_books_checksum"
SYMBOLS = {"BTC-USD-220527": "BTC/USD:BTC-220527", "UNI-USD-SWAP": "UNI/USD:UNI", "BTC-USDT": "BTC/USDT"}


def _published_checksums():
    out = []
    with open(SESSIONS / f"{NAME}.jsonl", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if rec["t"] == "recv" and '"action"' in rec["data"]:
                msg = json.loads(rec["data"])
                out += [(msg["arg"]["instId"], d["checksum"]) for d in msg["data"]]
    return out


def test_recorded_session_verifies_every_checksum_without_resync():
    expected = load_expected(NAME)["instruments"]
    published = _published_checksums()
    assert len(published) == 290 and all(c for _, c in published)

    async def main():
        async with sim.serve("okx", sim.Replay(SESSIONS / f"{NAME}.jsonl")) as s:
            ex = s.attach(traced(ccxtpro_fast.okx)())
            try:
                await ex.load_markets()
                assert {inst: ex.markets_by_id[inst][0]["symbol"] for inst in SYMBOLS} == SYMBOLS
                # one subscribe for the three books, as the recording did
                await ex.watch_order_book_for_symbols(list(SYMBOLS.values()))
                await s.source.wait_completed(1)
                await ex.wait_until(lambda: sum(ex.counts[("books", i)] for i in SYMBOLS) == 290)
                # every message's checksum was computed by the adapter and matched
                assert ex.checksums == [c for _, c in published]
                assert ex.resyncs == [] and ex.errors == []
                for inst, symbol in SYMBOLS.items():
                    info = expected[inst]
                    assert ex.counts[("books", inst)] == info["checksums_verified"]
                    book = ex.orderbooks[symbol]
                    ref = info["final_top5_reference_book"]
                    assert book["bids"][:5] == [[float(p), float(a)] for p, a in ref["bids"]]
                    assert book["asks"][:5] == [[float(p), float(a)] for p, a in ref["asks"]]
                    # the wire text is kept: the top five as OKX printed them
                    text = ":".join(x for i in range(5) for key in ("bids", "asks") for x in ref[key][i])
                    assert book.checksum_text(_core.CHECKSUM_OKX, 5) == text
                    assert book["nonce"] is None        # no seqId in 2022
                    first = info["first_snapshot_checksum_string (reproduces message checksum)"]
                    snapshot = ex.trace[("books", inst)][0][0]
                    assert snapshot["action"] == "snapshot" and snapshot["data"][0]["checksum"] == first["checksum"]
            finally:
                await ex.close()

    run(main())


def test_replayed_corruption_is_caught_by_the_checksum():
    """Negative control on the same recording: one changed size in BTC-USDT's fifth
    message fails its checksum, so the adapter resynchronises that instrument (a replay
    has no second snapshot to give, so the book stays away) while the two other
    instruments on the connection verify all their checksums."""
    async def main():
        async with sim.serve("okx", sim.Replay(SESSIONS / f"{NAME}.jsonl")) as s:
            ex = s.attach(traced(ccxtpro_fast.okx)({"options": {"watchOrderBook": {"resyncTimeout": 60000}}}))
            try:
                s.inject(sim.Corrupt("books:BTC-USDT", after=4))
                await ex.load_markets()
                await ex.watch_order_book_for_symbols(list(SYMBOLS.values()))
                await s.source.wait_completed(1)
                await ex.wait_until(lambda: sum(ex.counts[("books", i)] for i in SYMBOLS) == 290)
                assert ex.resyncs == [("books", "BTC-USDT", "ChecksumError")]
                assert "BTC/USDT" not in ex.orderbooks
                for inst in ("BTC-USD-220527", "UNI-USD-SWAP"):
                    book = ex.orderbooks[SYMBOLS[inst]]
                    ref = load_expected(NAME)["instruments"][inst]["final_top5_reference_book"]
                    assert book["bids"][:5] == [[float(p), float(a)] for p, a in ref["bids"]]
                # 5 BTC-USDT checksums (4 good, the corrupted one) and all of the others
                assert len(ex.checksums) == 5 + 99 + 93
            finally:
                await ex.close()

    run(main())
