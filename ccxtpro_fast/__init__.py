"""ccxtpro_fast: a drop-in, much faster CCXT Pro."""
from ccxtpro_fast._build import build_info
from ccxtpro_fast._core import (
    CountedOrderBook,
    IndexedOrderBook,
    OrderBook,
)

__version__ = "0.1.0"
