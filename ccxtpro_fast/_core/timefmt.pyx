# cython: freethreading_compatible = False
"""ccxt's ``iso8601``, fast for the common call, compiled (see ccxtpro_fast/base/timefmt.py).

ccxt builds a ``datetime`` per call (~5 us, more than a whole book update in the core).
Messages arrive in bursts that share their second, so the text up to the second is made
once by ccxt's own function and reused (the next seconds of the same minute are that
text with the seconds replaced); anything but an int millisecond timestamp in range goes
to ccxt's function, so the results are ccxt's in every case."""

cdef tuple _MILLIS = tuple('%03dZ' % ms for ms in range(1000))
cdef tuple _SECONDS = tuple('%02d.' % second for second in range(60))
cdef long long _MAX_TIMESTAMP = 8640000000000000   # ccxt's upper bound


cdef class Iso8601:
    """``Iso8601(ccxt_iso8601)(timestamp)`` is ``ccxt_iso8601(timestamp)``."""

    def __init__(self, slow):
        self.second = -1
        self.minute = -1
        self.prefix = ''          # 'YYYY-MM-DDTHH:MM:SS.' of self.second
        self.minute_prefix = ''   # 'YYYY-MM-DDTHH:MM:' of self.minute
        self.slow = slow

    def __call__(self, timestamp=None):
        cdef long long ms
        if type(timestamp) is not int:
            return self.slow(timestamp)
        try:
            ms = timestamp
        except OverflowError:
            return self.slow(timestamp)
        if not 0 <= ms <= _MAX_TIMESTAMP:
            return self.slow(timestamp)
        return self.text(ms)

    cdef object text(self, long long timestamp):
        """The text of an int millisecond timestamp in [0, ccxt's maximum]."""
        cdef long long second = timestamp // 1000, minute
        cdef int ms = <int>(timestamp % 1000)
        if second != self.second:
            minute = second // 60
            if minute == self.minute:
                # a new second of the same minute (a 100 ms stream: every tenth message)
                self.second = second
                self.prefix = self.minute_prefix + <str>_SECONDS[second % 60]
                return self.prefix + <str>_MILLIS[ms]
            text = self.slow(timestamp)
            if text is None:
                return None
            self.second = second
            self.prefix = text[:-4]
            self.minute = minute
            self.minute_prefix = text[:-7]
            return text
        return self.prefix + <str>_MILLIS[ms]
