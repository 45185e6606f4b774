"""Native Bitget adapter (v2 public WebSocket: spot and USDT-M futures).

ccxt.pro's ``bitget`` with the hot public handlers replaced: ``books`` (and the fixed
``books1/5/15/50`` snapshots), ``trade``, ``ticker`` (which also feeds
``watch_bids_asks``) and ``candle<tf>``. Everything else (private channels, the UTA v3
``topic`` messages, subscription acks, errors, ping/pong) runs through ccxt.pro's code.

What differs from ccxt.pro, on purpose:

* books are ``OrderBook`` rows ``[price, amount]``; ccxt.pro stores the wire strings as
  a third element of a ``CountedOrderBook`` row (``[price, amount, [p, a]]``) for its
  checksum. Here the compiled side keeps the wire text itself.
* a ``snapshot`` replaces the book (ccxt.pro merges it into whatever the book held);
  an update of a synchronised channel is applied straight from the frame's bytes
  (``handle_raw_message``, ``_core.diffs.apply_bitget_update``);
* the checksum is verified on every update and on every snapshot that carries one, and
  ``seq`` must increase; a mismatch, a ``seq`` that does not increase or an update
  without a snapshot resubscribes that one ``books`` channel (``unsubscribe`` +
  ``subscribe``: Bitget answers a subscription with a fresh snapshot), while the other
  symbols on the connection keep flowing. Waiters see ``ChecksumError`` /
  ``InvalidNonce`` only when ``options['watchOrderBook']['maxResyncs']`` (3) resyncs in a
  row did not give a verified update; then, as ccxt.pro does, the channel is unwatched.
"""
import ccxt.pro
import orjson
from ccxt.async_support.base.ws.cache import ArrayCache, ArrayCacheByTimestamp
from ccxt.base.errors import ChecksumError, InvalidNonce, NetworkError
from ccxt.base.precise import Precise

from ccxtpro_fast._core import CHECKSUM_OKX, OrderBook
from ccxtpro_fast._core.diffs import BitgetUpdateHook
from ccxtpro_fast.base.exchange import ExchangeMixin, raw_hook

__all__ = ['bitget']

_FIXED_DEPTHS = ('books1', 'books5', 'books15', 'books50')
_PUBLIC_TRADE_KEYS = frozenset(('ts', 'price', 'size', 'side', 'tradeId'))


def _exact_mul(a, b):
    """float of the exact product of two decimal strings, as ccxt's
    parse_number(Precise.string_mul(a, b)) gives it, without Precise."""
    ai, _, af = a.partition('.')
    bi, _, bf = b.partition('.')
    return float('%de-%d' % (int(ai + af) * int(bi + bf), len(af) + len(bf)))


class _BookSync:
    """Sync state of one ``books`` channel (one instType + instId)."""
    __slots__ = ('symbol', 'hash', 'arg', 'seq', 'synced', 'resyncing', 'failures', 'unsub_acks',
                 'verify', 'checksums', 'resyncs', 'reasons')

    def __init__(self, symbol, arg):
        self.symbol = symbol
        self.hash = 'orderbook:' + symbol
        self.arg = {'instType': arg.get('instType'), 'channel': 'books', 'instId': arg.get('instId')}
        self.seq = None
        self.synced = False
        self.resyncing = False
        self.failures = 0           # resyncs since the last verified update
        self.unsub_acks = 0         # our own unsubscribe acks still to swallow
        self.verify = True
        self.checksums = 0          # checksums verified (statistics)
        self.resyncs = 0            # resyncs started (statistics)
        self.reasons = []           # why each resync started: 'checksum' | 'seq' | 'no snapshot'


def _update_hook(exchange):
    """The transport's raw-frame hook (compiled, ``BitgetUpdateHook``): a ``books`` update
    of a synchronised channel is applied, checksummed and resolved in one core call
    (``_core.diffs.apply_bitget_update``, routed by the raw ``arg`` bytes that
    ``_bg_handle_books`` registered); everything else goes on to orjson and
    ``handle_message``."""
    return BitgetUpdateHook(exchange, exchange._bg_raw_routes, exchange._bg_raw_mismatch)


class bitget(ExchangeMixin, ccxt.pro.bitget):

    def __init__(self, config={}):
        # before ccxt's __init__, which reads every attribute (handle_raw_message's hook
        # holds it)
        self._bg_raw_routes = {}    # a push's raw "arg" bytes -> _BookSync (compiled path)
        super().__init__(config)
        self.book_syncs = {}        # (instType, instId) -> _BookSync
        self._bg_markets = {}       # (instType, instId) -> market
        self._bg_dispatch = self._bg_dispatch_table()

    def _bg_dispatch_table(self):
        """channel -> handler(client, message, arg), built once."""
        table = {
            'books': self._bg_handle_books,
            'trade': self._bg_handle_trades,
            'ticker': self._bg_handle_ticker,
        }
        for channel in _FIXED_DEPTHS:
            table[channel] = self._bg_handle_fixed_books
        self._bg_timeframes = {}
        for timeframe, interval in self.safe_dict(self.options, 'timeframes', {}).items():
            table['candle' + interval] = self._bg_handle_ohlcv
            self._bg_timeframes.setdefault('candle' + interval, timeframe)
        return table

    def set_markets(self, markets, currencies=None):
        self._bg_markets = {}
        return super().set_markets(markets, currencies)

    # ------------------------------------------------------------------ dispatch

    handle_raw_message = raw_hook(_update_hook)

    def _bg_raw_mismatch(self, client, data):
        """An update the raw hook applied whose checksum does not match: resynchronise,
        as _bg_handle_books does."""
        self._bg_resync(client, self._bg_raw_routes[orjson.dumps(orjson.loads(data)['arg'])], 'checksum')

    def handle_message(self, client, message):
        if type(message) is dict:
            arg = message.get('arg')
            if arg is not None and 'action' in message and type(arg) is dict:
                handler = self._bg_dispatch.get(arg.get('channel'))
                if handler is not None:
                    handler(client, message, arg)
                    return
            elif message.get('event') == 'unsubscribe' and self._bg_own_unsubscribe(message):
                return
        super().handle_message(client, message)

    def _bg_market(self, arg):
        key = (arg.get('instType'), arg.get('instId'))
        market = self._bg_markets.get(key)
        if market is None:
            inst_type = key[0]
            market_type = 'spot' if inst_type is not None and inst_type.lower() == 'spot' else 'contract'
            market = self.safe_market(key[1], None, None, market_type)
            if self.markets_by_id:
                self._bg_markets[key] = market
        return market

    # ------------------------------------------------------------------ books

    def _bg_handle_books(self, client, message, arg):
        """The ``books`` channel: a snapshot, then updates, each with a checksum and ``seq``.

        Wire sample (Bitget's recorded books channel, tests/data/sessions)::

            {"action":"update","arg":{"instType":"sp","channel":"books","instId":"STGUSDT"},
             "data":[{"asks":[["3.034","2.554"],["3.040","1.667"]],
                      "bids":[["2.744","2.538"],["1.296","0"]],
                      "checksum":769598277,"ts":"1649290077621"}]}

        v2 adds ``"seq"`` to ``data[0]`` (and uses ``"instType":"SPOT"``/``"USDT-FUTURES"``).
        The steps, as Bitget's Depth Channel docs give them:

        1. the first push after subscribing is the full book (``action: snapshot``): it
           replaces the local book;
        2. "merging update data into snapshot": a level with the same price and size "0"
           is deleted, another size replaces it, a new price is inserted in order (one
           ``store_levels`` call per side, the wire strings kept for the checksum);
        3. checksum: CRC32 (signed) of the top 25 ``bid:ask`` levels interleaved, from
           the original strings ("0.5000", not "0.5"), compared with ``checksum``;
        ``seq`` "increases with each update": one that does not is out of order.
        """
        st = self.book_syncs.get((arg.get('instType'), arg.get('instId')))
        if st is None:
            st = self._bg_new_sync(arg)
        data = message['data']
        if type(data) is not list or not data:
            # tokenized stocks: a dict; an empty list: ccxt.pro's returns without a book
            return super().handle_order_book(client, message)
        raw = data[0]
        book = self.orderbooks.get(st.symbol)
        if book is None:
            book = self.orderbooks[st.symbol] = OrderBook({'symbol': st.symbol})
        seq = raw.get('seq')
        if seq is not None and type(seq) is not int:
            seq = int(seq)
        checksum = raw.get('checksum')
        if message['action'] == 'snapshot':
            # 1. the snapshot replaces the book; our own unsubscribe was acked before it
            asks, bids = book['asks'], book['bids']
            asks.clear()
            bids.clear()
            asks.store_levels(raw.get('asks') or raw.get('a') or ())
            bids.store_levels(raw.get('bids') or raw.get('b') or ())
            st.synced = True
            st.resyncing = False
            st.unsub_acks = 0
            st.seq = seq
            st.verify = self.handle_option('watchOrderBook', 'checksum', True) is True
            # a snapshot's checksum is 0 where none is computed (fixed-depth and UTA samples)
            if checksum and st.verify:
                if book.checksum(CHECKSUM_OKX) != checksum:
                    return self._bg_resync(client, st, 'checksum')
                st.checksums += 1
        elif not st.synced:
            if not st.resyncing:
                self._bg_resync(client, st, 'no snapshot')
            return      # updates before the new snapshot are obsolete: it supersedes them
        else:
            if seq is not None:
                if st.seq is not None and seq <= st.seq:
                    return self._bg_resync(client, st, 'seq')
                st.seq = seq
            # 2. merge the update
            book['asks'].store_levels(raw.get('asks') or raw.get('a') or ())
            book['bids'].store_levels(raw.get('bids') or raw.get('b') or ())
            # 3. verify
            if checksum is not None and st.verify:
                if book.checksum(CHECKSUM_OKX) != checksum:
                    return self._bg_resync(client, st, 'checksum')
                st.checksums += 1
                st.failures = 0
            # the next updates of this channel can take the compiled path
            self._bg_raw_routes[orjson.dumps(arg)] = st
        ts = raw.get('ts')
        if ts is not None:
            ts = int(float(ts))
        book['timestamp'] = ts
        book['datetime'] = self.iso8601(ts)
        client.resolve(book, st.hash)

    def _bg_new_sync(self, arg):
        st = _BookSync(self._bg_market(arg)['symbol'], arg)
        self.book_syncs[(arg.get('instType'), arg.get('instId'))] = st
        self._bg_raw_routes.clear()     # no route may lead to a replaced sync state
        return st

    def _bg_resync(self, client, st, reason):
        """Take a new snapshot of this one channel: unsubscribe + subscribe."""
        st.synced = False
        st.resyncs += 1
        st.reasons.append(reason)
        st.failures += 1
        limit = self.safe_integer(self.safe_dict(self.options, 'watchOrderBook', {}), 'maxResyncs', 3)
        if st.failures > limit:
            error_class = ChecksumError if reason == 'checksum' else InvalidNonce
            detail = self.orderbook_checksum_message(st.symbol) if reason == 'checksum' else \
                'order book ' + st.symbol + ' lost its sequence (' + reason + ')'
            return self._bg_fail(client, st, error_class(self.id + ' ' + detail + ', ' + str(limit) +
                                                         ' resyncs in a row failed'))
        if st.resyncing:
            return
        st.resyncing = True
        st.unsub_acks += 1
        self.spawn(self._bg_resubscribe, client, st)

    async def _bg_resubscribe(self, client, st):
        try:
            await client.send({'op': 'unsubscribe', 'args': [st.arg]})
            await client.send({'op': 'subscribe', 'args': [st.arg]})
        except Exception as error:
            # the connection is going away: its close handling rejects the waiters and a
            # new connection resubscribes (that snapshot resets this state)
            st.resyncing = False
            if not client.closed():
                self._bg_fail(client, st, NetworkError(self.id + ' order book resync failed: ' + str(error)))

    def _bg_fail(self, client, st, error):
        st.synced = False
        st.resyncing = False
        st.failures = 0
        client.reject(error, st.hash)
        # as ccxt.pro after a checksum error: drop the channel, the next watch subscribes anew
        self.spawn(self.un_watch_order_book, st.symbol)

    def _bg_own_unsubscribe(self, message):
        """Swallow the ack of a resync's unsubscribe (ccxt.pro's handler would drop the book
        and reject the waiters with UnsubscribeError)."""
        arg = message.get('arg')
        if type(arg) is not dict or arg.get('channel') != 'books':
            return False
        st = self.book_syncs.get((arg.get('instType'), arg.get('instId')))
        if st is None or not st.unsub_acks:
            return False
        st.unsub_acks -= 1
        return True

    def _bg_handle_fixed_books(self, client, message, arg):
        """``books1/5/15/50``: a snapshot of the top N every push, a new book each time
        as ccxt.pro makes it. Wire sample (JKorf/Bitget.Net fixtures)::

            {"action":"snapshot","arg":{"instType":"SPOT","channel":"books5","instId":"BTCUSDT"},
             "data":[{"asks":[["26274.9","0.0009"],["26275.0","0.0500"]],
                      "bids":[["26274.8","0.0009"],["26274.7","0.0027"]],
                      "checksum":0,"ts":"1695710946294"}],"ts":1695710946294}
        """
        data = message['data']
        if type(data) is not list or not data:
            return super().handle_order_book(client, message)
        raw = data[0]
        symbol = self._bg_market(arg)['symbol']
        ts = raw.get('ts')
        if ts is not None:
            ts = int(float(ts))
        book = OrderBook({'symbol': symbol, 'timestamp': ts})   # its datetime: ccxt's iso8601
        book['asks'].store_levels(raw.get('asks') or raw.get('a') or ())
        book['bids'].store_levels(raw.get('bids') or raw.get('b') or ())
        self.orderbooks[symbol] = book
        client.resolve(book, 'orderbook:' + symbol)

    # ------------------------------------------------------------------ trades

    def _bg_handle_trades(self, client, message, arg):
        """Public trades, newest first in ``data``. Wire sample (ccxt's, docs)::

            {"action":"snapshot","arg":{"instType":"SPOT","channel":"trade","instId":"BTCUSDT"},
             "data":[{"ts":"1701910980366","price":"43854.01","size":"0.0535","side":"buy",
                      "tradeId":"1116461060594286593"}],"ts":1701910980730}
        """
        market = self._bg_market(arg)
        symbol = market['symbol']
        stored = self.trades.get(symbol)
        if stored is None:
            stored = self.trades[symbol] = ArrayCache(self.safe_integer(self.options, 'tradesLimit', 1000))
        data = message.get('data') or ()
        fast = not market.get('inverse')
        append = stored.append
        for i in range(len(data) - 1, -1, -1):     # chronological order
            trade = data[i]
            if fast and trade.keys() <= _PUBLIC_TRADE_KEYS:
                append(self._bg_trade(trade, symbol))
            else:
                append(self.parse_ws_trade(trade, market))
        client.resolve(stored, 'trade:' + symbol)

    def _bg_trade(self, trade, symbol):
        ts = trade.get('ts')
        timestamp = int(float(ts)) if ts is not None else None
        price = trade.get('price')
        amount = trade.get('size')
        try:
            cost = _exact_mul(price, amount)
        except (AttributeError, TypeError, ValueError):
            cost = None if price is None or amount is None else \
                self.parse_number(Precise.string_mul(price, amount))
        return {
            'info': trade, 'id': trade.get('tradeId'), 'order': None, 'timestamp': timestamp,
            'datetime': self.iso8601(timestamp), 'symbol': symbol, 'type': None, 'side': trade.get('side'),
            'takerOrMaker': None, 'price': self.parse_number(price), 'amount': self.parse_number(amount),
            'cost': cost, 'fee': {'cost': None, 'currency': None}, 'fees': [],
        }

    # ------------------------------------------------------------------ tickers

    def _bg_handle_ticker(self, client, message, arg):
        """The ticker channel feeds watch_ticker and watch_bids_asks. Wire sample (ccxt's)::

            {"action":"snapshot","arg":{"instType":"SPOT","channel":"ticker","instId":"BTCUSDT"},
             "data":[{"instId":"BTCUSDT","lastPr":"43528.19","open24h":"42267.78",
                      "high24h":"44490.00","low24h":"41401.53","change24h":"0.03879",
                      "bidPr":"43528","askPr":"43528.01","bidSz":"0.0334","askSz":"0.1917",
                      "baseVolume":"15002.4216","quoteVolume":"648006446.7164",
                      "openUtc":"44071.18","changeUtc24h":"-0.01232","ts":"1701842994338"}],
             "ts":1701842994341}
        """
        data = message.get('data')
        raw = data[0] if data else {}
        if 'lastPr' not in raw:
            return super().handle_ticker(client, message)     # another shape: ccxt.pro's parser
        inst_id = raw.get('instId')
        market = self._bg_market(arg if inst_id is None or inst_id == arg.get('instId')
                                 else {'instType': arg.get('instType'), 'instId': inst_id})
        symbol = market['symbol']
        ts = raw.get('ts')
        timestamp = int(float(ts)) if ts is not None else self.safe_integer(message, 'ts')
        datetime = self.iso8601(timestamp)
        bid, ask = raw.get('bidPr'), raw.get('askPr')
        bid_volume, ask_volume = raw.get('bidSz'), raw.get('askSz')
        # bid/ask: safe_ticker's result when only these are given, built directly
        bidask = {
            'symbol': symbol, 'timestamp': timestamp, 'datetime': datetime,
            'ask': self.parse_number(self.omit_zero(ask)), 'askVolume': self.parse_number(ask_volume),
            'bid': self.parse_number(self.omit_zero(bid)), 'bidVolume': self.parse_number(bid_volume),
            'info': raw, 'high': None, 'low': None, 'open': None, 'close': None, 'last': None,
            'change': None, 'percentage': None, 'average': None, 'vwap': None, 'baseVolume': None,
            'quoteVolume': None, 'previousClose': None, 'indexPrice': None, 'markPrice': None,
        }
        self.bidsasks[symbol] = bidask
        client.resolve(bidask, 'bidask:' + symbol)
        close = raw.get('lastPr')
        change = raw.get('change24h')
        # the 24h arithmetic (average, vwap, change) is ccxt's own safe_ticker, unchanged
        ticker = self.safe_ticker({
            'symbol': symbol, 'timestamp': timestamp, 'datetime': datetime,
            'high': raw.get('high24h'), 'low': raw.get('low24h'), 'bid': bid, 'bidVolume': bid_volume,
            'ask': ask, 'askVolume': ask_volume, 'vwap': None, 'open': raw.get('open24h'),
            'close': close, 'last': close, 'previousClose': None, 'change': None,
            'percentage': Precise.string_mul(change, '100') if change is not None else None,
            'average': None, 'baseVolume': raw.get('baseVolume'), 'quoteVolume': raw.get('quoteVolume'),
            'info': raw,
        }, market)
        self.tickers[symbol] = ticker
        client.resolve(ticker, 'ticker:' + symbol)

    # ------------------------------------------------------------------ candles

    def _bg_handle_ohlcv(self, client, message, arg):
        """``candle<interval>``. Wire sample (ccxt's)::

            {"action":"snapshot","arg":{"instType":"SPOT","channel":"candle1m","instId":"BTCUSDT"},
             "data":[["1701871620000","44080.23","44080.23","44028.5","44028.51","9.9287",
                      "437404.105512","437404.105512"]],"ts":1701901610417}
        """
        market = self._bg_market(arg)
        symbol = market['symbol']
        timeframe = self._bg_timeframes[arg['channel']]
        by_timeframe = self.ohlcvs.get(symbol)
        if by_timeframe is None:
            by_timeframe = self.ohlcvs[symbol] = {}
        stored = by_timeframe.get(timeframe)
        if stored is None:
            stored = by_timeframe[timeframe] = ArrayCacheByTimestamp(self.safe_integer(self.options, 'OHLCVLimit', 1000))
        volume = 6 if market.get('inverse') else 5
        number = self.parse_number
        for candle in message.get('data') or ():
            if type(candle) is list and len(candle) > volume:
                stored.append([int(float(candle[0])), number(candle[1]), number(candle[2]),
                               number(candle[3]), number(candle[4]), number(candle[volume])])
            else:
                stored.append(self.parse_ws_ohlcv(candle, market))
        client.resolve(stored, 'candles:' + timeframe + ':' + symbol)
