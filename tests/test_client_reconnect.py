"""Dropped connections: waiters fail with NetworkError as in ccxt.pro, then the next
watch_* (or, with autoReconnect, the client itself) reconnects with capped exponential
backoff and jitter, and resubscribes everything that was subscribed on the connection."""
import asyncio
import time

import ccxt
import ccxt.pro
import pytest

import ccxtpro_fast
from test_client_helpers import (
    TIMEOUT, Echo, ScriptedServer, binance, binance_ack, binance_trade, run, wait_for,
)


def _one_stream(exchange, **ws):
    # every spot subscription on one connection (/ws/0), as after many subscriptions
    exchange.options['streamLimits']['spot'] = 1
    exchange.options['ws'] = dict(exchange.options.get('ws') or {}, **ws)
    return exchange


async def _subscribe_two(server, exchange):
    btc = asyncio.ensure_future(exchange.watch_trades('BTC/USDT'))
    eth = asyncio.ensure_future(exchange.watch_trades('ETH/USDT'))
    peer = await server.accept()
    subscribed = [await peer.recv(), await peer.recv()]
    assert sorted(m['params'][0] for m in subscribed) == ['btcusdt@trade', 'ethusdt@trade']
    peer.send(binance_trade(1, symbol='BTCUSDT'), binance_trade(2, symbol='ETHUSDT'))
    await asyncio.wait_for(asyncio.gather(btc, eth), TIMEOUT)
    return peer


def _resubscribed_after_drop(module, **ws):
    async def main():
        async with ScriptedServer(on_message=binance_ack) as server:
            ex = _one_stream(binance(module, server.url), reconnectStableAfter=0, **ws)
            peer = await _subscribe_two(server, ex)
            waiting = [asyncio.ensure_future(ex.watch_trades(s)) for s in ('BTC/USDT', 'ETH/USDT')]
            await asyncio.sleep(0)
            peer.drop()
            for waiter in waiting:
                with pytest.raises(ccxt.NetworkError):
                    await asyncio.wait_for(waiter, TIMEOUT)
            # the user's loop calls watch again, for one symbol only
            btc = asyncio.ensure_future(ex.watch_trades('BTC/USDT'))
            peer = await server.accept()
            params = [(await peer.recv())['params'][0]]
            while True:
                try:
                    params.append((await peer.recv(timeout=0.3))['params'][0])
                except asyncio.TimeoutError:
                    break
            eth = None
            if len(params) == 2:
                # ETH is subscribed again: watching it sends nothing and its data flows
                eth = asyncio.ensure_future(ex.watch_trades('ETH/USDT'))
                await wait_for(lambda: 'trade::ETH/USDT' in ex.clients[server.url + '/ws/0'].futures)
                assert peer.received.empty()
            peer.send(binance_trade(3, symbol='ETHUSDT'), binance_trade(4, symbol='BTCUSDT'))
            trades = await asyncio.wait_for(btc, TIMEOUT)
            if eth is not None:
                await asyncio.wait_for(eth, TIMEOUT)
                eth = [t['id'] for t in ex.trades['ETH/USDT']]
            await ex.close()
            return sorted(params), trades[-1]['id'], eth
    return main


def test_next_watch_reconnects_and_resubscribes_everything():
    params, last_btc, eth = run(_resubscribed_after_drop(ccxtpro_fast))
    assert params == ['btcusdt@trade', 'ethusdt@trade']  # both, each once
    assert last_btc == '4'
    assert eth == ['2', '3']  # the ETH stream is back without anyone asking for it again


def test_vanilla_ccxt_pro_resubscribes_only_what_is_watched_again():
    # the behaviour we fix, shown on ccxt.pro itself against the same server
    params, last_btc, eth = run(_resubscribed_after_drop(ccxt.pro), strict=False)
    assert params == ['btcusdt@trade'] and last_btc == '4' and eth is None


def test_auto_reconnect_resubscribes_without_a_new_call():
    async def main():
        async with ScriptedServer(on_message=binance_ack) as server:
            ex = _one_stream(binance(ccxtpro_fast, server.url), autoReconnect=True, reconnectStableAfter=0)
            peer = await _subscribe_two(server, ex)
            waiter = asyncio.ensure_future(ex.watch_trades('ETH/USDT'))
            await asyncio.sleep(0)
            peer.drop()
            with pytest.raises(ccxt.NetworkError):
                await asyncio.wait_for(waiter, TIMEOUT)
            peer = await server.accept()  # nobody called watch_* in between
            params = sorted([(await peer.recv())['params'][0], (await peer.recv())['params'][0]])
            assert params == ['btcusdt@trade', 'ethusdt@trade']
            waiter = asyncio.ensure_future(ex.watch_trades('ETH/USDT'))
            await asyncio.sleep(0)
            assert peer.received.empty()  # already subscribed on the new connection: nothing sent
            peer.send(binance_trade(5, symbol='ETHUSDT'))
            trades = await asyncio.wait_for(waiter, TIMEOUT)
            assert [t['id'] for t in trades] == ['5']  # ccxt's newUpdates: what is new since the last call
            assert [t['id'] for t in ex.trades['ETH/USDT']] == ['2', '5']
            await ex.close()
    run(main)


def test_unsubscribed_streams_are_not_resubscribed():
    async def main():
        async with ScriptedServer(on_message=binance_ack) as server:
            ex = _one_stream(binance(ccxtpro_fast, server.url), reconnectStableAfter=0)
            peer = await _subscribe_two(server, ex)
            await asyncio.wait_for(ex.un_watch_trades('ETH/USDT'), TIMEOUT)
            assert (await peer.recv())['method'] == 'UNSUBSCRIBE'
            peer.drop()
            await wait_for(lambda: server.url + '/ws/0' not in ex.clients)
            btc = asyncio.ensure_future(ex.watch_trades('BTC/USDT'))
            peer = await server.accept()
            assert (await peer.recv())['params'] == ['btcusdt@trade']
            with pytest.raises(asyncio.TimeoutError):
                await peer.recv(timeout=0.2)
            btc.cancel()
            await ex.close()
    run(main)


def test_private_connections_are_left_to_the_next_call():
    async def main():
        async with ScriptedServer() as server:
            ex = Echo({'apiKey': 'APIKEY-0123456789abcdef', 'secret': 'x' * 12,
                       'options': {'ws': {'autoReconnect': True}}})
            public = ex.watch_messages(server.url + '/public', {'sub': 'trades'})
            private = ex.watch_messages(server.url + '/private', {'op': 'login', 'args': ['APIKEY-0123456789abcdef']})
            peers = [await server.accept(), await server.accept()]
            for peer in peers:
                await peer.recv()
            for peer in peers:
                peer.drop()
            for waiter in (public, private):
                with pytest.raises(ccxt.NetworkError):
                    await asyncio.wait_for(waiter, TIMEOUT)
            peer = await server.accept()
            assert peer.path == '/public' and await peer.recv() == {'sub': 'trades'}
            assert server.url + '/private' not in ex.ws_pending
            await ex.close()
    run(main)


def test_backoff_is_capped_exponential_with_jitter():
    async def main():
        ex = Echo({'options': {'ws': {'reconnectDelay': 100, 'reconnectMaxDelay': 1000}}})
        url = 'ws://127.0.0.1:9/x'
        delays = []
        for _ in range(8):
            ex._ws_backoff_failure(url)
            delays.append(ex.ws_dial_delay(url))
        bounds = [(min(1.0, 0.1 * 2 ** i) / 2, min(1.0, 0.1 * 2 ** i)) for i in range(8)]
        for delay, (low, high) in zip(delays, bounds):
            assert low - 0.02 <= delay <= high
        assert ex.ws_dial_backoff[url]['attempts'] == 8
        # jitter: the same attempt number does not always give the same delay
        samples = set()
        for _ in range(20):
            ex.ws_dial_backoff.clear()
            ex._ws_backoff_failure(url)
            samples.add(ex.ws_dial_backoff[url]['until'] - ex.milliseconds())
        assert len(samples) > 3
        await ex.close()
    run(main)


def test_flapping_server_is_retried_with_growing_delays():
    async def main():
        dropped_at = []

        def drop_on_subscribe(peer, message):
            dropped_at.append(time.monotonic())
            peer.drop()

        async with ScriptedServer(on_message=drop_on_subscribe) as server:
            ex = Echo({'options': {'ws': {'autoReconnect': True, 'reconnectDelay': 40}}})
            waiter = ex.watch_messages(server.url, {'sub': 1})
            with pytest.raises(ccxt.NetworkError):
                await asyncio.wait_for(waiter, TIMEOUT)
            await wait_for(lambda: len(dropped_at) >= 4)
            await ex.close()
            count = len(dropped_at)
            await asyncio.sleep(0.3)
            assert len(dropped_at) == count  # close() stopped the reconnecting
        gaps = [b - a for a, b in zip(dropped_at, dropped_at[1:])]
        # attempt n waits at least half of 40 ms * 2^(n-1)
        for n, gap in enumerate(gaps[:3], start=1):
            assert gap >= 0.040 * 2 ** (n - 1) / 2 - 0.005, gaps
    run(main)


def test_stable_connection_reconnects_at_once():
    async def main():
        async with ScriptedServer() as server:
            ex = Echo({'options': {'ws': {'reconnectStableAfter': 0}}})
            waiter = ex.watch_messages(server.url, {'sub': 1})
            peer = await server.accept()
            await peer.recv()
            peer.drop()
            with pytest.raises(ccxt.NetworkError):
                await asyncio.wait_for(waiter, TIMEOUT)
            assert ex.ws_dial_delay(server.url) == 0
            await ex.close()
    run(main)
