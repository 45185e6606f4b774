"""A book serialises as ccxt's does: ``json.dumps(book)`` and ``pickle`` give what they give
for ccxt's list-based book (ccxt/async_support/base/ws/order_book.py) with the same levels.
"""
import json
import pickle

import pytest
from ccxt.async_support.base.ws import order_book as ccxt_ob

import ccxtpro_fast

SNAPSHOT_PLAIN = {
    'bids': [[30000.1, 0.5], [29999.9, 1.25], [29990.0, 3.0]],
    'asks': [[30000.2, 0.75], [30001.0, 2.0]],
    'timestamp': 1700000000123, 'datetime': '2023-11-14T22:13:20.123Z',
    'nonce': 42, 'symbol': 'BTC/USDT',
}
SNAPSHOT_COUNTED = {
    'bids': [[100.5, 1.0, 3], [100.25, 2.0, 1]],
    'asks': [[101.0, 0.5, 2]],
    'timestamp': None, 'datetime': None, 'nonce': None, 'symbol': 'ETH/USD',
}
SNAPSHOT_INDEXED = {
    'bids': [[100.5, 1.0, 'a1'], [100.25, 2.0, 'b2']],
    'asks': [[101.0, 0.5, 'c3']],
    'timestamp': 1, 'datetime': None, 'nonce': 7, 'symbol': 'XBT/USD',
}
KINDS = [
    (ccxtpro_fast.OrderBook, ccxt_ob.OrderBook, SNAPSHOT_PLAIN),
    (ccxtpro_fast.CountedOrderBook, ccxt_ob.CountedOrderBook, SNAPSHOT_COUNTED),
    (ccxtpro_fast.IndexedOrderBook, ccxt_ob.IndexedOrderBook, SNAPSHOT_INDEXED),
]


def _pair(ours_cls, ccxt_cls, snapshot, depth=None):
    ours = ours_cls(json.loads(json.dumps(snapshot)), depth)
    theirs = ccxt_cls(json.loads(json.dumps(snapshot)), depth)
    return ours, theirs


@pytest.mark.parametrize('ours_cls,ccxt_cls,snapshot', KINDS)
@pytest.mark.parametrize('kwargs', [{}, {'indent': 2}, {'sort_keys': True}, {'separators': (',', ':')}])
def test_json_dumps_writes_what_it_writes_for_ccxts_book(ours_cls, ccxt_cls, snapshot, kwargs):
    ours, theirs = _pair(ours_cls, ccxt_cls, snapshot)
    assert json.dumps(ours, **kwargs) == json.dumps(theirs, **kwargs)


@pytest.mark.parametrize('ours_cls,ccxt_cls,snapshot', KINDS)
def test_json_dumps_follows_updates_and_limit(ours_cls, ccxt_cls, snapshot):
    ours, theirs = _pair(ours_cls, ccxt_cls, snapshot, depth=2)
    for book in (ours, theirs):
        level = list(snapshot['bids'][0])
        level[1] = 0  # a deletion
        book['bids'].storeArray(level)
        extra = list(snapshot['asks'][0])
        extra[0] += 5
        book['asks'].storeArray(extra)
        book.limit()
    assert json.dumps(ours) == json.dumps(theirs)


@pytest.mark.parametrize('ours_cls,ccxt_cls,snapshot', KINDS)
def test_items_gives_sides_as_plain_lists_that_do_not_alias_the_book(ours_cls, ccxt_cls, snapshot):
    ours, theirs = _pair(ours_cls, ccxt_cls, snapshot)
    items = dict(ours.items())
    assert items == dict(theirs.items())
    assert type(items['bids']) is list and type(items['asks']) is list
    items['bids'].clear()
    assert len(ours['bids']) == len(snapshot['bids'])


@pytest.mark.parametrize('ours_cls,ccxt_cls,snapshot', KINDS)
@pytest.mark.parametrize('depth', [None, 2])
def test_pickle_round_trips_levels_fields_and_depth(ours_cls, ccxt_cls, snapshot, depth):
    ours, _ = _pair(ours_cls, ccxt_cls, snapshot, depth)
    back = pickle.loads(pickle.dumps(ours))
    assert type(back) is ours_cls
    assert json.dumps(back) == json.dumps(ours)
    back['bids'].storeArray(list(snapshot['bids'][0][:1]) + [0] + list(snapshot['bids'][0][2:]))
    for i, price in enumerate((1.0, 2.0, 3.0)):
        level = [price] + list(snapshot['asks'][0][1:])
        if ours_cls is ccxtpro_fast.IndexedOrderBook:
            level[2] = 'new%d' % i  # an indexed book keys its levels by order id
        back['asks'].storeArray(level)
    back.limit()
    assert len(back['asks']) == (len(snapshot['asks']) + 3 if depth is None else depth)
    assert back['asks'][0][0] == 1.0
