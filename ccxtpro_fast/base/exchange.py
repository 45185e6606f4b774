"""The mixin every exchange gets, and ``Exchange``, ccxt.pro's base with it.

An exchange class here is ccxt.pro's class for that exchange with ``Exchange`` in front
of it in the MRO::

    class binance(Exchange, ccxt.pro.binance): ...

so ccxt.pro's protocol code runs unchanged, on:

* our picows ``Client`` (``client(url)``), with ``watch``/``watch_multiple`` that also
  remember what subscribed each hash, so a new connection can resubscribe it;
* the compiled books (``order_book``, ``counted_order_book``, ``indexed_order_book``) and
  the compiled ``inflate``/``gunzip``;
* compiled stand-ins for ccxt's generic helpers, put in each class made from the mixin
  where they stand for what that class would run: the ``safe_*`` accessors, and
  ``handle_deltas`` as one bulk store where the exchange's ``handle_delta`` is ccxt's
  standard one (``fastpaths``);
* containment of handler exceptions (``on_message_error``, ``message_hashes_for_error``);
* capped exponential reconnect backoff with jitter, and optional automatic reconnection
  (``options['ws']['autoReconnect']``).

Nothing here touches ``describe()``, so ``has``, ``options``, URLs and parsers are
ccxt.pro's.
"""
import asyncio
import logging
import random
import re
import traceback

import ccxt.pro
from ccxt.async_support.base.ws.future import Future
from ccxt.base.errors import BaseError, ExchangeError, NetworkError

from ccxtpro_fast._core import CountedOrderBook, IndexedOrderBook, OrderBook
from ccxtpro_fast._core.dispatch import MethodCache
from ccxtpro_fast._core.framing import DEFLATE, GZIP, decompress
from ccxtpro_fast.base import fastpaths
from ccxtpro_fast.base.client import Client, Throttler
from ccxtpro_fast.base.redact import Redactor
from ccxtpro_fast.base.timefmt import Iso8601

__all__ = ['Exchange', 'ExchangeMixin']

logger = logging.getLogger('ccxtpro_fast.exchange')

# Fields that route a message to a stream in the exchanges' protocols, looked up at the
# top level and inside the usual envelopes (binance's {"stream", "data"}, okx's "arg",
# json-rpc "params"/"result").
_ROUTING_KEYS = (
    'stream', 'channel', 'topic', 'arg', 'ch', 'table', 'subject', 'subscription', 'feed',
    'symbol', 's', 'instId', 'inst_id', 'market', 'product_id', 'productId', 'pair',
    'instrument_name', 'instrument', 'instrumentId', 'coin', 'contract', 'contract_code',
)
_REQUEST_ID_KEYS = ('id', 'req_id', 'reqId', 'requestId', 'request_id', 'cid')
_ENVELOPE_KEYS = ('data', 'arg', 'params', 'result', 'payload', 'args', 'tick')
_TOKEN_SPLIT = re.compile(r'[@.:/|,#\s]+')
_HASH_SPLIT = re.compile(r'::|[:@|,#]')
_HASH_BOUNDARY = ':@|,#'


def scrub_exception(error, redact):
    """Mask secrets in an exception's string arguments, in place."""
    args = getattr(error, 'args', ())
    if any(isinstance(a, str) for a in args):
        cleaned = tuple(redact(a) if isinstance(a, str) else a for a in args)
        if cleaned != args:
            error.args = cleaned
    return error


class raw_hook:
    """A native adapter's ``handle_raw_message`` made of a compiled hook
    (``ccxtpro_fast._core.diffs.RawHook``)::

        handle_raw_message = raw_hook(lambda self: OkxUpdateHook(self, ...))

    ``exchange.handle_raw_message`` is that exchange's hook, made on first use: the
    compiled listener calls it in C, without the Python frame a method costs per frame,
    and Python code calls it as it would the method. A subclass that defines its own
    ``handle_raw_message`` overrides it as it would any method. ``make`` runs on the first
    read of the attribute, which ccxt's ``__init__`` makes (it reads every attribute to
    alias it in camelCase): what the hook holds must exist before ``super().__init__``."""

    def __init__(self, make):
        self.make = make
        self.__doc__ = make.__doc__

    def __set_name__(self, owner, name):
        self.key = '_raw_hook_' + name

    def __get__(self, exchange, owner=None):
        if exchange is None:
            return self
        hook = exchange.__dict__.get(self.key)
        if hook is None:
            hook = exchange.__dict__[self.key] = self.make(exchange)
        return hook


class ExchangeMixin:
    """ccxtpro_fast's layer over a ccxt.pro exchange class (see the module docstring)."""

    ws_client_class = Client

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # ccxt's safe_* accessors and the standard handle_deltas, compiled, where they
        # stand for what this class would run (ccxtpro_fast/base/fastpaths.py)
        fastpaths.install(cls)

    def __init__(self, config={}):
        self.ws_dial_backoff = {}     # url -> {'attempts', 'until'} (ccxt's name and shape)
        self.ws_pending = {}          # url -> [(subscribe_hash, subscription, message)] to replay
        self._ws_reconnects = {}      # url -> autoReconnect task
        self._ws_retired = []         # dropped clients whose tasks close() still awaits
        self._spawned = set()         # tasks of spawn(), cancelled by close()
        self._delayed = set()         # timers of delay(), cancelled by close()
        self._ws_redact = Redactor(self)
        # the bound methods ccxt.pro's handlers load as values (routing tables built per
        # message), kept in the instance and checked against the class before each
        # message and watch (ccxtpro_fast/_core/dispatch.pyx)
        self._ws_methods = MethodCache(self, fastpaths.method_values)
        super().__init__(config)
        # an instance attribute: self.iso8601(...) in every handler gets the cached one,
        # while the class keeps ccxt's staticmethod
        self.iso8601 = Iso8601(type(self).iso8601)

    # ------------------------------------------------------------------ books, codecs

    def order_book(self, snapshot={}, depth=None):
        return OrderBook(snapshot, depth)

    def indexed_order_book(self, snapshot={}, depth=None):
        return IndexedOrderBook(snapshot, depth)

    def counted_order_book(self, snapshot={}, depth=None):
        return CountedOrderBook(snapshot, depth)

    @staticmethod
    def inflate(data):
        return decompress(data, DEFLATE)

    @staticmethod
    def gunzip(data):
        # ccxt's gunzip returns text
        return decompress(data, GZIP).decode('utf-8')

    def redact(self, value):
        """A log-safe string for any value, with this exchange's credentials masked."""
        return self._ws_redact(value)

    # ------------------------------------------------------------------ clients

    def client(self, url):
        self.open()  # sets self.asyncio_loop and the ssl context, as in ccxt
        self.clients = self.clients or {}
        client = self.clients.get(url)
        if client is None:
            ws_options = self.safe_value(self.options, 'ws', {})
            options = self.extend(self.streaming, {
                'log': getattr(self, 'log'),
                'ping': getattr(self, 'ping', None),
                'verbose': self.verbose,
                'throttle': Throttler(self.tokenBucket, self.asyncio_loop),
                'asyncio_loop': self.asyncio_loop,
                'decompressBinary': self.safe_bool(self.options, 'decompressBinary', True),
                'ssl_context': self.ssl_context,
                'redact': self._ws_redact,
                'on_handler_error_callback': self.on_message_error,
                'raw_message_callback': getattr(self, 'handle_raw_message', None),
            }, ws_options)
            client = self.ws_client_class(url, self.handle_message, self.on_error, self.on_close,
                                          self.on_connected, options)
            http_proxy, https_proxy, socks_proxy = self.check_ws_proxy_settings()
            client.proxy = http_proxy or https_proxy or socks_proxy
            client.private = self._ws_redact.carries_credentials(url)
            client.method_cache = self._ws_methods
            self.clients[url] = client
            # the first binding (reading the handlers' bytecode, once per class) happens
            # here rather than at the first message
            self._ws_methods.check()
            self._ws_adopt(client)
        return client

    def _ws_connect(self, client, backoff_delay):
        if client.connected.done():
            return client.connected
        return client.connect(None, backoff_delay)

    def watch_multiple(self, url, message_hashes, message=None, subscribe_hashes=None, subscription=None):
        self.open()
        self._ws_methods.check()
        backoff_delay = self.ws_dial_delay(url)
        client = self.client(url)
        future = Future.race([client.future(message_hash) for message_hash in message_hashes])
        missing = []
        if subscribe_hashes is not None:
            for subscribe_hash in subscribe_hashes:
                if subscribe_hash not in client.subscriptions:
                    missing.append(subscribe_hash)
                    client.subscriptions[subscribe_hash] = subscription or True
        if missing:
            self._ws_remember(client, missing, message)
        connected = self._ws_connect(client, backoff_delay)
        if missing and message:
            self._ws_send_when_connected(client, connected, message)
        return future

    def watch(self, url, message_hash, message=None, subscribe_hash=None, subscription=None):
        self.open()
        self._ws_methods.check()
        backoff_delay = self.ws_dial_delay(url)
        client = self.client(url)
        if subscribe_hash is None and message_hash in client.futures:
            return client.futures[message_hash]
        future = client.future(message_hash)
        subscribed = client.subscriptions.get(subscribe_hash)
        if not subscribed:
            client.subscriptions[subscribe_hash] = subscription or True
            self._ws_remember(client, (subscribe_hash,), message)
        connected = self._ws_connect(client, backoff_delay)
        if not subscribed and message:
            self._ws_send_when_connected(client, connected, message)
        return future

    def _ws_remember(self, client, subscribe_hashes, message):
        messages = client.subscribe_messages
        for subscribe_hash in subscribe_hashes:
            messages[subscribe_hash] = message
        if len(messages) > 2 * len(client.subscriptions) + 64:
            # un_watch_* removes subscriptions behind our back: forget their messages too
            for subscribe_hash in [h for h in messages if h not in client.subscriptions]:
                del messages[subscribe_hash]
        if message is not None and not client.private and self._ws_redact.carries_credentials(message):
            client.private = True

    def _ws_send_when_connected(self, client, connected, messages):
        def after(fut):
            if fut.cancelled() or fut.exception() is not None:
                return  # the dial failed: on_error already rejected the waiters
            client._spawn(self._ws_send(client, messages))
        connected.add_done_callback(after)

    async def _ws_send(self, client, message, *more):
        cost = self.safe_value(self.safe_value(self.options, 'ws'), 'cost', 1)
        for item in (message,) + more:
            if self.enableRateLimit:
                await client.throttle(cost)
            try:
                client.send_now(item)
            except Exception as error:
                client.on_error(error if isinstance(error, BaseError) else NetworkError(client.redact(error)))
                return

    # ------------------------------------------------------------------ connection events

    # The three connection events are cooperative: they run first in the MRO, do our
    # bookkeeping, then call super(), so exchange overrides (hollaex and p2b reset their
    # state in on_error/on_close) still run; ccxt's base versions at the end of the chain
    # find their work done (the dial flag consumed, the client already removed) and our
    # backoff state is kept across them.

    def on_connected(self, client, message=None):
        # the backoff state is kept until the connection proves stable (see
        # _ws_connection_ended), so a server that accepts and drops at once is not hammered
        state = self.ws_dial_backoff.get(client.url)
        super().on_connected(client, message)
        if state is not None:
            self.ws_dial_backoff[client.url] = state
        queue = client.resubscribe_queue
        if queue:
            client.resubscribe_queue = []
            if client.verbose:
                client._vlog('resubscribing', len(queue), 'message(s)')
            client._spawn(self._ws_send(client, *queue))

    def on_error(self, client, error):
        if getattr(client, 'dial_failed', False):
            client.dial_failed = False
            self._ws_backoff_failure(client.url, getattr(client, 'last_retry_after', None))
        else:
            self._ws_connection_ended(client)
        self._ws_remove(client)
        super().on_error(client, error)
        self._ws_forget(client)

    def on_close(self, client, error):
        if not client.error:
            # the server (or the network) ended a working connection
            self._ws_connection_ended(client)
            self._ws_remove(client)
        super().on_close(client, error)
        if not client.error:
            self._ws_forget(client)

    def _ws_remove(self, client):
        # only this client: a late event of an old connection must not drop its successor
        if self.clients and self.clients.get(client.url) is client:
            del self.clients[client.url]

    def _ws_forget(self, client):
        url = client.url
        if client._tasks:
            self._ws_retired = [c for c in self._ws_retired if c._tasks]
            self._ws_retired.append(client)
        if self.closed_by_user:
            return
        pending = self.ws_replayable_subscriptions(client)
        if pending:
            self.ws_pending[url] = pending
            if self.safe_bool(self.safe_value(self.options, 'ws', {}), 'autoReconnect', False):
                self._ws_schedule_reconnect(url)

    def ws_replayable_subscriptions(self, client):
        """[(subscribe_hash, subscription, message)] that a new connection to the same URL
        takes over and replays once connected: every subscription still held that was made
        through watch()/watch_multiple(), unless the connection authenticated (a private
        connection is re-made by the next watch_* call, with fresh credentials, exactly as
        ccxt.pro does). Adapters override this to replay more (or less)."""
        if getattr(client, 'private', False):
            return []
        messages = client.subscribe_messages
        return [(subscribe_hash, subscription, messages[subscribe_hash])
                for subscribe_hash, subscription in client.subscriptions.items()
                if subscribe_hash in messages]

    def _ws_adopt(self, client):
        pending = self.ws_pending.pop(client.url, None)
        if not pending:
            return
        seen = set()
        for subscribe_hash, subscription, message in pending:
            if subscribe_hash in client.subscriptions:
                continue
            client.subscriptions[subscribe_hash] = subscription
            client.subscribe_messages[subscribe_hash] = message
            # watch_multiple subscribes many hashes with one message: replay it once
            if message is not None and id(message) not in seen:
                seen.add(id(message))
                client.resubscribe_queue.append(message)

    # ------------------------------------------------------------------ backoff, reconnect

    def _ws_backoff_settings(self):
        ws = self.safe_value(self.options, 'ws', {})
        return (
            self.safe_number(ws, 'reconnectDelay', 100),        # ms, first retry
            self.safe_number(ws, 'reconnectMaxDelay', 30000),   # ms, cap
            self.safe_number(ws, 'reconnectStableAfter', 10000),  # ms up before a drop resets
            self.safe_number(ws, 'reconnectJitter', 0.5),       # fraction of the delay randomised
        )

    def _ws_backoff_failure(self, url, retry_after=None):
        initial, cap, _, jitter = self._ws_backoff_settings()
        state = self.ws_dial_backoff.get(url) or {'attempts': 0}
        attempts = state['attempts'] + 1
        delay = min(cap, initial * (2 ** min(attempts - 1, 30)))
        # "equal jitter": in [delay * (1 - jitter), delay], so clients that lost the same
        # server at the same moment do not come back in lockstep
        delay *= 1 - jitter * random.random()
        if retry_after is not None:
            delay = max(delay, retry_after * 1000)
        self.ws_dial_backoff[url] = {'attempts': attempts, 'until': self.milliseconds() + int(delay)}

    def _ws_connection_ended(self, client):
        established = getattr(client, 'connectionEstablished', None)
        _, _, stable_after, _ = self._ws_backoff_settings()
        if established is not None and self.milliseconds() - established >= stable_after:
            # a connection that lived is not a failure: reconnect at once
            self.ws_dial_backoff.pop(client.url, None)
        else:
            self._ws_backoff_failure(client.url)

    def ws_dial_delay(self, url):
        state = self.ws_dial_backoff.get(url)
        if not state:
            return 0
        remaining = state['until'] - self.milliseconds()
        return remaining / 1000.0 if remaining > 0 else 0

    def _ws_schedule_reconnect(self, url):
        if url in self._ws_reconnects or self.asyncio_loop is None:
            return
        task = self.asyncio_loop.create_task(self._ws_reconnect(url))
        self._ws_reconnects[url] = task

        def done(t):
            if self._ws_reconnects.get(url) is t:
                del self._ws_reconnects[url]
            if not t.cancelled() and t.exception() is not None:
                logger.error('%s: reconnecting %s failed: %s', self.id, self.redact(url),
                             self.redact(t.exception()))
        task.add_done_callback(done)

    async def _ws_reconnect(self, url):
        delay = self.ws_dial_delay(url)
        if delay:
            await asyncio.sleep(delay)
        if self.closed_by_user or url not in self.ws_pending or (self.clients and url in self.clients):
            return
        client = self.client(url)
        # the dial itself runs in the client's task; a failure comes back through
        # on_error -> _ws_forget, which schedules the next attempt
        self._ws_connect(client, 0)

    # ------------------------------------------------------------------ handler errors

    def on_message_error(self, client, message, error):
        """handle_message raised on ``message``: log it (redacted), reject the waiters it
        concerns (``message_hashes_for_error``) and let the connection read on."""
        try:
            hashes = [h for h in self.message_hashes_for_error(client, message) if h in client.futures]  # an override may return more
        except Exception as secondary:
            logger.error('%s: message_hashes_for_error raised %s', self.id, self.redact(secondary))
            hashes = []
        details = ''.join(traceback.format_exception(type(error), error, error.__traceback__))
        logger.error('%s %s: handle_message raised %s, rejected %d waiter(s) %s; the connection '
                     'keeps reading\nmessage: %s\n%s', self.id, self.redact(client.url),
                     type(error).__name__, len(hashes), hashes, _clip(self.redact(message)),
                     self.redact(details))
        if not hashes:
            return
        if isinstance(error, BaseError):
            rejection = scrub_exception(error, self.redact)
        else:
            rejection = ExchangeError(self.id + ' handle_message() failed with ' + type(error).__name__ +
                                      ': ' + self.redact(str(error)))
        for message_hash in hashes:
            client.reject(rejection, message_hash)

    def message_hashes_for_error(self, client, message):
        """The message hashes whose waiters a failure to handle ``message`` concerns.

        The generic rule, for exchanges without an adapter that knows better:

        1. routing fields (stream/channel/topic/arg/symbol/instId/..., top level and one
           envelope down) are split into tokens (``btcusdt@depth@100ms`` -> ``btcusdt``,
           ``depth``, ``100ms``); tokens that are market ids name unified symbols;
        2. when symbols are found, the affected hashes are those that contain one of the
           symbols or market ids as a component (``orderbook::BTC/USDT``, ``ticker:BTC/USDT``);
        3. otherwise, hashes equal to a routing value or one of its tokens;
        4. a request id (``id``, ``req_id``...) names the subscription with that id (its
           hash and the ``messageHash(es)`` it holds) and a future keyed by the id itself.

        It errs on the side of rejecting too few: an unmatched waiter keeps waiting for the
        next good message, while a wrongly rejected one only retries its watch call."""
        values = []
        request_ids = []
        self._ws_collect_routing(message, values, request_ids, 0)
        tokens = set()
        for value in values:
            tokens.add(value)
            tokens.update(t for t in _TOKEN_SPLIT.split(value) if t)
        symbols = set()
        market_ids = set()
        markets_by_id = self.markets_by_id or {}
        markets = self.markets or {}
        for token in tokens:
            if token in markets:
                symbols.add(token)
                continue
            for candidate in (token, token.upper(), token.lower()):
                found = markets_by_id.get(candidate)
                if found:
                    market_ids.add(token)
                    market_ids.add(candidate)
                    for market in (found if isinstance(found, list) else [found]):
                        symbol = market.get('symbol') if isinstance(market, dict) else None
                        if symbol:
                            symbols.add(symbol)
                    break
        affected = []
        for message_hash in client.futures:
            if not isinstance(message_hash, str):
                continue
            if message_hash in tokens:
                affected.append(message_hash)
            elif symbols or market_ids:
                if _mentions(message_hash, symbols) or market_ids.intersection(_HASH_SPLIT.split(message_hash)):
                    affected.append(message_hash)
        if request_ids:
            wanted = set(request_ids)
            for subscribe_hash, subscription in list(client.subscriptions.items()):
                if isinstance(subscription, dict) and str(subscription.get('id')) in wanted:
                    affected.append(subscribe_hash)
                    for key in ('messageHash', 'messageHashes'):
                        held = subscription.get(key)
                        if isinstance(held, str):
                            affected.append(held)
                        elif isinstance(held, list):
                            affected.extend(h for h in held if isinstance(h, str))
            affected.extend(request_ids)
        seen = set()
        futures = client.futures
        return [h for h in affected if h in futures and not (h in seen or seen.add(h))]

    def _ws_collect_routing(self, message, values, request_ids, depth):
        if isinstance(message, list):
            if message and depth < 2:
                self._ws_collect_routing(message[0], values, request_ids, depth + 1)
            return
        if not isinstance(message, dict):
            return
        for key in _ROUTING_KEYS:
            value = message.get(key)
            if isinstance(value, str) and value:
                values.append(value)
        if depth == 0:
            for key in _REQUEST_ID_KEYS:
                value = message.get(key)
                if isinstance(value, (str, int)) and not isinstance(value, bool) and value != '':
                    request_ids.append(str(value))
        if depth < 2:
            for key in _ENVELOPE_KEYS:
                inner = message.get(key)
                if isinstance(inner, (dict, list)):
                    self._ws_collect_routing(inner, values, request_ids, depth + 1)

    # ------------------------------------------------------------------ background work

    def spawn(self, method, *args):
        """ccxt's spawn (a task whose outcome settles a returned Future), tracked so
        close() can cancel it, and with the outcome retrieved even when nobody awaits the
        Future (a pong racing a closing socket must not end as "exception was never
        retrieved")."""
        future = Future()
        task = self.asyncio_loop.create_task(method(*args))
        self._spawned.add(task)

        def settle(done):
            self._spawned.discard(done)
            if done.cancelled():
                if not future.done():
                    future.cancel()
                return
            error = done.exception()
            if error is None:
                future.resolve(done.result())
            else:
                future.reject(error)

        def retrieved(done):
            if not done.cancelled() and done.exception() is not None:
                logger.debug('%s: background %s failed: %s', self.id, getattr(method, '__name__', method),
                             self.redact(done.exception()))

        task.add_done_callback(settle)
        future.add_done_callback(retrieved)
        return future

    def delay(self, timeout, method, *args):
        handle = None

        def fire():
            self._delayed.discard(handle)
            self.spawn(method, *args)
        handle = self.asyncio_loop.call_later(timeout / 1000, fire)
        self._delayed.add(handle)
        return handle

    # ------------------------------------------------------------------ close

    async def close(self, clean_instance_data=False):
        # no reconnection may start while (or after) the user closes
        self.closed_by_user = True
        self.ws_pending.clear()
        tasks = list(self._ws_reconnects.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        retired, self._ws_retired = self._ws_retired, []
        if retired:
            await asyncio.gather(*[client.close() for client in retired], return_exceptions=True)
        for handle in self._delayed:
            handle.cancel()
        self._delayed.clear()
        await super().close(clean_instance_data)
        # after the clients: a snapshot fetch or a pong in flight ends with them
        spawned = [task for task in self._spawned if task is not asyncio.current_task()]
        for task in spawned:
            task.cancel()
        if spawned:
            await asyncio.gather(*spawned, return_exceptions=True)


def _clip(text, limit=2000):
    # a whole book snapshot in an error line helps nobody
    return text if len(text) <= limit else text[:limit] + '... (%d characters)' % len(text)


def _mentions(message_hash, symbols):
    for symbol in symbols:
        start = message_hash.find(symbol)
        while start != -1:
            end = start + len(symbol)
            if (start == 0 or message_hash[start - 1] in _HASH_BOUNDARY) and \
                    (end == len(message_hash) or message_hash[end] in _HASH_BOUNDARY):
                return True
            start = message_hash.find(symbol, start + 1)
    return False


class _ExchangeMeta(type):
    """Adapters may be written ``class x(Exchange, ccxt.pro.x)`` or
    ``class x(ExchangeMixin, ccxt.pro.x)``; ``isinstance(e, ccxtpro_fast.Exchange)`` holds
    for both, so user code can test for "a ccxtpro_fast exchange" one way."""

    def __instancecheck__(cls, instance):
        if cls is Exchange:
            return isinstance(instance, ExchangeMixin) and isinstance(instance, ccxt.pro.Exchange)
        return super().__instancecheck__(instance)

    def __subclasscheck__(cls, subclass):
        if cls is Exchange:
            return issubclass(subclass, ExchangeMixin) and issubclass(subclass, ccxt.pro.Exchange)
        return super().__subclasscheck__(subclass)


class Exchange(ExchangeMixin, ccxt.pro.Exchange, metaclass=_ExchangeMeta):
    """ccxt.pro's ``Exchange`` base with ccxtpro_fast's transport and books. Exchange
    classes put it (or ``ExchangeMixin``) first: ``class binance(Exchange, ccxt.pro.binance)``."""
