"""The mixin: compiled books and codecs in ccxt.pro's exchange code, the error-routing
hook, and the differential oracle: the same scripted server session gives the same
unified results through ccxtpro_fast as through vanilla ccxt.pro."""
import asyncio
import gzip
import json
import zlib

import ccxt
import ccxt.pro
import pytest
from ccxt.async_support.base.ws.functions import gunzip as ccxt_gunzip
from ccxt.async_support.base.ws.functions import inflate as ccxt_inflate

import ccxtpro_fast
from ccxtpro_fast import _core
from test_client_helpers import (
    TIMEOUT, ScriptedServer, binance, binance_ack, binance_trade, gzipped, run, wait_for,
)


# ---------------------------------------------------------------------------- books, codecs

def test_books_are_the_compiled_core():
    ex = ccxtpro_fast.binance()
    assert type(ex.order_book()) is _core.OrderBook
    assert type(ex.counted_order_book()) is _core.CountedOrderBook
    assert type(ex.indexed_order_book()) is _core.IndexedOrderBook
    book = ex.order_book({'bids': [[1.0, 2.0]], 'asks': [[3.0, 4.0]]}, 10)
    assert book['bids'][0] == [1.0, 2.0] and book['asks'][0] == [3.0, 4.0]
    # the exported classes are the same
    assert ccxtpro_fast.OrderBook is _core.OrderBook


def test_codecs_match_ccxt():
    data = json.dumps({'x': [1, 2, 3], 'y': 'z' * 100}).encode()
    compressor = zlib.compressobj(wbits=-15)
    raw = compressor.compress(data) + compressor.flush()
    assert ccxtpro_fast.Exchange.inflate(raw) == ccxt_inflate(raw)
    assert ccxtpro_fast.Exchange.gunzip(gzip.compress(data)) == ccxt_gunzip(gzip.compress(data))


def test_has_and_describe_are_ccxt_pros():
    # the mixin itself changes nothing of describe() (native adapters may add options)
    from ccxtpro_fast.base import registry
    ids = [i for i in ('binance', 'okx', 'htx', 'kraken', 'gate', 'kucoin') if i in ccxt.pro.exchanges and not registry.has_adapter(i)]
    assert len(ids) >= 2
    for exchange_id in ids:
        fast, vanilla = getattr(ccxtpro_fast, exchange_id)(), getattr(ccxt.pro, exchange_id)()
        assert fast.has == vanilla.has
        assert fast.options == vanilla.options
        assert fast.urls == vanilla.urls


# ---------------------------------------------------------------------------- error routing

def test_message_hashes_for_error_generic_rule():
    async def main():
        ex = binance(ccxtpro_fast, 'ws://127.0.0.1:9')
        client = ex.client('ws://127.0.0.1:9/ws/0')
        for message_hash in ('trade::BTC/USDT', 'trade::ETH/USDT', 'orderbook::BTC/USDT', 'ticker:BTC/USDT:USDT',
                             'multipleOrderbook::BTC/USDT,ETH/USDT', 'btcusdt@depth', '42', 'other', 'sub'):
            client.future(message_hash)
        client.subscriptions['sub'] = {'id': '7', 'messageHashes': ['other']}
        route = ex.message_hashes_for_error
        # binance raw stream payload: market id in "s"
        assert route(client, binance_trade(1, symbol='BTCUSDT')) == [  # not ETH, not the 'depth' channel
            'trade::BTC/USDT', 'orderbook::BTC/USDT', 'ticker:BTC/USDT:USDT', 'multipleOrderbook::BTC/USDT,ETH/USDT']
        # combined stream wrapper: the stream name is a token, and also names the market
        assert 'btcusdt@depth' in route(client, {'stream': 'btcusdt@depth', 'data': {'e': 'depthUpdate'}})
        assert 'trade::ETH/USDT' in route(client, {'arg': {'channel': 'trades', 'instId': 'ETHUSDT'}})
        # a request id names its subscription's hashes and a future keyed by it
        assert route(client, {'result': None, 'id': 7}) == ['sub', 'other']
        assert route(client, {'id': 42}) == ['42']
        # nothing routable: nobody is rejected
        assert route(client, {'e': 'unknown'}) == []
        assert route(client, 'plain text') == []
        await ex.close()
    run(main)


def test_a_raising_binance_handler_rejects_its_symbol_only(caplog):
    """ccxt.pro: the exception ends the receive loop, every watcher hangs.
    ccxtpro_fast: the BTC waiter gets the error, ETH keeps streaming on the same socket."""
    async def main():
        async with ScriptedServer(on_message=binance_ack) as server:
            ex = binance(ccxtpro_fast, server.url)
            ex.options['streamLimits']['spot'] = 1
            btc = asyncio.ensure_future(ex.watch_trades('BTC/USDT'))
            eth = asyncio.ensure_future(ex.watch_trades('ETH/USDT'))
            peer = await server.accept()
            await peer.recv(), await peer.recv()
            await wait_for(lambda: len(ex.clients[server.url + '/ws/0'].futures) == 2)
            peer.send(dict(binance_trade(1, symbol='BTCUSDT'), p='not-a-number'),
                      binance_trade(2, symbol='ETHUSDT'))
            with pytest.raises(ccxt.ExchangeError, match='ValueError'):
                await asyncio.wait_for(btc, TIMEOUT)
            assert [t['id'] for t in await asyncio.wait_for(eth, TIMEOUT)] == ['2']
            eth = asyncio.ensure_future(ex.watch_trades('ETH/USDT'))
            btc = asyncio.ensure_future(ex.watch_trades('BTC/USDT'))
            await wait_for(lambda: len(ex.clients[server.url + '/ws/0'].futures) == 2)
            peer.send(binance_trade(3, symbol='ETHUSDT'), binance_trade(4, symbol='BTCUSDT'))
            assert (await asyncio.wait_for(eth, TIMEOUT))[-1]['id'] == '3'
            assert (await asyncio.wait_for(btc, TIMEOUT))[-1]['id'] == '4'
            await ex.close()
    run(main)


def test_vanilla_ccxt_pro_hangs_after_a_handler_exception():
    # the behaviour we fix, on ccxt.pro against the same server: nothing after the bad
    # message is read, so even the unrelated ETH watcher never resolves
    async def main():
        async with ScriptedServer(on_message=binance_ack) as server:
            ex = binance(ccxt.pro, server.url)
            ex.options['streamLimits']['spot'] = 1
            btc = asyncio.ensure_future(ex.watch_trades('BTC/USDT'))
            eth = asyncio.ensure_future(ex.watch_trades('ETH/USDT'))
            peer = await server.accept()
            await peer.recv(), await peer.recv()
            await wait_for(lambda: len(ex.clients[server.url + '/ws/0'].futures) == 2)
            peer.send(dict(binance_trade(1, symbol='BTCUSDT'), p='not-a-number'))
            await asyncio.sleep(0.05)
            peer.send(binance_trade(2, symbol='ETHUSDT'))
            done, _ = await asyncio.wait({btc, eth}, timeout=0.5)
            hung = not done
            btc.cancel(), eth.cancel()
            await ex.close()
            return hung
    assert run(main, strict=False)


# ---------------------------------------------------------------------------- differential

def _plain(value):
    """Results in comparable form: book sides as lists of lists."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) or type(value).__name__.endswith(('Asks', 'Bids', 'Side')):
        return [_plain(v) for v in value]
    return value


def _differential(session):
    """Run ``session(module)`` for vanilla ccxt.pro and for ccxtpro_fast; both results."""
    vanilla = run(lambda: session(ccxt.pro), strict=False)
    fast = run(lambda: session(ccxtpro_fast))
    return vanilla, fast


async def _step(ex, client_url, coroutine, message_hash, peer, *messages):
    """Start a watch call, wait until it waits on ``message_hash``, send, await."""
    task = asyncio.ensure_future(coroutine)
    await wait_for(lambda: client_url in ex.clients and message_hash in ex.clients[client_url].futures)
    peer.send(*messages)
    return await asyncio.wait_for(task, TIMEOUT)


def test_differential_binance_trades():
    async def session(module):
        async with ScriptedServer(on_message=binance_ack) as server:
            ex = binance(module, server.url)
            url = server.url + '/ws/0'
            results = []
            first = asyncio.ensure_future(ex.watch_trades('BTC/USDT'))
            peer = await server.accept()
            await peer.recv()
            await wait_for(lambda: url in ex.clients and ex.clients[url].futures)
            peer.send(binance_trade(1, price='100.1', amount='0.5'))
            results.append(_plain(await asyncio.wait_for(first, TIMEOUT)))
            for i in range(2, 6):
                trade = binance_trade(i, price=str(100 + i / 10), amount=str(i / 4), ts=1700000000000 + i)
                results.append(_plain(await _step(ex, url, ex.watch_trades('BTC/USDT'), 'trade::BTC/USDT', peer, trade)))
            results.append(_plain(list(ex.trades['BTC/USDT'])))
            await ex.close()
            return results
    vanilla, fast = _differential(session)
    assert fast == vanilla
    assert [t['id'] for t in fast[-1]] == ['1', '2', '3', '4', '5']


def test_differential_binance_ticker():
    def ticker(n):
        # binance's default for watch_ticker is the mini ticker stream
        return {'e': '24hrMiniTicker', 'E': 1700000000000 + n, 's': 'ETHUSDT', 'c': str(1999 + n),
                'o': '2001.0', 'h': '2050', 'l': '1950', 'v': '12345.6', 'q': '24691200.5'}

    async def session(module):
        async with ScriptedServer(on_message=binance_ack) as server:
            ex = binance(module, server.url)
            url = server.url + '/ws/0'
            first = asyncio.ensure_future(ex.watch_ticker('ETH/USDT'))
            peer = await server.accept()
            await peer.recv()
            await wait_for(lambda: url in ex.clients and ex.clients[url].futures)
            peer.send(ticker(1))
            results = [await asyncio.wait_for(first, TIMEOUT)]
            for n in (2, 3):
                results.append(await _step(ex, url, ex.watch_ticker('ETH/USDT'), 'ticker:miniTicker@ETH/USDT', peer, ticker(n)))
            await ex.close()
            return _plain(results)
    vanilla, fast = _differential(session)
    assert fast == vanilla
    assert fast[-1]['last'] == 2002.0


def test_differential_binance_order_book():
    snapshot_levels = {
        'bids': [[round(100.0 - i / 10, 1), 1.0 + i] for i in range(20)],
        'asks': [[round(100.1 + i / 10, 1), 2.0 + i] for i in range(20)],
    }

    def depth(first, last, bids, asks):
        return {'e': 'depthUpdate', 'E': 1700000000000 + last, 's': 'BTCUSDT', 'U': first, 'u': last,
                'b': bids, 'a': asks}

    updates = [
        depth(95, 100, [['99.9', '7']], []),                         # before the snapshot: dropped
        depth(101, 102, [['99.9', '0'], ['100.05', '0.5']], [['100.1', '0'], ['100.15', '1.25']]),
        depth(103, 103, [['98.5', '3']], [['101.0', '0']]),
        depth(104, 106, [['100.05', '0.75']], [['100.15', '0'], ['103.5', '9']]),
    ]

    async def session(module):
        async with ScriptedServer(on_message=binance_ack) as server:
            ex = binance(module, server.url)
            url = server.url + '/ws/0'
            snapshot_requested = asyncio.Event()
            release = asyncio.Event()

            async def rest_snapshot(symbol, limit=None, params={}):
                snapshot_requested.set()
                await release.wait()
                return ex.parse_order_book(dict(snapshot_levels), symbol, None, 'bids', 'asks') | {'nonce': 100}

            ex.fetch_rest_order_book_safe = rest_snapshot
            first = asyncio.ensure_future(ex.watch_order_book('BTC/USDT'))
            peer = await server.accept()
            await peer.recv()
            await asyncio.wait_for(snapshot_requested.wait(), TIMEOUT)
            peer.send(updates[0], updates[1])  # buffered in the book's cache until the snapshot
            await wait_for(lambda: len(ex.orderbooks['BTC/USDT'].cache) == 2)
            release.set()
            results = [_plain(await asyncio.wait_for(first, TIMEOUT))]
            for update in updates[2:]:
                book = await _step(ex, url, ex.watch_order_book('BTC/USDT'), 'orderbook::BTC/USDT', peer, update)
                results.append(_plain(book))
            limited = await _step(ex, url, ex.watch_order_book('BTC/USDT', 5), 'orderbook::BTC/USDT', peer,
                                  depth(107, 107, [], [['100.2', '1']]))
            results.append(_plain(limited))
            await ex.close()
            return results
    vanilla, fast = _differential(session)
    assert fast == vanilla
    assert fast[0]['nonce'] == 102 and fast[-1]['nonce'] == 107
    assert fast[-1]['asks'][0] == [100.2, 1.0] and fast[-1]['bids'][0] == [100.05, 0.75]


def test_differential_htx_gzip_trades_and_json_ping():
    market = {
        'id': 'btcusdt', 'symbol': 'BTC/USDT', 'base': 'BTC', 'quote': 'USDT', 'baseId': 'btc', 'quoteId': 'usdt',
        'type': 'spot', 'spot': True, 'margin': False, 'swap': False, 'future': False, 'option': False,
        'contract': False, 'linear': None, 'inverse': None, 'active': True, 'info': {},
        'precision': {'amount': 0.000001, 'price': 0.01},
    }

    def trades(n):
        return {'ch': 'market.btcusdt.trade.detail', 'ts': 1700000000000 + n, 'tick': {
            'id': n, 'ts': 1700000000000 + n,
            'data': [{'id': 1000 + n, 'ts': 1700000000000 + n, 'tradeId': 5000 + n, 'amount': 0.5 * n,
                      'price': 30000 + n, 'direction': 'buy' if n % 2 else 'sell'}]}}

    async def session(module):
        def on_message(peer, message):
            if isinstance(message, dict) and 'sub' in message:
                peer.send_raw(gzipped({'id': message['id'], 'status': 'ok', 'subbed': message['sub'], 'ts': 1}))

        async with ScriptedServer(on_message=on_message) as server:
            ex = module.htx({'timeout_on_exit': 0})
            ex.timeout_on_exit = 0
            ex.urls['api']['ws']['api']['spot']['public'] = server.url + '/ws'
            ex.set_markets([market])
            url = server.url + '/ws'
            first = asyncio.ensure_future(ex.watch_trades('BTC/USDT'))
            peer = await server.accept()
            assert (await peer.recv())['sub'] == 'market.btcusdt.trade.detail'
            # the exchange's own gzipped JSON ping, answered by ccxt.pro's htx code
            peer.send_raw(gzipped({'ping': 1700000000123}))
            pong = await peer.recv()
            await wait_for(lambda: url in ex.clients and ex.clients[url].futures)
            peer.send_raw(gzipped(trades(1)))
            results = [_plain(await asyncio.wait_for(first, TIMEOUT))]
            for n in (2, 3):
                task = asyncio.ensure_future(ex.watch_trades('BTC/USDT'))
                await wait_for(lambda: ex.clients[url].futures)
                peer.send_raw(gzipped(trades(n)))
                results.append(_plain(await asyncio.wait_for(task, TIMEOUT)))
            await ex.close()
            return pong, results
    vanilla, fast = _differential(session)
    assert fast == vanilla
    assert fast[0] == {'pong': 1700000000123}
    assert [t[-1]['price'] for t in fast[1]] == [30001.0, 30002.0, 30003.0]


# ---------------------------------------------------------------------------- MRO

def test_mixin_shadows_no_exchange_override_except_cooperative_events():
    """The mixin comes first in the MRO, so a method it defines hides an exchange's own.
    Only the connection events are defined by exchanges (hollaex, p2b), and those are
    cooperative (tested below); this fails if a ccxt upgrade adds another clash."""
    from ccxt.async_support.base.exchange import BaseExchange, Exchange as AsyncExchange
    names = {n for n in vars(ccxtpro_fast.ExchangeMixin) if not n.startswith('__')}
    clashes = set()
    for exchange_id in ccxt.pro.exchanges:
        for cls in getattr(ccxt.pro, exchange_id).__mro__:
            if cls in (AsyncExchange, BaseExchange, object) or cls.__module__.startswith('ccxt.base'):
                continue
            clashes |= names & set(vars(cls))
    assert clashes <= {'on_error', 'on_close'}


def test_exchange_connection_event_overrides_still_run():
    async def main():
        async with ScriptedServer() as server:
            ex = ccxtpro_fast.p2b({'timeout_on_exit': 0})
            ex.options['tickerSubs'] = {'stale': True}
            client = ex.client(server.url)
            client.connect()
            await server.accept()
            await asyncio.wait_for(client.connected, TIMEOUT)
            server.peers[-1].drop()
            await wait_for(lambda: server.url not in ex.clients)
            assert 'stale' not in ex.options['tickerSubs']  # p2b's own on_close ran
            await ex.close()
    run(main)


def test_close_cancels_spawned_work_and_timers():
    """Background work ccxt.pro starts with spawn()/delay() (snapshot fetches, pongs,
    listen-key refreshes) ends with close(); an unawaited failure is not reported as
    'exception was never retrieved'."""
    async def main():
        ex = ccxtpro_fast.binance({'timeout_on_exit': 0})
        ex.open()
        started = asyncio.Event()

        async def forever():
            started.set()
            await asyncio.Event().wait()

        async def fails():
            raise ccxt.NetworkError('socket closed while sending a pong')

        pending = ex.spawn(forever)
        ex.spawn(fails)  # nobody awaits it
        fired = []
        ex.delay(60000, lambda: fired.append(1))
        await started.wait()
        await ex.close()
        assert pending.cancelled() and not fired
    run(main)
