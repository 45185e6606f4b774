"""Native OKX v5 adapter: ccxt.pro's ``okx`` with the hot public handlers replaced.

Replaced: the data pushes of ``books`` / ``books-l2-tbt`` / ``books50-l2-tbt`` /
``books-rpi`` (snapshot + updates, sequence and checksum), ``books5`` and ``bbo-tbt``
(snapshot every push), ``trades``/``trades-all``, ``tickers`` and ``candle*``. They are
reached through a channel -> handler table built once per exchange instance; every other
message (acks, errors, login, private channels, order responses) goes to ccxt.pro's
``handle_message`` unchanged, and so do all ``watch_*``/``un_watch_*`` methods.

What differs from ccxt.pro, on purpose:

* a whole level list goes to the compiled book in one ``store_levels`` call, with the
  wire strings, so the book can checksum the exchange's own text; an update that
  continues its chain is applied straight from the frame's bytes
  (``handle_raw_message``, ``_core.diffs.apply_okx_update``);
* every published checksum is verified after every snapshot and update (option
  ``watchOrderBook.checksum``, default True; ccxt.pro verifies none). A checksum of 0 is
  not verified: OKX now documents the field as deprecated and "fixed to 0";
* a checksum mismatch or a ``prevSeqId`` gap resynchronises only that channel and
  instrument (unsubscribe + subscribe on the same connection; OKX sends a snapshot only in
  reply to a subscribe) while the waiters keep waiting; they get ccxt's ``ChecksumError``
  / ``InvalidNonce`` only when the resync fails (``watchOrderBook.maxResyncAttempts``
  resyncs without one verified update in between, or no snapshot within
  ``watchOrderBook.resyncTimeout`` ms). ccxt.pro rejects the waiter at the first gap and
  resubscribes only on the next ``watch_order_book`` call.

Unified results (books, trades, tickers, bids/asks, OHLCV) are ccxt.pro's: the trade,
ticker and bid/ask parsers are ccxt's own; the book and candle paths produce the same
values (floats from the same decimal text) without the per-level Python calls.
"""
import ccxt.pro
import orjson
from ccxt.async_support.base.ws.cache import ArrayCache, ArrayCacheByTimestamp
from ccxt.base.errors import ChecksumError, InvalidNonce

from ccxtpro_fast._core import CHECKSUM_OKX
from ccxtpro_fast._core.diffs import OkxUpdateHook, okx_verify_checksums
from ccxtpro_fast.base.exchange import ExchangeMixin, raw_hook

__all__ = ['okx', 'OkxNative']

# levels kept per channel, as ccxt.pro's handle_order_book
_DEPTHS = {
    'bbo-tbt': 1,
    'books': 400,
    'books5': 5,
    'books-rpi': 400,
    'books-l2-tbt': 400,
    'books50-l2-tbt': 50,
}
_INCREMENTAL = ('books', 'books-rpi', 'books-l2-tbt', 'books50-l2-tbt')
_CHECKSUM_DEPTH = 25


def _apply_levels(book, update, verify):
    """Store one ``books`` push's sides (wire strings, one call a side) and check its
    checksum: (got, expected) on a mismatch, else None. A checksum of 0 is OKX's
    deprecated placeholder and is not checked."""
    asks = update.get('asks')
    if asks:
        book['asks'].store_levels(asks)
    bids = update.get('bids')
    if bids:
        book['bids'].store_levels(bids)
    expected = update.get('checksum')
    if verify and expected:
        got = book.checksum(CHECKSUM_OKX, _CHECKSUM_DEPTH)
        if got != expected:
            return (got, expected)
    return None


def _update_hook(exchange):
    """The transport's raw-frame hook (compiled, ``OkxUpdateHook``). A ``books`` update
    that continues its book's ``seqId`` chain is applied, checksummed and resolved in one
    core call (``apply_okx_update``, routed by the raw ``arg`` bytes ``_okx_on_books``
    registered); everything else (snapshots, gaps, other channels, any frame while a
    resync runs) goes on to orjson and ``handle_message``."""
    return OkxUpdateHook(exchange, exchange._okx_resyncs, exchange._okx_raw_routes,
                         exchange._okx_raw_mismatch)


class OkxNative:
    """The replaced handlers, shared by ``okx`` and its siblings on the same protocol
    (``myokx``, ``okxus``). Put it after ``ExchangeMixin`` and before ccxt.pro's class."""

    def describe(self):
        return self.deep_extend(super().describe(), {
            'options': {
                'watchOrderBook': {
                    'checksum': True,           # verify every checksum OKX publishes
                    'maxResyncAttempts': 3,     # resyncs in a row before the waiters see the error
                    'resyncTimeout': 10000,     # ms for the new snapshot to arrive
                },
            },
        })

    def __init__(self, config={}):
        # before ccxt's __init__, which reads every attribute (handle_raw_message's hook
        # holds these two)
        self._okx_resyncs = {}          # (client, channel, instId) -> resync state
        self._okx_raw_routes = {}       # a push's raw "arg" bytes -> (symbol, message hash)
        super().__init__(config)
        self._okx_inst = {}             # instId -> (market, symbol), known markets only
        self._okx_inst_src = None       # the markets dict the cache was built from
        self._okx_volume_index = {}     # symbol -> index of the volume in a candle row
        handlers = {channel: self._okx_on_books for channel in _INCREMENTAL}
        handlers['books5'] = self._okx_on_top
        handlers['bbo-tbt'] = self._okx_on_top
        handlers['trades'] = self._okx_on_trades
        handlers['trades-all'] = self._okx_on_trades
        handlers['tickers'] = self._okx_on_tickers
        # ccxt.pro finds candles by prefix; the table holds every bar it can subscribe
        for interval in set(self.timeframes.values()):
            handlers['candle' + interval] = self._okx_on_candles
        self._okx_timeframes = {'candle' + v: self.find_timeframe(v) for v in set(self.timeframes.values())}
        self._okx_handlers = handlers

    # ------------------------------------------------------------------ dispatch

    handle_raw_message = raw_hook(_update_hook)

    def _okx_raw_mismatch(self, client, data, result):
        """An update the raw hook applied whose checksum does not match: resynchronise,
        as _okx_on_books does."""
        arg = orjson.loads(data)['arg']
        channel = arg['channel']
        inst_id = arg.get('instId')
        symbol = self._okx_market(inst_id)[1]
        self._okx_resync(client, channel, inst_id, symbol, channel + ':' + symbol, ChecksumError(
            '%s watchOrderBook %s %s: checksum %s, expected %s' % ((self.id, channel, inst_id) + result)))

    def handle_message(self, client, message):
        """Data pushes (``{"arg": {...}, "data": [...]}``, no ``event``/``code``) of the
        replaced channels go straight to their handler; everything else is ccxt.pro's."""
        if type(message) is dict:
            arg = message.get('arg')
            if arg is not None:
                event = message.get('event')
                if event is None:
                    if 'code' not in message:
                        handler = self._okx_handlers.get(arg.get('channel'))
                        if handler is not None:
                            return handler(client, message)
                elif event == 'unsubscribe' and self._okx_resyncs and self._okx_own_unsubscribe(client, arg):
                    return None
        return super().handle_message(client, message)

    def _okx_market(self, inst_id):
        """(market, symbol) of an instId; ccxt's safe_market for unknown ids."""
        markets = self.markets
        if markets is not self._okx_inst_src:
            self._okx_inst.clear()
            self._okx_volume_index.clear()
            self._okx_inst_src = markets
        entry = self._okx_inst.get(inst_id)
        if entry is None:
            market = self.safe_market(inst_id, None, '-')
            entry = (market, market['symbol'])
            if self.markets_by_id and inst_id in self.markets_by_id:
                self._okx_inst[inst_id] = entry
        return entry

    # ------------------------------------------------------------------ books

    def _okx_on_books(self, client, message):
        """``books`` (and the other incremental channels): first a snapshot, then updates.

        Snapshot (OKX docs "Sequence ID" example, step 1: ``prevSeqId`` -1)::

            {"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot","data":[{
             "asks":[["8476.98","415","0","13"],["8477","7","0","2"]],
             "bids":[["8476.97","256","0","12"],["8475.55","101","0","1"]],
             "ts":"1597026383085","checksum":-855196043,"prevSeqId":-1,"seqId":123456}]}

        Update (a deleted level has size "0")::

            {"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{
             "asks":[["30247.5","0","0","0"],["30249.3","0.06523858","0","1"]],
             "bids":[["30229.4","2","0","1"]],
             "ts":"1652459225507","checksum":830931827,"prevSeqId":123456,"seqId":123457}]}

        Sequence rule (the docs' example steps 2-5): an update applies when its
        ``prevSeqId`` equals the ``seqId`` of the last message applied; that holds for
        the keep-alive (step 3: empty sides, ``seqId == prevSeqId``) and for a reset after
        maintenance (step 4: ``seqId < prevSeqId``), so neither is a gap. Messages from
        before OKX added the fields (the 2022 recording) carry neither and are chained by
        the checksum alone. Checksum ("Checksum" section, merge steps 1-2 then
        "Calculate Checksum"): after merging, CRC32 (signed) of the top 25 bids and asks
        interleaved ``bid:ask``, each ``price:size`` as received.
        """
        arg = message['arg']
        channel = arg['channel']
        inst_id = arg.get('instId')
        market, symbol = self._okx_market(inst_id)
        message_hash = channel + ':' + symbol
        action = message.get('action')
        data = message.get('data') or ()
        verify = self._okx_verify_checksums()
        if action == 'update':
            book = self.orderbooks.get(symbol)
            if book is None:
                return None     # no snapshot yet (or a resync is waiting for one)
            iso8601 = self.iso8601
            for update in data:
                prev = update.get('prevSeqId')
                if prev is not None and prev != -1 and prev != book['nonce']:
                    return self._okx_resync(client, channel, inst_id, symbol, message_hash, InvalidNonce(
                        '%s watchOrderBook %s %s: prevSeqId %s does not follow seqId %s' % (
                            self.id, channel, inst_id, prev, book['nonce'])))
                mismatch = _apply_levels(book, update, verify)
                if mismatch:
                    return self._okx_resync(client, channel, inst_id, symbol, message_hash, ChecksumError(
                        '%s watchOrderBook %s %s: checksum %s, expected %s' % (
                            (self.id, channel, inst_id) + mismatch)))
                if self._okx_resyncs:
                    self._okx_resync_done(client, channel, inst_id)
                else:
                    # the next updates of this chain can take the compiled path
                    self._okx_raw_routes[orjson.dumps(arg)] = (symbol, message_hash)
                timestamp = int(update['ts'])
                book['nonce'] = update.get('seqId')
                book['timestamp'] = timestamp
                book['datetime'] = iso8601(timestamp)
                client.resolve(book, message_hash)
            return None
        if action == 'snapshot':
            for update in data:
                book = self.order_book({}, _DEPTHS.get(channel))
                book['symbol'] = symbol
                mismatch = _apply_levels(book, update, verify)
                if mismatch:
                    self.orderbooks.pop(symbol, None)
                    return self._okx_resync(client, channel, inst_id, symbol, message_hash, ChecksumError(
                        '%s watchOrderBook %s %s: snapshot checksum %s, expected %s' % (
                            (self.id, channel, inst_id) + mismatch)))
                timestamp = self.safe_integer(update, 'ts')
                book['nonce'] = update.get('seqId')
                book['timestamp'] = timestamp
                book['datetime'] = self.iso8601(timestamp)
                self.orderbooks[symbol] = book
                if self._okx_resyncs:
                    self._okx_resync_snapshot(client, channel, inst_id)
                client.resolve(book, message_hash)
        return None

    def _okx_on_top(self, client, message):
        """``books5`` and ``bbo-tbt``: every push is a snapshot of the top 5 / top 1.

        ::

            {"arg":{"channel":"bbo-tbt","instId":"BCH-USDT-SWAP"},"data":[{
             "asks":[["111.06","55154","0","2"]],"bids":[["111.05","57745","0","2"]],
             "ts":"1670324386802","seqId":363996337}]}

        As ccxt.pro: the book is kept only when ``watch_order_book`` subscribed this
        channel (``watch_bids_asks`` shares ``bbo-tbt``), and ``bbo-tbt`` also feeds the
        bid/ask cache.
        """
        arg = message['arg']
        channel = arg['channel']
        market, symbol = self._okx_market(arg.get('instId'))
        message_hash = channel + ':' + symbol
        if message_hash in client.subscriptions:
            book = self.orderbooks.get(symbol)
            if book is None:
                book = self.orderbooks[symbol] = self.order_book({}, _DEPTHS[channel])
            iso8601 = self.iso8601
            for update in message.get('data') or ():
                timestamp = self.safe_integer(update, 'ts')
                bids, asks = book['bids'], book['asks']
                bids.clear()
                bids.store_levels(update.get('bids') or ())
                asks.clear()
                asks.store_levels(update.get('asks') or ())
                book['nonce'] = None        # parse_order_book() + reset(), as ccxt.pro
                book['timestamp'] = timestamp
                book['datetime'] = iso8601(timestamp)
                book['symbol'] = symbol
                client.resolve(book, message_hash)
        if channel == 'bbo-tbt':
            self.handle_bid_ask(client, message)

    def _okx_verify_checksums(self):
        return okx_verify_checksums(self.options)

    # ------------------------------------------------------------------ resync

    def _okx_resync(self, client, channel, inst_id, symbol, message_hash, error):
        """Resynchronise one channel + instrument: drop its book (later updates of the old
        chain are ignored), then unsubscribe and subscribe it again on the same connection
        so OKX sends a fresh snapshot. Waiters keep waiting; they see ``error`` only if
        this is attempt maxResyncAttempts + 1 or the snapshot does not come in time."""
        self.orderbooks.pop(symbol, None)
        key = (client, channel, inst_id)
        state = self._okx_resyncs.get(key)
        if state is None:
            state = self._okx_resyncs[key] = {'attempts': 0, 'unsubscribes': 0, 'timer': None,
                                              'message_hash': message_hash, 'snapshot': False}
        state['attempts'] += 1
        state['snapshot'] = False
        state['error'] = error
        options = self.safe_dict(self.options, 'watchOrderBook', {})
        if state['attempts'] > self.safe_integer(options, 'maxResyncAttempts', 3):
            return self._okx_resync_failed(key, state)
        self.log_resync(client, channel, inst_id, error, state['attempts'])
        topic = {'channel': channel, 'instId': inst_id}
        try:
            client.send_now({'op': 'unsubscribe', 'args': [topic]})
            client.send_now({'op': 'subscribe', 'args': [topic]})
        except Exception:
            # the connection is going away: ccxt's reconnect path resubscribes it
            self._okx_resyncs.pop(key, None)
            return None
        state['unsubscribes'] += 1
        if state['timer'] is not None:
            state['timer'].cancel()
        timeout = self.safe_number(options, 'resyncTimeout', 10000) / 1000.0
        loop = self.asyncio_loop
        if loop is not None:
            state['timer'] = loop.call_later(timeout, self._okx_resync_timeout, key, state)
        return None

    def log_resync(self, client, channel, inst_id, error, attempt):
        """Called at the start of every resync (a hook for logging and tests)."""
        if self.verbose:
            self.log('resync', channel, inst_id, 'attempt', attempt, type(error).__name__, str(error))

    def _okx_own_unsubscribe(self, client, arg):
        """True for the unsubscribe ack of a resync (ccxt.pro would reject the waiters)."""
        state = self._okx_resyncs.get((client, arg.get('channel'), arg.get('instId')))
        if state is None or state['unsubscribes'] <= 0:
            return False
        state['unsubscribes'] -= 1
        return True

    def _okx_resync_snapshot(self, client, channel, inst_id):
        state = self._okx_resyncs.get((client, channel, inst_id))
        if state is not None:
            state['snapshot'] = True
            if state['timer'] is not None:
                state['timer'].cancel()
                state['timer'] = None

    def _okx_resync_done(self, client, channel, inst_id):
        # the resync is over once an update verifies on top of the new snapshot
        key = (client, channel, inst_id)
        state = self._okx_resyncs.get(key)
        if state is not None and state['snapshot'] and state['unsubscribes'] <= 0:
            del self._okx_resyncs[key]

    def _okx_resync_timeout(self, key, state):
        if self._okx_resyncs.get(key) is state and not state['snapshot']:
            self._okx_resync_failed(key, state)

    def _okx_resync_failed(self, key, state):
        """The waiters get the error; the subscription is left marked 'resync', so the next
        watch_order_book unsubscribes and subscribes it as ccxt.pro does after a gap."""
        client = key[0]
        if state['timer'] is not None:
            state['timer'].cancel()
        self._okx_resyncs.pop(key, None)
        message_hash = state['message_hash']
        if message_hash in client.subscriptions:
            client.subscriptions[message_hash] = 'resync'
        client.reject(state['error'], message_hash)
        return None

    async def close(self, clean_instance_data=False):
        for state in self._okx_resyncs.values():
            if state['timer'] is not None:
                state['timer'].cancel()
        self._okx_resyncs.clear()
        await super().close(clean_instance_data)

    # ------------------------------------------------------------------ trades, tickers, candles

    def _okx_on_trades(self, client, message):
        """``trades`` / ``trades-all``::

            {"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT",
             "tradeId":"130639474","px":"42219.9","sz":"0.12060306","side":"buy",
             "ts":"1630048897897","count":"3","source":"0","seqId":1234}]}
        """
        arg = message['arg']
        channel = arg.get('channel')
        market, symbol = self._okx_market(arg.get('instId'))
        stored = self.trades.get(symbol)
        if stored is None:
            stored = self.trades[symbol] = ArrayCache(self.safe_integer(self.options, 'tradesLimit', 1000))
        message_hash = channel + ':' + symbol
        parse_trade = self.parse_trade
        for trade in message.get('data') or ():
            stored.append(parse_trade(trade, market))
            client.resolve(stored, message_hash)

    def _okx_on_tickers(self, client, message):
        """``tickers``::

            {"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"instType":"SPOT",
             "instId":"BTC-USDT","last":"9999.99","lastSz":"0.1","askPx":"9999.99",
             "askSz":"11","bidPx":"8888.88","bidSz":"5","open24h":"9000","high24h":"10000",
             "low24h":"8888.88","volCcy24h":"2222","vol24h":"2222","sodUtc0":"2222",
             "sodUtc8":"2222","ts":"1597026383085"}]}
        """
        arg = message['arg']
        market, symbol = self._okx_market(arg.get('instId'))
        self.handle_bid_ask(client, message)
        parse_ticker = self.parse_ticker
        new = {}
        for item in message.get('data') or ():
            ticker = parse_ticker(item, market)
            self.tickers[symbol] = ticker
            new[symbol] = ticker
        client.resolve(new, 'tickers::' + symbol)

    def _okx_on_candles(self, client, message):
        """``candle<bar>`` (on /ws/v5/business)::

            {"arg":{"channel":"candle1D","instId":"BTC-USDT"},"data":[["1597026383085",
             "8533.02","8553.74","8527.17","8548.26","45247","529.5858061","5529.5858061","0"]]}

        Rows become ``[ts, o, h, l, c, volume]`` exactly as ccxt's ``parse_ohlcv`` makes
        them (volume: base size on spot, column 6 on derivatives), without its per-row
        market-type lookup.
        """
        arg = message['arg']
        channel = arg['channel']
        market, symbol = self._okx_market(arg.get('instId'))
        timeframe = self._okx_timeframes.get(channel)
        volume_index = self._okx_volume_index.get(symbol)
        if volume_index is None:
            kind = self.handle_market_type_and_params('fetchOHLCV', market, None)[0]
            volume_index = self._okx_volume_index[symbol] = 5 if kind == 'spot' else 6
        by_timeframe = self.ohlcvs.get(symbol)
        if by_timeframe is None:
            by_timeframe = self.ohlcvs[symbol] = {}
        stored = by_timeframe.get(timeframe)
        hash_by_id = channel + ':' + market['id']
        hash_multi = 'multi:' + channel + ':' + symbol
        for row in message.get('data') or ():
            try:
                parsed = [int(float(row[0])), float(row[1]), float(row[2]), float(row[3]), float(row[4]),
                          float(row[volume_index])]
            except (TypeError, ValueError, IndexError):
                parsed = self.parse_ohlcv(row, market)      # odd row: ccxt's tolerant parser
            if stored is None:
                stored = ArrayCacheByTimestamp(self.safe_integer(self.options, 'OHLCVLimit', 1000))
                if symbol is not None and timeframe is not None:
                    by_timeframe[timeframe] = stored
            stored.append(parsed)
            client.resolve(stored, hash_by_id)
            client.resolve([symbol, timeframe, stored], hash_multi)



class okx(ExchangeMixin, OkxNative, ccxt.pro.okx):
    """ccxt.pro's okx with the native book, trade, ticker and candle handlers (see the
    module docstring)."""
