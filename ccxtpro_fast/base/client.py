"""The connection: ccxt.pro's ``Client`` contract over picows.

ccxt.pro's exchange code talks to its connection through a small surface: futures by
message hash (``future``, ``resolve``, ``reject``, ``rejections``), ``subscriptions``,
the ``connected`` future, ``send``, ``reset``, ``lastPong``/``keepAlive`` and the
``on_*`` callbacks into the exchange. We subclass ccxt's ``Client`` to keep all of that
as it is, and replace what is aiohttp: the dial, the receive loop, send, ping/pong,
close.

Receiving is push-based: picows calls ``on_ws_frame`` for every frame of one
``data_received`` synchronously, so all frames already in the socket buffer are parsed
and handed to the exchange before any waiter wakes (a future's callbacks only run on the
next loop iteration). Nothing on the receive path schedules a task or yields.

What this client does differently from ccxt.pro, on purpose:

* an exception raised by the exchange's message handler no longer ends the receive
  loop: the client logs it (redacted) and hands it to ``on_handler_error_callback``
  (the exchange's ``on_message_error``), which rejects only the affected waiters;
* undecodable input (bad JSON, corrupt gzip, invalid UTF-8) is logged and skipped;
* every task it starts is tracked and awaited by ``close()``, so closing leaves no
  pending task and no unretrieved exception;
* secrets never reach a log line, a ``repr`` or an exception it raises.
"""
import asyncio
import logging
import ssl
import time
import traceback

import orjson
from ccxt.async_support.base.throttler import Throttler as _CcxtThrottler
from ccxt.async_support.base.ws.client import Client as _CcxtClient
from ccxt.base.errors import BaseError, NetworkError, NotSupported, RequestTimeout
from ccxt.base.exchange import Exchange as _SyncExchange
from picows import WSCloseCode, WSListener, WSMsgType, ws_connect

from ccxtpro_fast._core.dispatch import decode_text as _compiled_decode_text
from ccxtpro_fast._core.dispatch import dispatch as _dispatch
from ccxtpro_fast._core.dispatch import resolve as _resolve
from ccxtpro_fast._core.framing import DEFLATE, GZIP, DecompressionError, decompress
from ccxtpro_fast.base.redact import Redactor

__all__ = ['Client', 'Throttler', 'logger']

logger = logging.getLogger('ccxtpro_fast.client')
_PICOWS_LOGGER = logging.getLogger('ccxtpro_fast.picows')

_TEXT = WSMsgType.TEXT
_BINARY = WSMsgType.BINARY
_CONTINUATION = WSMsgType.CONTINUATION
_PING = WSMsgType.PING
_PONG = WSMsgType.PONG
_CLOSE = WSMsgType.CLOSE

# proxy schemes picows can tunnel through (python-socks does the SOCKS part)
_PROXY_SCHEMES = ('http', 'https', 'socks4', 'socks4a', 'socks5', 'socks5h')
_PROXY_ALIASES = {'socks5h': 'socks5', 'socks4a': 'socks4'}


def _ms():
    return int(time.time() * 1000)


# bytes of a text message -> what ccxt hands to handle_message: the JSON value when it
# looks like a JSON object/array (ccxt's is_json_encoded_object), else the str; compiled
# (ccxtpro_fast/_core/dispatch.pyx), as it runs once per message
_decode_text = _compiled_decode_text


try:
    # the hot path of _Listener compiled against the pinned picows (see wslistener.pyx)
    from ccxtpro_fast._core.wslistener import TextFrameListener
except (ImportError, ValueError):   # another picows than the one it was built with
    TextFrameListener = None


def _new_listener(client):
    listener = _Listener(client)
    if TextFrameListener is None:
        return listener
    return TextFrameListener(listener, _decode_text, _ms)


class Throttler(_CcxtThrottler):
    """ccxt's leaky bucket, with a handle on its looper task so a closing client can
    stop it instead of leaving it to drain a queue of cancelled sends."""

    task = None

    def __call__(self, cost=None):
        loop = self.loop or asyncio.get_running_loop()
        future = loop.create_future()
        self.queue.append((future, cost))
        if not self.running:
            self.running = True
            self.task = loop.create_task(self.looper())
        return future

    async def aclose(self):
        task = self.task
        self.task = None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        for future, _ in self.queue:
            future.cancel()
        self.queue.clear()
        self.running = False


class _Listener(WSListener):
    """picows callbacks -> the client. One per connection."""

    def __init__(self, client):
        self.client = client

    def on_ws_connected(self, transport):
        # frames can follow the handshake response in the same read, before ws_connect
        # returns to Client.open, so the client learns its transport here
        self.client.transport = self.client.connection = transport
        self.client._stamp_due = True

    def on_ws_frame(self, transport, frame):
        client = self.client
        msg_type = frame.msg_type
        if msg_type is _TEXT and frame.fin and client._fragments is None:
            # the hot path: one whole text frame
            if client._stamp_due:
                # the first message of this read: one time stamp serves the whole burst
                client.last_message_at = _ms()
                client._stamp_due = False
            if frame.last_in_buffer:
                client._stamp_due = True
            data = frame.get_payload_as_bytes()
            if client.verbose:
                client._vlog('message', data)
            callback = client.raw_message_callback
            if callback is not None:
                # dispatch_text, inlined: one call less per frame
                try:
                    if callback(client, data):
                        return
                except Exception as error:
                    client.raw_handler_failed(data, error)
                    return
            try:
                message = _decode_text(data)
            except (ValueError, UnicodeDecodeError) as error:
                client._bad_input(data, error)
                return
            client.dispatch(message)
            return
        try:
            if msg_type == _BINARY or msg_type == _TEXT or msg_type == _CONTINUATION:
                client._on_data_frame(frame, msg_type)
            elif msg_type == _PING:
                payload = frame.get_payload_as_bytes()
                if client.verbose:
                    client._vlog('ping', payload)
                transport.send_pong(payload)
            elif msg_type == _PONG:
                client.lastPong = _ms()
                if client.verbose:
                    client._vlog('pong')
            elif msg_type == _CLOSE:
                code = int(frame.get_close_code())
                if client.verbose:
                    client._vlog('close', code, frame.get_close_reason())
                if not transport.is_close_frame_sent:
                    transport.send_close(WSCloseCode.OK)
                transport.disconnect()
                client.on_close(code)
        finally:
            if frame.last_in_buffer:
                client._stamp_due = True

    def on_ws_disconnected(self, transport):
        self.client._on_disconnected(transport)


class Client(_CcxtClient):
    """ccxt.pro's ``Client`` on a picows transport. See the module docstring."""

    transport = None       # picows WSTransport while connected (also exposed as .connection)
    ssl_context = None     # from the exchange (certifi / verify); None: the default context
    redact = None          # Redactor of the owning exchange
    on_handler_error_callback = None   # (client, message, error) -> None
    raw_message_callback = None   # (client, bytes) -> bool: handled before JSON decoding
    method_cache = None    # the exchange's MethodCache, checked before each dispatch
    _stamp_due = True
    closeTimeout = 1000    # ms to wait for the server's CLOSE reply before dropping the socket
    maxMessageSize = 10485760   # bytes per (reassembled) message, as ccxt's aiohttp max_msg_size
    maxDecompressedSize = 64 * 1024 * 1024

    def __init__(self, url, on_message_callback, on_error_callback, on_close_callback,
                 on_connected_callback, config={}):
        super().__init__(url, on_message_callback, on_error_callback, on_close_callback,
                         on_connected_callback, config)
        if self.redact is None:
            self.redact = Redactor()
        self._tasks = set()
        self._closing = False         # close() was called: no more callbacks into the exchange
        self._close_reported = False  # on_close ran (once per connection)
        self._fragments = None        # bytearray of a fragmented message being reassembled
        # last_message_at is stamped by the first message of each read (a burst of frames
        # in one read shares it); the listener sets this again after a read's last frame
        self._stamp_due = True
        self._fragment_type = None
        # subscribe hash -> the message that subscribed it, for resubscription on a new
        # connection (see ExchangeMixin); None when the URL alone subscribes
        self.subscribe_messages = {}
        # the messages a new connection replays once connected, in order (ExchangeMixin)
        self.resubscribe_queue = []
        self.disconnect_error = None  # protocol error picows disconnected with, if any
        self._disconnect_watcher = None

    def __repr__(self):
        state = 'closed' if self.closed() else 'open'
        return '<%s %s %s>' % (type(self).__name__, self.redact(self.url), state)

    # ------------------------------------------------------------------ helpers

    def _vlog(self, *args):
        # ccxt's verbose output (print by default), with every argument redacted
        redact = self.redact
        self.log(_SyncExchange.iso8601(_ms()), *[
            a if isinstance(a, (int, float)) or a is None else redact(a) for a in args])

    def _spawn(self, coroutine):
        loop = self.asyncio_loop or asyncio.get_running_loop()
        task = loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task):
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()  # retrieved here: never "Task exception was never retrieved"
        if error is not None:
            logger.error('%s: background task failed: %s', self.redact(self.url), self.redact(error))

    def _bad_input(self, data, error):
        logger.warning('%s: skipped a message that cannot be decoded (%s, %d bytes): %s',
                       self.redact(self.url), type(error).__name__, len(data), self.redact(error))

    # ------------------------------------------------------------------ receive

    # Hand one decoded message to the exchange; a handler exception is contained.
    # Compiled (ccxtpro_fast/_core/dispatch.pyx): it first brings the exchange's cached
    # bound methods up to date with its class.
    dispatch = _dispatch
    # ccxt's resolve, compiled: a depth message resolves its book's future
    resolve = _resolve

    def dispatch_text(self, data):
        """One text message's bytes: offered first to the exchange's raw handler (native
        adapters scan their hot messages without building Python objects), else decoded
        and dispatched. Handler exceptions are contained. The listener's hot path inlines
        this for whole text frames."""
        callback = self.raw_message_callback
        if callback is not None:
            try:
                if callback(self, data):
                    return
            except Exception as error:
                self.raw_handler_failed(data, error)
                return
        try:
            message = _decode_text(data)
        except (ValueError, UnicodeDecodeError) as error:
            self._bad_input(data, error)
            return
        self.dispatch(message)

    def raw_handler_failed(self, data, error):
        try:
            message = _decode_text(data)   # so the error routing can read its fields
        except (ValueError, UnicodeDecodeError):
            message = data
        self.handler_failed(message, error)

    def handler_failed(self, message, error):
        callback = self.on_handler_error_callback
        if callback is not None:
            try:
                callback(self, message, error)
                return
            except Exception as secondary:
                error = secondary
        text = ''.join(traceback.format_exception(type(error), error, error.__traceback__))
        logger.error('%s: message handler raised, the connection keeps reading\n%s',
                     self.redact(self.url), self.redact(text))

    def handle_text_or_binary_message(self, data):
        """ccxt's entry point for one message's payload (str or bytes), kept for code that
        feeds a client by hand."""
        if isinstance(data, str):
            data = data.encode('utf-8')
        elif not self.decompressBinary:
            self.dispatch(bytes(data))
            return
        self.dispatch_text(bytes(data))

    def handle_message(self, message):
        raise NotSupported('ccxtpro_fast clients receive frames through their picows listener, '
                           'not aiohttp messages; use handle_text_or_binary_message(data)')

    def _on_data_frame(self, frame, msg_type):
        if frame.rsv1:
            # permessage-deflate is never offered, so a compressed frame is a protocol error
            self._bad_input(b'', ValueError('unexpected RSV1 (compressed) frame'))
            return
        if msg_type == _CONTINUATION:
            if self._fragments is None:
                self._bad_input(b'', ValueError('continuation frame without a first fragment'))
                return
            self._fragments += frame.get_payload_as_memoryview()
            if len(self._fragments) > self.maxMessageSize:
                self._fragments = None
                self._bad_input(b'', ValueError('fragmented message exceeds maxMessageSize'))
                return
            if not frame.fin:
                return
            data = bytes(self._fragments)
            msg_type = self._fragment_type
            self._fragments = None
        elif not frame.fin:
            self._fragments = bytearray(frame.get_payload_as_memoryview())
            self._fragment_type = msg_type
            return
        elif msg_type == _BINARY and (self.gunzip or self.inflate):
            data = frame.get_payload_as_memoryview()  # decompressed without a copy
        else:
            data = frame.get_payload_as_bytes()
        if self._stamp_due:
            self.last_message_at = _ms()
            self._stamp_due = False
        # binary, as ccxt: gunzip always yields text; inflate and raw bytes are text only
        # when decompressBinary (mexc/paradex hand protobuf/raw bytes to their handlers)
        if msg_type == _BINARY and (self.gunzip or self.inflate):
            try:
                data = decompress(data, GZIP if self.gunzip else DEFLATE, self.maxDecompressedSize)
            except DecompressionError as error:
                self._bad_input(data, error)
                return
        if self.verbose:
            self._vlog('message', data)
        if msg_type == _BINARY and not self.gunzip and not self.decompressBinary:
            self.dispatch(bytes(data))
            return
        self.dispatch_text(bytes(data))

    # ------------------------------------------------------------------ connect

    def connect(self, session=None, backoff_delay=0):
        if not self.connection and not self.connecting and not self._closing:
            self.connecting = True
            self._spawn(self.open(session, backoff_delay))
        return self.connected

    def _proxy_url(self):
        proxy = self.proxy
        if not proxy:
            return None
        scheme, sep, rest = proxy.partition('://')
        scheme = scheme.lower() if sep else ''
        if scheme not in _PROXY_SCHEMES:
            raise NotSupported('ccxtpro_fast supports http, https, socks4 and socks5 proxies for '
                               'WebSockets, not ' + repr(scheme or self.redact(proxy)))
        # python-socks resolves names on the proxy by default: the 'h'/'a' variants
        # ccxt accepts are the plain schemes there
        return _PROXY_ALIASES.get(scheme, scheme) + '://' + rest

    def _headers(self):
        options = self.options if isinstance(self.options, dict) else {}
        headers = dict(options.get('headers') or {})
        cookies = options.get('cookies')
        if cookies:
            cookie = '; '.join('%s=%s' % (k, v) for k, v in cookies.items())
            headers['Cookie'] = (headers['Cookie'] + '; ' + cookie) if 'Cookie' in headers else cookie
        return {str(k): str(v) for k, v in headers.items()}

    def _ssl(self):
        context = self.ssl_context
        if context is False:
            # verify=False in ccxt: no certificate checks
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context or None

    async def open(self, session=None, backoff_delay=0):
        if backoff_delay:
            await asyncio.sleep(backoff_delay)
        if self._closing:
            return
        if self.verbose:
            self._vlog('connecting to', self.url, 'with timeout', self.connectionTimeout, 'ms')
        self.connectionStarted = _ms()
        timeout = self.connectionTimeout / 1000 if self.connectionTimeout else None
        try:
            proxy = self._proxy_url()
            transport, _ = await asyncio.wait_for(ws_connect(
                lambda: _new_listener(self), self.url,
                ssl_context=self._ssl(),
                # picows tears a stalled handshake down itself, nothing leaks past our timeout
                websocket_handshake_timeout=timeout,
                enable_auto_pong=False,  # answered in on_ws_frame, so verbose logs it
                max_frame_size=self.maxMessageSize,
                extra_headers=self._headers() or None,
                proxy=proxy,
                logger_name=_PICOWS_LOGGER,
            ), timeout=timeout)
        except asyncio.TimeoutError:
            self.dial_failed = True
            self.connecting = False
            error = RequestTimeout('Connection timeout')
            if self.verbose:
                self._vlog('RequestTimeout', error)
            self.on_error(error)
            return
        except asyncio.CancelledError:
            self.connecting = False
            raise
        except Exception as e:
            self.dial_failed = True
            self.connecting = False
            response = getattr(e, 'response', None)
            headers = getattr(response, 'headers', None) or getattr(e, 'headers', None)
            if headers is not None and headers.get('Retry-After') is not None:
                try:
                    self.last_retry_after = float(headers.get('Retry-After'))
                except ValueError:
                    pass
            error = e if isinstance(e, BaseError) else NetworkError(self.redact(e))
            if self.verbose:
                self._vlog('NetworkError', error)
            self.on_error(error)
            return
        self.transport = self.connection = transport
        self.connecting = False
        self._disconnect_watcher = self._spawn(self._watch_disconnect(transport))
        if self._closing or self._close_reported or transport.is_disconnected:
            # closed by the user while dialing, or the server hung up right after the
            # handshake (on_close already rejected the waiters)
            transport.disconnect()
            return
        self.connectionEstablished = _ms()
        self.isConnected = True
        if self.verbose:
            self._vlog('connected')
        self.connected.resolve(self.url)
        self.on_connected_callback(self)
        if self.keepAlive:
            self.ping_looper = self._spawn(self.ping_loop())

    async def _watch_disconnect(self, transport):
        # awaiting it is what retrieves a protocol error picows stores on the transport
        try:
            await transport.wait_disconnected()
        except Exception as error:
            self.disconnect_error = error

    # ------------------------------------------------------------------ state

    def closed(self):
        transport = self.transport
        return transport is None or transport.is_disconnected or transport.is_close_frame_sent

    def receive_loop(self):
        """Nothing to do: frames are pushed by the picows listener."""

    @property
    def buffer(self):
        return None

    def onPong(self):
        # ccxt.pro's xt calls client.onPong(), which ccxt's Client lacks (an
        # AttributeError that stopped xt's receive loop)
        self.lastPong = _ms()

    # ------------------------------------------------------------------ send

    async def send(self, message):
        return self.send_now(message)

    def send_now(self, message):
        """Send one message now, synchronously: a str as is, anything else as JSON text."""
        if self.verbose:
            self._vlog('sending', message)
        if isinstance(message, str):
            data = message.encode('utf-8')
        elif isinstance(message, (bytes, bytearray)):
            data = bytes(message)
        else:
            data = orjson.dumps(message)
        if self.closed():
            raise ConnectionError('Cannot Send Message: Connection closed before send')
        self.transport.send(_TEXT, data)

    async def ping_loop(self):
        if self.verbose:
            self._vlog('ping loop')
        while self.keepAlive and not self.closed():
            # first ping one interval after connect, as ccxt (some servers drop a ping
            # that arrives before the subscribe)
            await asyncio.sleep(self.keepAlive / 1000)
            if self.closed():
                return
            now = _ms()
            if self.lastPong is None:
                self.lastPong = now
            if self.lastPong + self.keepAlive * self.maxPingPongMisses < now:
                self.on_error(RequestTimeout('Connection to ' + self.redact(self.url) +
                                             ' timed out due to a ping-pong keepalive missing on time'))
                return
            try:
                if self.ping:
                    message = self.ping(self)
                    if message is not None:
                        self.send_now(message)
                else:
                    self.transport.send_ping()
            except Exception as error:
                if not self.closed():
                    self.on_error(error if isinstance(error, BaseError) else NetworkError(self.redact(error)))
                return

    # ------------------------------------------------------------------ errors, close

    def on_error(self, error):
        if self.verbose:
            self._vlog('on_error', error)
        self.error = error
        self.reject(error)
        if not self.connected.done():
            self.connected.reject(error)
        if not self._closing:
            self.on_error_callback(self, error)
        self._teardown(WSCloseCode.GOING_AWAY)

    def on_close(self, code):
        if self._close_reported:
            return
        self._close_reported = True
        if self.verbose:
            self._vlog('on_close', code)
        if not self.error and not self._closing:
            self.reject(NetworkError('Connection closed by remote server, closing code ' + str(code)))
        if not self._closing:
            self.on_close_callback(self, code)
        self._teardown(WSCloseCode.OK)

    def _on_disconnected(self, transport):
        if transport is not self.transport:
            return
        if self.ping_looper is not None:
            self.ping_looper.cancel()
        if self._close_reported or self._closing:
            return
        if self.error is not None:
            # on_error already told the exchange; the socket going away is its result
            self._close_reported = True
            return
        handshake = transport.close_handshake
        received = handshake.recv if handshake is not None else None
        self.on_close(int(received.code) if received is not None else 1006)

    def _teardown(self, code):
        # synchronous: nothing is left to a task that could outlive the client
        if self.ping_looper is not None:
            self.ping_looper.cancel()
        transport = self.transport
        if transport is not None and not transport.is_disconnected:
            if not transport.is_close_frame_sent:
                transport.send_close(code)
            transport.disconnect()

    async def close(self, code=1000):
        if self.verbose:
            self._vlog('closing', code)
        self._closing = True
        for future in list(self.futures.values()):
            future.cancel()
        if not self.connected.done():
            self.connected.cancel()
        current = asyncio.current_task()
        watcher = self._disconnect_watcher
        others = [task for task in self._tasks if task is not current and task is not watcher]
        for task in others:
            task.cancel()
        if isinstance(self.throttle, Throttler):
            await self.throttle.aclose()
        transport = self.transport
        if transport is not None and not transport.is_disconnected:
            if not transport.is_close_frame_sent:
                transport.send_close(WSCloseCode(code) if code in _CLOSE_CODES else WSCloseCode.OK)
            if watcher is not None and watcher is not current:
                # the server answers CLOSE with CLOSE and our listener disconnects
                done, _ = await asyncio.wait({watcher}, timeout=self.closeTimeout / 1000)
                if not done:
                    transport.disconnect(False)
            else:
                transport.disconnect(False)
        await asyncio.gather(*others, return_exceptions=True)
        if watcher is not None and watcher is not current and not watcher.done():
            # an aborted transport reports connection_lost on the next loop iteration
            done, _ = await asyncio.wait({watcher}, timeout=self.closeTimeout / 1000)
            if not done:
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)

    async def aiohttp_close(self):
        await self.close()


_CLOSE_CODES = frozenset(int(code.value) for code in WSCloseCode) - {0, 1006}
