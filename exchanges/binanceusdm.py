"""Native Binance USD-M futures adapter: ccxt.pro's ``binanceusdm`` with the hot
handlers of :mod:`ccxtpro_fast.exchanges.binance` (see its docstring)."""
import ccxt.pro

from ccxtpro_fast.base.exchange import ExchangeMixin
from ccxtpro_fast.exchanges.binance import BinanceNative

__all__ = ['binanceusdm']


class binanceusdm(BinanceNative, ExchangeMixin, ccxt.pro.binanceusdm):
    pass
