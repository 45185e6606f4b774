"""ccxt's own order-book test, run unchanged against the compiled books.

The test function and its vectors are read from the installed ccxt package at test time
(`ccxt/pro/test/base/test_order_book.py`); only the three book classes it imports are
swapped for ours, so every assertion in it is ccxt's."""
import importlib

import pytest

from ccxtpro_fast import _core

ccxt_test = importlib.import_module("ccxt.pro.test.base.test_order_book")


def _recording(cls, made):
    def make(*args, **kwargs):
        book = cls(*args, **kwargs)
        made.append(type(book))
        return book

    return make


def test_ccxt_ws_order_book_vectors_pass_against_core(monkeypatch):
    made = []
    for name in ("OrderBook", "CountedOrderBook", "IndexedOrderBook"):
        monkeypatch.setattr(ccxt_test, name, _recording(getattr(_core, name), made))
    ccxt_test.test_ws_order_book()
    # the run really used our classes, all three of them
    assert set(made) == {_core.OrderBook, _core.CountedOrderBook, _core.IndexedOrderBook}
    assert len(made) >= 10


def test_ccxt_vectors_are_not_vacuous(monkeypatch):
    """The same test fails on a book that mis-sorts: it can catch a broken core."""

    class Reversed(_core.OrderBook):
        def limit(self):
            super().limit()
            self["bids"] = list(reversed(self["bids"].tolist()))
            return self

    monkeypatch.setattr(ccxt_test, "OrderBook", Reversed)
    with pytest.raises(AssertionError):
        ccxt_test.test_ws_order_book()
