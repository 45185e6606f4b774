"""Kraken spot: ccxt.pro's adapter with native handlers for the public v2 channels.

ccxt.pro's ``kraken`` takes every public stream from ``wss://ws.kraken.com/v2``
(``book``, ``trade``, ``ticker``, ``ohlc``). This class keeps its subscription code,
private streams and order entry, and replaces the four hot handlers:

* ``handle_order_book``: each side's whole level list goes to the compiled book in one
  ``store_levels`` call, the book is truncated to the subscribed depth, and Kraken's
  CRC32 is verified on every snapshot and update (ccxt.pro checks it only when
  ``options['watchOrderBook']['checksum']`` is set, and then cannot: its ``format_number``
  calls ``str.split`` on the floats the levels hold). A mismatch resubscribes that one
  symbol's book; the other symbols on the connection keep flowing.
* ``handle_trades``, ``handle_ticker``, ``handle_ohlcv``: the same unified structures as
  ccxt.pro's, built without its per-field ``safe_*`` calls and with a fixed-format
  timestamp parser.

The channel -> handler table is built once per instance, never per message.

Un-watching: ccxt.pro's kraken raises NotSupported for every ``un_watch_*``; this class
implements ``un_watch_order_book(_for_symbols)``, ``un_watch_trades(_for_symbols)``,
``un_watch_ticker(s)`` and ``un_watch_ohlcv`` with Kraken v2's ``unsubscribe``. The ``has``
flags stay ccxt.pro's (None), as for every exchange: code that checks them behaves as
with ccxt.pro.

Exactness of the checksum: v2 sends prices and quantities as JSON numbers, which the
transport decodes to floats. The core prints a float for the checksum as
``llround(|v| * 10**precision)``: for a value with at most ``precision`` decimals and
fewer than 15-16 significant digits, the nearest double times the power of ten is within
far less than 0.5 of the integer the exchange printed, so the digits are exactly the
exchange's (tests/test_kraken_checksum.py checks this over random values at every
precision Kraken uses).
"""
import json
import operator
from decimal import Context, Decimal

import ccxt.pro
from ccxt.async_support.base.ws.cache import ArrayCache, ArrayCacheByTimestamp
from ccxt.base.errors import ArgumentsRequired, ChecksumError, ExchangeError
from ccxt.base.precise import Precise

from ccxtpro_fast._core import CHECKSUM_KRAKEN_V2
from ccxtpro_fast._core.diffs import KrakenBookHook
from ccxtpro_fast.base.exchange import ExchangeMixin, raw_hook

__all__ = ['kraken', 'BookSync']

# one C call per level list: {"price": p, "qty": q} -> (p, q), the shape store_levels takes
_LEVEL = operator.itemgetter('price', 'qty')
_CHECKSUM_DEPTH = 10        # "The checksum is always calculated over the top 10 price levels"
_EXACT = Context(prec=80)   # trade cost: the exact decimal product, as ccxt's Precise


class BookSync:
    """The synchronisation state of one symbol's ``book`` subscription.

    ``verified`` counts the exchange checksums that matched, ``resyncs`` the
    resubscriptions this symbol needed, ``attempts`` the resyncs since the last update
    that verified (capped by ``options['watchOrderBook']['maxResyncAttempts']``)."""

    __slots__ = ('symbol', 'message_hash', 'book', 'depth', 'price_precision', 'qty_precision',
                 'verify', 'resyncing', 'attempts', 'verified', 'resyncs', 'request_id')

    def __init__(self, symbol, price_precision, qty_precision):
        self.symbol = symbol
        self.message_hash = 'orderbook@' + symbol
        self.book = None
        self.depth = 10
        self.price_precision = price_precision
        self.qty_precision = qty_precision
        self.verify = price_precision is not None and qty_precision is not None
        self.resyncing = False
        self.attempts = 0
        self.verified = 0
        self.resyncs = 0
        self.request_id = None

    def __repr__(self):
        return ('<BookSync %s depth=%s verified=%d resyncs=%d%s>'
                % (self.symbol, self.depth, self.verified, self.resyncs,
                   ' resyncing' if self.resyncing else ''))


def _text_levels(levels):
    """A level list as (price, qty) texts for store_levels: a snapshot's come as their wire
    text (``_kraken_snapshot_frame``); a number decoded as a float (a message orjson
    decoded) as its shortest form, which is the wire's number only up to 15 significant
    digits. The checksum pads a level's text to the pair's precision; a bare float it has
    to write from its value, which it cannot do exactly once that value in units passes
    2**53 (quantities from about 9e7 at 8 decimals: PEPE, SHIB, BONK books)."""
    return [(str(p), str(q)) for p, q in map(_LEVEL, levels)]


def _decimals(value):
    """The decimals a number needs (trailing zeros do not count)."""
    exponent = Decimal(str(value)).normalize().as_tuple().exponent
    return -exponent if exponent < 0 else 0


def _number(value):
    # ccxt's safe_number of a JSON number: float(str(v)) == float(v) for floats and ints
    return None if value is None else float(value)


def _book_hook(exchange):
    """The transport's raw-frame hook (compiled, ``KrakenBookHook``): a ``book`` update of
    a synchronised symbol is applied, truncated, checksummed and resolved in one core call
    (``_core.diffs.apply_kraken_update``), straight from the frame's bytes, as
    ``handle_order_book`` does; a mismatch goes to ``_kraken_resync``; a book snapshot to
    ``_kraken_snapshot_frame``. Everything else (resyncing symbols, other channels,
    levels of another shape) goes on to orjson and ``handle_message``."""
    return KrakenBookHook(exchange.book_syncs, exchange._kraken_resync, exchange._kraken_snapshot_frame)


class kraken(ExchangeMixin, ccxt.pro.kraken):

    def describe(self):
        return self.deep_extend(super().describe(), {
            'options': {
                'watchOrderBook': {
                    # every checksum Kraken publishes is verified by default
                    'checksum': True,
                    # resubscriptions of one symbol without a verified update in between
                    # before its waiters get ChecksumError
                    'maxResyncAttempts': 3,
                },
            },
        })

    def __init__(self, config={}):
        # before ccxt's __init__, which reads every attribute (handle_raw_message's hook
        # holds it)
        self.book_syncs = {}            # symbol -> BookSync
        super().__init__(config)
        # the hot channels, bound once (a subclass overriding a handler is honoured)
        self._kraken_hot = {
            'book': self.handle_order_book,
            'trade': self.handle_trades,
            'ticker': self.handle_ticker,
            'ohlc': self.handle_ohlcv,
        }
        self._kraken_resync_ids = {}    # req_id of a resync's subscribe -> symbol
        self._kraken_acked_depths = {}  # symbol -> depth of the last book subscribe ack
        self._kraken_seconds = {}       # 'YYYY-MM-DDTHH:MM:SS' -> ms
        self._kraken_symbols = {}       # ohlc market id -> unified symbol
        self._kraken_symbols_of = None  # the markets dict that cache was made from
        self._kraken_timeframes = {}    # ohlc interval (minutes) -> timeframe
        self._kraken_unwatches = {}     # req_id of an un-watch's unsubscribe -> its record

    # ------------------------------------------------------------------ dispatch

    handle_raw_message = raw_hook(_book_hook)

    def _kraken_snapshot_frame(self, client, data):
        """A book snapshot's frame, decoded with its decimal numbers as their wire text
        (``parse_float=str``) and dispatched as any message: its levels keep the digits
        the checksum hashes, which a float keeps only up to about 15 significant digits
        (a quantity of 10**8 and more at 8 decimals has 17). The book's values are the
        same floats, parsed from that text. Malformed JSON raises here, as the hook's
        caller reports a failed raw handler."""
        self.handle_message(client, json.loads(data, parse_float=str))

    def handle_message(self, client, message):
        if type(message) is dict:
            handler = self._kraken_hot.get(message.get('channel'))
            if handler is not None:
                # data messages carry no error/method: nothing else in ccxt.pro's
                # handle_message would act on them
                handler(client, message)
                return
            method = message.get('method')
            if method == 'subscribe':
                self._kraken_subscribe_ack(client, message)
            elif method == 'unsubscribe':
                self._kraken_unsubscribe_ack(client, message)
        super().handle_message(client, message)

    def _kraken_subscribe_ack(self, client, message):
        """Remember the depth each book subscription got; a failed resubscription of a
        book we are resynchronising ends that resync.

        {"method":"subscribe","req_id":7,"result":{"channel":"book","depth":10,
         "snapshot":true,"symbol":"BTC/USD"},"success":true,"time_in":"...","time_out":"..."}
        {"error":"Currency pair not supported XBT/EUR","method":"subscribe","req_id":7,
         "success":false,"symbol":"XBT/EUR","time_in":"...","time_out":"..."}
        """
        if message.get('success'):
            result = message.get('result')
            if isinstance(result, dict) and result.get('channel') == 'book':
                self._kraken_acked_depths[result.get('symbol')] = result.get('depth')
            return
        symbol = self._kraken_resync_ids.pop(message.get('req_id'), None)
        if symbol is not None:
            sync = self.book_syncs.get(symbol)
            if sync is not None and sync.resyncing:
                self._kraken_resync_failed(client, sync, 'resubscription refused: ' +
                                           str(message.get('error')), unsubscribe=False)

    # ------------------------------------------------------------------ order book

    def handle_order_book(self, client, message):
        """Kraken's v2 ``book`` channel, synchronised as its "Book checksum (WebSocket
        v2)" guide says:

        1. the subscription's ``snapshot`` replaces the book (it carries a checksum too);
        2. every level of an ``update`` is applied in order, ``qty`` 0 deleting the level;
        3. the book is truncated to the subscribed depth (levels that fall out of scope
           are not deleted by the exchange);
        4. the CRC32 of the top 10 asks then top 10 bids, each price and qty printed with
           the pair's price/qty precision, "." and leading zeros removed, must equal
           ``checksum``; if not, only this symbol is resubscribed (unsubscribe +
           subscribe, its updates ignored until the new snapshot) and its waiters keep
           waiting for the next good book; a snapshot's mismatch first looks for the
           precisions the exchange printed with (``_kraken_calibrate``).

        Snapshot, then update (wire samples, ccxt.pro's comments and Kraken's reference)::

            {"channel":"book","type":"snapshot","data":[{"symbol":"MATIC/USD",
              "bids":[{"price":0.5666,"qty":4831.75496356},{"price":0.5665,"qty":6658.22734739}],
              "asks":[{"price":0.5668,"qty":4410.79769741},{"price":0.5669,"qty":4655.40412487}],
              "checksum":2439117997}]}
            {"channel":"book","type":"update","data":[{"symbol":"MATIC/USD",
              "bids":[{"price":0.5657,"qty":1098.3947558}],"asks":[],
              "checksum":2114181697,"timestamp":"2023-10-06T17:35:55.440295Z"}]}
        """
        data = message.get('data')
        if not data:
            return
        first = data[0]
        symbol = first.get('symbol')
        if message.get('type') == 'update':
            sync = self.book_syncs.get(symbol)
            if sync is None or sync.resyncing:
                return      # stale levels between a mismatch and the new snapshot
            book = sync.book
            asks = first.get('asks')
            if asks:
                book['asks'].store_levels(_text_levels(asks))
            bids = first.get('bids')
            if bids:
                book['bids'].store_levels(_text_levels(bids))
            stamp = first.get('timestamp')
            book['timestamp'] = self._kraken_ms(stamp)
            book['datetime'] = stamp
            book.limit()
        else:
            sync = self._kraken_snapshot(client, first, symbol)
            book = sync.book
        if sync.verify:
            checksum = first.get('checksum')
            if checksum is not None:
                if book.checksum(CHECKSUM_KRAKEN_V2, _CHECKSUM_DEPTH, sync.price_precision,
                                 sync.qty_precision) != checksum and not (
                        message.get('type') != 'update' and self._kraken_calibrate(sync, book, checksum)):
                    self._kraken_resync(client, sync)
                    return
                sync.verified += 1
                if sync.book is book and message.get('type') == 'update':
                    sync.attempts = 0       # an update verified: the resync worked
        client.resolve(book, sync.message_hash)

    def _kraken_snapshot(self, client, first, symbol):
        sync = self.book_syncs.get(symbol)
        if sync is None:
            sync = self.book_syncs[symbol] = BookSync(symbol, *self._kraken_precisions(symbol))
        subscription = client.subscriptions.get(sync.message_hash)
        limit = self.safe_integer(subscription, 'limit') if isinstance(subscription, dict) else None
        if limit is None:
            limit = 10
        asks = first.get('asks') or []
        # as ccxt.pro: the book is sized from the subscribed depth (10 by default), or
        # from the snapshot when it carries more levels
        depth = len(asks) if len(asks) > limit else limit
        depths = self.safe_dict(self.options, 'wsOrderBookDepths', {})
        book = self.orderbooks.get(symbol)
        if book is None or depths.get(symbol) != depth:
            book = self.orderbooks[symbol] = self.order_book({}, depth)
            depths[symbol] = depth
            self.options['wsOrderBookDepths'] = depths
        # reset in place: references users hold keep receiving updates after a resync
        book.reset({'symbol': symbol, 'asks': _text_levels(asks),
                    'bids': _text_levels(first.get('bids') or [])})
        book.limit()
        sync.book = book
        sync.depth = self._kraken_acked_depths.get(symbol) or limit
        sync.verify = (sync.price_precision is not None and sync.qty_precision is not None
                       and bool(self.handle_option('watchOrderBook', 'checksum', True)))
        sync.resyncing = False
        return sync

    def _kraken_calibrate(self, sync, book, checksum):
        """A snapshot's checksum that does not match: a snapshot is the exchange's book as
        it is, so what differs is the precisions it is printed with (the market's are
        REST's pair_decimals / lot_decimals, loaded once: a tick size Kraken changed since,
        or a pair whose instrument-channel precisions differ, has others), and a
        resubscription would only give the same mismatch. Adopt the precisions, from the
        most decimals a number of the book shows up to 12, that reproduce the exchange's
        checksum (a chance match of a CRC32 over 20 levels: about 1 in 4e9 per try);
        True when found."""
        least = [0, 0]
        for side in (book['asks'], book['bids']):
            for level in side[:_CHECKSUM_DEPTH]:
                for k in (0, 1):
                    least[k] = max(least[k], _decimals(level[k]))
        for price in range(least[0], max(least[0] + 1, 13)):
            for qty in range(least[1], max(least[1] + 1, 13)):
                if price == sync.price_precision and qty == sync.qty_precision:
                    continue
                try:
                    if book.checksum(CHECKSUM_KRAKEN_V2, _CHECKSUM_DEPTH, price, qty) != checksum:
                        continue
                except ValueError:
                    continue
                sync.price_precision, sync.qty_precision = price, qty
                return True
        return False

    def _kraken_precisions(self, symbol):
        """The pair's (price, qty) decimals the v2 checksum prints with: AssetPairs'
        pair_decimals / lot_decimals (the instrument channel's price_precision /
        qty_precision); None when unknown, which turns verification off for it."""
        market = (self.markets or {}).get(symbol)
        if market is None:
            return None, None
        info = market.get('info') or {}
        price = self.safe_integer(info, 'pair_decimals')
        qty = self.safe_integer(info, 'lot_decimals')
        if price is None or qty is None:
            precision = market.get('precision') or {}
            if price is None and precision.get('price'):
                price = self.precision_from_string(self.number_to_string(precision['price']))
            if qty is None and precision.get('amount'):
                qty = self.precision_from_string(self.number_to_string(precision['amount']))
        return price, qty

    def _kraken_resync(self, client, sync):
        """Resubscribe one symbol's book (Kraken v2 has no sequence numbers and no
        ws snapshot request: a new subscription is the way to a new snapshot)."""
        sync.attempts += 1
        limit = self.safe_integer(self.safe_dict(self.options, 'watchOrderBook', {}),
                                  'maxResyncAttempts', 3)
        if sync.attempts > limit:
            self._kraken_resync_failed(client, sync, 'after %d resubscriptions' % limit, unsubscribe=True)
            return
        sync.resyncing = True
        sync.resyncs += 1
        params = {'channel': 'book', 'symbol': [sync.symbol], 'depth': sync.depth}
        unsubscribe = {'method': 'unsubscribe', 'params': params, 'req_id': self.request_id()}
        subscribe = {'method': 'subscribe', 'params': dict(params, snapshot=True),
                     'req_id': self.request_id()}
        if sync.request_id is not None:
            self._kraken_resync_ids.pop(sync.request_id, None)
        sync.request_id = subscribe['req_id']
        self._kraken_resync_ids[sync.request_id] = sync.symbol
        client._spawn(self._ws_send(client, unsubscribe, subscribe))

    def _kraken_resync_failed(self, client, sync, detail, unsubscribe):
        """The resync itself failed: the symbol's waiters get ccxt's ChecksumError and the
        subscription is dropped, so the next watch_order_book subscribes afresh (what
        ccxt.pro does after its checksum error)."""
        symbol = sync.symbol
        self.book_syncs.pop(symbol, None)
        if sync.request_id is not None:
            self._kraken_resync_ids.pop(sync.request_id, None)
        if self.orderbooks.get(symbol) is sync.book:
            del self.orderbooks[symbol]
        client.subscriptions.pop(sync.message_hash, None)
        client.subscribe_messages.pop(sync.message_hash, None)
        if unsubscribe:
            client._spawn(self._ws_send(client, {
                'method': 'unsubscribe', 'req_id': self.request_id(),
                'params': {'channel': 'book', 'symbol': [symbol], 'depth': sync.depth}}))
        client.reject(ChecksumError(self.id + ' ' + self.orderbook_checksum_message(symbol) +
                                    ' (resync failed: ' + detail + ')'), sync.message_hash)

    # ------------------------------------------------------------------ trades

    def handle_trades(self, client, message):
        """ccxt.pro's unified trades (parse_trade + safe_trade), built directly.

            {"channel":"trade","type":"update","data":[{"symbol":"MATIC/USD","side":"sell",
              "price":0.5117,"qty":40.0,"ord_type":"market","trade_id":4665906,
              "timestamp":"2023-09-25T07:49:37.708706Z"}]}
        """
        data = message.get('data')
        if not data:
            return
        symbol = data[0].get('symbol')
        stored = self.trades.get(symbol)
        if stored is None:
            stored = ArrayCache(self.safe_integer(self.options, 'tradesLimit', 1000))
            self.trades[symbol] = stored
        market = self.market(symbol)
        unified = market['symbol']
        parsed = []
        for trade in data:
            stamp = trade.get('timestamp')
            price = trade.get('price')
            amount = trade.get('qty')
            trade_id = trade.get('trade_id')
            maker = trade.get('maker')
            parsed.append({
                'id': None if trade_id is None else str(trade_id),
                'order': None,
                'info': trade,
                'timestamp': self._kraken_ms(stamp),
                'datetime': stamp,
                'symbol': unified,
                'type': trade.get('ord_type'),
                'side': trade.get('side'),
                'takerOrMaker': None if maker is None else ('maker' if maker else 'taker'),
                'price': _number(price),
                'amount': _number(amount),
                'cost': None if price is None or amount is None else
                float(_EXACT.multiply(Decimal(str(price)), Decimal(str(amount)))),
                'fee': {'cost': None, 'currency': None},
                'fees': [],
            })
        if len(parsed) > 1:
            parsed = self.sort_by_2(parsed, 'timestamp', 'id')
        for trade in parsed:
            stored.append(trade)
        client.resolve(stored, 'trade@' + symbol)

    # ------------------------------------------------------------------ ticker, bids/asks

    def handle_ticker(self, client, message):
        """ccxt.pro's unified ticker (``event_trigger`` ``trades`` for watch_ticker(s),
        ``bbo`` for watch_bids_asks; both resolve ``ticker@<symbol>``).

            {"channel":"ticker","type":"snapshot","data":[{"symbol":"ALGO/USD","bid":0.10025,
              "bid_qty":740.0,"ask":0.10036,"ask_qty":1361.44813783,"last":0.10035,
              "volume":997038.98383185,"vwap":0.10148,"low":0.09979,"high":0.10285,
              "change":-0.00017,"change_pct":-0.17,"timestamp":"2023-09-25T09:04:31.742648Z"}]}
        """
        data = message.get('data')
        ticker = data[0] if data else None
        if not isinstance(ticker, dict):
            return super().handle_ticker(client, message)
        symbol = ticker.get('symbol')
        s = _text
        vwap = s(ticker.get('vwap'))
        base_volume = s(ticker.get('volume'))
        last = s(ticker.get('last'))
        result = self.safe_ticker({
            'symbol': None if symbol is None else str(symbol),
            'timestamp': None,
            'datetime': None,
            'high': s(ticker.get('high')),
            'low': s(ticker.get('low')),
            'bid': s(ticker.get('bid')),
            'bidVolume': s(ticker.get('bid_qty')),
            'ask': s(ticker.get('ask')),
            'askVolume': s(ticker.get('ask_qty')),
            'vwap': vwap,
            'open': None,
            'close': last,
            'last': last,
            'previousClose': None,
            'change': s(ticker.get('change')),
            'percentage': s(ticker.get('change_pct')),
            'average': None,
            'baseVolume': base_volume,
            'quoteVolume': None if base_volume is None or vwap is None else
            Precise.string_mul(base_volume, vwap),
            'info': ticker,
        })
        self.tickers[symbol] = result
        client.resolve(result, 'ticker@' + str(symbol))

    # ------------------------------------------------------------------ ohlcv

    def handle_ohlcv(self, client, message):
        """ccxt.pro's OHLCV cache, candles ``[interval_begin ms, o, h, l, c, volume]``.

            {"channel":"ohlc","type":"update","timestamp":"2023-10-04T16:26:30.524394914Z",
             "data":[{"symbol":"MATIC/USD","open":0.5624,"high":0.5628,"low":0.5622,
              "close":0.5627,"trades":12,"volume":30927.68066226,"vwap":0.5626,
              "interval_begin":"2023-10-04T16:25:00.000000000Z","interval":5,
              "timestamp":"2023-10-04T16:30:00.000000Z"}]}
        """
        data = message.get('data')
        if not data or not isinstance(data[0], dict):
            return super().handle_ohlcv(client, message)
        first = data[0]
        symbol = self._kraken_symbol(first.get('symbol'))
        per_symbol = self.ohlcvs.get(symbol)
        if per_symbol is None:
            per_symbol = self.ohlcvs[symbol] = {}
        interval = first.get('interval')
        timeframe = self._kraken_timeframes.get(interval)
        if timeframe is None:
            timeframe = self.find_timeframe(self.safe_integer(first, 'interval'))
            self._kraken_timeframes[interval] = timeframe
        stored = per_symbol.get(timeframe)
        if stored is None:
            stored = ArrayCacheByTimestamp(self.safe_integer(self.options, 'OHLCVLimit', 1000))
            per_symbol[timeframe] = stored
        ms = self._kraken_ms
        for candle in data:
            stored.append([
                ms(candle.get('interval_begin')),
                _number(candle.get('open')),
                _number(candle.get('high')),
                _number(candle.get('low')),
                _number(candle.get('close')),
                _number(candle.get('volume')),
            ])
        client.resolve(stored, 'ohlcv@' + str(symbol))

    def _kraken_symbol(self, market_id):
        if self._kraken_symbols_of is not self.markets:
            self._kraken_symbols = {}
            self._kraken_symbols_of = self.markets
        symbol = self._kraken_symbols.get(market_id)
        if symbol is None:
            symbol = self._kraken_symbols[market_id] = self.safe_symbol(market_id)
        return symbol

    # ------------------------------------------------------------------ un-watch

    # ccxt.pro's kraken has none of these (NotSupported). Kraken v2 (Spot WebSocket v2,
    # each channel's "Unsubscribe" request and acknowledgement) takes
    #   {"method":"unsubscribe","params":{"channel","symbol":[...], "depth"|"interval"},"req_id"}
    # and acknowledges each symbol with the request's req_id:
    #   {"method":"unsubscribe","req_id":3,"result":{"channel":"book","depth":10,
    #    "symbol":"BTC/USD"},"success":true,"time_in":"...","time_out":"..."}
    #   {"error":"Subscription Not Found","method":"unsubscribe","req_id":3,
    #    "success":false,"symbol":"BTC/USD","time_in":"...","time_out":"..."}
    # On a symbol's ack its watchers get ccxt's UnsubscribeError and its cache is dropped
    # (clean_unsubscription + clean_cache, as ccxt.pro's exchanges that have un-watch do),
    # so the next watch subscribes afresh. A refusal rejects the un-watch and keeps the
    # subscription (the exchange still holds it, or says it never did).

    async def un_watch_order_book(self, symbol, params={}):
        return await self.un_watch_order_book_for_symbols([symbol], params)

    async def un_watch_order_book_for_symbols(self, symbols, params={}):
        return await self._kraken_un_watch('orderbook', 'book', symbols, params)

    async def un_watch_trades(self, symbol, params={}):
        return await self.un_watch_trades_for_symbols([symbol], params)

    async def un_watch_trades_for_symbols(self, symbols, params={}):
        return await self._kraken_un_watch('trade', 'trade', symbols, params)

    async def un_watch_ticker(self, symbol, params={}):
        return await self.un_watch_tickers([symbol], params)

    async def un_watch_tickers(self, symbols=None, params={}):
        return await self._kraken_un_watch('ticker', 'ticker', symbols, params)

    async def un_watch_ohlcv(self, symbol, timeframe='1m', params={}):
        return await self._kraken_un_watch('ohlcv', 'ohlc', [symbol], params, timeframe)

    async def _kraken_un_watch(self, unified, channel, symbols, params, timeframe=None):
        """Unsubscribe ``channel`` for ``symbols`` (hashes ``<unified>@<symbol>``, as
        ccxt.pro's watch_* subscribe them); resolves True with the first symbol's ack."""
        await self.load_markets()
        if not symbols:
            raise ArgumentsRequired(self.id + ' un-watching ' + channel + ' requires a list of symbols')
        symbols = self.market_symbols(symbols, None, False)
        url = self.urls['api']['ws']['publicV2']
        groups = {}     # one request per depth: a book is unsubscribed at the depth it has
        for symbol in symbols:
            extra = None
            if channel == 'book':
                sync = self.book_syncs.get(symbol)
                extra = sync.depth if sync is not None else self._kraken_acked_depths.get(symbol)
            groups.setdefault(extra, []).append(symbol)
        waits = []
        for extra, group in groups.items():
            request_params = {'channel': channel, 'symbol': group}
            if extra is not None:
                request_params['depth'] = extra
            if timeframe is not None:
                request_params['interval'] = self.safe_value(self.timeframes, timeframe, timeframe)
            req_id = self.request_id()
            sub_hashes = [unified + '@' + symbol for symbol in group]
            unsub_hashes = ['unsubscribe:' + h for h in sub_hashes]
            record = {
                'id': req_id, 'unsubscribe': True, 'channel': channel,
                'topic': 'trades' if unified == 'trade' else unified,
                'symbols': group, 'subMessageHashes': sub_hashes, 'messageHashes': unsub_hashes,
                'timeframe': timeframe, 'pending': set(group),
            }
            self._kraken_unwatches[req_id] = record
            request = {'method': 'unsubscribe', 'params': self.extend(request_params, params),
                       'req_id': req_id}
            waits.append(self.watch_multiple(url, unsub_hashes, request, unsub_hashes, record))
        results = [await wait for wait in waits]
        return results[0]

    def _kraken_unsubscribe_ack(self, client, message):
        record = self._kraken_unwatches.get(message.get('req_id'))
        if record is None:
            return      # a resync's unsubscribe: its subscribe follows
        result = message.get('result')
        symbol = result.get('symbol') if isinstance(result, dict) else message.get('symbol')
        if symbol not in record['pending']:
            return
        record['pending'].discard(symbol)
        if not record['pending']:
            del self._kraken_unwatches[record['id']]
        i = record['symbols'].index(symbol)
        sub_hash, unsub_hash = record['subMessageHashes'][i], record['messageHashes'][i]
        if not message.get('success'):
            client.subscriptions.pop(unsub_hash, None)
            error = str(message.get('error'))
            broad = self.safe_dict(self.safe_dict(self.exceptions, 'ws', {}), 'broad', {})
            key = self.find_broadly_matched_key(broad, error)
            client.reject((broad[key] if key is not None else ExchangeError)(self.id + ' ' + error), unsub_hash)
            return
        if record['channel'] == 'book':
            self._kraken_forget_book(symbol)
        timeframe = record['timeframe']
        self.clean_unsubscription(client, sub_hash, unsub_hash)
        self.clean_cache({'topic': record['topic'], 'symbols': [symbol],
                          'symbolsAndTimeframes': [[symbol, timeframe]] if timeframe else []})

    def _kraken_forget_book(self, symbol):
        sync = self.book_syncs.pop(symbol, None)
        if sync is not None and sync.request_id is not None:
            self._kraken_resync_ids.pop(sync.request_id, None)
        self._kraken_acked_depths.pop(symbol, None)
        depths = self.safe_dict(self.options, 'wsOrderBookDepths')
        if depths:
            depths.pop(symbol, None)

    # ------------------------------------------------------------------ timestamps

    def _kraken_ms(self, text):
        """parse8601 for v2's fixed 'YYYY-MM-DDTHH:MM:SS.fffffffffZ' (same result: the
        first three fraction digits are the milliseconds), ccxt's parser otherwise. The
        whole seconds come from a small cache: consecutive messages share them."""
        if text is None:
            return None
        second = self._kraken_seconds.get(text[:19])
        if second is None and len(text) > 20:
            second = self._kraken_second(text[:19])
        if second is not None and len(text) > 23 and text[19] == '.' and text[-1] == 'Z':
            frac = text[20:-1]
            if frac.isdigit():
                return second + int(frac[:3])
        return self.parse8601(text)

    def _kraken_second(self, prefix):
        """ms of 'YYYY-MM-DDTHH:MM:SS' (UTC), or None when ccxt's parser would not
        accept it; remembered for the next messages."""
        second = self.parse8601(prefix + '.000Z')
        if second is not None:
            if len(self._kraken_seconds) >= 4096:
                self._kraken_seconds.clear()
            self._kraken_seconds[prefix] = second
        return second


def _text(value):
    # ccxt's safe_string of a JSON value: str(v), None for None/''
    return None if value is None or value == '' else str(value)
