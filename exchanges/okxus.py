"""OKX (US): the OKX v5 protocol on its own hosts; the native handlers of okx.py."""
import ccxt.pro

from ccxtpro_fast.base.exchange import ExchangeMixin
from ccxtpro_fast.exchanges.okx import OkxNative

__all__ = ['okxus']


class okxus(ExchangeMixin, OkxNative, ccxt.pro.okxus):
    """ccxt.pro's okxus with okx's native handlers."""
