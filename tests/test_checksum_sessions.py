"""Every checksum published in recorded exchange sessions verifies against our books.

The sessions (tests/data/sessions/, provenance notes beside each file) are real captures:
OKX v5 `books` (290 checksums), Bitget v1 `books` (637) and Kraken v1 `book-1000` (4269).
Each message is applied with the exchange's own rules and the checksum is computed after
it; the expected files also pin the text of each first snapshot's checksum and the final
top five levels. Every book is fed twice, through store_levels (parsed JSON) and through
store_json (raw level-array bytes), and both must verify."""
import json
from collections import Counter
from pathlib import Path

import pytest

from ccxtpro_fast import _core

DATA = Path(__file__).parent / "data" / "sessions"


def frames(name):
    with open(DATA / f"{name}.jsonl", encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            if record["t"] == "recv":
                yield json.loads(record["data"])


def expected(name):
    return json.loads((DATA / f"{name}.expected.json").read_text())


def level_bytes(levels):
    return json.dumps(levels, separators=(",", ":")).encode()


def assert_not_crossed(book):
    if len(book["bids"]) and len(book["asks"]):
        assert book["bids"].price(0) < book["asks"].price(0)


def top5_text(book):
    """The final top five as the exchange's strings, from the checksum text."""
    return book.checksum_text(_core.CHECKSUM_OKX, 5)


def interleave(ref):
    parts = []
    for i in range(max(len(ref["bids"]), len(ref["asks"]))):
        for key in ("bids", "asks"):
            if i < len(ref[key]):
                parts += ref[key][i][:2]
    return ":".join(parts)


# ------------------------------------------------------------------ OKX and Bitget


def replay_okx_rule(name, as_text=True):
    """OKX rule (OKX v5, Bitget v1): snapshot replaces, update sets/deletes ("0" size),
    checksum = signed CRC32 of the top 25 bid:ask interleaved as received."""
    books, bulk_books, firsts = {}, {}, {}
    verified, mismatched = Counter(), Counter()
    for msg in frames(name):
        arg = msg.get("arg") or {}
        if arg.get("channel") != "books" or "data" not in msg:
            continue
        inst = arg["instId"]
        for d in msg["data"]:
            if msg["action"] == "snapshot":
                books[inst] = _core.OrderBook({})
                bulk_books[inst] = _core.OrderBook({})
            book, bulk = books[inst], bulk_books[inst]
            for key in ("bids", "asks"):
                levels = d.get(key, [])
                if not as_text:
                    levels = [[float(p), float(a)] for p, a, *_ in levels]
                book[key].store_levels(levels)
                if levels:
                    bulk[key].store_json(level_bytes(levels))
            if msg["action"] == "snapshot":
                firsts[inst] = (book.checksum_text(_core.CHECKSUM_OKX, 25), d["checksum"])
            ok = book.checksum(_core.CHECKSUM_OKX, 25) == d["checksum"]
            if as_text:
                assert bulk.checksum(_core.CHECKSUM_OKX, 25) == book.checksum(_core.CHECKSUM_OKX, 25)
                assert bulk["bids"].tolist() == book["bids"].tolist()
                assert bulk["asks"].tolist() == book["asks"].tolist()
            (verified if ok else mismatched)[inst] += 1
            assert_not_crossed(book)
    return books, firsts, verified, mismatched


@pytest.mark.parametrize("name, total", [("okx_v5_books_checksum", 290),
                                         ("bitget_v1_books_checksum", 637)])
def test_okx_rule_sessions_verify_every_checksum(name, total):
    books, firsts, verified, mismatched = replay_okx_rule(name)
    exp = expected(name)["instruments"]
    assert not mismatched
    assert sum(verified.values()) == total
    assert set(books) == set(exp)
    for inst, info in exp.items():
        assert verified[inst] == info["checksums_verified"]
        first = info.get("first_snapshot_checksum_string (reproduces message checksum)")
        if first:
            assert firsts[inst] == (first["checksum_string"], first["checksum"])
        ref = info["final_top5_reference_book"]
        book = books[inst]
        for key in ("bids", "asks"):
            assert book[key][:5] == [[float(p), float(a)] for p, a in ref[key]]
        assert top5_text(book) == interleave(ref)


def test_bitget_checksums_fail_without_the_wire_text():
    """Negative control (see the expected file): sizes like "13.5310" keep their zeros in
    the checksum, so a book built from floats must fail; the replay can catch errors."""
    _, _, verified, mismatched = replay_okx_rule("bitget_v1_books_checksum", as_text=False)
    assert sum(mismatched.values()) > 600


# ------------------------------------------------------------------ Kraken v1


def replay_kraken_v1():
    """Kraken v1 `book-N`: [channelID, {as/bs} | {a/b[, c]}(, {b, c}), "book-N", pair];
    levels are [price, volume, timestamp(, "r")]; volume 0 deletes. After each message the
    book is truncated to the subscribed depth N, then the top 10 give the checksum."""
    books, bulk_books = {}, {}
    verified, mismatched, republished = Counter(), Counter(), 0
    for msg in frames("kraken_v1_book_checksum"):
        if not isinstance(msg, list) or not str(msg[-2]).startswith("book-"):
            continue
        pair, depth = msg[-1], int(msg[-2].split("-")[1])
        checksum = None
        for part in msg[1:-2]:
            if "as" in part or "bs" in part:
                books[pair] = _core.OrderBook({}, depth)
                bulk_books[pair] = _core.OrderBook({}, depth)
            book, bulk = books[pair], bulk_books[pair]
            for wire, key in (("as", "asks"), ("bs", "bids"), ("a", "asks"), ("b", "bids")):
                if wire in part:
                    levels = part[wire]
                    republished += sum(1 for level in levels if len(level) > 3)
                    book[key].store_levels(levels)
                    bulk[key].store_json(level_bytes(levels))
            checksum = part.get("c", checksum)
        book, bulk = books[pair], bulk_books[pair]
        book.limit()
        bulk.limit()
        assert len(book["bids"]) <= depth and len(book["asks"]) <= depth
        assert_not_crossed(book)
        if checksum is None:
            continue
        ours = book.checksum(_core.CHECKSUM_KRAKEN, 10)
        assert bulk.checksum(_core.CHECKSUM_KRAKEN, 10) == ours
        (verified if str(ours) == checksum else mismatched)[pair] += 1
    return books, verified, mismatched


def test_kraken_v1_session_verifies_every_checksum():
    books, verified, mismatched = replay_kraken_v1()
    exp = expected("kraken_v1_book_checksum")["pairs"]
    assert not mismatched
    assert sum(verified.values()) == 4269
    assert set(books) == set(exp)
    for pair, info in exp.items():
        assert verified[pair] == info["checksums_verified"]
        ref = info["final_top5_reference_book"]
        book = books[pair]
        for key in ("bids", "asks"):
            assert book[key][:5] == [[float(p), float(a)] for p, a in ref[key]]
        assert top5_text(book) == interleave(ref)
