"""The picows client: framing, decoding, ping/pong, keepalive, close, errors, hygiene.

Every test runs against a scripted server on 127.0.0.1 (tests/test_client_helpers.py)
and through ``run``, which also fails on loop errors and leftover tasks.
"""
import asyncio
import gzip
import logging
import time

import ccxt
import ccxt.pro
import pytest

import ccxtpro_fast
from test_client_helpers import (
    OP_BINARY, OP_CONT, OP_TEXT, TIMEOUT, ConnectProxy, Echo, ScriptedServer, deflated, frame, gzipped, run,
    server_ssl_context, text, wait_for,
)


@pytest.fixture(autouse=True, params=["compiled listener", "python listener"])
def listener_kind(request, monkeypatch):
    """Every test on both listeners: the compiled hot path (wslistener.pyx) and the
    Python one it falls back to with another picows."""
    if request.param == "python listener":
        monkeypatch.setattr("ccxtpro_fast.base.client.TextFrameListener", None)
    return request.param


def test_the_compiled_listener_is_built_and_used():
    from ccxtpro_fast.base import client
    from ccxtpro_fast._core.wslistener import TextFrameListener
    assert client.TextFrameListener is TextFrameListener or client.TextFrameListener is None

    async def make():       # ccxt's Client wants a running loop
        return client._new_listener(client.Client('ws://127.0.0.1:1/x', lambda *a: None, lambda *a: None,
                                                  lambda *a: None, lambda *a: None))
    listener = asyncio.run(make())
    if client.TextFrameListener is not None:
        assert isinstance(listener, TextFrameListener)
    else:
        assert isinstance(listener, client._Listener)


def test_text_frames_json_and_plain():
    async def main():
        async with ScriptedServer() as server:
            ex = Echo()
            waiter = ex.watch_messages(server.url)
            peer = await server.accept()
            peer.send_raw(text({'a': 1}))
            assert await asyncio.wait_for(waiter, TIMEOUT) == {'a': 1}
            waiter = ex.watch_messages(server.url)
            peer.send_raw(text('pong'), text('[1, 2.5, "x"]'), text('{'))
            await wait_for(lambda: len(ex.seen) == 4)
            # ccxt's rule: JSON when it starts with { or [ and is at least 2 chars long
            assert ex.seen == [{'a': 1}, 'pong', [1, 2.5, 'x'], '{']
            assert await waiter == 'pong'
            await ex.close()
    run(main)


def test_frames_in_one_read_are_all_handled_before_the_waiter_wakes():
    async def main():
        async with ScriptedServer() as server:
            ex = Echo()
            waiter = ex.watch_messages(server.url)
            peer = await server.accept()
            peer.send_raw(*[text({'n': i}) for i in range(5)])
            first = await asyncio.wait_for(waiter, TIMEOUT)
            # resolved by the first frame, but woken only after the whole burst was parsed
            assert first == {'n': 0}
            assert ex.seen == [{'n': i} for i in range(5)]
            await ex.close()
    run(main)


def test_binary_frames_gzip_inflate_and_raw():
    async def main():
        async with ScriptedServer() as server:
            gz = Echo({'options': {'ws': {'gunzip': True}}})
            waiter = gz.watch_messages(server.url + '/gz')
            peer = await server.accept()
            peer.send_raw(gzipped({'gz': True}), gzipped({'gz': 2}))
            await wait_for(lambda: len(gz.seen) == 2)
            assert gz.seen == [{'gz': True}, {'gz': 2}] and await waiter == {'gz': True}

            inf = Echo({'options': {'ws': {'inflate': True}}})
            inf.watch_messages(server.url + '/inflate')
            peer = await server.accept()
            peer.send_raw(deflated({'inflated': [1, 2]}))
            await wait_for(lambda: inf.seen == [{'inflated': [1, 2]}])

            raw = Echo({'options': {'decompressBinary': False}})
            raw.watch_messages(server.url + '/raw')
            peer = await server.accept()
            peer.send_raw(frame(OP_BINARY, b'\x00\x01proto'), frame(OP_BINARY, b'{"x":1}'))
            await wait_for(lambda: len(raw.seen) == 2)
            assert raw.seen == [b'\x00\x01proto', b'{"x":1}']

            plain = Echo()  # binary, decompressBinary default: decoded as text
            plain.watch_messages(server.url + '/plain')
            peer = await server.accept()
            peer.send_raw(frame(OP_BINARY, b'{"x":1}'))
            await wait_for(lambda: plain.seen == [{'x': 1}])
            for ex in (gz, inf, raw, plain):
                await ex.close()
    run(main)


def test_fragmented_messages_are_reassembled():
    async def main():
        async with ScriptedServer() as server:
            ex = Echo()
            ex.watch_messages(server.url)
            peer = await server.accept()
            body = b'{"parts": "' + b'x' * 300 + b'"}'
            peer.send_raw(frame(OP_TEXT, body[:10], fin=False), frame(OP_CONT, body[10:200], fin=False),
                          frame(OP_CONT, body[200:], fin=True), text({'after': 1}))
            await wait_for(lambda: len(ex.seen) == 2)
            assert ex.seen == [{'parts': 'x' * 300}, {'after': 1}]
            gz = gzip.compress(b'{"z": 1}')
            peer.send_raw(frame(OP_BINARY, gz[:5], fin=False), frame(OP_CONT, gz[5:]))
            await ex.close()
    run(main)


def test_bad_input_is_logged_and_skipped(caplog):
    async def main():
        async with ScriptedServer() as server:
            ex = Echo({'options': {'ws': {'gunzip': True}}})
            ex.watch_messages(server.url)
            peer = await server.accept()
            peer.send_raw(text('{"truncated": '), frame(OP_BINARY, b'not gzip at all'),
                          frame(OP_TEXT, b'\xff\xfe'), frame(OP_BINARY, gzip.compress(b'\xff{')),
                          gzipped({'ok': True}))
            await wait_for(lambda: ex.seen == [{'ok': True}])
            assert ex.client(server.url).closed() is False
            await ex.close()
    with caplog.at_level(logging.WARNING, logger='ccxtpro_fast.client'):
        run(main)
    skipped = [r for r in caplog.records if 'cannot be decoded' in r.getMessage()]
    assert len(skipped) == 4


def test_server_ping_is_answered_with_pong():
    async def main():
        async with ScriptedServer() as server:
            ex = Echo()
            ex.watch_messages(server.url)
            peer = await server.accept()
            peer.ping(b'payload-1')
            assert await asyncio.wait_for(peer.pongs.get(), TIMEOUT) == b'payload-1'
            await ex.close()
    run(main)


def test_keepalive_protocol_pings_and_timeout():
    async def main():
        async with ScriptedServer() as server:
            ex = Echo({'options': {'ws': {'keepAlive': 30, 'maxPingPongMisses': 2}}})
            waiter = ex.watch_messages(server.url)
            peer = await server.accept()
            # answered pings keep the connection up
            for _ in range(3):
                await asyncio.wait_for(peer.pings.get(), TIMEOUT)
            assert not waiter.done()
            client = ex.clients[server.url]
            assert client.lastPong is not None
            # unanswered: the waiter fails with ccxt's RequestTimeout and the socket closes
            peer.answer_pings = False
            with pytest.raises(ccxt.RequestTimeout):
                await asyncio.wait_for(waiter, TIMEOUT)
            await asyncio.wait_for(peer.disconnected.wait(), TIMEOUT)
            assert server.url not in ex.clients
            await ex.close()
    run(main)


class JsonPing(Echo):
    def ping(self, client):
        return {'op': 'ping'}

    def handle_message(self, client, message):
        if message == {'op': 'pong'}:
            client.lastPong = self.milliseconds()
            return
        super().handle_message(client, message)


def test_exchange_ping_hook_sends_json_pings():
    async def main():
        async with ScriptedServer(on_message=lambda peer, m: m == {'op': 'ping'} and peer.send({'op': 'pong'})) as server:
            ex = JsonPing({'options': {'ws': {'keepAlive': 20, 'maxPingPongMisses': 2}}})
            waiter = ex.watch_messages(server.url, {'op': 'subscribe'})
            peer = await server.accept()
            assert await peer.recv() == {'op': 'subscribe'}  # the subscribe goes out before any ping
            for _ in range(4):
                assert await peer.recv() == {'op': 'ping'}
            assert not waiter.done() and peer.pings.empty()  # no protocol pings when the hook exists
            await ex.close()
    run(main)


@pytest.mark.parametrize('action, code', [('close', 1001), ('drop', 1006)])
def test_server_close_or_drop_rejects_waiters_with_network_error(action, code):
    async def main():
        async with ScriptedServer() as server:
            ex = Echo()
            waiters = [ex.watch_messages(server.url, {'sub': i}, 'hash%d' % i) for i in range(3)]
            peer = await server.accept()
            for i in range(3):
                await peer.recv()
            getattr(peer, action)()
            for waiter in waiters:
                with pytest.raises(ccxt.NetworkError, match='closing code %d' % code):
                    await asyncio.wait_for(waiter, TIMEOUT)
            assert server.url not in ex.clients
            await ex.close()
    run(main)


def test_close_is_clean_with_waiters_pending():
    async def main():
        async with ScriptedServer() as server:
            ex = Echo({'options': {'ws': {'keepAlive': 50}}})
            waiters = [ex.watch_messages(server.url + '/a', {'s': 1}), ex.watch_messages(server.url + '/b', {'s': 2})]
            peers = [await server.accept(), await server.accept()]
            for peer in peers:
                await peer.recv()
            await ex.close()
            # ccxt.pro's close(): pending watchers are cancelled
            for waiter in waiters:
                assert waiter.cancelled()
            for peer in peers:
                await asyncio.wait_for(peer.disconnected.wait(), TIMEOUT)
            assert ex.clients == {}
            # the exchange is reusable after close(), as in ccxt
            waiter = ex.watch_messages(server.url + '/c')
            peer = await server.accept()
            peer.send({'again': 1})
            assert await asyncio.wait_for(waiter, TIMEOUT) == {'again': 1}
            await ex.close()
        # run() asserts: no pending task, no "Task exception was never retrieved"
    run(main)


def test_close_does_not_wait_forever_for_a_silent_server():
    async def main():
        async with ScriptedServer() as server:
            ex = Echo({'options': {'ws': {'closeTimeout': 50}}})
            ex.watch_messages(server.url)
            peer = await server.accept()
            peer.on_ws_frame = lambda transport, frame_: None  # never answers CLOSE
            started = time.monotonic()
            await ex.close()
            assert time.monotonic() - started < 2
            await asyncio.wait_for(peer.disconnected.wait(), TIMEOUT)
    run(main)


def test_close_while_dialing_and_dial_failure():
    async def main():
        ex = Echo({'options': {'ws': {'reconnectDelay': 1000}}})
        # nothing listens there: connection refused -> NetworkError, backoff recorded
        async with ScriptedServer() as server:
            url = server.url
        with pytest.raises(ccxt.NetworkError):
            await asyncio.wait_for(ex.watch_messages(url), TIMEOUT)
        assert ex.ws_dial_delay(url) > 0.4
        waiter = ex.watch_messages(url)  # sleeps the backoff before dialing
        await asyncio.sleep(0)
        await ex.close()
        assert waiter.cancelled()
    run(main)


def test_unsupported_proxy_is_a_clear_not_supported_error():
    async def main():
        ex = Echo()
        ex.wsProxy = 'ftp://127.0.0.1:1'
        with pytest.raises(ccxt.NotSupported, match='proxies'):
            await asyncio.wait_for(ex.watch_messages('ws://127.0.0.1:9/x'), TIMEOUT)
        await ex.close()
    run(main)


def test_proxy_schemes_map_to_picows():
    async def main():
        ex = Echo()
        ex.wsSocksProxy = 'socks5h://user:pw@127.0.0.1:1080'
        client = ex.client('wss://example.invalid/ws')
        assert client._proxy_url() == 'socks5://user:pw@127.0.0.1:1080'
        client.proxy = 'https://127.0.0.1:3128'
        assert client._proxy_url() == 'https://127.0.0.1:3128'
        await ex.close()
    run(main)


def test_wss_verifies_certificates_as_ccxt_does(tmp_path):
    context, cafile = server_ssl_context(tmp_path)

    async def main():
        async with ScriptedServer(ssl=context) as server:
            assert server.url.startswith('wss://')
            strict = Echo()  # certifi's CAs: our self-signed certificate is refused
            with pytest.raises(ccxt.NetworkError, match='CERTIFICATE_VERIFY_FAILED|certificate verify failed'):
                await asyncio.wait_for(strict.watch_messages(server.url), TIMEOUT)
            for config in ({'cafile': cafile}, {'verify': False}):
                ex = Echo(config)
                waiter = ex.watch_messages(server.url + '/tls')
                peer = await server.accept()
                peer.send({'secure': True})
                assert await asyncio.wait_for(waiter, TIMEOUT) == {'secure': True}
                await ex.close()
            await strict.close()
    # the server side reports the client's refusal of its certificate
    run(main, allowed=('SSL handshake failed',))


def test_http_proxy_tunnels_the_connection():
    async def main():
        async with ScriptedServer() as server, ConnectProxy() as proxy:
            ex = Echo()
            ex.wsProxy = proxy.url
            waiter = ex.watch_messages(server.url + '/proxied')
            peer = await server.accept()
            peer.send({'via': 'proxy'})
            assert await asyncio.wait_for(waiter, TIMEOUT) == {'via': 'proxy'}
            assert proxy.targets == [server.url.split('//')[1]]
            await ex.close()
    run(main)


def test_headers_and_cookies_from_options():
    async def main():
        async with ScriptedServer() as server:
            ex = Echo({'options': {'ws': {'options': {'headers': {'X-Test': 'yes'}, 'cookies': {'a': 'b'}}}}})
            ex.watch_messages(server.url + '/h')
            peer = await server.accept()
            assert peer.path == '/h'
            assert peer.headers['X-Test'] == 'yes' and peer.headers['Cookie'] == 'a=b'
            await ex.close()
    run(main)


def test_send_encodes_json_and_text():
    async def main():
        async with ScriptedServer() as server:
            ex = Echo()
            ex.watch_messages(server.url)
            await server.accept()
            client = ex.client(server.url)
            await wait_for(lambda: not client.closed())
            peer = server.peers[-1]
            await client.send({'b': [1, 2.5, None, True]})
            await client.send('plain')
            assert await peer.recv() == {'b': [1, 2.5, None, True]}
            assert await peer.recv() == 'plain'
            await ex.close()
            with pytest.raises(ConnectionError):
                await client.send({'late': 1})
    run(main)


def test_xt_pong_handler_works():
    # ccxt.pro's xt calls client.onPong(), which ccxt's own Client lacks (AttributeError)
    async def main():
        fast, vanilla = ccxtpro_fast.xt(), ccxt.pro.xt()
        client = fast.client('ws://127.0.0.1:9/x')
        fast.handle_message(client, {'event': 'pong'})
        assert client.lastPong is not None
        with pytest.raises(AttributeError):
            vanilla.handle_message(vanilla.client('ws://127.0.0.1:9/x'), {'event': 'pong'})
        await fast.close()
        await vanilla.close()
    run(main)


def test_handler_error_rejects_only_affected_waiters_and_keeps_reading(caplog):
    async def main():
        async with ScriptedServer() as server:
            ex = Echo()
            hurt = ex.watch_messages(server.url, None, 'alpha')
            fine = ex.watch_messages(server.url, None, 'beta')
            peer = await server.accept()
            peer.send({'boom': 'alpha', 'channel': 'alpha'}, {'hash': 'beta'})
            with pytest.raises(ccxt.ExchangeError, match='ValueError: cannot handle alpha'):
                await asyncio.wait_for(hurt, TIMEOUT)
            assert await asyncio.wait_for(fine, TIMEOUT) == {'hash': 'beta'}
            # still reading after the failure
            again = ex.watch_messages(server.url, None, 'alpha')
            peer.send({'hash': 'alpha'})
            assert await asyncio.wait_for(again, TIMEOUT) == {'hash': 'alpha'}
            await ex.close()
    with caplog.at_level(logging.ERROR, logger='ccxtpro_fast'):
        run(main)
    assert any('handle_message raised ValueError' in r.getMessage() and "['alpha']" in r.getMessage()
               for r in caplog.records)


def test_client_repr_and_verbose_logs_are_redacted(caplog):
    api_key, secret = 'APIKEY-0123456789abcdef', 'SECRET-fedcba9876543210'
    listen_key = 'LISTENKEYabcdefghijklmnopqrstuvwxyz0123456789'
    lines = []

    async def main():
        async with ScriptedServer() as server:
            ex = Echo({'apiKey': api_key, 'secret': secret, 'verbose': True,
                       'options': {'listenKey': listen_key}})
            ex.log = lambda *args: lines.append(' '.join(str(a) for a in args))
            url = server.url + '/ws/' + listen_key + '?token=tok-123456789&x=1'
            login = {'op': 'login', 'args': [api_key, 1700000000, 'a3f1' * 16]}
            waiter = ex.watch_messages(url, login, 'auth')
            peer = await server.accept()
            assert await peer.recv() == login
            peer.send({'e': 'listenKeyExpired', 'listenKey': listen_key, 'sign': 'S' * 40})
            peer.send({'boom': 'x ' + api_key, 'channel': 'auth'})
            with pytest.raises(ccxt.ExchangeError) as raised:
                await asyncio.wait_for(waiter, TIMEOUT)
            assert api_key not in str(raised.value)
            client = ex.clients[url]
            assert listen_key not in repr(client) and 'tok-123456789' not in repr(client)
            peer.send({'boom': 'again ' + secret, 'hash': 'nobody'})
            await wait_for(lambda: any('again' in r.getMessage() for r in caplog.records))
            await ex.close()

    with caplog.at_level(logging.DEBUG):
        run(main)
    logged = '\n'.join(lines) + '\n'.join(r.getMessage() for r in caplog.records)
    assert 'sending' in logged and 'message' in logged and 'connecting to' in logged
    for secret_value in (api_key, secret, listen_key, 'tok-123456789', 'a3f1' * 16, 'S' * 40):
        assert secret_value not in logged


def test_private_connections_are_detected():
    ex = Echo({'apiKey': 'APIKEY-0123456789abcdef', 'secret': 's' * 10})
    redact = ex._ws_redact
    assert redact.carries_credentials({'op': 'login', 'args': ['APIKEY-0123456789abcdef', 1, 'sig']})
    assert redact.carries_credentials({'method': 'auth', 'params': {'signature': 'x'}})
    assert redact.carries_credentials('wss://h/ws?listenKey=abc')
    assert not redact.carries_credentials({'method': 'SUBSCRIBE', 'params': ['btcusdt@trade'], 'id': 1})
    assert not redact.carries_credentials('wss://stream.binance.com:9443/ws/0')


def test_exchange_class_is_drop_in():
    assert issubclass(ccxtpro_fast.binance, ccxt.pro.binance)
    assert isinstance(ccxtpro_fast.binance().client.__self__, ccxtpro_fast.Exchange)
