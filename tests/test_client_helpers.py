"""A scriptable WebSocket server on 127.0.0.1 for the client, mixin and differential
tests, and exchanges wired to it. Nothing here touches the network beyond loopback.

The server is picows too, but frames it sends can also be written raw (``send_raw``)
so a test controls framing exactly: several frames in one TCP write, fragments,
compressed payloads, malformed input.
"""
import asyncio
import gc
import gzip
import json
import struct
import zlib

import ccxt.pro
from picows import WSCloseCode, WSListener, WSMsgType, ws_create_server

import ccxtpro_fast

TIMEOUT = 5.0

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def frame(opcode, payload, fin=True):
    """One unmasked (server-to-client) frame."""
    if isinstance(payload, str):
        payload = payload.encode()
    head = (0x80 if fin else 0) | opcode
    n = len(payload)
    if n < 126:
        header = struct.pack('!BB', head, n)
    elif n < 65536:
        header = struct.pack('!BBH', head, 126, n)
    else:
        header = struct.pack('!BBQ', head, 127, n)
    return header + payload


def text(obj):
    return frame(OP_TEXT, obj if isinstance(obj, (str, bytes)) else json.dumps(obj))


def gzipped(obj):
    return frame(OP_BINARY, gzip.compress(json.dumps(obj).encode()))


def deflated(obj):
    compressor = zlib.compressobj(wbits=-15)
    return frame(OP_BINARY, compressor.compress(json.dumps(obj).encode()) + compressor.flush())


class Peer(WSListener):
    """The server side of one connection."""

    def __init__(self, server, request):
        self.server = server
        self.path = request.path.decode()
        self.headers = request.headers
        self.transport = None
        self.received = asyncio.Queue()
        self.pings = asyncio.Queue()
        self.pongs = asyncio.Queue()
        self.disconnected = asyncio.Event()
        self.answer_pings = True

    def on_ws_connected(self, transport):
        self.transport = transport
        self.server.connections.put_nowait(self)

    def on_ws_frame(self, transport, frame_):
        if frame_.msg_type == WSMsgType.TEXT:
            raw = frame_.get_payload_as_utf8_text()
            try:
                message = json.loads(raw)
            except ValueError:
                message = raw
            self.received.put_nowait(message)
            if self.server.on_message is not None:
                self.server.on_message(self, message)
        elif frame_.msg_type == WSMsgType.PING:
            self.pings.put_nowait(frame_.get_payload_as_bytes())
            if self.answer_pings:
                transport.send_pong(frame_.get_payload_as_bytes())
        elif frame_.msg_type == WSMsgType.PONG:
            self.pongs.put_nowait(frame_.get_payload_as_bytes())
        elif frame_.msg_type == WSMsgType.CLOSE:
            if not transport.is_close_frame_sent:
                transport.send_close(frame_.get_close_code())
            transport.disconnect()

    def on_ws_disconnected(self, transport):
        self.disconnected.set()

    # ---- scripted actions

    def send_raw(self, *frames):
        """All frames in one TCP write, so the client reads them in one data_received."""
        self.transport.underlying_transport.write(b''.join(frames))

    def send(self, *objs):
        self.send_raw(*[text(obj) for obj in objs])

    def ping(self, payload=b'hi'):
        self.transport.send_ping(payload)

    def close(self, code=WSCloseCode.GOING_AWAY):
        self.transport.send_close(code)

    def drop(self):
        self.transport.underlying_transport.abort()

    async def recv(self, timeout=TIMEOUT):
        return await asyncio.wait_for(self.received.get(), timeout)


class ScriptedServer:
    """``async with ScriptedServer() as server:`` ... ``server.url``; ``on_message(peer,
    message)`` scripts replies; ``await server.accept()`` gives the next connection."""

    def __init__(self, on_message=None, ssl=None):
        self.on_message = on_message
        self.ssl = ssl
        self.connections = asyncio.Queue()
        self.peers = []
        self._server = None
        self.url = None

    async def __aenter__(self):
        def factory(request):
            peer = Peer(self, request)
            self.peers.append(peer)
            return peer
        self._server = await ws_create_server(factory, '127.0.0.1', 0, enable_auto_pong=False, ssl=self.ssl)
        port = self._server.sockets[0].getsockname()[1]
        self.url = '%s://127.0.0.1:%d' % ('wss' if self.ssl else 'ws', port)
        return self

    async def __aexit__(self, *exc):
        for peer in self.peers:
            if peer.transport is not None and not peer.transport.is_disconnected:
                peer.transport.underlying_transport.abort()
        self._server.close()
        await self._server.wait_closed()
        for peer in self.peers:
            if peer.transport is not None:
                await asyncio.wait_for(peer.disconnected.wait(), TIMEOUT)

    async def accept(self, timeout=TIMEOUT):
        return await asyncio.wait_for(self.connections.get(), timeout)


async def wait_for(predicate, timeout=TIMEOUT, interval=0.002):
    """Poll a condition on the loop (for state without an event to wait on)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError('condition not met within %.1fs' % timeout)
        await asyncio.sleep(interval)


# ---------------------------------------------------------------------------- exchanges

def _spot(base, quote):
    return {
        'id': base + quote, 'lowercaseId': (base + quote).lower(), 'symbol': base + '/' + quote,
        'base': base, 'quote': quote, 'baseId': base, 'quoteId': quote, 'settle': None, 'settleId': None,
        'type': 'spot', 'spot': True, 'margin': False, 'swap': False, 'future': False, 'option': False,
        'contract': False, 'linear': None, 'inverse': None, 'contractSize': None, 'active': True,
        'precision': {'amount': 0.00001, 'price': 0.01},
        'limits': {'amount': {'min': 0.00001, 'max': 9000}, 'price': {'min': 0.01, 'max': 1000000},
                   'cost': {'min': 5, 'max': None}, 'leverage': {'min': None, 'max': None}},
        'info': {},
    }


BINANCE_MARKETS = [_spot('BTC', 'USDT'), _spot('ETH', 'USDT')]


def binance(module, url, **config):
    """A binance of ``module`` (ccxt.pro or ccxtpro_fast) whose spot WebSocket is ``url``,
    markets preset, REST never used."""
    exchange = module.binance(dict({'timeout_on_exit': 0}, **config))
    exchange.timeout_on_exit = 0
    for key in ('spot', 'margin'):
        exchange.urls['api']['ws'][key] = url + '/ws'
    exchange.set_markets([dict(m) for m in BINANCE_MARKETS])
    return exchange


def both():
    """The differential pair: (vanilla ccxt.pro, ccxtpro_fast)."""
    return ccxt.pro, ccxtpro_fast


def binance_trade(trade_id, price='100.5', amount='0.25', symbol='BTCUSDT', ts=1700000000000):
    return {'e': 'trade', 'E': ts + 1, 's': symbol, 't': trade_id, 'p': price, 'q': amount,
            'T': ts, 'm': trade_id % 2 == 0, 'M': True}


def binance_ack(peer, message):
    """Reply to binance SUBSCRIBE/UNSUBSCRIBE requests as the exchange does."""
    if isinstance(message, dict) and message.get('method') in ('SUBSCRIBE', 'UNSUBSCRIBE'):
        peer.send({'result': None, 'id': message['id']})


# ---------------------------------------------------------------------------- running

def run(test, timeout=20.0, strict=True, allowed=()):
    """Run the coroutine function ``test`` on a fresh event loop and return its result.

    strict: fail when the loop reported an error (e.g. "Task exception was never
    retrieved", "Exception in callback") or when a task is still pending after ``test``
    returned (every test closes what it opened)."""
    contexts = []

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, context: contexts.append(context))
        outer = asyncio.current_task()
        result = await asyncio.wait_for(test(), timeout)
        gc.collect()
        await asyncio.sleep(0)
        left = [t for t in asyncio.all_tasks() if t is not outer and not t.done()]
        return result, left

    result, left = asyncio.run(main())
    gc.collect()
    contexts = [c for c in contexts if c.get('message') not in allowed]
    if strict:
        assert not contexts, [c.get('message') for c in contexts]
        assert not left, left
    return result


class Echo(ccxtpro_fast.Exchange):
    """A minimal exchange for client-level tests: every message resolves 'message' and is
    recorded; a message {"boom": hash} makes the handler raise."""

    def describe(self):
        return self.deep_extend(super().describe(), {
            'id': 'echo',
            'name': 'Echo',
            'rateLimit': 1,
            'has': {'ws': True},
            'streaming': {'keepAlive': 0},
        })

    def __init__(self, config={}):
        super().__init__(config)
        self.seen = []
        self.timeout_on_exit = 0

    def handle_message(self, client, message):
        if isinstance(message, dict) and 'boom' in message:
            raise ValueError('cannot handle ' + message['boom'])
        self.seen.append(message)
        if isinstance(message, dict) and 'hash' in message:
            client.resolve(message, message['hash'])
        client.resolve(message, 'message')

    def watch_messages(self, url, subscribe=None, message_hash='message', subscribe_hash=None):
        return self.watch(url, message_hash, subscribe, subscribe_hash or (None if subscribe is None else str(subscribe)))


# ---------------------------------------------------------------------------- TLS, proxy

# A self-signed certificate for 127.0.0.1 (valid until 2125), made once with
# `openssl req -x509 -newkey rsa:2048 -nodes -days 36500 -subj /CN=127.0.0.1
# -addext subjectAltName=IP:127.0.0.1`, kept inline so no tool is needed at test time.
TLS_CERT = """-----BEGIN CERTIFICATE-----
MIIDHDCCAgSgAwIBAgIUfXnqF4WBWyt76GoWZASnYMQsSyowDQYJKoZIhvcNAQEL
BQAwFDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTEyMjAwNTExNloYDzIxMjYx
MDI5MDA1MTE2WjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwggEiMA0GCSqGSIb3DQEB
AQUAA4IBDwAwggEKAoIBAQC49LL++fhmJyuLprpU8fRxu7Or7WVgh3Xhva718qvW
JZLwlc5Tc+M/dyeYC4zqFMCRm0W/EcTaMeXVLl0R6qIjAHwsspnMIZejf51yNSE5
LwU7hAFF44u8TTyvjYaVI6t3Os9kpSk0giryqJC67gbM8/Y0iK8xvmG4hT1dpRoQ
LxFVIUTMZAnRyWnipzjuPwGeNKKvLXKJk23l/5p5a31CSaSawKl1y/JREcekjB4l
G7n4vL9Bm9jdXAnu2jkMPykvgm+WaHIiY0y6V1pDvCRYuqnY9MRWlFiYj16lhdAQ
fSQgZOWU0Ui2AndTwoCO2te/rlMrx4QifdEAbxBr5Nh3AgMBAAGjZDBiMB0GA1Ud
DgQWBBSHxbFuNNUeCyUECegcURqJ949vLzAfBgNVHSMEGDAWgBSHxbFuNNUeCyUE
CegcURqJ949vLzAPBgNVHRMBAf8EBTADAQH/MA8GA1UdEQQIMAaHBH8AAAEwDQYJ
KoZIhvcNAQELBQADggEBACGDaTG6RdX/HBBD75RvRwDYKOP94JZNToldpR0EZ3sX
gDgolAo5xQjDOXOG8LKLxBkfBEtgvthOwdgY23+rCy7UjxVUUMdgnMyfi+s1qj9L
DyYQwYAdddNyGFw4DAv3p9K6kVjRS/VPXebfDOvo7ZLA6O5pwAuikXxJQE4zb0+3
kkLerjRI6XOztZm/86yQVW4F1SjeBy2dQcXCkMg8sb6DzsZvMqj07S8ke2e66Ata
jrVVzgj3jl9MhdawwJbh4k68kpJntUreCDR6eL3mkG7YPeFwASEXgQ8q07uqdGJw
HT9+IddGQcHCPDbz5DQ9WpaLOVAxgjUmlTvcmj1IyTg=
-----END CERTIFICATE-----
"""

TLS_KEY = """-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC49LL++fhmJyuL
prpU8fRxu7Or7WVgh3Xhva718qvWJZLwlc5Tc+M/dyeYC4zqFMCRm0W/EcTaMeXV
Ll0R6qIjAHwsspnMIZejf51yNSE5LwU7hAFF44u8TTyvjYaVI6t3Os9kpSk0giry
qJC67gbM8/Y0iK8xvmG4hT1dpRoQLxFVIUTMZAnRyWnipzjuPwGeNKKvLXKJk23l
/5p5a31CSaSawKl1y/JREcekjB4lG7n4vL9Bm9jdXAnu2jkMPykvgm+WaHIiY0y6
V1pDvCRYuqnY9MRWlFiYj16lhdAQfSQgZOWU0Ui2AndTwoCO2te/rlMrx4QifdEA
bxBr5Nh3AgMBAAECggEAHITy4tk1ob7Rep+zZKzIZg8s5cpd0vQgS7Y9d8Q7FfLG
RR28ambYuC0N6GaDjIa1qN4Z85vwUDrYdzZGeKBG7wHAo/3INE9LvBTN+NHTdSdY
dbRlo9qx7c+1F1bJ1U5iPqjNWPYUs/mMWM2AP6q7VrgZk0EuTovOMq8s5rcyHSN5
Onv3sBwDX70HPUKnP4IShC1kroV00tpO4isC81Cz9KfvAWfY5YW66a+Tl8tZweJ+
mG0/0fQgUHI7hJA/VqaastkgNU+vHqp/7JCF/55zY90H0eNN2MuNr+ycA/GTQ3ka
Va01+//YbDfSFzKJLiM7VOWtZdGNuCQ59MUE6BGhvQKBgQD2A/DsNV0yKSgAurGc
ITckl8R7PTrxtGGbydrWv8CW3NufoetGVMPIXnwCUN+pjO+6Ol04PLdVlNsmNBih
d8Z0e2QeJo19knS/yAunzzIoIm8xuJEuF5MjKzcoWOGnSSZ7wMAM1SetFktdj3HA
b/oeIRQEkf7OY5IH4mtCcT/JiwKBgQDAdlwUI5FTApbsb4owVa4YoHNmdmPB12hr
YuNQfbN7HZoBcTFwUWoJ3aXWXcumwowS7Cp/7vfvrh/kNA4prSwg+heHCug0wlqH
cpg9BY68H/3IIR7abToRh/yy+R3ts5UVG3jtpJLPdzoz0jUNXlAwnefoCo3PdB1l
tjBy+A9SRQKBgEopLftGqu1wEqsFnHzgVmslhQlRj+9E3RfFZb7O1xOjSGF6wh3V
d59zPBbGomXOIoYVCfzl8K5PzTBbDAHAxYZfm/Kq1IRCHgeiGkFf6FLI7pQie0FV
wfkcEeiLwppXJs6vcDVuHCPFULrHfxbvqopillI6YIF+6oqN6p+A3CW5AoGAUGdi
ElvFk4tKZ941OfohcFJfw5eEF3AZRHucgXzyJWX5d87FG6o3hYWeiY7HzJQMFr+p
Badc1znEQv7oR8r7247/k0AgQCJN1bYvGZcfyUIIMLp9fD0TfE12aYKfWTWj+5xt
icIuPxQNMacI2Nvk3lqpjowSMG/O9DYHyZAOPo0CgYEAkLpTDu3TUinoBCdJnP3O
E7JlrQ8SMX6AWESb7uGUXMdcHxFS/1+j9QaUcERWVuyntNqmcC8S+qse3sHdzdlr
9uEqovLKGZUDFoJNKbBjmU1niyUkoO7q3iM7jAbecGaNC3OZNo2go5ujSjItuT1U
ODgSYWTKizVJivDa8MtFCVk=
-----END PRIVATE KEY-----
"""


def server_ssl_context(tmp_path):
    import ssl
    cert, key = tmp_path / 'cert.pem', tmp_path / 'key.pem'
    cert.write_text(TLS_CERT)
    key.write_text(TLS_KEY)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    return context, str(cert)


class ConnectProxy:
    """An HTTP CONNECT proxy on 127.0.0.1 that records the targets it tunnels to."""

    def __init__(self):
        self.targets = []
        self._server = None
        self._pipes = set()
        self.url = None

    async def __aenter__(self):
        self._server = await asyncio.start_server(self._handle, '127.0.0.1', 0)
        self.url = 'http://127.0.0.1:%d' % self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc):
        self._server.close()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        await self._server.wait_closed()

    async def _handle(self, reader, writer):
        task = asyncio.current_task()
        self._pipes.add(task)
        upstream_writer = None
        try:
            head = await reader.readuntil(b'\r\n\r\n')
            target = head.split(b' ')[1].decode()
            self.targets.append(target)
            host, port = target.rsplit(':', 1)
            upstream_reader, upstream_writer = await asyncio.open_connection(host, int(port))
            writer.write(b'HTTP/1.1 200 Connection established\r\n\r\n')

            async def pipe(src, dst):
                while data := await src.read(65536):
                    dst.write(data)
                dst.close()
            await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            if upstream_writer is not None:
                upstream_writer.close()
            self._pipes.discard(task)
