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

    def __init__(self, on_message=None):
        self.on_message = on_message
        self.connections = asyncio.Queue()
        self.peers = []
        self._server = None
        self.url = None

    async def __aenter__(self):
        def factory(request):
            peer = Peer(self, request)
            self.peers.append(peer)
            return peer
        self._server = await ws_create_server(factory, '127.0.0.1', 0, enable_auto_pong=False)
        port = self._server.sockets[0].getsockname()[1]
        self.url = 'ws://127.0.0.1:%d' % port
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

def run(test, timeout=20.0, strict=True):
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
