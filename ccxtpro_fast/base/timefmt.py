"""ccxt's ``iso8601``, fast for the common call.

ccxt builds a ``datetime`` per call (~5 us, more than a whole book update in the core).
Messages arrive in bursts that share their second, so the text up to the second is made
once by ccxt's own function and reused (the next seconds of the same minute are that
text with the seconds replaced); anything but an int millisecond timestamp in
range goes to ccxt's function, so the results are ccxt's in every case."""

_MILLIS = tuple('%03dZ' % ms for ms in range(1000))
_SECONDS = tuple('%02d.' % second for second in range(60))
_MAX_TIMESTAMP = 8640000000000000   # ccxt's upper bound


class Iso8601:
    __slots__ = ('second', 'prefix', 'minute', 'minute_prefix', 'slow')

    def __init__(self, slow):
        self.second = -1
        self.prefix = ''        # 'YYYY-MM-DDTHH:MM:SS.' of self.second
        self.minute = -1
        self.minute_prefix = ''  # 'YYYY-MM-DDTHH:MM:' of self.minute
        self.slow = slow

    def __call__(self, timestamp=None):
        if type(timestamp) is not int or not 0 <= timestamp <= _MAX_TIMESTAMP:
            return self.slow(timestamp)
        second, ms = divmod(timestamp, 1000)
        if second != self.second:
            minute, in_minute = divmod(second, 60)
            if minute == self.minute:
                # a new second of the same minute (a 100 ms stream: every tenth message)
                self.second = second
                self.prefix = prefix = self.minute_prefix + _SECONDS[in_minute]
                return prefix + _MILLIS[ms]
            text = self.slow(timestamp)
            if text is None:
                return None
            self.second = second
            self.prefix = text[:-4]
            self.minute = minute
            self.minute_prefix = text[:-7]
            return text
        return self.prefix + _MILLIS[ms]
