"""Native Binance COIN-M futures adapter: ccxt.pro's ``binancecoinm`` with the hot
handlers of :mod:`ccxtpro_fast.exchanges.binance` (see its docstring)."""
import ccxt.pro

from ccxtpro_fast.base.exchange import ExchangeMixin
from ccxtpro_fast.exchanges.binance import BinanceNative

__all__ = ['binancecoinm']


class binancecoinm(BinanceNative, ExchangeMixin, ccxt.pro.binancecoinm):
    pass
