"""Native Bybit v5 adapter: ccxt.pro's ``bybit`` with the public market-data handlers
(order book, bid/ask, trades, tickers, OHLCV) replaced.

What changes against ccxt.pro (everything else -- private streams, order entry, auth,
other un-watches, subscription bookkeeping -- is ccxt.pro's code, reached through ``super()``):

* dispatch: ccxt.pro rebuilds a 24-entry dict of bound methods and runs its error and
  pong checks on every message; here a data message (it has a ``topic``) goes straight
  to a handler looked up in a per-connection ``topic -> handler`` table, filled the
  first time a topic is seen (symbol, market, message hash resolved once);
* books: a snapshot or delta hands each side's whole level list to the compiled book in
  one ``store_levels`` call with the wire strings; a delta that continues its topic's
  ``u`` goes to the book straight from the frame's bytes (``handle_raw_message``,
  ``_core.diffs.apply_bybit_delta``);
* book sync: ccxt.pro applies every delta blindly. Here the documented rule is enforced
  (``u`` continuous per topic, a snapshot resets); a gap resynchronises that one topic by
  unsubscribing and subscribing it again on the same connection (Bybit answers a
  subscribe with a fresh snapshot), deltas are dropped meanwhile, other topics keep
  flowing. Waiters see ``InvalidNonce`` only when the resync fails (error reply or no
  snapshot in time);
* trades and OHLCV are built directly (same dicts/lists as ccxt's parsers; exotic rows
  fall back to ccxt's ``parse_ws_trade``); tickers keep ccxt's ``parse_ticker``.
* un-watching a book unsubscribes the depth that was subscribed (ccxt.pro's default
  for contracts is a depth it never subscribed, so the topic stayed live and the next
  watch was refused).

Unified results are identical to ccxt.pro's on the same messages (tests/test_bybit_*).
"""
import ccxt.pro
from ccxt.async_support.base.ws.cache import ArrayCache, ArrayCacheByTimestamp
from ccxt.base.errors import InvalidNonce
from ccxt.base.precise import Precise

from ccxtpro_fast._core.diffs import BybitDeltaHook
from ccxtpro_fast.base.exchange import ExchangeMixin, raw_hook

__all__ = ['bybit']

_EMPTY = ()


def _exact_product(a, b):
    """float(Precise.string_mul(a, b)) without Precise: the exact decimal product, rounded
    once by float() (so the same double)."""
    ia, _, fa = a.partition('.')
    ib, _, fb = b.partition('.')
    return float('%de-%d' % (int(ia + fa) * int(ib + fb), len(fa) + len(fb)))


class _Book:
    """Sync state and handler of one ``orderbook.{depth}.{symbol}`` topic on one connection.

    Bybit v5 "Process snapshot/delta" (docs/v5/websocket/public/orderbook):

    1. once subscribed you receive a snapshot; then delta messages every time the book
       changes;
    2. a new snapshot (a re-send after a problem on Bybit's end, or ``u == 1`` after a
       service restart) resets the local book;
    3. deltas: size 0 deletes the level, an unknown price inserts it, a known one updates.

    Checked here on top: each delta's ``u`` is the previous ``u`` + 1 (the update id is
    continuous per topic); a gap resyncs the topic (see ``resync``). ``seq`` (the cross
    sequence) is only recorded. No checksum: Bybit publishes none.
    """
    __slots__ = ('exchange', 'client', 'topic', 'symbol', 'market', 'hash', 'bidask', 'synced', 'u',
                 'seq', 'resyncs', 'attempts', 'pending', 'timer', 'iso', 'own')

    def __init__(self, exchange, client, topic, symbol, market, iso):
        self.exchange = exchange
        self.client = client
        self.topic = topic
        self.symbol = symbol
        self.market = market
        self.hash = 'orderbook:' + symbol
        self.bidask = topic.split('.')[1] == '1'
        self.synced = False
        self.u = None
        self.seq = None
        self.resyncs = 0        # gaps detected on this topic
        self.attempts = 0       # resync attempts since the last good snapshot
        self.pending = _EMPTY   # req_ids of the resync's unsubscribe/subscribe
        self.timer = None
        self.iso = iso
        self.own = None         # a depth-1 topic's own book (see _book)

    def _book(self, client):
        """The book this topic's pushes go to, and whether it is the symbol's order book.
        A depth-1 topic subscribed for bid/ask only, on a connection where a deeper topic
        of the same symbol keeps the order book, gets a book of its own: ccxt.pro writes
        its one level into that shared book, so a user watching the book and the bid/ask
        of a symbol got a book cut to its top and then corrupted by the next deltas."""
        exchange = self.exchange
        if self.bidask and not self._serves_order_book(client) and any(
                not other.bidask and other.symbol == self.symbol
                for other in (exchange._bybit_books.get(client) or {}).values()):
            own = self.own
            if own is None:
                own = self.own = exchange.order_book()
                shared = exchange.orderbooks.get(self.symbol)
                if shared is not None:
                    # the top as it is now, until this topic's next snapshot
                    own['bids'].store_levels(shared['bids'][:1])
                    own['asks'].store_levels(shared['asks'][:1])
            return own, False
        book = exchange.orderbooks.get(self.symbol)
        if book is None:
            book = exchange.orderbooks[self.symbol] = exchange.order_book()
        return book, True

    def _serves_order_book(self, client):
        # watch_order_book(symbol, 1) recorded this topic under the order book's hash
        recorded = client.subscriptions.get(self.hash)
        topics = recorded.get('topics') if isinstance(recorded, dict) else None
        return bool(topics) and self.topic in topics

    def on_message(self, client, message):
        """Wire sample (docs, trimmed)::

            {"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1687940967466,
             "data":{"s":"BTCUSDT","b":[["30247.20","30.028"],["30240.00","0"]],
                     "a":[["30248.70","0"],["30249.30","0.892"]],
                     "u":177400507,"seq":66544703342},"cts":1687940967464}
        """
        data = message['data']
        u = data['u']
        book, shared = self._book(client)
        if message['type'] == 'snapshot':
            # steps 1 and 2: every snapshot replaces the book (a restart's u=1 one too,
            # whatever its seq: the docs give no rule to skip one, ccxt.pro skips none)
            seq = data.get('seq')
            bids = book['bids']
            asks = book['asks']
            bids.clear()
            bids.store_levels(data['b'])
            asks.clear()
            asks.store_levels(data['a'])
            book['nonce'] = None
            book['symbol'] = self.symbol
            if not self.synced:
                self._synced()
        else:
            if not self.synced:
                return      # deltas of a topic being resynced (or before its snapshot)
            if u != self.u + 1:
                self.resync(client, u)
                return
            # step 3: one call per side, the wire strings as they are
            book['asks'].store_levels(data['a'])
            book['bids'].store_levels(data['b'])
            seq = data.get('seq')
        self.u = u
        self.seq = seq
        timestamp = message.get('ts')
        book['timestamp'] = timestamp
        book['datetime'] = self.iso(timestamp)
        if shared:
            client.resolve(book, self.hash)
        if self.bidask:
            self._resolve_bidask(client, book)

    def _resolve_bidask(self, client, book):
        # ccxt's parse_ws_bid_ask, without aggregate/sort_by (a depth-1 side has one level)
        bids = book['bids']
        asks = book['asks']
        bid = bids[0] if len(bids) else _EMPTY
        ask = asks[0] if len(asks) else _EMPTY
        timestamp = book['timestamp']
        exchange = self.exchange
        ticker = exchange.safe_ticker({
            'symbol': self.market['symbol'],
            'timestamp': timestamp,
            'datetime': self.iso(timestamp),
            'ask': ask[0] if ask else None,
            'askVolume': ask[1] if ask else None,
            'bid': bid[0] if bid else None,
            'bidVolume': bid[1] if bid else None,
            'info': book,
        }, self.market)
        exchange.bidsasks[self.symbol] = ticker
        client.resolve({self.symbol: ticker}, 'bidask:' + self.symbol)

    # -------------------------------------------------------------- resync

    def resync(self, client, u=None):
        """A gap: unsubscribe and subscribe this topic again on the same connection.
        Deltas are dropped until the subscription's first snapshot arrives (Bybit's
        subscribe always starts with one, so nothing needs buffering)."""
        exchange = self.exchange
        self.synced = False
        self.resyncs += 1
        self.attempts += 1
        self._forget_pending()
        if exchange.verbose:
            exchange.log('bybit: order book gap on', self.topic, 'u', u, 'after', self.u, '- resubscribing')
        unsubscribe_id = exchange.request_id()
        subscribe_id = exchange.request_id()
        self.pending = (str(unsubscribe_id), str(subscribe_id))
        for req_id in self.pending:
            exchange._bybit_resyncs[req_id] = self
        try:
            client.send_now({'op': 'unsubscribe', 'req_id': unsubscribe_id, 'args': [self.topic]})
            client.send_now({'op': 'subscribe', 'req_id': subscribe_id, 'args': [self.topic]})
        except Exception as error:
            self.failed(client, 'cannot send the resubscription: ' + str(error))
            return
        timeout = exchange.safe_integer(exchange.safe_dict(exchange.options, 'watchOrderBook', {}),
                                        'resyncTimeout', 10000)
        loop = exchange.asyncio_loop
        if loop is not None:
            self.timer = loop.call_later(timeout / 1000, self._timed_out, client)

    def on_reply(self, client, message):
        """The reply to the resync's unsubscribe or subscribe request."""
        if message.get('success') is False:
            self.failed(client, 'resubscribing ' + self.topic + ' failed: ' + str(message.get('ret_msg')))

    def _timed_out(self, client):
        self.timer = None
        if not self.synced:
            self.failed(client, 'no snapshot for ' + self.topic + ' after resubscribing')

    def failed(self, client, reason):
        """The resync did not bring a snapshot: the symbol's waiters get InvalidNonce,
        and another attempt is made while ``maxResyncAttempts`` allows."""
        exchange = self.exchange
        self._forget_pending()
        client.reject(InvalidNonce(exchange.id + ' ' + self.symbol + ' order book out of sync: ' + reason),
                      self.hash)
        attempts = exchange.safe_integer(exchange.safe_dict(exchange.options, 'watchOrderBook', {}),
                                         'maxResyncAttempts', 3)
        if self.attempts < attempts and not client.closed():
            self.resync(client)

    def _synced(self):
        self.synced = True
        self.attempts = 0
        self._forget_pending()

    def _forget_pending(self):
        resyncs = self.exchange._bybit_resyncs
        for req_id in self.pending:
            resyncs.pop(req_id, None)
        self.pending = _EMPTY
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


def _delta_hook(exchange):
    """The transport's raw-frame hook (compiled, ``BybitDeltaHook``): a delta that
    continues its topic's ``u`` on a synchronised book is applied and resolved in one core
    call (``_core.diffs.apply_bybit_delta``); every other frame goes on to orjson and
    ``handle_message``."""
    return BybitDeltaHook(exchange, exchange._bybit_books)


class bybit(ExchangeMixin, ccxt.pro.bybit):

    def __init__(self, config={}):
        # client -> {topic: handler}; filled lazily, one entry per topic ever seen
        self._bybit_routes = {}
        # req_id (str) of a resync request -> its _Book
        self._bybit_resyncs = {}
        # client -> {orderbook topic: _Book}, for the compiled delta path
        self._bybit_books = {}
        super().__init__(config)
        self._bybit_iso = self.iso8601     # the mixin's cached iso8601

    # ------------------------------------------------------------------ dispatch

    handle_raw_message = raw_hook(_delta_hook)

    def handle_message(self, client, message):
        try:
            topic = message['topic']
        except (KeyError, TypeError):
            req_id = message.get('req_id') if isinstance(message, dict) else None
            book = self._bybit_resyncs.get(req_id) if req_id is not None else None
            if book is not None:
                book.on_reply(client, message)
                return
            return super().handle_message(client, message)
        routes = self._bybit_routes.get(client)
        handler = routes.get(topic) if routes is not None else None
        if handler is None:
            handler = self._bybit_route(client, topic)
        handler(client, message)

    def _bybit_route(self, client, topic):
        """The handler of ``topic`` on ``client``, made once (the symbol resolved as
        ccxt.pro resolves it: by id and by the connection's market type)."""
        routes = self._bybit_routes.get(client)
        if routes is None:
            routes = self._bybit_routes[client] = {}
        parts = topic.split('.') if isinstance(topic, str) else ()
        channel = parts[0] if parts else None
        market_type = 'spot' if client.url.find('spot') >= 0 else 'contract'
        handler = None
        if channel == 'orderbook' and len(parts) == 3:
            market = self.safe_market(parts[2], None, None, market_type)
            book = _Book(self, client, topic, market['symbol'], market, self._bybit_iso)
            self._bybit_books.setdefault(client, {})[topic] = book
            handler = book.on_message
        elif channel == 'publicTrade' and len(parts) == 2:
            handler = self._bybit_trades_handler(parts[1], market_type)
        elif channel == 'kline' and len(parts) == 3:
            timeframe = self.find_timeframe(parts[1])
            if timeframe is not None:
                handler = self._bybit_ohlcv_handler(parts[2], timeframe, market_type)
        elif channel == 'tickers' and len(parts) == 2:
            handler = self._bybit_ticker_handler(parts[1])
        if handler is None:
            # private topics, options, anything unknown: ccxt.pro's own dispatch
            handler = self._bybit_ccxt_handler
        routes[topic] = handler
        return handler

    def _bybit_ccxt_handler(self, client, message):
        return ccxt.pro.bybit.handle_message(self, client, message)

    # ------------------------------------------------------------------ trades

    def _bybit_trades_handler(self, market_id, market_type):
        market = self.safe_market(market_id, None, None, market_type)
        symbol = market['symbol']
        message_hash = 'trade:' + symbol
        iso = self._bybit_iso
        inverse = bool(market.get('inverse'))
        contract_size = self.safe_string(market, 'contractSize')
        parse_ws_trade = self.parse_ws_trade

        def cost_of(price, amount):
            if inverse and contract_size is not None:
                # ccxt's safe_trade path, kept exact: (1 / price) * contractSize * amount
                multiply = Precise.string_mul(Precise.string_div('1', price), contract_size)
                return self.parse_number(Precise.string_mul(multiply, amount))
            return _exact_product(price, amount)

        def on_trades(client, message):
            """Wire sample (docs)::

                {"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1672304486868,
                 "data":[{"T":1672304486865,"s":"BTCUSDT","S":"Buy","v":"0.001","p":"16578.50",
                          "L":"PlusTick","i":"20f43950-d8dd-5b31-9112-a178eb6023af","BT":false,
                          "seq":1783284617}]}
            """
            stored = self.trades.get(symbol)
            if stored is None:
                stored = self.trades[symbol] = ArrayCache(self.safe_integer(self.options, 'tradesLimit', 1000))
            for row in message.get('data') or _EMPTY:
                # the public row shape; anything else (private 'm'/'t'/'q' fields) is ccxt's,
                # so is a row of another market (options come on publicTrade.<baseCoin>, each
                # row's 's' names the option: ccxt takes the trade's symbol from it)
                try:
                    if 't' in row or 'q' in row or 'm' in row or 'o' in row or row['s'] != market_id:
                        raise KeyError
                    price = row['p']
                    amount = row['v']
                    timestamp = row['T']
                    trade = {
                        'id': str(row['i']),
                        'info': row,
                        'timestamp': timestamp,
                        'datetime': iso(timestamp),
                        'symbol': symbol,
                        'order': None,
                        'type': None,
                        'side': row['S'].lower(),
                        'takerOrMaker': None,
                        'price': float(price),
                        'amount': float(amount),
                        'cost': cost_of(price, amount),
                        'fee': {'cost': None, 'currency': None},
                        'fees': [],
                    }
                    if type(timestamp) is not int:
                        raise KeyError
                except (KeyError, TypeError, ValueError, AttributeError):
                    trade = parse_ws_trade(row, market)
                stored.append(trade)
            client.resolve(stored, message_hash)

        return on_trades

    # ------------------------------------------------------------------ OHLCV

    def _bybit_ohlcv_handler(self, market_id, timeframe, market_type):
        market = self.safe_market(market_id, None, None, market_type)
        symbol = market['symbol']
        message_hash = 'ohlcv::' + symbol + '::' + timeframe
        volume_key = 'turnover' if self.safe_bool(market, 'inverse', False) else 'volume'
        parse_ws_ohlcv = self.parse_ws_ohlcv

        def on_ohlcv(client, message):
            """Wire sample (docs)::

                {"topic":"kline.5.BTCUSDT","data":[{"start":1672324800000,"end":1672325099999,
                 "interval":"5","open":"16649.5","close":"16677","high":"16677","low":"16608",
                 "volume":"2.081","turnover":"34666.4005","confirm":false,
                 "timestamp":1672324988882}],"ts":1672324988882,"type":"snapshot"}
            """
            by_timeframe = self.ohlcvs.get(symbol)
            if by_timeframe is None:
                by_timeframe = self.ohlcvs[symbol] = {}
            stored = by_timeframe.get(timeframe)
            if stored is None:
                stored = by_timeframe[timeframe] = ArrayCacheByTimestamp(
                    self.safe_integer(self.options, 'OHLCVLimit', 1000))
            for row in message.get('data') or _EMPTY:
                try:
                    start = row['start']
                    if type(start) is not int:
                        raise TypeError
                    candle = [start, float(row['open']), float(row['high']), float(row['low']),
                              float(row['close']), float(row[volume_key])]
                except (KeyError, TypeError, ValueError):
                    candle = parse_ws_ohlcv(row, market)
                stored.append(candle)
            client.resolve([symbol, timeframe, stored], message_hash)

        return on_ohlcv

    # ------------------------------------------------------------------ tickers

    def _bybit_ticker_handler(self, market_id):
        iso = self._bybit_iso
        state = {}      # symbol of the delta path, resolved on first use

        def on_ticker(client, message):
            """ccxt.pro's handle_ticker without its per-message dispatch. Wire sample
            (linear delta, ccxt's comment)::

                {"topic":"tickers.AAVEUSDT","type":"delta","data":{"symbol":"AAVEUSDT",
                 "bid1Price":"112.89","bid1Size":"2.12","ask1Price":"112.90","ask1Size":"5.02"},
                 "cs":78039939929,"ts":1709210212704}
            """
            kind = message.get('type')
            data = message.get('data') or {}
            if kind == 'snapshot':
                parsed = self.parse_ticker(data)
                symbol = parsed.get('symbol')
            elif kind == 'delta':
                symbol = state.get('symbol')
                if symbol is None:
                    market_type = 'spot' if data.get('usdIndexPrice') is not None else 'contract'
                    symbol = state['symbol'] = self.safe_market(market_id, None, None, market_type)['symbol']
                previous = self.tickers.get(symbol)
                raw = previous.get('info') if isinstance(previous, dict) else None
                parsed = self.parse_ticker(self.extend(raw or {}, data))
            else:
                return
            if parsed is None or symbol is None:
                return
            timestamp = message.get('ts')
            parsed['timestamp'] = timestamp
            parsed['datetime'] = iso(timestamp)
            self.tickers[symbol] = parsed
            client.resolve(parsed, 'ticker:' + symbol)

        return on_ticker

    # ------------------------------------------------------------------ un-watch

    async def un_watch_order_book_for_symbols(self, symbols, params={}):
        """ccxt.pro's, unsubscribing the depth that was subscribed.

        Without a ``limit`` ccxt.pro unsubscribes ``orderbook.500.<id>`` for contracts
        while its ``watch_order_book`` subscribed ``orderbook.50.<id>``: the live topic
        stays subscribed and the next watch of the symbol fails with Bybit's "already
        subscribed". Here a missing limit becomes the depth recorded when the symbol was
        subscribed on that connection (watch's default when nothing is recorded), one
        ccxt.pro call per depth."""
        if self.safe_integer(params, 'limit') is not None:
            return await super().un_watch_order_book_for_symbols(symbols, params)
        await self.load_markets()
        symbols = self.market_symbols(symbols, None, False)
        url = await self.get_url_by_market_type(symbols[0], False, 'watchOrderBook', params)
        subscriptions = self.client(url).subscriptions
        by_depth = {}
        for symbol in symbols:
            market = self.market(symbol)
            depth = 100 if market['option'] else 50
            recorded = subscriptions.get('orderbook:' + symbol)
            topics = recorded.get('topics') if isinstance(recorded, dict) else None
            for topic in topics or _EMPTY:
                parts = topic.split('.')
                if len(parts) == 3 and parts[0] == 'orderbook' and parts[2] == market['id']:
                    depth = int(parts[1])
            by_depth.setdefault(depth, []).append(symbol)
        result = None
        for depth, group in by_depth.items():
            result = await super().un_watch_order_book_for_symbols(group, self.extend(params, {'limit': depth}))
        return result

    # ------------------------------------------------------------------ connection events

    def on_error(self, client, error):
        self._bybit_drop(client)
        super().on_error(client, error)

    def on_close(self, client, error):
        self._bybit_drop(client)
        super().on_close(client, error)

    def _bybit_drop(self, client):
        # a new connection starts from snapshots; pending resyncs die with the old one
        self._bybit_books.pop(client, None)
        routes = self._bybit_routes.pop(client, None)
        if routes:
            for handler in routes.values():
                book = getattr(handler, '__self__', None)
                if isinstance(book, _Book):
                    book._forget_pending()

    def bybit_book_state(self, symbol, client=None):
        """The sync state of ``symbol``'s order book topics (tests, diagnostics):
        [{'topic', 'synced', 'u', 'seq', 'resyncs'}]."""
        out = []
        for owner, routes in self._bybit_routes.items():
            if client is not None and owner is not client:
                continue
            for handler in routes.values():
                book = getattr(handler, '__self__', None)
                if isinstance(book, _Book) and book.symbol == symbol:
                    out.append({'topic': book.topic, 'synced': book.synced, 'u': book.u, 'seq': book.seq,
                                'resyncs': book.resyncs})
        return out
