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
    if v.replay:
        data = protocol_class(v.protocol)(None).load_replay(str(path))
        assert len(data.frames) == 25
        assert [v.key_of(orjson.loads(f.payload)) or -1 for f in data.frames] == keys
    else:
        assert not path.exists()


def test_harness_okx_books_match(tmp_path, monkeypatch):
    """A whole run for one non-Binance exchange: both clients end with the same book (the
    harness fails otherwise) and every figure is positive."""
    monkeypatch.setattr(e2e, "CACHE", tmp_path)
    args = argparse.Namespace(messages=300, rate=1000.0, seconds=0.3, warmup=20, seed=5)
    r = e2e.run_venue(e2e.VENUES["okx"], args)
    for impl in e2e.IMPLEMENTATIONS:
        t, lat = r["throughput"][impl], r["latency"][impl]
        assert t["messages"] == 300
        assert t["msgs_per_s"] > 0 and t["cpu_us_per_msg"] > 0
        assert lat["samples"] > 0 and 0 < lat["p50_us"] <= lat["p99_us"] <= lat["p999_us"]
        assert lat["cpu_us_per_msg"] > 0
    assert r["throughput"]["ccxt.pro"]["top"] == r["throughput"]["ccxtpro_fast"]["top"]
    text = e2e.table_all({"method": e2e.method(), "exchanges": {"okx": r}}, args.rate)
    assert "okx" in text and "ratio" in text
