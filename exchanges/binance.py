"""Native Binance adapter (spot; USD-M and COIN-M futures through the sibling modules
``binanceusdm`` and ``binancecoinm``, which share :class:`BinanceNative`).

ccxt.pro's ``binance`` with the public market-data handlers replaced; everything else
(subscriptions, un-watch, private streams, the WebSocket API, order entry) is ccxt.pro's
code, reached through ``super()``.

* Raw frames first: ``handle_raw_message`` sees each text frame's bytes before JSON
  decoding. A ``depthUpdate`` (the only frame that starts with ``{"e":"depthUpdate"``)
  that is the next event of a synchronised book is applied and resolved in one core call
  (``_core.diffs.apply_binance_diff``: both sides from the bytes, no Python object per
  field or level, the wire text kept). Any other depthUpdate (buffering, a gap, the
  first event after a snapshot, checkpoints on) is read with a ``jsonscan.FieldScanner``
  and goes through ``_DepthSync.on_diff``, the procedure below. Every other frame goes on
  to orjson and ``handle_message``.
* Dispatch: ccxt.pro builds a 30-entry dict of bound methods on every message; here the
  ``e`` -> handler table is built once per exchange, and each connection keeps a
  ``market id -> route`` cache (symbol, market, message hash resolved once).
* Book sync: the documented procedure, step numbers as in Binance's docs (spot:
  web-socket-streams.md "How to manage a local order book correctly"; futures: the
  USD-M/COIN-M pages of the same name; quoted in
  tests/data/reference/binance_local_order_book_rules.md). A gap (spot ``U != u + 1``,
  futures ``pu != u``) resynchronises that one symbol: its diffs are buffered, a new REST
  snapshot is fetched and the buffer bridged by the same rules, while every other symbol
  on the connection keeps flowing and its waiters are not rejected. ccxt.pro instead
  rejects the waiter with ``ChecksumError`` and drops the book. Waiters see an error
  (``InvalidNonce``, or the snapshot request's own error) only if the resync fails.
* Checkpoints: Binance publishes no checksum. When ``bookTicker`` is watched too, every
  bookTicker whose ``u`` equals the ``u`` of an applied depth event is compared with the
  book's best bid/ask (price and quantity); a mismatch resynchronises the symbol
  (``options['watchOrderBook']['crossCheckBookTicker']``, default True).
* Trades and OHLCV are built directly (the same dicts/lists ccxt's parsers make); tickers
  and bid/ask tickers use ccxt's ``parse_ws_ticker`` without the per-message dispatch.

Unified results are identical to ccxt.pro's on the same messages (tests/test_binance_*).
"""
import logging

import ccxt.pro
from ccxt.async_support.base.ws.cache import ArrayCache, ArrayCacheByTimestamp
from ccxt.base.errors import BaseError, InvalidNonce
from ccxt.base.precise import Precise

from ccxtpro_fast._core.diffs import BinanceDepthHook
from ccxtpro_fast._core.jsonscan import FieldScanner
from ccxtpro_fast.base.exchange import ExchangeMixin, raw_hook

__all__ = ['binance', 'BinanceNative']

logger = logging.getLogger('ccxtpro_fast.binance')

_DEPTH_KEYS = (b's', b'U', b'u', b'pu', b'E', b'b', b'a')
_scan_depth = FieldScanner(_DEPTH_KEYS).scan
_MAX_BUFFER = 10000     # diffs kept while a snapshot is fetched (a few minutes of 100ms events)
_MAX_TOPS = 1024        # bookTickers (and book tops) kept per symbol until their u meets


def _exact_product(a, b):
    """float(Precise.string_mul(a, b)): the exact decimal product rounded once by float()."""
    ia, _, fa = a.partition('.')
    ib, _, fb = b.partition('.')
    return float('%de-%d' % (int(ia + fa) * int(ib + fb), len(fa) + len(fb)))


class _Routes:
    """Per-connection caches: market id -> what its messages resolve to."""
    __slots__ = ('spot', 'depth', 'trade', 'kline', 'bidask')

    def __init__(self, spot):
        self.spot = spot
        self.depth = {}
        self.trade = {}
        self.kline = {}
        self.bidask = {}


class _DepthSync:
    """The local order book procedure of one symbol.

    Spot (web-socket-streams.md, "How to manage a local order book correctly"):

    1. open the stream; 2. buffer the events, note ``U`` of the first; 3. get a depth
    snapshot; 4. if its ``lastUpdateId`` is older than the first buffered event, go back
    to 3; 5. discard buffered events with ``u <= lastUpdateId``; the first one left has
    ``U <= lastUpdateId + 1 <= u``; 6. the book is the snapshot; 7. apply the buffered
    and then the live events by the update procedure: (1) ignore ``u`` below the book's
    update id, ``U > id + 1`` means missed events: restart from the beginning, normally
    ``U == previous u + 1``; (2) set each level to its absolute quantity, 0 removes;
    (3) the book's update id is ``u``.

    USD-M / COIN-M futures ("How to manage a local order book correctly"):

    1. open the stream; 2. buffer the events; 3. get a depth snapshot; 4. drop events
    with ``u < lastUpdateId``; 5. the first processed event has ``U <= lastUpdateId <=
    u``; 6. each new event's ``pu`` equals the previous event's ``u``, otherwise
    initialize again from step 3; 7./8. absolute quantities, 0 removes; 9. removing a
    level the book lacks is normal.

    Which rule an event follows is decided by its ``pu`` (absent on spot), as ccxt.pro
    decides it. Step 4 of spot is read together with the update procedure: a snapshot
    with ``lastUpdateId == U - 1`` is exactly continued by the first event and is used.
    A spot event that overlaps the book (``U <= id < u``) is applied, as the update
    procedure says (its levels are absolute quantities); only ``U > id + 1`` is a gap.
    ccxt.pro rejects an overlap instead.
    """
    __slots__ = ('exchange', 'symbol', 'hash', 'synced', 'first', 'buffer', 'gen', 'client', 'limit',
                 'params', 'cross', 'tops', 'history', 'resyncs', 'snapshots', 'checks', 'mismatches', 'iso')

    def __init__(self, exchange, symbol):
        self.exchange = exchange
        self.symbol = symbol
        self.hash = 'orderbook::' + symbol
        self.synced = False
        self.first = False      # the next live event is the first after the snapshot
        self.buffer = []        # (U, u, pu, E, frame or None, bids, asks) while not synced; never
                                # replaced (it is also the book's ``cache``)
        self.gen = 0            # bumped by every (re)start: a stale snapshot fetch gives up
        self.client = None
        self.limit = None
        self.params = {}
        self.cross = False      # bookTickers of this symbol are seen: keep checkpoints
        self.tops = {}          # u -> bookTicker (b, B, a, A) not yet reached by the book
        self.history = {}       # u -> the book's best (bid, amount, ask, amount) after it
        self.resyncs = 0        # gaps and checkpoint mismatches that restarted the procedure
        self.snapshots = 0      # REST snapshots used or rejected
        self.checks = 0         # bookTicker checkpoints that agreed
        self.mismatches = 0     # ... that did not
        # the mixin's cached iso8601 (the compiled depth path calls its C level)
        self.iso = exchange.iso8601

    # -------------------------------------------------------------- the procedure

    def start(self, client, limit, params):
        """The subscription is acknowledged (step 1 done): buffer, fetch a snapshot."""
        if self.client is not client:
            self.buffer.clear()
        self.client = client
        self.limit = limit
        self.params = params
        self.synced = False
        self.history.clear()
        self.gen += 1
        self.exchange.spawn(self.sync, client, self.gen)

    def on_diff(self, client, U, u, pu, E, data, bids, asks):
        """One ``depthUpdate``. ``data`` is the frame and ``bids``/``asks`` slices of it
        (raw path), or ``data`` is None and they are level lists (decoded path).
        Wire samples (spot, USD-M; the recorded sessions in tests/data/sessions)::

            {"e":"depthUpdate","E":1634051127313,"s":"NKNUSDT","U":499869753,
             "u":499869754,"b":[["0.35210000","672.00000000"]],"a":[]}
            {"e":"depthUpdate","E":1626995358052,"T":1626995358044,"s":"SUSHIUSDT",
             "U":478862418862,"u":478862420140,"pu":478862418810,
             "b":[["11.380","0"]],"a":[["11.400","75.0"]]}
        """
        book = self.exchange.orderbooks.get(self.symbol)
        if book is None:
            return      # not watched (yet, or any more): ccxt.pro drops these too
        if not self.synced:
            buffer = self.buffer
            buffer.append((U, u, pu, E, data, bids, asks))      # step 2
            if len(buffer) > _MAX_BUFFER:
                del buffer[0]       # the snapshot then looks too old and is fetched again
            return
        nonce = book['nonce']
        if pu is None:
            if u <= nonce:
                return      # update procedure 1: an event the book already has
            if U > nonce + 1:
                return self.resync(client, 'U %s after u %s' % (U, nonce), (U, u, pu, E, data, bids, asks))
        else:
            if u < nonce:
                return      # step 4
            if pu != nonce and not (self.first and U <= nonce):
                return self.resync(client, 'pu %s after u %s' % (pu, nonce), (U, u, pu, E, data, bids, asks))
        self.first = False
        if data is not None:
            # apply's raw branch, inlined on the hot path
            book.store_json_deltas(data, -1 if bids is None else bids.start,
                                   -1 if bids is None else bids.stop,
                                   -1 if asks is None else asks.start,
                                   -1 if asks is None else asks.stop)
            book['nonce'] = u
            book['timestamp'] = E
            book['datetime'] = self.iso(E)
        else:
            self.apply(book, u, E, data, bids, asks)
        if self.cross and not self.checkpoint(book, u):
            return self.resync(client, self.mismatch(u))
        client.resolve(book, self.hash)

    def apply(self, book, u, E, data, bids, asks):
        if data is None:
            book.store_deltas(bids, asks)
        else:
            book.store_json_deltas(data, -1 if bids is None else bids.start,
                                   -1 if bids is None else bids.stop,
                                   -1 if asks is None else asks.start,
                                   -1 if asks is None else asks.stop)
        book['nonce'] = u
        book['timestamp'] = E
        book['datetime'] = self.iso(E)

    async def sync(self, client, gen):
        """Steps 3-7 (spot) / 3-5 (futures), until the buffer is bridged."""
        exchange = self.exchange
        attempts = exchange.safe_integer(exchange.safe_dict(exchange.options, 'watchOrderBook', {}),
                                         'maxRetries', 3)
        error = None
        for _ in range(max(1, attempts)):
            try:
                snapshot = await exchange.fetch_rest_order_book_safe(self.symbol, self.limit, self.params)
            except Exception as e:      # already retried maxRetries times by ccxt
                error = e
                break
            if gen != self.gen:
                return      # restarted (resubscribed, reconnected) meanwhile
            book = exchange.orderbooks.get(self.symbol)
            if book is None:
                return      # un-watched meanwhile
            self.snapshots += 1
            if self.bridge(book, snapshot):
                client.resolve(book, self.hash)
                return
        if gen == self.gen:
            self.failed(client, error)

    def bridge(self, book, snapshot):
        """Apply ``snapshot`` and the buffered events; False when another snapshot is
        needed (it is older than the buffer, or the buffer itself has a gap)."""
        last = snapshot['nonce']
        buffer = self.buffer
        n = len(buffer)
        i = 0
        # spot step 5 / futures step 4: drop what the snapshot already contains
        while i < n and (buffer[i][1] <= last if buffer[i][2] is None else buffer[i][1] < last):
            i += 1
        del buffer[:i]
        if buffer:
            U, _, pu = buffer[0][:3]
            if U > (last + 1 if pu is None else last):
                return False        # spot step 4 / futures step 5: the snapshot is too old
        book.reset(snapshot)        # spot step 6
        nonce = last
        for k, (U, u, pu, E, data, bids, asks) in enumerate(buffer):
            if k and (u <= nonce if pu is None else u < nonce):
                continue            # update procedure 1 / step 4: a late (reordered) event
            if k and (U > nonce + 1 if pu is None else pu != nonce):
                del buffer[:k]      # a gap inside the buffer: bridge from there on
                return False
            self.apply(book, u, E, data, bids, asks)
            if self.cross and not self.checkpoint(book, u):
                logger.info('%s %s: %s', self.exchange.id, self.symbol, self.mismatch(u))
                buffer.clear()      # the snapshot or the buffer is wrong: start afresh
                return False
            nonce = u
        self.first = not buffer
        buffer.clear()
        self.synced = True
        return True

    def resync(self, client, reason, event=None):
        """A gap or a failed checkpoint: buffer from here on and fetch a new snapshot;
        the waiters keep waiting, the other symbols keep flowing."""
        exchange = self.exchange
        self.resyncs += 1
        self.synced = False
        self.history.clear()
        self.buffer.clear()
        if event is not None:
            self.buffer.append(event)
        self.client = client
        self.gen += 1
        logger.info('%s %s: order book out of sync (%s), resynchronising', exchange.id, self.symbol, reason)
        if exchange.verbose:
            exchange.log(exchange.id, self.symbol, 'order book out of sync:', reason, '- new snapshot')
        exchange.spawn(self.sync, client, self.gen)

    def failed(self, client, error):
        """The resync did not produce a book: the symbol's waiters get the error, and the
        subscription is forgotten so the next watch subscribes (and syncs) afresh, as
        ccxt.pro does when its snapshot fails."""
        exchange = self.exchange
        self.synced = False
        self.buffer.clear()
        if not isinstance(error, BaseError):
            error = InvalidNonce(exchange.id + ' ' + self.symbol + ' order book could not be synchronised' +
                                 ('' if error is None else ': ' + type(error).__name__ + ' ' + str(error)))
        client.subscriptions.pop(self.hash, None)
        client.reject(error, self.hash)

    # -------------------------------------------------------------- checkpoints

    def on_top(self, client, u, bid, bid_volume, ask, ask_volume):
        """A bookTicker of this symbol: compare it with the book at the same ``u`` (it
        comes on another connection, so before or after the depth event with that u)."""
        self.cross = True
        if type(u) is not int:
            return
        try:
            top = (float(bid), float(bid_volume), float(ask), float(ask_volume))
        except (TypeError, ValueError):
            return
        book = self.exchange.orderbooks.get(self.symbol)
        if book is None or not self.synced or u > book['nonce']:
            # kept until the book reaches u (the depth stream may not even be synced yet)
            tops = self.tops
            if len(tops) >= _MAX_TOPS:
                del tops[next(iter(tops))]
            tops[u] = top
            return
        seen = self.history.get(u)
        if seen is None:
            return      # u fell inside an applied event: the book never had that state
        if seen == top:
            self.checks += 1
        else:
            self.resync(client, self.mismatch(u, seen, top))

    def checkpoint(self, book, u):
        """After a depth event: remember the book's top at ``u`` and compare it with a
        bookTicker of the same ``u`` that came first. False on a mismatch."""
        bids = book['bids']
        asks = book['asks']
        if not len(bids) or not len(asks):
            return True
        seen = (bids.price(0), bids.amount(0), asks.price(0), asks.amount(0))
        history = self.history
        if len(history) >= _MAX_TOPS:
            del history[next(iter(history))]
        history[u] = seen
        tops = self.tops
        if tops:
            top = tops.pop(u, None)
            if tops and next(iter(tops)) < u:
                for key in [key for key in tops if key < u]:
                    del tops[key]
            if top is not None:
                if seen != top:
                    self.tops[u] = top      # for the message
                    return False
                self.checks += 1
        return True

    def mismatch(self, u, seen=None, top=None):
        self.mismatches += 1
        if top is None:
            top = self.tops.pop(u, None)
            seen = self.history.get(u)
        return 'best bid/ask %s at u %s differ from the bookTicker %s' % (seen, u, top)


def _depth_hook(exchange):
    """The transport's raw-frame hook (compiled, ``BinanceDepthHook``): a depthUpdate frame
    that is the next event of a synchronised book is applied in the core
    (``apply_binance_diff``); any other depthUpdate frame goes to ``_bn_raw_depth``; other
    frames go on to orjson and ``handle_message``."""
    return BinanceDepthHook(exchange._bn_routes, exchange._bn_raw_depth)


class BinanceNative:
    """The hot handlers shared by ``binance``, ``binanceusdm`` and ``binancecoinm``; put
    it before ``ExchangeMixin`` and ccxt.pro's class in the bases."""

    def __init__(self, config={}):
        self._bn_books = {}         # symbol -> _DepthSync
        self._bn_routes = {}        # client -> _Routes
        self._bn_timeframes = {}    # kline interval -> unified timeframe
        super().__init__(config)
        # built once: event type -> handler (ccxt.pro rebuilds its table per message)
        self._bn_handlers = {
            'depthUpdate': self._bn_depth_message,
            'trade': self._bn_trade,
            'aggTrade': self._bn_trade,
            'kline': self._bn_kline,
            'bookTicker': self._bn_bidask,
            '24hrTicker': self.handle_tickers,
            '24hrMiniTicker': self.handle_tickers,
        }

    # ------------------------------------------------------------------ dispatch

    handle_raw_message = raw_hook(_depth_hook)

    def _bn_raw_depth(self, client, data):
        """A depthUpdate frame the compiled path did not apply (not the next event of a
        synchronised book): the sync rules of its symbol's _DepthSync."""
        routes = self._bn_routes.get(client)
        s, U, u, pu, E, b, a = _scan_depth(data)
        state = routes.depth.get(s) if routes is not None else None
        if state is None:
            state = self._bn_depth_route(client, s)
            if state is None:
                return True     # no book of that symbol: dropped, as ccxt.pro drops it
        state.on_diff(client, U, u, pu, E, data, b, a)
        return True

    def handle_message(self, client, message):
        if type(message) is dict:
            event = message.get('e')
            if event is None:
                data = message.get('data')
                if type(data) is dict and 'stream' in message:
                    # a combined-stream envelope: ccxt.pro's handlers get the payload
                    event = data.get('e')
                    if event is None and 'b' in data and 'a' in data and 'u' in data:
                        return self._bn_bidask(client, data)
                    handler = self._bn_handlers.get(event)
                    if handler is not None:
                        return handler(client, data)
                elif ('b' in message and 'a' in message and 'u' in message and 'id' not in message
                      and 'error' not in message and 'status' not in message):
                    # the spot bookTicker has no event type
                    return self._bn_bidask(client, message)
            else:
                handler = self._bn_handlers.get(event)
                if handler is not None:
                    return handler(client, message)
        return super().handle_message(client, message)

    def _bn_client_routes(self, client):
        routes = self._bn_routes.get(client)
        if routes is None:
            routes = self._bn_routes[client] = _Routes(self.is_spot_url(client))
        return routes

    # ------------------------------------------------------------------ order book

    def _bn_depth_route(self, client, market_id):
        if type(market_id) is not str:
            return None
        routes = self._bn_client_routes(client)
        # the connection's URL decides spot vs swap for an id both share (as ccxt.pro)
        symbol = self.safe_market(market_id, None, None, 'spot' if routes.spot else 'swap')['symbol']
        state = self._bn_books.get(symbol)
        if state is not None:
            routes.depth[market_id] = state
        return state

    def _bn_depth_state(self, symbol):
        state = self._bn_books.get(symbol)
        if state is None:
            state = self._bn_books[symbol] = _DepthSync(self, symbol)
        return state

    def _bn_depth_message(self, client, message):
        """A decoded ``depthUpdate`` (a combined-stream frame, or fed by hand)."""
        s = message.get('s')
        routes = self._bn_routes.get(client)
        state = routes.depth.get(s) if routes is not None else None
        if state is None:
            state = self._bn_depth_route(client, s)
            if state is None:
                return
        U = message.get('U')
        u = message.get('u')
        if U is None or u is None:
            return
        state.on_diff(client, U, u, message.get('pu'), message.get('E'), None,
                      message.get('b') or [], message.get('a') or [])

    def handle_order_book(self, client, message):
        self._bn_depth_message(client, message)

    def handle_order_book_subscription(self, client, message, subscription):
        """The SUBSCRIBE ack of ``watch_order_book(_for_symbols)``: a book per symbol
        (as ccxt.pro makes it) and the sync procedure started."""
        default_limit = self.safe_integer(self.options, 'watchOrderBookLimit', 1000)
        symbols = self.safe_list(subscription, 'symbols', [self.safe_string(subscription, 'symbol')])
        limit = self.safe_integer(subscription, 'limit', default_limit)
        params = self.safe_dict(subscription, 'params', {})
        for symbol in symbols:
            book = self.orderbooks.get(symbol)
            if book is None:
                book = self.orderbooks[symbol] = self.order_book({}, limit)
            book['nonce'] = None
            state = self._bn_depth_state(symbol)
            # ccxt.pro buffers in book.cache: the same list, so len(book.cache) still
            # tells how many diffs wait for the snapshot (entries are (U, u, pu, E, ...))
            book.cache = state.buffer
            state.start(client, limit, params)

    def binance_book_state(self, symbol):
        """Sync state and counters of ``symbol``'s book (tests, diagnostics)."""
        state = self._bn_books.get(symbol)
        if state is None:
            return None
        book = self.orderbooks.get(symbol)
        return {'synced': state.synced, 'nonce': book['nonce'] if book is not None else None,
                'resyncs': state.resyncs, 'snapshots': state.snapshots, 'checks': state.checks,
                'mismatches': state.mismatches, 'buffered': len(state.buffer)}

    # ------------------------------------------------------------------ trades

    def _bn_trade(self, client, message):
        """``trade`` / ``aggTrade``: ccxt's parse_trade + safe_trade, built directly.
        Wire sample (spot trade, Binance docs)::

            {"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,"p":"0.001","q":"100",
             "T":1672515782136,"m":true,"M":true}
        """
        market_id = message.get('s')
        routes = self._bn_routes.get(client)
        route = routes.trade.get(market_id) if routes is not None else None
        if route is None:
            route = self._bn_trade_route(client, market_id)
        symbol, market, message_hash, inverse_size = route
        try:
            if inverse_size is False:
                raise TypeError
            price = message['p']
            amount = message['q']
            timestamp = message['T']
            trade_id = message['t'] if 't' in message else message['a']
            if type(timestamp) is not int or 'x' in message or type(price) is not str:
                raise TypeError
            side = 'sell' if message['m'] else 'buy'
            if inverse_size is None:
                cost = _exact_product(price, amount)
            else:
                cost = self.parse_number(Precise.string_mul(
                    Precise.string_mul(Precise.string_div('1', price), inverse_size), amount))
            trade = {
                'info': message,
                'timestamp': timestamp,
                'datetime': self.iso8601(timestamp),
                'symbol': symbol,
                'id': str(trade_id),
                'order': None,
                'type': None,
                'side': side,
                'takerOrMaker': None,
                'price': float(price),
                'amount': float(amount),
                'cost': cost,
                'fee': {'cost': None, 'currency': None},
                'fees': [],
            }
        except (KeyError, TypeError, ValueError, AttributeError):
            trade = self.parse_ws_trade(message, market)
        stored = self.trades.get(symbol)
        if stored is None:
            stored = self.trades[symbol] = ArrayCache(self.safe_integer(self.options, 'tradesLimit', 1000))
        stored.append(trade)
        client.resolve(stored, message_hash)

    def _bn_trade_route(self, client, market_id):
        routes = self._bn_client_routes(client)
        market = self.safe_market(market_id, None, None, 'spot' if routes.spot else 'contract')
        size = self.safe_string(market, 'contractSize')
        if market.get('inverse'):
            cost = size                 # safe_trade: 1 / price * contractSize * amount
        elif size is None or Precise.string_eq(size, '1'):
            cost = None                 # price * amount
        else:
            cost = False                # any other multiplier: ccxt's own parser
        route = (market['symbol'], market, 'trade::' + market['symbol'], cost)
        if isinstance(market_id, str):
            routes.trade[market_id] = route
        return route

    # ------------------------------------------------------------------ OHLCV

    def _bn_kline(self, client, message):
        """``kline``: ccxt.pro's handle_ohlcv without the per-message lookups.
        Wire sample (spot, ccxt's comment)::

            {"e":"kline","E":1579482921215,"s":"ETHBTC","k":{"t":1579482900000,
             "T":1579482959999,"s":"ETHBTC","i":"1m","f":158411535,"L":158411550,
             "o":"0.01913200","c":"0.01913500","h":"0.01913700","l":"0.01913200",
             "v":"5.08400000","n":16,"x":false,"q":"0.09728060","V":"3.30200000",
             "Q":"0.06318500","B":"0"}}
        """
        kline = message.get('k')
        if type(kline) is not dict:
            return ccxt.pro.binance.handle_ohlcv(self, client, message)
        market_id = kline.get('s') or kline.get('ps')
        interval = kline.get('i')
        routes = self._bn_routes.get(client)
        symbol = routes.kline.get(market_id) if routes is not None else None
        if symbol is None:
            routes = self._bn_client_routes(client)
            symbol = self.safe_symbol(market_id, None, None, 'spot' if routes.spot else 'contract')
            if symbol is None or type(market_id) is not str:
                return ccxt.pro.binance.handle_ohlcv(self, client, message)
            routes.kline[market_id] = symbol
        timeframe = self._bn_timeframes.get(interval)
        if timeframe is None:
            timeframe = self.find_timeframe(interval)
            if timeframe is None:
                return ccxt.pro.binance.handle_ohlcv(self, client, message)
            self._bn_timeframes[interval] = timeframe
        try:
            candle = [kline['t'], float(kline['o']), float(kline['h']), float(kline['l']),
                      float(kline['c']), float(kline['v'])]
            if type(candle[0]) is not int:
                raise TypeError
        except (KeyError, TypeError, ValueError):
            return ccxt.pro.binance.handle_ohlcv(self, client, message)
        by_timeframe = self.ohlcvs.get(symbol)
        if by_timeframe is None:
            by_timeframe = self.ohlcvs[symbol] = {}
        stored = by_timeframe.get(timeframe)
        if stored is None:
            stored = by_timeframe[timeframe] = ArrayCacheByTimestamp(
                self.safe_integer(self.options, 'OHLCVLimit', 1000))
        stored.append(candle)
        client.resolve([symbol, timeframe, stored], 'ohlcv::' + symbol + '::' + timeframe)

    # ------------------------------------------------------------------ bid/ask

    def _bn_bidask(self, client, message):
        """``bookTicker``: the bid/ask ticker (ccxt's parse_ws_ticker), and a checkpoint
        for the symbol's book. Wire samples (recorded spot; USD-M docs)::

            {"u":499869769,"s":"NKNUSDT","b":"0.35210000","B":"672.00000000",
             "a":"0.35250000","A":"1123.00000000"}
            {"e":"bookTicker","u":400900217,"s":"BNBUSDT","b":"25.35190000",
             "B":"31.21000000","a":"25.36520000","A":"40.66000000","T":1568014460891,
             "E":1568014460893}
        """
        market_id = message.get('s')
        routes = self._bn_routes.get(client)
        route = routes.bidask.get(market_id) if routes is not None else None
        if route is None:
            routes = self._bn_client_routes(client)
            # ccxt.pro: a unique id decides the type, an id spot and swap share the URL
            found = self.safe_list(self.markets_by_id, market_id)
            market_type = found[0]['type'] if found is not None and len(found) == 1 else \
                ('spot' if routes.spot else 'contract')
            symbol = self.safe_symbol(market_id, None, None, market_type)
            route = (market_type, symbol, 'bidask:bookTicker@' + str(symbol))
            if type(market_id) is str:
                routes.bidask[market_id] = route
        market_type, symbol, message_hash = route
        ticker = self.parse_ws_ticker(message, market_type)
        symbol = ticker['symbol']
        if symbol is not None:
            self.bidsasks[symbol] = ticker
        client.resolve(ticker, message_hash)
        client.resolve({symbol: ticker} if symbol is not None else {}, 'bidasks:bookTicker')
        state = self._bn_books.get(symbol)
        if state is not None and self._bn_cross_check():
            state.on_top(client, message.get('u'), message.get('b'), message.get('B'),
                         message.get('a'), message.get('A'))

    async def watch_bids_asks(self, symbols=None, params={}):
        # checkpoints need the book's top at every u from the start: bookTickers come on
        # another connection, possibly after the depth events they match
        if self._bn_cross_check():
            if self.markets is None:
                await self.load_markets()
            for symbol in self.market_symbols(symbols, None, True, False, True) or ():
                self._bn_depth_state(symbol).cross = True
        return await super().watch_bids_asks(symbols, params)

    def _bn_cross_check(self):
        options = self.options.get('watchOrderBook')
        return not isinstance(options, dict) or options.get('crossCheckBookTicker', True) is not False

    # ------------------------------------------------------------------ connection events

    def on_error(self, client, error):
        self._bn_drop(client)
        super().on_error(client, error)

    def on_close(self, client, error):
        self._bn_drop(client)
        super().on_close(client, error)

    def _bn_drop(self, client):
        # a new connection starts from a new snapshot; what the old one buffered is stale
        self._bn_routes.pop(client, None)
        for state in self._bn_books.values():
            if state.client is client:
                state.synced = False
                state.buffer.clear()
                state.tops.clear()
                state.gen += 1


class binance(BinanceNative, ExchangeMixin, ccxt.pro.binance):
    pass
