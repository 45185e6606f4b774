"""How the compiled core was built."""
from ccxtpro_fast._core import orderbook as _orderbook


def build_info():
    """The build mode of the compiled core: 'release' (assertions compiled out, bounds
    checks off) or 'debug', with the versions it was built and runs against."""
    import sys

    import ccxt

    return {
        "mode": _orderbook.BUILD_MODE,
        "assertions": _orderbook.BUILD_MODE != "release",
        "python": sys.version.split()[0],
        "cython": _orderbook.BUILD_CYTHON,   # the Cython that generated the C, at build time
        "ccxt": ccxt.__version__,
    }
