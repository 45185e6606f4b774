"""MyOKX (EEA): the OKX v5 protocol on its own hosts; the native handlers of okx.py."""
import ccxt.pro

from ccxtpro_fast.base.exchange import ExchangeMixin
from ccxtpro_fast.exchanges.okx import OkxNative

__all__ = ['myokx']


class myokx(ExchangeMixin, OkxNative, ccxt.pro.myokx):
    """ccxt.pro's myokx with okx's native handlers."""
